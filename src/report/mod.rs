//! Reporters: every destination of what the wait loop says (the log, the result file, stdout)
//! listens to its events ([`crate::event`]). A new destination, such as a CI platform, is one
//! new file here; the sentences they share are in [`text`].
//!
//! The log's mode is decided once, in [`LogMode::detect`]; nothing else asks whether stderr
//! is a terminal.

pub(crate) mod azure;
pub(crate) mod buildkite;
pub(crate) mod dotenv;
pub(crate) mod github;
pub(crate) mod gitlab;
pub(crate) mod junit;
pub(crate) mod log;
pub(crate) mod markdown;
mod platform;
pub(crate) mod result;
pub(crate) mod teamcity;
pub(crate) mod text;
pub(crate) mod timeline;
pub(crate) mod workflow;

pub(crate) use platform::Platform;

use crate::chain::Ids;
use crate::checkpoint::Recorded;
use crate::event::{ReportError, Reporter};
use crate::secret::Secret;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The reporters of the CI platforms we run on ([`Platform::detect`]). They print their first
/// lines (GitHub's masks among them) now: call this before anything else is printed.
pub(crate) fn ci_reporters(
    var: impl Fn(&str) -> Option<String>,
    secrets: &[&Secret],
    title: &str,
) -> Vec<Box<dyn Reporter>> {
    Platform::detect(&var)
        .into_iter()
        .map(|platform| platform.reporter(&var, secrets, title))
        .collect()
}

/// A line of a CI's own syntax, on stderr with the log so that the two keep their order. A log
/// that can't be written has nowhere to report the failure either.
pub(crate) fn log_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The name a CI keys a gate's item on (a TeamCity problem's identity, a Buildkite annotation's
/// context): `clanforge-wait-update-424242` for `update/424242`, every character but ASCII
/// letters and digits a `-`; `clanforge-wait` for none.
pub(crate) fn ci_key(job: &str) -> String {
    let key: String =
        job.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    if key.is_empty() { "clanforge-wait".to_owned() } else { format!("clanforge-wait-{key}") }
}

/// A file a reporter writes at the end. It is opened when the gate starts, so that a path that
/// can't be written is a usage error before the first request, not a surprise at the end.
///
/// A regular file (or a path not there yet) is emptied at the start, so that a result from an
/// earlier run can't pass for this one, and written atomically at the end: a temporary file in
/// the same folder, synced, then renamed over it. A stream is written in place, appended at its
/// current position, never emptied or renamed over: the process's own stdout or stderr (the
/// same file as fd 1 or 2, e.g. `/dev/stdout` with stdout sent to a log), a character device, a
/// FIFO, a socket, or `/dev/fd/N`.
#[derive(Debug)]
pub(crate) struct OutputFile {
    what: &'static str,
    path: PathBuf,
    target: Target,
}

#[derive(Debug)]
enum Target {
    /// A regular file, written by rename.
    Replace,
    /// The process's stdout or stderr: written through that descriptor, so its position (which
    /// the shell shares) moves past what we wrote. Found on Unix only (by device and inode).
    #[cfg_attr(not(unix), allow(dead_code))]
    Stdout,
    #[cfg_attr(not(unix), allow(dead_code))]
    Stderr,
    /// Any other stream, opened for appending.
    Stream(File),
}

impl OutputFile {
    pub(crate) fn create(what: &'static str, path: PathBuf) -> Result<Self, ReportError> {
        let error = |path: &Path, source| ReportError { what, path: path.to_owned(), source };
        let meta = fs::metadata(&path).ok();
        if let Some(target) = meta.as_ref().and_then(standard_stream) {
            return Ok(Self { what, path, target });
        }
        if is_stream(&path, meta.as_ref()) {
            let file = crate::append::open_append(&path).map_err(|e| error(&path, e))?;
            return Ok(Self { what, path, target: Target::Stream(file) });
        }
        // Through any link to the file it names, made or not, so that the link itself stays;
        // and proven now that its folder takes the new file the end renames over it, before
        // anything is emptied.
        let target = through_links(&path);
        takes_new_files(&target).map_err(|e| error(&path, e))?;
        File::create(&target).map_err(|e| error(&path, e))?;
        Ok(Self { what, path: target, target: Target::Replace })
    }

