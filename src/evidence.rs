//! The one rule for every field the verdict reads: success needs unambiguous evidence.
//!
//! A value that clearly says "not failed" (`0`, `"0"`, `false`, `"false"`, `null`, absent) is
//! not a failure; one that clearly says "failed" (any non-zero number, `true`, `"true"`,
//! `"yes"`, `"1"`, ...) is; anything else makes the answer [`Ambiguous`]: never a success,
//! retried as a bad answer, then exit 4 naming the field and its value. The same holds for two
//! fields that contradict each other (a state ID and name), a field the verdict reads given
//! twice, and a count that is missing or not a count. IDs compare as numbers whatever their
//! JSON form (`1`, `1.0`, `"1"`).
//!
//! Fields that only inform the log (progress, ETA, times) stay tolerant: a value that can't be
//! read there is as if absent, since it can't turn a failure into a success.

use crate::state::{JobState, Phase};
use crate::untrusted::one_line;
use serde_json::{Map, Value};

/// The top-level fields of an answer that the verdict reads: given twice, the answer is
/// ambiguous (a JSON reader keeps the last, a server may have meant the first).
pub(crate) const VERDICT_FIELDS: &[&str] = &[
    "success",
    "error",
    "jobstateid",
    "jobstatename",
    "jobfailed",
    "joberror",
    "updateid",
    "diffid",
    "imageversionid",
    "installs",
    "pending_machines",
    "failed_machines",
    "completed_machines",
    "target_imageversionid",
    "jobid",
];

/// A JSON object read with the keys it gives twice: a reader that keeps one of them can't know
/// which the server meant.
#[derive(Debug, Default)]
pub(crate) struct Object {
    pub fields: Map<String, Value>,
    pub duplicates: Vec<String>,
}

impl<'de> serde::Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Object;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Object, A::Error> {
                let mut obj = Object::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    if obj.fields.insert(key.clone(), value).is_some() {
                        obj.duplicates.push(key);
                    }
                }
                Ok(obj)
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// An answer that says neither one thing nor the other about a field the verdict reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} is {value}, {why}")]
pub struct Ambiguous {
    /// The field, or the fields that contradict each other.
    pub field: String,
    /// The value as it came (JSON), through the one filter for server text.
    pub value: String,
    pub why: &'static str,
}

impl Ambiguous {
    pub fn new(field: impl Into<String>, value: Option<&Value>, why: &'static str) -> Self {
        Self { field: field.into(), value: value.map_or_else(|| "missing".to_owned(), shown), why }
    }
}

/// A value as an error message may show it: its JSON, on one clean line.
fn shown(value: &Value) -> String {
    one_line(&value.to_string())
}

/// A flag's reading: `Ok(None)` absent or `null`; `Ok(Some(_))` a value that clearly says
/// one or the other; `Err` anything else.
pub(crate) fn flag(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>, Ambiguous> {
    let unclear = |value| Ambiguous::new(key, Some(value), "which says neither true nor false");
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(value @ Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f != 0.0)),
            _ => Err(unclear(value)),
        },
        Some(value @ Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            number => match number.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Some(f != 0.0)),
                _ => Err(unclear(value)),
            },
        },
        Some(value) => Err(unclear(value)),
    }
}

/// `jobfailed` and its like: set, not set, or ambiguous. Absent is not set.
pub(crate) fn failed(obj: &Map<String, Value>, key: &str) -> Result<bool, Ambiguous> {
    flag(obj, key).map(|set| set == Some(true))
}

/// A whole number, as a JSON number or a string holding one; `1.0` is 1, `1.5` is none.
pub(crate) fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| exact(n.as_f64()?)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| exact(s.parse().ok()?))
        }
        _ => None,
    }
}

/// A float that is exactly a whole number an `i64` holds.
fn exact(f: f64) -> Option<i64> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53: every whole number below is exact
    (f.is_finite() && f.fract() == 0.0 && f.abs() < LIMIT).then_some(f as i64)
}

/// An ID as a number, whatever its JSON form (`1`, `1.0`, `"1"`, `" 0001 "`).
pub(crate) fn id(value: &Value) -> Option<u64> {
    integer(value).and_then(|n| u64::try_from(n).ok())
}

