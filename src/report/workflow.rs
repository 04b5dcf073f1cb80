//! GitHub Actions workflow commands: the only code that prints `::`.
//!
//! Commands go to stderr, the stream the log uses, so that they and the log lines reach the
//! runner in the order they were written. Data and properties are escaped by the toolkit's
//! rules. Guards close what they open ([`Group`], [`StopCommands`]) when dropped, on every path.
//!
//! The runner finds `::command::` at the start of a line and the legacy `##[command]` anywhere
//! in a line, so text from the server must never reach the log while commands are live:
//! [`StopCommands`] turns them off until its random token is printed.

use super::log_line;

/// Escapes a command's data (the part after the last `::`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value (`title=…`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// A random token no server can guess: 128 bits from the operating system's generator.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    // The OS generator fails only where there is none at all; the clock and the process ID
    // then still make a token no server text can have anticipated in this run.
    if getrandom::getrandom(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        bytes = (now ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

/// Masks `secret` in everything the runner logs from now on.
pub(crate) fn add_mask(secret: &str) {
    if !secret.trim().is_empty() {
        log_line(&format!("::add-mask::{}", escape_data(secret)));
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Error,
    Warning,
}

/// An annotation: `::error title=…::message`.
pub fn annotation(level: Level, title: &str, message: &str) -> String {
    let name = match level {
        Level::Error => "error",
        Level::Warning => "warning",
    };
    format!("::{name} title={}::{}", escape_property(title), escape_data(message))
}

pub(crate) fn annotate(level: Level, title: &str, message: &str) {
    log_line(&annotation(level, title, message));
}

/// A collapsible log group, open until dropped.
#[derive(Debug)]
pub(crate) struct Group(());

impl Group {
    pub(crate) fn open(title: &str) -> Self {
        log_line(&format!("::group::{}", escape_data(title)));
        Self(())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        log_line("::endgroup::");
    }
}

/// Workflow commands are off until dropped.
#[derive(Debug)]
pub(crate) struct StopCommands {
    token: String,
}

impl StopCommands {
    pub(crate) fn start() -> Self {
        let token = random_token("clanforge-wait-");
        log_line(&format!("::stop-commands::{token}"));
        Self { token }
    }
}

impl Drop for StopCommands {
    fn drop(&mut self) {
        log_line(&format!("::{}::", self.token));
    }
}
