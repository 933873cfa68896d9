//! Backend operations as plain data: exactly the calls Flask-Caching makes on its cache
//! backend (FC-4.3.3), their replies, and their failures.

use std::fmt;

use crate::error::{PyError, PyExceptionType};
use crate::value::{repr_str_into, PythonVersion, Value};

/// One call on the cache backend, as Flask-Caching makes it (FC-4.3.3, FC-4.5.3).
///
/// A `timeout` of `None` means the backend's default timeout; `0` means never expires; a
/// negative timeout stores an entry that is already expired (FC-4.3.1). The variants'
/// descriptions are SimpleCache's; [`StoreFlavor`](super::StoreFlavor) lists where a
/// `RedisCache` differs (`-1` never expires, `<= -2` raises, `delete` of an expired key is
/// `False`, ...; FC-4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreOp {
    /// `cache.get(key)`: the value, or `None` when missing or expired (FC-4.3.2).
    Get {
        /// The key, before any backend prefix (FC-4.2).
        key: String,
    },
    /// `cache.get_many(*keys)`: one `get` per key, in order (FC-4.3.3).
    GetMany {
        /// The keys, in call order; repeats are allowed.
        keys: Vec<String>,
    },
    /// `cache.has(key)`: whether the entry is alive (FC-4.3.2).
    Has {
        /// The key, before any backend prefix (FC-4.2).
        key: String,
    },
    /// `cache.set(key, value, timeout)`: prunes, stores, returns `True` (FC-4.3.3, FC-4.3.4).
    Set {
        /// The key, before any backend prefix (FC-4.2).
        key: String,
        /// The value to store (FC-4.3.5).
        value: Value,
        /// Seconds; `None` = default timeout (FC-4.3.1).
        timeout: Option<i64>,
    },
    /// `cache.set_many(mapping, timeout)`: one `set` per item of the dict, returning the
    /// keys whose `set` was truthy (FC-4.3.3).
    SetMany {
        /// The mapping's items in order. The mapping is a Python `dict`: a repeated key
        /// keeps its first position and takes its last value, as `dict(items)` would.
        items: Vec<(String, Value)>,
        /// Seconds; `None` = default timeout (FC-4.3.1).
        timeout: Option<i64>,
    },
    /// `cache.add(key, value, timeout)`: prunes, then stores only if the key is not alive
    /// (FC-4.3.3).
    Add {
        /// The key, before any backend prefix (FC-4.2).
        key: String,
        /// The value to store (FC-4.3.5).
        value: Value,
        /// Seconds; `None` = default timeout (FC-4.3.1).
        timeout: Option<i64>,
    },
    /// `cache.delete(key)`: `True` iff an entry, even a dead one, was present (FC-4.3.3).
    Delete {
        /// The key, before any backend prefix (FC-4.2).
        key: String,
    },
    /// `cache.delete_many(*keys)`: the keys deleted or absent afterwards (FC-4.3.3).
    DeleteMany {
        /// The keys, in call order; repeats are allowed.
        keys: Vec<String>,
    },
    /// `cache.clear()`: empties the backend, returns `True` (FC-4.3.3).
    Clear,
}

impl StoreOp {
    /// `get_many(*keys)` of borrowed keys.
    pub fn get_many_of(keys: &[&str]) -> StoreOp {
        StoreOp::GetMany {
            keys: keys.iter().map(|k| (*k).to_owned()).collect(),
        }
    }

