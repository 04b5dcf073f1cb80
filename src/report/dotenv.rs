//! A dotenv file (`--dotenv`): `CLANFORGE_RESULT=…` and the other result keys, one line each,
//! within GitLab's rules for `artifacts: reports: dotenv` (one line per value, under 5 KB).

use super::OutputFile;
use crate::event::{Report, ReportError, Reporter};
use crate::outcome::Summary;
use std::path::PathBuf;

/// GitLab refuses dotenv reports of 5 KB or more; leave room to spare.
pub const MAX_BYTES: usize = 4 * 1024;

#[derive(Debug)]
pub(crate) struct Dotenv(OutputFile);

impl Dotenv {
    pub(crate) fn create(path: PathBuf) -> Result<Self, ReportError> {
        OutputFile::create("the dotenv file (--dotenv)", path).map(Self)
    }
}

impl Reporter for Dotenv {
    /// A create's intent and its new ID are written at once, as the result file does.
    fn checkpoint(&mut self, summary: &Summary) -> Result<(), ReportError> {
        self.0.write(dotenv(&summary.pairs()).as_bytes())
    }

    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.0.write(dotenv(&report.summary.pairs()).as_bytes())
    }
}

pub use crate::outcome::variable;

/// `CLANFORGE_<KEY>=<value>` lines. Values are flattened to one line with their whitespace
/// folded; the longest ones are cut so the whole file stays under [`MAX_BYTES`]. The `jobs`
/// JSON is never cut (half an array is not JSON): it is written whole, or left empty when it
/// does not fit.
pub fn dotenv(pairs: &[(&str, String)]) -> String {
    let lines: Vec<(String, String, bool)> = pairs
        .iter()
        .map(|(key, value)| {
            let flat = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (format!("{}=", variable(key)), flat, *key == "jobs")
        })
        .collect();
    let fixed: usize = lines.iter().map(|(k, _, _)| k.len() + 1).sum();
    let mut budget = MAX_BYTES.saturating_sub(fixed);
    // Short values first; then what must be whole (the jobs JSON), if it fits; last the one
    // longest text (the error), cut to what is left.
    let mut order: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].2).collect();
    order.sort_by_key(|&i| lines[i].1.len());
    let longest = order.pop();
    order.extend((0..lines.len()).filter(|&i| lines[i].2));
    order.extend(longest);
    let mut values = vec![String::new(); lines.len()];
    for i in order {
        let (_, value, whole) = &lines[i];
        values[i] = match whole {
            true if value.len() > budget => String::new(),
            _ => cut(value, budget),
        };
        budget -= values[i].len();
    }
    lines.iter().zip(values).map(|((key, _, _), value)| format!("{key}{value}\n")).collect()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}