/// An ID's text as a number (`"1.0"` is 1), for IDs that came as text.
pub(crate) fn id_text(text: &str) -> Option<u64> {
    id(&Value::String(text.to_owned()))
}

/// A count the verdict needs (machines pending, failed): a whole number, not negative, there.
pub(crate) fn count(obj: &Map<String, Value>, key: &str) -> Result<u64, Ambiguous> {
    let value = obj.get(key);
    let missing = || Ambiguous::new(key, value, "not a count of machines");
    match value {
        None | Some(Value::Null) => Err(missing()),
        Some(v) => integer(v).and_then(|n| u64::try_from(n).ok()).ok_or_else(missing),
    }
}

/// A job's state, from `jobstateid` and `jobstatename`: with its ID and name as they came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StateRead {
    pub state: JobState,
    pub id: Option<i64>,
    pub name: Option<String>,
}

/// The state both fields say, or `Ok(None)` when the answer has neither. A field that can't be
/// read, or two that disagree where one of them could mean failure or success, is ambiguous:
/// `5` with "Failed", `5` with a name this client does not know, an unknown ID with
/// "Completed". One that says failed wins over one it does not know.
pub(crate) fn state(obj: &Map<String, Value>) -> Result<Option<StateRead>, Ambiguous> {
    let id = match obj.get("jobstateid") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            integer(value)
                .ok_or_else(|| Ambiguous::new("jobstateid", Some(value), "not a state's ID"))?,
        ),
    };
    // Read as sent; only what is shown goes through the filter (which may redact a secret
    // out of the middle of a word).
    let said = match obj.get("jobstatename") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(value) => {
            return Err(Ambiguous::new("jobstatename", Some(value), "not a state's name"));
        }
    };
    let name = said.map(one_line);
    let by_id = id.map(JobState::from_id);
    let by_name = said.map(JobState::from_name);
    let state = match (by_id, by_name) {
        (None, None) => return Ok(None),
        (Some(one), None) | (None, Some(one)) => one,
        (Some(a), Some(b)) if a == b => a,
        // Complete against anything else: the one reading that could turn a failure into a
        // success, so neither is believed.
        (Some(a), Some(b)) if a == JobState::Complete || b == JobState::Complete => {
            return Err(Ambiguous {
                field: "jobstateid and jobstatename".to_owned(),
                value: format!(
                    "{} and {}",
                    obj.get("jobstateid").map_or_else(String::new, shown),
                    obj.get("jobstatename").map_or_else(String::new, shown)
                ),
                why: "which contradict each other",
            });
        }
        // A failure against a state still running or unknown: failed, as `jobfailed` wins.
        (Some(a), Some(b)) if a.phase() == Phase::Failed || b.phase() == Phase::Failed => {
            JobState::Failed
        }
        // Both still waiting: the one this client knows, the less advanced of two.
        (Some(JobState::Unknown), Some(known)) | (Some(known), Some(JobState::Unknown)) => known,
        (Some(a), Some(b)) => std::cmp::min_by_key(a, b, |s| s.order()),
    };
    Ok(Some(StateRead { state, id, name }))
}

/// `Err` naming the first of `duplicates` that the verdict reads.
pub(crate) fn no_duplicate(duplicates: &[String]) -> Result<(), Ambiguous> {
    match duplicates.iter().find(|key| VERDICT_FIELDS.contains(&key.as_str())) {
        Some(key) => Err(Ambiguous {
            field: one_line(key),
            value: "given twice".to_owned(),
            why: "so which one the server meant is unknown",
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn ids_compare_as_numbers_whatever_their_form() {
        for form in [json!(7), json!(7.0), json!("7"), json!(" 7 "), json!("7.0"), json!("0007")] {
            assert_eq!(id(&form), Some(7), "{form}");
        }
        for not in [json!(7.5), json!("x"), json!(-7), json!(null), json!(true)] {
            assert_eq!(id(&not), None, "{not}");
        }
    }

    #[test]
    fn a_count_must_be_there_and_be_a_count() {
        assert_eq!(count(&obj(json!({"n": "3"})), "n"), Ok(3));
        for bad in [
            json!({}),
            json!({"n": null}),
            json!({"n": "2 machines"}),
            json!({"n": -1}),
            json!({"n": 1.5}),
        ] {
            assert!(count(&obj(bad.clone()), "n").is_err(), "{bad}");
        }
    }
}