    /// The backend method's name, as cachelib spells it (`get`, `get_many`, `set`, ...)
    /// (FC-4.3.3).
    pub fn name(&self) -> &'static str {
        match self {
            StoreOp::Get { .. } => "get",
            StoreOp::GetMany { .. } => "get_many",
            StoreOp::Has { .. } => "has",
            StoreOp::Set { .. } => "set",
            StoreOp::SetMany { .. } => "set_many",
            StoreOp::Add { .. } => "add",
            StoreOp::Delete { .. } => "delete",
            StoreOp::DeleteMany { .. } => "delete_many",
            StoreOp::Clear => "clear",
        }
    }

    /// The keys the operation names, in call order (`set_many`: the mapping's; `clear`:
    /// none).
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        let (one, many, items): (Option<&String>, &[String], &[(String, Value)]) = match self {
            StoreOp::Get { key }
            | StoreOp::Has { key }
            | StoreOp::Delete { key }
            | StoreOp::Set { key, .. }
            | StoreOp::Add { key, .. } => (Some(key), &[], &[]),
            StoreOp::GetMany { keys } | StoreOp::DeleteMany { keys } => (None, keys, &[]),
            StoreOp::SetMany { items, .. } => (None, &[], items),
            StoreOp::Clear => (None, &[], &[]),
        };
        one.into_iter()
            .chain(many)
            .map(String::as_str)
            .chain(items.iter().map(|(k, _)| k.as_str()))
    }

    /// Whether any of [`StoreOp::keys`] satisfies `test`: the same answer, matched per
    /// operation (a store asks it of every operation, and the chained iterator costs more
    /// than the test).
    pub fn any_key(&self, test: impl Fn(&str) -> bool) -> bool {
        match self {
            StoreOp::Get { key }
            | StoreOp::Has { key }
            | StoreOp::Delete { key }
            | StoreOp::Set { key, .. }
            | StoreOp::Add { key, .. } => test(key),
            StoreOp::GetMany { keys } | StoreOp::DeleteMany { keys } => {
                keys.iter().any(|k| test(k))
            }
            StoreOp::SetMany { items, .. } => items.iter().any(|(k, _)| test(k)),
            StoreOp::Clear => false,
        }
    }

    /// Whether the operation can change the backend's contents (`set`, `set_many`, `add`,
    /// `delete`, `delete_many`, `clear`; FC-4.3.3, FC-4.3.4).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            StoreOp::Get { .. } | StoreOp::GetMany { .. } | StoreOp::Has { .. }
        )
    }
}

/// What a backend call returns (FC-4.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreReply {
    /// `get`: the stored value, or Python `None` when the key is missing or expired
    /// (FC-4.3.2). A stored `None` is indistinguishable here; `has` tells them apart.
    Value(Value),
    /// `get_many`: one value per requested key, `None` for misses (FC-4.3.3).
    Values(Vec<Value>),
    /// `has`, `set`, `add`, `delete`, `clear` (FC-4.3.3); under
    /// [`StoreFlavor::Werkzeug016`](super::StoreFlavor::Werkzeug016) also `set_many` and
    /// `delete_many`, whose werkzeug versions return one `bool`. Werkzeug's `clear` returns
    /// `None`, replied as `Value(Value::None)`.
    Bool(bool),
    /// `set_many` (keys whose `set` was truthy) and `delete_many` (keys deleted or absent
    /// afterwards; under Flask-Caching 2.4.1, keys deleted), as the caller spelled them
    /// (FC-4.3.3).
    Keys(Vec<String>),
}

impl StoreReply {
    /// The yes/no answer of `has` or `delete`: a `bool`, or the count redis-py returns for
    /// `EXISTS` and `DEL` where Werkzeug's `RedisCache` hands it back as it is.
    pub fn flag(&self) -> Option<bool> {
        match self {
            StoreReply::Bool(b) => Some(*b),
            StoreReply::Value(Value::Int(n)) => Some(!n.is_zero()),
            _ => None,
        }
    }

    /// For a `get_many` of `n` keys whose reader only wants stored `str`s: appends them to
    /// `joined` in order and answers `None` when there are `n` values and each is a `str`;
    /// otherwise hands the reply back, leaving `joined` as it was.
    pub fn join_strs(self, n: usize, joined: &mut String) -> Option<StoreReply> {
        match &self {
            StoreReply::Values(values)
                if values.len() == n && values.iter().all(|v| matches!(v, Value::Str(_))) =>
            {
                for value in values {
                    if let Value::Str(s) = value {
                        joined.push_str(s);
                    }
                }
                None
            }
            _ => Some(self),
        }
    }
}

