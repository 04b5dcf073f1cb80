//! GitLab CI: the log inside a collapsible section, closed when the gate finishes or the
//! reporter is dropped.

use crate::event::{Report, ReportError, Reporter};
use crate::job::unix_now;
use crate::untrusted::one_line;

const SECTION: &str = "clanforge_wait";

#[derive(Debug)]
pub(crate) struct GitLab {
    open: bool,
}

impl GitLab {
    pub(crate) fn start(header: &str) -> Self {
        marker(&format!(
            "section_start:{}:{SECTION}[collapsed=false]\r\x1b[0K{}",
            unix_now(),
            one_line(header)
        ));
        Self { open: true }
    }

    fn close(&mut self) {
        if std::mem::take(&mut self.open) {
            marker(&format!("section_end:{}:{SECTION}\r\x1b[0K", unix_now()));
        }
    }
}

impl Reporter for GitLab {
    fn on_finish(&mut self, _report: &Report) -> Result<(), ReportError> {
        self.close();
        Ok(())
    }
}

impl Drop for GitLab {
    fn drop(&mut self) {
        self.close();
    }
}

/// Section markers go to stderr with the log, so they stay in order with its lines.
fn marker(text: &str) {
    super::log_line(&format!("\x1b[0K{text}"));
}
