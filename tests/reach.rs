//! A host never reached, black-box: before the API's first answer, a name that does not
//! resolve, a refused port or a TLS handshake that fails on every try ends the gate (exit 4)
//! at the try made when `--unreachable-timeout` ends; after a first answer, the same faults are an
//! outage, retried until the deadline. (The fault table has the two first as rows.) The name
//! that stops resolving edits `/etc/hosts`, so it is `#[ignore]`d; `.ci/run` runs it as root.

mod common;

use clanforge_sim::SimServer;
use common::*;
use std::time::Duration;

/// The window the tests give, and the retries' cap: the gate ends within both and a request.
const WINDOW: Duration = Duration::from_millis(600);
const MAX_INTERVAL: Duration = Duration::from_millis(200);

fn never_reached(url: &str) -> Run {
    let run = Gate::new(url)
        .arg("--timeout", "10s")
        .arg("--unreachable-timeout", "600ms")
        .arg("--interval", "100ms")
        .arg("--max-interval", "200ms")
        .run();
    run.assert_code(4);
    let error = run.error();
    assert!(error.contains("the API was never reached"), "{error}");
    assert!(error.contains("run `clanforge-wait check`"), "{error}");
    // The bound: not before the window, and no later than a request after it.
    assert!(run.elapsed >= WINDOW, "{:?}", run.elapsed);
    assert!(run.elapsed < WINDOW + MAX_INTERVAL + Duration::from_millis(800), "{:?}", run.elapsed);
    // Three tries at least: two warnings, then the error.
    let warned = run.stderr.matches("retrying in").count();
    assert!(warned >= 2, "{}", run.stderr);
    run
}

#[test]
fn a_name_that_does_not_resolve_is_never_reached_exit_4_naming_it() {
    let run = never_reached("https://clanforge-wait-test.invalid");
    run.assert_logged("could not connect to clanforge-wait-test.invalid:443");
}

#[test]
fn a_refused_port_is_never_reached_exit_4_naming_it() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = never_reached(&format!("http://127.0.0.1:{port}"));
    run.assert_logged(&format!("could not connect to 127.0.0.1:{port}"));
}

/// The try that gives up is made when the window ends, not a backoff step after it: with a
/// window of 1.5 s and backoff that would next look at about 3.5 s, the gate ends at 1.5 s.
#[test]
fn the_try_that_gives_up_is_made_when_the_window_ends_not_a_backoff_step_later() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = Gate::new(&format!("http://127.0.0.1:{port}"))
        .arg("--timeout", "30s")
        .arg("--unreachable-timeout", "1500ms")
        .arg("--interval", "500ms")
        .arg("--max-interval", "10s")
        .run();
    run.assert_code(4);
    assert!(run.error().contains("the API was never reached"), "{}", run.stderr);
    let window = Duration::from_millis(1500);
    assert!(run.elapsed >= window, "{:?}", run.elapsed);
    assert!(
        run.elapsed < window + Duration::from_millis(700),
        "ended {:?} after the window opened: {}",
        run.elapsed,
        run.stderr
    );
}

#[test]
fn a_tls_handshake_that_fails_on_every_try_is_never_reached() {
    // Takes each connection and closes it: the handshake never completes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    never_reached(&format!("https://localhost:{port}"));
}

/// `gate` started (a 1.5 s deadline, a 200 ms window, quick retries) and answered once by
/// `server`: what comes after is the fault.
fn answered_once(gate: Gate, server: &SimServer) -> Running {
    let running = gate
        .arg("--timeout", "1500ms")
        .arg("--unreachable-timeout", "200ms")
        .arg("--interval", "100ms")
        .arg("--max-interval", "200ms")
        .spawn();
    let asked = std::time::Instant::now();
    while server.requests().is_empty() {
        assert!(asked.elapsed() < Duration::from_secs(10), "no request came");
        std::thread::sleep(Duration::from_millis(5));
    }
    running
}

#[test]
fn an_api_that_answered_then_refuses_is_an_outage_retried_until_the_deadline() {
    let server = serve(vec![status(4, 10)]);
    let running = answered_once(Gate::against(&server), &server);
    // The API goes away after its first answer: its port now refuses.
    drop(server);
    let run = running.finish();
    run.assert_code(3);
    run.assert_logged("could not connect to 127.0.0.1:");
    assert!(!run.stderr.contains("never reached"), "{}", run.stderr);
    // Retried well past the window and its three tries.
    assert!(run.stderr.matches("retrying in").count() >= 4, "{}", run.stderr);
}

/// A line of `/etc/hosts` for the test's own name, removed when dropped (or by `remove`).
struct HostsLine {
    line: String,
}

const HOSTS: &str = "/etc/hosts";

impl HostsLine {
    fn add(name: &str) -> Self {
        let line = format!("127.0.0.1 {name} # clanforge-wait tests/reach.rs\n");
        let mut hosts = std::fs::read_to_string(HOSTS).unwrap();
        hosts.push_str(&line);
        std::fs::write(HOSTS, hosts).expect("/etc/hosts is writable (run as root)");
        Self { line }
    }

    fn remove(&self) {
        let hosts = std::fs::read_to_string(HOSTS).unwrap();
        let _ = std::fs::write(HOSTS, hosts.replace(&self.line, ""));
    }
}

impl Drop for HostsLine {
    fn drop(&mut self) {
        self.remove();
    }
}

#[test]
#[ignore = "edits /etc/hosts (as root), for a name that stops resolving: .ci/run runs it with --ignored"]
fn a_name_that_stops_resolving_after_an_answer_is_an_outage_retried_until_the_deadline() {
    let server = serve(vec![status(4, 10)]);
    let port = server.url().rsplit(':').next().unwrap().to_owned();
    let name = format!("clanforge-wait-reach-{}", std::process::id());
    let hosts = HostsLine::add(&name);
    let gate = Gate::new(&format!("http://{name}:{port}")).flag("--allow-insecure-http");
    let running = answered_once(gate, &server);
    // The name stops resolving, and the server goes (its connection with it, so that the next
    // request must look the name up again).
    hosts.remove();
    drop(server);
    let run = running.finish();
    run.assert_code(3);
    run.assert_logged(&format!("could not connect to {name}:{port}"));
    assert!(!run.stderr.contains("never reached"), "{}", run.stderr);
    assert!(run.stderr.matches("retrying in").count() >= 4, "{}", run.stderr);
}