/// A backend call that raised instead of returning (FC-4.3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// `delete_many` with `ignore_delete_many_errors=False` found keys still present after
    /// deleting them, and raised `RuntimeError("Failed to delete keys: [...]")`
    /// (FC-4.3.3). SimpleCache cannot reach this; backends that can fail to delete can.
    DeleteManyFailed {
        /// The keys that survived, in call order, as the caller spelled them.
        keys: Vec<String>,
    },
    /// The backend or the driver talking to it failed (connection lost, injected fault);
    /// the text describes the failure (FC-4.3.3 has no such case for SimpleCache).
    Failed(String),
    /// The backend raised this Python exception (e.g. recorded from a real backend, or a
    /// Redis flavour's `ResponseError` for a timeout the server refuses, FC-4.5.2).
    Raised(PyError),
}

impl StoreError {
    /// The Python exception this failure surfaces as, when there is a measured one:
    /// `DeleteManyFailed` is a `RuntimeError` whose message lists the keys as `str(list)`
    /// prints them under `version` (FC-4.3.3). `Failed` has no fixed Python form.
    pub fn py_error(&self, version: PythonVersion) -> Option<PyError> {
        match self {
            StoreError::DeleteManyFailed { keys } => {
                let mut message = String::from("Failed to delete keys: [");
                for (i, key) in keys.iter().enumerate() {
                    if i > 0 {
                        message.push_str(", ");
                    }
                    repr_str_into(key, &mut message, version);
                }
                message.push(']');
                Some(PyError::new(PyExceptionType::RuntimeError, message))
            }
            StoreError::Failed(_) => None,
            StoreError::Raised(err) => Some(err.clone()),
        }
    }

    /// The Python exception this failure surfaces as in the engine: the measured form where
    /// there is one, else a `ConnectionError` carrying the failure text.
    pub fn to_py_error(&self, version: PythonVersion) -> PyError {
        match self {
            StoreError::Failed(text) => {
                PyError::new(PyExceptionType::ConnectionError, text.clone())
            }
            other => other.py_error(version).unwrap_or_else(|| {
                PyError::new(PyExceptionType::ConnectionError, other.to_string())
            }),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::DeleteManyFailed { .. } => match self.py_error(PythonVersion::default()) {
                Some(err) => fmt::Display::fmt(&err, f),
                None => f.write_str("delete_many failed"),
            },
            StoreError::Failed(why) => write!(f, "backend failure: {why}"),
            StoreError::Raised(err) => fmt::Display::fmt(err, f),
        }
    }
}

impl std::error::Error for StoreError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_key_answers_as_keys_does() {
        let v = || Value::int(1);
        let ops = [
            StoreOp::Get { key: "a".into() },
            StoreOp::Has { key: "b".into() },
            StoreOp::Delete { key: "a".into() },
            StoreOp::Set {
                key: "b".into(),
                value: v(),
                timeout: None,
            },
            StoreOp::Add {
                key: "a".into(),
                value: v(),
                timeout: Some(1),
            },
            StoreOp::GetMany {
                keys: vec!["c".into(), "a".into()],
            },
            StoreOp::GetMany { keys: vec![] },
            StoreOp::DeleteMany {
                keys: vec!["c".into(), "b".into()],
            },
            StoreOp::SetMany {
                items: vec![("c".into(), v()), ("a".into(), v())],
                timeout: None,
            },
            StoreOp::Clear,
        ];
        for op in &ops {
            for wanted in ["a", "b", "c", "d"] {
                assert_eq!(
                    op.any_key(|k| k == wanted),
                    op.keys().any(|k| k == wanted),
                    "{op:?}"
                );
            }
        }
    }

    #[test]
    fn delete_many_error_message_is_python_str_of_list() {
        let err = StoreError::DeleteManyFailed {
            keys: vec!["a".into(), "it's".into()],
        };
        let py = err.py_error(PythonVersion::Py311);
        assert_eq!(
            py,
            Some(PyError::new(
                PyExceptionType::RuntimeError,
                "Failed to delete keys: ['a', \"it's\"]"
            ))
        );
        assert_eq!(
            err.to_string(),
            "RuntimeError: Failed to delete keys: ['a', \"it's\"]"
        );
        assert_eq!(
            StoreError::Failed("x".into()).py_error(PythonVersion::Py311),
            None
        );
    }

    #[test]
    fn names() {
        assert_eq!(StoreOp::Clear.name(), "clear");
        assert!(StoreOp::Clear.is_write());
        assert!(!StoreOp::Has { key: "k".into() }.is_write());
    }
}
