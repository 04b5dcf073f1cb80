//! The files a command line names to be read (a key, a token, a URL, a certificate bundle, a
//! result to resume from): each read with a cap, so that `/dev/zero` or a log named by mistake
//! is refused rather than read whole. A FIFO with no writer blocks here, on the thread the
//! command line is read on: the gate's signals and deadline still end it ([`crate::main`]).

use super::UsageError;
use crate::secret::Secret;
use std::io::Read as _;
use std::path::Path;

/// The most a key, a token or a URL file may hold: a real one is under a kilobyte.
pub(super) const SECRET_CAP: u64 = 64 << 10;
/// The most a certificate bundle may hold.
pub(super) const CA_CERT_CAP: u64 = 1 << 20;
/// The most a result file to resume from may hold: a deploy's is a few kilobytes.
pub(super) const RESUME_CAP: u64 = 16 << 20;

/// At most `cap` bytes of `path`, or a usage error naming `flag`.
pub(super) fn read(flag: &'static str, path: &Path, cap: u64) -> Result<Vec<u8>, UsageError> {
    let error =
        |reason: String| UsageError::File { flag, path: path.display().to_string(), reason };
    let file = std::fs::File::open(path).map_err(|e| error(format!("can't be read ({e})")))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("can't be read ({e})")))?;
    if bytes.len() as u64 > cap {
        let shown = match cap {
            c if c >= 1 << 20 => format!("{} MiB", c >> 20),
            c => format!("{} KiB", c >> 10),
        };
        return Err(error(format!(
            "holds more than {shown}, the most it may: is it the right file?"
        )));
    }
    Ok(bytes)
}

/// At most `cap` bytes of `path`, as UTF-8 text.
pub(super) fn text(flag: &'static str, path: &Path, cap: u64) -> Result<String, UsageError> {
    String::from_utf8(read(flag, path, cap)?).map_err(|_| UsageError::File {
        flag,
        path: path.display().to_string(),
        reason: "is not UTF-8 text".into(),
    })
}

/// A secret from a file, without the trailing newline that `echo` and editors leave.
pub(super) fn secret(flag: &'static str, path: &Path) -> Result<Option<Secret>, UsageError> {
    let text = text(flag, path, SECRET_CAP)?;
    Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
}
