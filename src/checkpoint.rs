//! The crash-safe checkpoint as an output records it: the IDs of the chain's jobs and a create
//! whose outcome is not known (`update_id`, `diff_id`, `image_version_id`, `pending_create`), in
//! a result file's JSON or a dotenv file's `CLANFORGE_*` lines. One typed reader of both forms,
//! read two ways: `--resume-from` ([`Recorded::resume`]: what it can't take is an error, so a
//! deploy never starts over by mistake) and the IDs a run that never starts keeps in the file
//! it replaces ([`Recorded::kept`]: what it can't read holds none).

use crate::chain::{Ids, Pending, positive_id};
use serde::Deserialize;

/// The keys as an output wrote them.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Recorded {
    update_id: Option<Field>,
    diff_id: Option<Field>,
    image_version_id: Option<Field>,
    pending_create: Option<Field>,
}

/// One key's value: text, a number (the API's types drift, and so might a hand-made file), or
/// anything else, which is no ID. `null` is the key's absence.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Field {
    Text(String),
    Number(serde_json::Number),
    Other(serde::de::IgnoredAny),
}

impl Field {
    fn text(&self) -> Option<String> {
        match self {
            Self::Text(text) => Some(text.trim().to_owned()),
            Self::Number(n) => Some(n.to_string()),
            Self::Other(_) => None,
        }
    }
}

impl Recorded {
    /// A result file's JSON.
    pub(crate) fn from_json(text: &str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    /// A dotenv file: each key's last `CLANFORGE_*=` line.
    pub(crate) fn from_dotenv(text: &str) -> Self {
        let value = |key: &str| {
            let name = format!("{}=", crate::outcome::variable(key));
            let line = text.lines().filter_map(|l| l.strip_prefix(&name)).next_back()?;
            Some(Field::Text(line.to_owned()))
        };
        Self {
            update_id: value("update_id"),
            diff_id: value("diff_id"),
            image_version_id: value("image_version_id"),
            pending_create: value("pending_create"),
        }
    }

    /// The IDs to resume from: each one ID, a positive integer; a pending create a step and a
    /// time. Anything else is refused with what is wrong (the end of "FILE …").
    pub(crate) fn resume(&self) -> Result<Ids, String> {
        let id = |name: &str, field: &Option<Field>| -> Result<Option<String>, String> {
            let Some(field) = field else { return Ok(None) };
            let not_an_id = || format!("has a {name} that is not an ID");
            let value = field.text().ok_or_else(not_an_id)?;
            if value.split_whitespace().count() > 1 {
                return Err(format!(
                    "names more than one {name} ({value}): it is not a deploy's result"
                ));
            }
            positive_id(&value).map_err(|()| not_an_id())
        };
        let pending = match &self.pending_create {
            None => None,
            Some(Field::Text(text)) if text.trim().is_empty() => None,
            Some(Field::Text(text)) => Some(Pending::parse(text).ok_or_else(|| {
                format!(
                    "has a pending_create ({text:?}) that is not a step and a time, e.g. \
                     \"update 1796170000\""
                )
            })?),
            Some(_) => return Err("has a pending_create that is not text".into()),
        };
        Ok(Ids {
            update: id("update_id", &self.update_id)?,
            diff: id("diff_id", &self.diff_id)?,
            version: id("image_version_id", &self.image_version_id)?,
            pending,
        }
        .settled())
    }

    /// The IDs a run that never starts writes back: each key's digits as they were (a wait on
    /// several jobs names several), anything else none.
    pub(crate) fn kept(&self) -> Ids {
        let digits = |field: &Option<Field>| {
            let value = field.as_ref()?.text()?;
            let digits = value.bytes().all(|b| b.is_ascii_digit() || b == b' ');
            (!value.is_empty() && digits).then_some(value)
        };
        let pending = self.pending_create.as_ref().and_then(Field::text);
        Ids {
            update: digits(&self.update_id),
            diff: digits(&self.diff_id),
            version: digits(&self.image_version_id),
            pending: pending.as_deref().and_then(Pending::parse),
        }
        .settled()
    }
}
