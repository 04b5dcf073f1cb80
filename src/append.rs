//! Appending to a file that may be a stream (a FIFO, a pipe, a CI's output file): opened
//! without blocking and written patiently, so that no reader, or a slow one, can hold the gate
//! past its deadline or its signals. The reporters' outputs and the HTTP trace both append so.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

/// Opens `path` to append to it, made if need be, without blocking: a FIFO with no reader is
/// an error now (one a reader could come to later would hold the gate in `open` past its
/// deadline and its signals). Writes then go through [`write_patiently`].
pub(crate) fn open_append(path: &Path) -> std::io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let opened = options.open(path);
    #[cfg(unix)]
    let opened = opened.map_err(|e| match e.raw_os_error() {
        Some(libc::ENXIO) => std::io::Error::other(
            "it is a FIFO with no reader: start what reads it before the gate",
        ),
        _ => e,
    });
    opened
}

/// How long a write to a stream that is full (a pipe nobody reads) is retried: short enough
/// that a signal or the deadline still ends the gate within a second.
const STREAM_PATIENCE: std::time::Duration = std::time::Duration::from_millis(500);

/// Writes all of `contents` to a file opened by [`open_append`]: a stream that stays full for
/// [`STREAM_PATIENCE`] is an error, never a hang.
pub(crate) fn write_patiently(file: &mut File, mut contents: &[u8]) -> std::io::Result<()> {
    let started = std::time::Instant::now();
    while !contents.is_empty() {
        match file.write(contents) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => contents = &contents[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if started.elapsed() > STREAM_PATIENCE {
                    return Err(std::io::Error::other(
                        "its reader took nothing for 500ms (a pipe nobody reads?)",
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
