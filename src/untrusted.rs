//! The one door for text the gate did not write (a server's answers, an error's cause): every
//! secret the gate knows redacted, hidden characters made visible, every CI's command syntax
//! broken, one line, bounded. Every destination (the log, the result and dotenv files, JUnit,
//! the summaries, every CI's outputs, the trace) gets server text only through here.
//!
//! Secrets are registered once, when the command line is read ([`redact_also`]), in every form
//! a server could echo them in: raw, percent-encoded once and twice (either case of hex), and
//! as a JSON string escapes them (with PHP's `\/` and `\uXXXX`). They are redacted before any
//! cut, and again after the text is made visible, so that neither a cut nor a folded space can
//! leave part of one.

use crate::secret::Secret;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::sync::RwLock;

/// What a redacted secret reads as.
pub(crate) const REDACTED: &str = "***";

/// Every form of every secret, longest first (a part of a longer one can't leave the rest).
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Adds `secrets` (in every form a server could echo) to what all server text is redacted of.
pub fn redact_also<'a>(secrets: impl IntoIterator<Item = &'a Secret>) {
    let mut known = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    for secret in secrets {
        let raw = secret.expose();
        if raw.trim().is_empty() {
            continue;
        }
        known.extend(forms(raw));
    }
    known.retain(|form| !form.is_empty());
    known.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    known.dedup();
}

/// The forms a secret may come back in: raw, percent-encoded once and twice, and each of
/// those as a JSON string (once or twice) or PHP's `json_encode` would write it.
fn forms(raw: &str) -> Vec<String> {
    let mut plain = vec![raw.to_owned(), raw.trim().to_owned()];
    for upper in [true, false] {
        let once = percent_encoded(raw, upper, false);
        let form = percent_encoded(raw, upper, true);
        plain.push(percent_encoded(&once, upper, false));
        plain.push(percent_encoded(&form, upper, true));
        plain.push(once);
        plain.push(form);
    }
    let mut forms = plain.clone();
    for form in &plain[..2] {
        let json = json_escaped(form);
        forms.push(json_escaped(&json));
        forms.push(php_escaped(&json));
        forms.push(json);
    }
    forms
}

/// `text` as it stands inside a JSON string.
fn json_escaped(text: &str) -> String {
    let json = serde_json::to_string(text).unwrap_or_default();
    json.get(1..json.len().saturating_sub(1)).unwrap_or_default().to_owned()
}

/// A JSON string's inside as PHP's `json_encode` writes it: `\/`, and `\uXXXX` for all
/// but ASCII.
fn php_escaped(json: &str) -> String {
    let mut php = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '/' => php.push_str("\\/"),
            c if !c.is_ascii() => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    php.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => php.push(c),
        }
    }
    php
}

/// RFC 3986's unreserved characters stay as they are; every other byte is `%XX`: how a
/// URL's part (a storage key in an update URL) is encoded.
pub(crate) const COMPONENT: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// What `application/x-www-form-urlencoded` (a query's values) leaves as it is; a space
/// becomes `+`.
const FORM: &AsciiSet = &NON_ALPHANUMERIC.remove(b'*').remove(b'-').remove(b'.').remove(b'_');

/// `text` percent-encoded as a URL's part, or (`form`) as a query's value; hex in upper case,
/// or lower (`upper` false), as a server may echo either.
fn percent_encoded(text: &str, upper: bool, form: bool) -> String {
    let encoded = match form {
        true => utf8_percent_encode(text, FORM).to_string().replace("%20", "+"),
        false => utf8_percent_encode(text, COMPONENT).to_string(),
    };
    if upper {
        return encoded;
    }
    // The two hex digits after each `%` in lower case, nothing else.
    let mut lower = String::with_capacity(encoded.len());
    let mut hex_left = 0;
    for c in encoded.chars() {
        if hex_left > 0 {
            lower.push(c.to_ascii_lowercase());
            hex_left -= 1;
        } else {
            hex_left = if c == '%' { 2 } else { 0 };
            lower.push(c);
        }
    }
    lower
}

/// The longest form of a secret registered, in bytes: how far past a cut a secret can reach.
fn longest() -> usize {
    SECRETS.read().unwrap_or_else(|e| e.into_inner()).first().map_or(0, String::len)
}

