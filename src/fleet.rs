//! The install list of a fleet, read in bounded memory: of each entry only the fields the gate
//! reads are looked at, and the rest (names, addresses, mirrors, whatever a real answer
//! carries) are skipped as they are parsed, never built into values; each entry is folded into
//! counts as it is read. A 100,000-entry answer is held once as bytes and once as job IDs.

use crate::evidence::{self, Ambiguous};
use crate::job::{JobState, JobStatus, status_of};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// The fields an install entry's reading looks at (`job::status_of` and the list's own).
const ENTRY_FIELDS: &[&str] = &[
    "jobstateid",
    "jobstatename",
    "jobprogress",
    "jobfailed",
    "joberror",
    "jobeta",
    "jobstart",
    "jobcreated",
    "jobupdated",
    "jobid",
    "target_imageversionid",
];

/// An install list answer: its top-level fields but `installs`, as they came (an error answer
/// is only these), and the installs of `version` (every install when it is empty) folded into
/// counts. `installs` is `None` when the answer has no list (or something else under that key).
#[derive(Debug, Default)]
pub(crate) struct InstallList {
    pub top: Map<String, Value>,
    pub installs: Option<Fold>,
    /// A top-level key the verdict reads, given twice.
    pub duplicates: Vec<String>,
}

/// What the gate keeps of a version's installs: counts and the few facts the log shows, each
/// entry added as it is read and then dropped. A fleet's size costs no memory but its IDs.
#[derive(Debug, Default)]
pub(crate) struct Fold {
    /// Installs still to do (not failed).
    pub left: u64,
    pub failed: u64,
    /// The least advanced state of what is left.
    pub least: Option<JobState>,
    /// The first failed install's error.
    pub error: Option<String>,
    pub progress_sum: u64,
    pub progress_count: u64,
    pub eta: Option<i64>,
    /// The install jobs' IDs (`jobid`), to count those that are done and gone.
    pub units: Vec<u64>,
    /// The first entry that can't be read either way: the list is ambiguous.
    pub ambiguous: Option<Ambiguous>,
}

impl Fold {
    fn add(&mut self, status: JobStatus) {
        if status.is_failure() {
            self.failed += 1;
            if self.error.is_none() {
                self.error = status.error;
            }
        } else {
            self.left += 1;
            self.least = Some(match self.least {
                Some(least) if least.order() <= status.state.order() => least,
                _ => status.state,
            });
        }
        if let Some(progress) = status.progress {
            self.progress_sum += u64::from(progress);
            self.progress_count += 1;
        }
        self.eta = self.eta.max(status.eta);
    }
}

/// Reads an install list, each entry folded in as it is parsed: what is kept of a
/// 100,000-entry answer is counts and 100,000 IDs, not 100,000 statuses.
pub(crate) fn read(body: &[u8], version: &str) -> serde_json::Result<InstallList> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let list = ListSeed { version }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(list)
}

/// An install job's ID as a number: its own when it is one, else a hash of its text as sent
/// (the gate only tells them apart; the text is never shown, so it skips the filter that
/// would cost every entry a scan for secrets, and could make two IDs one).
fn unit(value: &Value) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    evidence::id(value).or_else(|| {
        let text = match value {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return None,
        };
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        text.hash(&mut hasher);
        Some(hasher.finish() | 1 << 63)
    })
}

struct ListSeed<'v> {
    version: &'v str,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = InstallList;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<InstallList, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = InstallList;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InstallList, A::Error> {
        let mut list = InstallList::default();
        let mut seen_installs = false;
        while let Some(key) = map.next_key::<String>()? {
            if key == "installs" {
                if std::mem::replace(&mut seen_installs, true) {
                    list.duplicates.push(key);
                }
                list.installs = map.next_value_seed(EntriesSeed { version: self.version })?;
            } else {
                let value: Value = map.next_value()?;
                if list.top.insert(key.clone(), value).is_some() {
                    list.duplicates.push(key);
                }
            }
        }
        Ok(list)
    }
}

/// The `installs` value: a list of entries, or anything else (then `None`).
struct EntriesSeed<'v> {
    version: &'v str,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = Option<Fold>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Anything but the expected container is skipped whole: `visit_*` for each scalar says so.
macro_rules! none_for_scalars {
    () => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = Option<Fold>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of installs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut fold = Fold::default();
        while let Some(entry) = seq.next_element_seed(EntrySeed { version: self.version })? {
            match entry {
                Ok(Some((status, unit))) => {
                    fold.units.extend(unit);
                    fold.add(status);
                }
                Ok(None) => {}
                Err(unclear) => {
                    fold.ambiguous.get_or_insert(unclear);
                }
            }
        }
        Ok(Some(fold))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    none_for_scalars!();
}

/// One entry: its status and job ID if it is an object of `version`'s; `None` for the rest
/// (skipped, as the list's reading always skipped them); `Err` for one whose version, state or
/// `jobfailed` can't be read either way, or that gives a field twice.
struct EntrySeed<'v> {
    version: &'v str,
}

type Entry = Result<Option<(JobStatus, Option<u64>)>, Ambiguous>;

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an install entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Only this entry's fields of interest, and only while it is read.
        let mut entry = Map::new();
        let mut duplicates = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if ENTRY_FIELDS.contains(&key.as_ref()) {
                let value: Value = map.next_value()?;
                if entry.insert(key.clone().into_owned(), value).is_some() {
                    duplicates.push(key.into_owned());
                }
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(self.entry(&entry, &duplicates))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Ok(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Ok(None))
    }
}

impl EntrySeed<'_> {
    /// One entry's fields read: whether it is this version's (its target version compared as a
    /// number; one that can't be read may be ours, so the list is ambiguous), and its status.
    fn entry(&self, entry: &Map<String, Value>, duplicates: &[String]) -> Entry {
        evidence::no_duplicate(duplicates)?;
        if !self.version.is_empty() {
            let target = entry.get("target_imageversionid");
            match target.and_then(evidence::id) {
                Some(target) if Some(target) == evidence::id_text(self.version) => {}
                Some(_) => return Ok(None),
                None => {
                    return Err(Ambiguous::new(
                        "an install's target_imageversionid",
                        target,
                        "so whether it is of this version is unknown",
                    ));
                }
            }
        }
        let status =
            status_of(entry, None)?.unwrap_or_else(|| JobStatus::synthesized(JobState::Unknown));
        Ok(Some((status, entry.get("jobid").and_then(unit))))
    }
}