    pub(crate) fn write(&mut self, contents: &[u8]) -> Result<(), ReportError> {
        let written = match &mut self.target {
            Target::Replace => replace(&self.path, contents),
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(contents).and_then(|()| out.flush())
            }
            Target::Stderr => std::io::stderr().lock().write_all(contents),
            Target::Stream(stream) => crate::append::write_patiently(stream, contents),
        };
        written.map_err(|source| ReportError { what: self.what, path: self.path.clone(), source })
    }
}

/// `path` through every symbolic link to the path it finally names, which may not exist yet.
fn through_links(path: &Path) -> PathBuf {
    let mut path = path.to_owned();
    // As many hops as the kernel follows.
    for _ in 0..40 {
        match fs::read_link(&path) {
            Ok(target) => {
                path = match path.parent() {
                    Some(folder) => folder.join(target),
                    None => target,
                };
            }
            Err(_) => break,
        }
    }
    path
}

/// The folder `path` is in.
fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    }
}

/// `path`'s folder is there and takes a new file: the atomic replace will work.
fn takes_new_files(path: &Path) -> std::io::Result<()> {
    let folder = folder_of(path);
    match fs::metadata(folder) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return Err(std::io::Error::other(format!("{} is not a folder", folder.display())));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(std::io::Error::new(
                e.kind(),
                format!("the folder {} does not exist", folder.display()),
            ));
        }
        Err(e) => return Err(e),
    }
    // Made and dropped (removed) at once.
    temporary_in(folder, path).map(drop).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "its folder {} takes no new file ({e}), and the result is written as a new \
                 file renamed over it",
                folder.display()
            ),
        )
    })
}

/// Which file a path names, for telling two outputs apart: through its links, and its folder
/// made absolute (the file may not exist yet); a file that exists is also known by its inode,
/// so that a hard link is the same file too. `None` for a stream, written in place.
fn identity(path: &Path) -> Option<(PathBuf, Option<(u64, u64)>)> {
    let meta = fs::metadata(path).ok();
    if is_stream(path, meta.as_ref()) || meta.as_ref().and_then(standard_stream).is_some() {
        return None;
    }
    let target = through_links(path);
    let folder = fs::canonicalize(folder_of(&target)).unwrap_or_else(|_| folder_of(&target).into());
    let name = target.file_name().map(|n| folder.join(n)).unwrap_or(folder);
    #[cfg(unix)]
    let inode = {
        use std::os::unix::fs::MetadataExt;
        meta.map(|m| (m.dev(), m.ino()))
    };
    #[cfg(not(unix))]
    let inode = None;
    Some((name, inode))
}

/// Two of `named` (what names each output, and its path) that are the same file, which would
/// clobber each other: what to say, and every path that shares its file with another.
pub(crate) fn shared_files(named: &[(&str, PathBuf)]) -> Option<(String, Vec<PathBuf>)> {
    let known: Vec<_> =
        named.iter().filter_map(|(what, path)| Some((*what, path, identity(path)?))).collect();
    let mut message = None;
    let mut shared = Vec::new();
    for (i, (what, path, id)) in known.iter().enumerate() {
        for (other, other_path, other_id) in &known[i + 1..] {
            let same = id.0 == other_id.0 || (id.1.is_some() && id.1 == other_id.1);
            if same {
                message.get_or_insert_with(|| {
                    format!(
                        "{what} and {other} name the same file ({}): each output needs a file of \
                         its own, or one would overwrite the other",
                        path.display()
                    )
                });
                shared.extend([path.to_path_buf(), other_path.to_path_buf()]);
            }
        }
    }
    message.map(|message| (message, shared))
}

/// A path written in place rather than replaced: a file descriptor's (`/dev/fd/N`), or anything
/// that is not a regular file (a FIFO, a character device, a socket). Stdout and stderr are
/// [`standard_stream`]'s.
fn is_stream(path: &Path, meta: Option<&fs::Metadata>) -> bool {
    let described = path.starts_with("/dev/fd") || path.starts_with("/proc/self/fd");
    described || meta.is_some_and(|m| !m.is_file())
}

