use super::*;
use crate::job::JobState;
use std::sync::{Arc, Mutex};

/// Collects what the log prints.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_comes_at_least_once_a_minute_while_nothing_changes() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .without_time()
        .with_ansi(false)
        .finish();
    let _default = tracing::subscriber::set_default(subscriber);
    let mut log = LogReporter::new(None);
    let job: JobRef = "update/1".parse().unwrap();
    let status = JobStatus {
        state_id: Some(4),
        state_name: Some("Running".into()),
        progress: Some(40),
        ..JobStatus::synthesized(JobState::Running)
    };
    // Polls 25 s apart that see nothing new: a line at 0 s, a heartbeat at 75 s.
    for poll in 1..=5 {
        log.on_event(&Event::Polled { job: &job, status: &status, poll, idle: false });
        tokio::time::advance(Duration::from_secs(25)).await;
    }
    assert_eq!(capture.text().matches("still waiting").count(), 1, "{}", capture.text());
    // No polls at all (a long Retry-After): the loop's ticks carry the heartbeat.
    for _ in 0..8 {
        tokio::time::advance(Duration::from_secs(15)).await;
        log.on_event(&Event::Tick);
    }
    // Heartbeats at 75 s, then 140 s and 200 s: never more than 60 s and a tick apart.
    let text = capture.text();
    let beats: Vec<&str> = text.lines().filter(|l| l.contains("still waiting")).collect();
    assert_eq!(beats.len(), 3, "{text}");
    // With one job as with many, the heartbeat names it.
    assert!(beats.iter().all(|b| b.contains("update/1 ")), "{text}");
    assert!(beats[1].contains("after 2m 20s") && beats[2].contains("after 3m 20s"), "{text}");
}
