//! The final result as one JSON object: to a file (`--result-file`) and/or stdout (`--json`).

use super::{ReportError, Reporter};
use crate::wait::Report;
use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

/// Writes the result to a file. The file is created when the gate starts, so that a path that
/// can't be written is a usage error before the first request, not a surprise at the end.
#[derive(Debug)]
pub struct ResultFile {
    path: PathBuf,
    file: File,
}

impl ResultFile {
    pub fn create(path: PathBuf) -> Result<Self, ReportError> {
        match File::create(&path) {
            Ok(file) => Ok(Self { path, file }),
            Err(source) => Err(ReportError {
                what: "the result file (--result-file)",
                path,
                source,
            }),
        }
    }
}

impl Reporter for ResultFile {
    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        let mut json = serde_json::to_vec_pretty(&report.summary).map_err(io::Error::other);
        if let Ok(json) = &mut json {
            json.push(b'\n');
        }
        json.and_then(|json| self.file.write_all(&json))
            .and_then(|()| self.file.sync_all())
            .map_err(|source| ReportError {
                what: "the result file (--result-file)",
                path: self.path.clone(),
                source,
            })
    }
}

/// Prints the result on stdout, as one line of JSON (`--json`).
#[derive(Debug)]
pub struct JsonStdout;

impl Reporter for JsonStdout {
    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        let line = serde_json::to_string(&report.summary).map_err(io::Error::other);
        line.and_then(|line| writeln!(io::stdout().lock(), "{line}"))
            .map_err(|source| ReportError {
                what: "the result to",
                path: "stdout".into(),
                source,
            })
    }
}
