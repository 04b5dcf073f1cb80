//! A dotenv file (`--dotenv`): `CLANFORGE_RESULT=…` and the other result keys, one line each,
//! within GitLab's rules for `artifacts: reports: dotenv` (one line per value, under 5 KB).

use super::OutputFile;
use crate::event::{Report, ReportError, Reporter};
use std::path::PathBuf;

/// GitLab refuses dotenv reports of 5 KB or more; leave room to spare.
pub const MAX_BYTES: usize = 4 * 1024;

#[derive(Debug)]
pub struct Dotenv(OutputFile);

impl Dotenv {
    pub fn create(path: PathBuf) -> Result<Self, ReportError> {
        OutputFile::create("the dotenv file (--dotenv)", path).map(Self)
    }
}

impl Reporter for Dotenv {
    fn on_finish(&mut self, report: &Report) -> Result<(), ReportError> {
        self.0.write(dotenv(&report.summary.pairs()).as_bytes())
    }
}

/// `CLANFORGE_<KEY>=<value>` lines. Values are flattened to one line with their whitespace
/// folded; the longest ones are cut so the whole file stays under [`MAX_BYTES`].
pub fn dotenv(pairs: &[(&str, String)]) -> String {
    let lines: Vec<(String, String)> = pairs
        .iter()
        .map(|(key, value)| {
            let flat = value.split_whitespace().collect::<Vec<_>>().join(" ");
            (format!("CLANFORGE_{}=", key.to_ascii_uppercase()), flat)
        })
        .collect();
    let fixed: usize = lines.iter().map(|(k, _)| k.len() + 1).sum();
    let mut budget = MAX_BYTES.saturating_sub(fixed);
    // Short values first, so that only the longest (the error text) is ever cut.
    let mut order: Vec<usize> = (0..lines.len()).collect();
    order.sort_by_key(|&i| lines[i].1.len());
    let mut values = vec![String::new(); lines.len()];
    for i in order {
        values[i] = cut(&lines[i].1, budget);
        budget -= values[i].len();
    }
    lines
        .iter()
        .zip(values)
        .map(|((key, _), value)| format!("{key}{value}\n"))
        .collect()
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_key_whatever_the_value() {
        let text = dotenv(&[
            ("result", "failed".into()),
            (
                "error",
                "line one\r\nCLANFORGE_RESULT=success\n  tail ".into(),
            ),
        ]);
        assert_eq!(
            text,
            "CLANFORGE_RESULT=failed\nCLANFORGE_ERROR=line one CLANFORGE_RESULT=success tail\n"
        );
    }

    #[test]
    fn stays_under_the_size_limit_cutting_only_the_long_value() {
        let text = dotenv(&[("result", "failed".into()), ("error", "é".repeat(10_000))]);
        assert!(text.len() <= MAX_BYTES, "{}", text.len());
        assert!(text.starts_with("CLANFORGE_RESULT=failed\n"));
        assert_eq!(text.lines().count(), 2);
    }
}
