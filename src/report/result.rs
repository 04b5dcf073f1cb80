//! The final result as one JSON object: to a file (`--result-file`) and/or stdout (`--json`).

use super::OutputFile;
use crate::event::{Report, ReportError, Reporter};
use crate::outcome::Summary;
use std::io::{self, Write};
use std::path::PathBuf;

/// Writes the result to a file (`--result-file`).
#[derive(Debug)]
pub(crate) struct ResultFile(OutputFile);

impl ResultFile {
    pub(crate) fn create(path: PathBuf) -> Result<Self, ReportError> {
        OutputFile::create("the result file (--result-file)", path).map(Self)
    }
}

impl ResultFile {
    fn write(&mut self, summary: &Summary) -> Result<(), ReportError> {
        let mut json = serde_json::to_vec_pretty(summary).unwrap_or_default();
        json.push(b'\n');
        self.0.write(&json)
    }
}

impl Reporter for ResultFile {
    /// A create's intent and its new ID are written at once (`result` `running`), so that a
    /// run killed later leaves a file to resume from.
    fn checkpoint(&mut self, summary: &Summary) -> Result<(), ReportError> {
        self.write(summary)
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.write(&report.summary)
    }
}

/// Prints the result on stdout, as one line of JSON (`--json`).
#[derive(Debug)]
pub(crate) struct JsonStdout;

impl Reporter for JsonStdout {
    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        let line = serde_json::to_string(&report.summary).map_err(io::Error::other);
        line.and_then(|line| writeln!(io::stdout().lock(), "{line}"))
            .map_err(|source| ReportError { what: "the result to", path: "stdout".into(), source })
    }
}