/// Stdout or stderr, when `meta` is the very file either is open on.
#[cfg(unix)]
fn standard_stream(meta: &fs::Metadata) -> Option<Target> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let same = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .ok()
            .and_then(|fd| File::from(fd).metadata().ok())
            .is_some_and(|own| own.dev() == meta.dev() && own.ino() == meta.ino())
    };
    if same(std::io::stdout().as_fd()) {
        Some(Target::Stdout)
    } else if same(std::io::stderr().as_fd()) {
        Some(Target::Stderr)
    } else {
        None
    }
}

#[cfg(not(unix))]
fn standard_stream(_meta: &fs::Metadata) -> Option<Target> {
    None
}

/// The IDs a checkpoint holds (`update_id`, `diff_id`, `image_version_id`): in a result file's
/// JSON, or a dotenv file's `CLANFORGE_*` lines. Read before the gate empties the file, so that a
/// run that never starts keeps them: a later `--resume-from` must not start over. Only a regular
/// file that the gate replaces is read: a stream (a FIFO would block; stdout sent to a log is
/// the log) holds no checkpoint. Anything unreadable holds none.
pub(crate) fn checkpoint_ids(path: &Path) -> Ids {
    let replaced =
        |meta: &fs::Metadata| !is_stream(path, Some(meta)) && standard_stream(meta).is_none();
    let text = match fs::metadata(path) {
        Ok(meta) if replaced(&meta) && meta.len() < 1 << 20 => {
            fs::read_to_string(path).unwrap_or_default()
        }
        _ => return Ids::default(),
    };
    let recorded = Recorded::from_json(&text).unwrap_or_else(|_| Recorded::from_dotenv(&text));
    recorded.kept()
}

/// Writes `contents` to a new file beside `path`, syncs it, gives it `path`'s permissions and
/// renames it over `path`: a reader sees the old file or the new one, never half of one.
fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let folder = folder_of(path);
    // Removed when dropped, unless persisted: a failure anywhere leaves no temporary file.
    let mut file = temporary_in(folder, path)?;
    file.write_all(contents)?;
    if let Ok(meta) = fs::metadata(path) {
        file.as_file().set_permissions(meta.permissions())?;
    }
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    // The rename itself made durable: a checkpoint must survive the machine's crash too. A
    // folder that can't be opened for it (not every platform allows) is not an error.
    if let Ok(dir) = fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// A new temporary file in `folder`, named after `path` (`.result.json.XXXXXX.tmp`), with the
/// permissions a file the gate makes has (the umask's), not `tempfile`'s owner-only default.
fn temporary_in(folder: &Path, path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder.tempfile_in(folder)
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogMode {
    /// A terminal: a live progress bar, with warnings and the final line above it.
    Bar,
    /// Not a terminal (a CI log), or colour is off: one plain line per change.
    Plain,
    /// One JSON object per line.
    Json,
}

impl LogMode {
    /// `NO_COLOR` (any non-empty value) or `TERM=dumb` turns the bar and the colours off, and
    /// so does a CI system, even one that gives its steps a terminal (act, some runners do): a
    /// bar frame in a CI log is noise, and one on the line of a `::add-mask::` would cost the
    /// mask. What counts as CI is [`Platform::any_ci`]'s to say.
    pub(crate) fn detect(
        json: bool,
        stderr_is_terminal: bool,
        var: impl Fn(&str) -> Option<String>,
    ) -> Self {
        let set = |name| var(name).is_some_and(|v| !v.is_empty());
        let no_color = set("NO_COLOR");
        let dumb = var("TERM").is_some_and(|t| t == "dumb");
        let ci = Platform::any_ci(&var);
        match (json, stderr_is_terminal && !no_color && !dumb && !ci) {
            (true, _) => Self::Json,
            (false, true) => Self::Bar,
            (false, false) => Self::Plain,
        }
    }
}