/// `text` with every known secret, in any of its forms, replaced by [`REDACTED`].
pub(crate) fn redact(text: &str) -> String {
    let known = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    let mut text = text.to_owned();
    for secret in known.iter() {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

/// Server text on one line, hidden characters made visible, and a bounded length.
pub fn one_line(text: &str) -> String {
    const MAX: usize = 300;
    cut(visible_words(text), MAX)
}

/// `line` cut to `max` characters, `…` marking a cut.
fn cut(line: String, max: usize) -> String {
    if line.chars().count() > max {
        line.chars().take(max).collect::<String>() + "…"
    } else {
        line
    }
}

/// The start of a body, on one line, for an error message.
pub fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 120;
    let line = visible_words(&redacted_start(body, MAX * 4));
    if line.is_empty() {
        return "(empty body)".to_owned();
    }
    cut(line, MAX)
}

/// At least the first `max` bytes of `body` (where it has them) as text, every secret
/// redacted, and nothing of a secret that the end would cut: a secret is redacted whole
/// before any cut, however far it reaches past it.
fn redacted_start(body: &[u8], max: usize) -> String {
    let longest = longest();
    let window = &body[..body.len().min(max.saturating_add(longest))];
    let mut text = redact(&String::from_utf8_lossy(window));
    if window.len() < body.len() {
        // A secret the window cuts starts in its last `longest` bytes, which redaction left
        // as they were: drop them.
        let mut end = text.len().saturating_sub(longest);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

/// A character that text from a server must not carry into a log: C0 and C1 controls, DEL,
/// and the invisible format characters (the bidi overrides and isolates that reorder what a
/// reader sees, zero-width spaces and joiners, the byte-order mark, the tag characters).
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}' | '\u{180e}'
            | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}'
            | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// The words of `text`, one space apart, every secret redacted and every hidden character
/// made visible as its escape (`\u{202e}`): the one filter all server text goes through
/// before it reaches any destination, so that it can't leak a key, move a cursor, reorder a
/// line, or start a line of its own.
pub(crate) fn visible_words(text: &str) -> String {
    let text = redact(text);
    let mut visible = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() {
            visible.push(c);
        } else {
            push_visible(&mut visible, c);
        }
    }
    let words = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    // Folding spaces or showing escapes can make a secret of what was not one.
    defuse(&redact(&words))
}

/// Text on one line for the trace, with `\n`, `\r`, `\t` and every other control or invisible
/// format character (the bidi overrides among them) written as an escape, every secret
/// redacted first and every CI marker broken.
pub fn escaped(text: &str) -> String {
    let text = redact(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => push_visible(&mut out, c),
        }
    }
    defuse(&redact(&out))
}

/// The first `max` bytes of `body` as the trace shows them ([`escaped`]): redacted before the
/// cut, so that a secret across it leaves no half.
pub fn escaped_start(body: &[u8], max: usize) -> String {
    let text = escaped(&redacted_start(body, max));
    if body.len() <= max {
        return text;
    }
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// `text` with every CI command marker broken by a space after its first character, so that no
/// CI reads it as a command wherever it lands in a line: `##` anywhere (TeamCity's
/// `##teamcity[`, Azure's `##vso[` and `##[`, GitHub's legacy `##[`) becomes `# #`, and a
/// start that would open a line as one (GitHub's `::`, Buildkite's `---`, `+++`, `~~~` and
/// `^^^ +++`) becomes `: :`, `- --`, …. The text stays readable, and no CI is assumed: the
/// gate can't know who reads its log.
pub(crate) fn defuse(text: &str) -> String {
    const OPENERS: [&str; 5] = ["::", "---", "+++", "~~~", "^^^"];
    let mut out = String::with_capacity(text.len() + 4);
    // A reader may trim the line first: the opener is looked for after any leading space.
    let indent = text.len() - text.trim_start().len();
    out.push_str(&text[..indent]);
    let rest = &text[indent..];
    let mut chars = rest.chars();
    if OPENERS.iter().any(|opener| rest.starts_with(opener))
        && let Some(first) = chars.next()
    {
        out.push(first);
        out.push(' ');
    }
    for c in chars {
        if c == '#' && out.ends_with('#') {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// Pushes `c`, or its escape (`\u{1b}`) if it is [`hidden`].
pub(crate) fn push_visible(out: &mut String, c: char) {
    if hidden(c) {
        push_escape(out, c);
    } else {
        out.push(c);
    }
}

/// Pushes `c` as its escape, `\u{1b}`: how every output shows a character it can't carry.
pub(crate) fn push_escape(out: &mut String, c: char) {
    use std::fmt::Write as _;
    let _ = write!(out, "\\u{{{:x}}}", c as u32);
}
