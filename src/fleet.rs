//! The install list of a fleet, read in bounded memory: of each entry only the fields the gate
//! reads are kept, and the rest (names, addresses, mirrors, whatever a real answer carries)
//! are skipped as they are parsed, never built into values, and each entry becomes its status
//! as it is read. A 50,000-entry answer is held once as bytes and once as statuses.

use crate::job::{JobState, JobStatus, status_of, text};
use crate::kind::same_id;
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
/// is only these), and the status of each entry of `version` (every entry when it is empty).
/// `installs` is `None` when the answer has no list (or something else under that key).
#[derive(Debug, Default)]
pub struct InstallList {
    pub top: Map<String, Value>,
    pub installs: Option<Vec<JobStatus>>,
}

/// Reads an install list, each entry turned into its status as it is parsed: what is kept of
/// a 50,000-entry answer is 50,000 statuses, not 50,000 trees of every field.
pub fn read(body: &[u8], version: &str) -> serde_json::Result<InstallList> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let list = ListSeed { version }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(list)
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
        while let Some(key) = map.next_key::<String>()? {
            if key == "installs" {
                list.installs = map.next_value_seed(EntriesSeed {
                    version: self.version,
                })?;
            } else {
                let value: Value = map.next_value()?;
                list.top.insert(key, value);
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
    type Value = Option<Vec<JobStatus>>;

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
    type Value = Option<Vec<JobStatus>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of installs")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut statuses = Vec::new();
        while let Some(status) = seq.next_element_seed(EntrySeed {
            version: self.version,
        })? {
            statuses.extend(status);
        }
        Ok(Some(statuses))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    none_for_scalars!();
}

/// One entry: its status if it is an object of `version`'s; `None` for the rest (skipped, as
/// the list's reading always skipped them).
struct EntrySeed<'v> {
    version: &'v str,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = Option<JobStatus>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = Option<JobStatus>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an install entry")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Only this entry's fields of interest, and only while it is read.
        let mut entry = Map::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if ENTRY_FIELDS.contains(&key.as_ref()) {
                let value: Value = map.next_value()?;
                entry.insert(key.into_owned(), value);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let mine = self.version.is_empty()
            || text(entry.get("target_imageversionid")).is_some_and(|v| same_id(&v, self.version));
        Ok(mine.then(|| {
            let mut status =
                status_of(&entry, None).unwrap_or_else(|| JobStatus::synthesized(JobState::Unknown));
            status.units = text(entry.get("jobid")).into_iter().collect();
            status
        }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    none_for_scalars!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_entry_of_the_version_and_skips_the_rest() {
        let body = br#"{"success": true, "installs": [
                {"jobid": 1, "jobstateid": "4", "hostname": "m1", "ips": ["10.0.0.1"],
                 "target_imageversionid": 7, "extra": {"deep": [1, 2, {"x": null}]}},
                {"jobid": 2, "jobstateid": 3, "target_imageversionid": 8},
                3, null, [1], "x"]}"#;
        let list = read(body, "7").unwrap();
        assert_eq!(list.top.get("success"), Some(&Value::Bool(true)));
        let installs = list.installs.unwrap();
        assert_eq!(installs.len(), 1);
        assert_eq!(installs[0].state, JobState::Running);
        assert_eq!(installs[0].units, ["1"]);
        assert_eq!(read(body, "").unwrap().installs.unwrap().len(), 2);
        let error = read(br#"{"success": false, "installs": null, "error": true}"#, "").unwrap();
        assert!(error.installs.is_none() && error.top.contains_key("error"));
        assert!(read(b"[1]", "").is_err() && read(b"{} trailing", "").is_err());
    }
}
