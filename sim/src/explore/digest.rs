//! What the engine's steps and the store's replies contribute to an action's digest: their
//! `Debug` text. The common shapes (every store operation, every reply, strings that need
//! no escaping, `None`, `bool` and `str` values) are written straight into the hash, which
//! skips the formatting machinery on the explorer's hottest path; anything else goes
//! through `{:?}`. Either way the bytes are exactly what `{:?}` writes (tests below), so
//! history digests do not depend on which path wrote them.

use flaskcache_engine::engine::{CacheEvent, Outcome, Step};
use flaskcache_engine::error::PyError;
use flaskcache_engine::store::{StoreError, StoreOp, StoreReply};
use flaskcache_engine::Value;
use std::fmt::{self, Write};

/// `{step:?}`.
pub fn write_step(w: &mut impl Write, step: &Step) -> fmt::Result {
    match step {
        Step::Store(op) => {
            w.write_str("Store(")?;
            write_op(w, op)?;
            w.write_str(")")
        }
        Step::Compute => w.write_str("Compute"),
        Step::Done(Outcome { result, event }) => {
            w.write_str("Done(Outcome { result: ")?;
            write_result(w, result)?;
            w.write_str(", event: ")?;
            write_event(w, event)?;
            w.write_str(" })")
        }
        other => write!(w, "{other:?}"),
    }
}

/// `{result:?}` of a function's result (or a call's).
pub fn write_result(w: &mut impl Write, result: &Result<Value, PyError>) -> fmt::Result {
    match result {
        Ok(v) => {
            w.write_str("Ok(")?;
            write_value(w, v)?;
            w.write_str(")")
        }
        Err(_) => write!(w, "{result:?}"),
    }
}

/// `{event:?}`.
fn write_event(w: &mut impl Write, event: &CacheEvent) -> fmt::Result {
    let (name, key) = match event {
        CacheEvent::Hit { key } => ("Hit", key),
        CacheEvent::Deleted { key } => ("Deleted", key),
        CacheEvent::VersionReset { key } => ("VersionReset", key),
        CacheEvent::VersionDeleted { key } => ("VersionDeleted", key),
        CacheEvent::Miss { key, stored } => {
            w.write_str("Miss { key: ")?;
            write_str_debug(w, key)?;
            return write!(w, ", stored: {stored} }}");
        }
        CacheEvent::Bypassed => return w.write_str("Bypassed"),
        CacheEvent::Direct => return w.write_str("Direct"),
        CacheEvent::Uncached { .. } => return write!(w, "{event:?}"),
    };
    write_key_op(w, name, key)
}

/// `{reply:?}` of a store reply.
pub fn write_reply(w: &mut impl Write, reply: &Result<StoreReply, StoreError>) -> fmt::Result {
    let Ok(reply) = reply else {
        return write!(w, "{reply:?}");
    };
    w.write_str("Ok(")?;
    match reply {
        StoreReply::Value(v) => {
            w.write_str("Value(")?;
            write_value(w, v)?;
            w.write_str(")")?;
        }
        StoreReply::Values(vs) => {
            w.write_str("Values(")?;
            write_list(w, vs, write_value)?;
            w.write_str(")")?;
        }
        StoreReply::Bool(b) => write!(w, "Bool({b})")?,
        StoreReply::Keys(keys) => {
            w.write_str("Keys(")?;
            write_list(w, keys, |w, k| write_str_debug(w, k))?;
            w.write_str(")")?;
        }
    }
    w.write_str(")")
}

/// `{op:?}`.
fn write_op(w: &mut impl Write, op: &StoreOp) -> fmt::Result {
    match op {
        StoreOp::Get { key } => write_key_op(w, "Get", key),
        StoreOp::Has { key } => write_key_op(w, "Has", key),
        StoreOp::Delete { key } => write_key_op(w, "Delete", key),
        StoreOp::GetMany { keys } => write_keys_op(w, "GetMany", keys),
        StoreOp::DeleteMany { keys } => write_keys_op(w, "DeleteMany", keys),
        StoreOp::Set {
            key,
            value,
            timeout,
        } => write_set_op(w, "Set", key, value, *timeout),
        StoreOp::Add {
            key,
            value,
            timeout,
        } => write_set_op(w, "Add", key, value, *timeout),
        StoreOp::SetMany { items, timeout } => {
            w.write_str("SetMany { items: ")?;
            write_list(w, items, |w, (k, v)| {
                w.write_str("(")?;
                write_str_debug(w, k)?;
                w.write_str(", ")?;
                write_value(w, v)?;
                w.write_str(")")
            })?;
            w.write_str(", timeout: ")?;
            write_timeout(w, *timeout)?;
            w.write_str(" }")
        }
        StoreOp::Clear => w.write_str("Clear"),
    }
}

fn write_key_op(w: &mut impl Write, name: &str, key: &str) -> fmt::Result {
    w.write_str(name)?;
    w.write_str(" { key: ")?;
    write_str_debug(w, key)?;
    w.write_str(" }")
}

fn write_keys_op(w: &mut impl Write, name: &str, keys: &[String]) -> fmt::Result {
    w.write_str(name)?;
    w.write_str(" { keys: ")?;
    write_list(w, keys, |w, k| write_str_debug(w, k))?;
    w.write_str(" }")
}

fn write_set_op(
    w: &mut impl Write,
    name: &str,
    key: &str,
    value: &Value,
    timeout: Option<i64>,
) -> fmt::Result {
    w.write_str(name)?;
    w.write_str(" { key: ")?;
    write_str_debug(w, key)?;
    w.write_str(", value: ")?;
    write_value(w, value)?;
    w.write_str(", timeout: ")?;
    write_timeout(w, timeout)?;
    w.write_str(" }")
}

fn write_timeout(w: &mut impl Write, timeout: Option<i64>) -> fmt::Result {
    match timeout {
        None => w.write_str("None"),
        Some(t) => write!(w, "Some({t})"),
    }
}

/// `[a, b]`, each item written by `item`.
fn write_list<W: Write, T>(
    w: &mut W,
    items: &[T],
    mut item: impl FnMut(&mut W, &T) -> fmt::Result,
) -> fmt::Result {
    w.write_str("[")?;
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            w.write_str(", ")?;
        }
        item(w, x)?;
    }
    w.write_str("]")
}

/// `{value:?}`.
fn write_value(w: &mut impl Write, value: &Value) -> fmt::Result {
    match value {
        Value::None => w.write_str("None"),
        Value::Bool(b) => write!(w, "Bool({b})"),
        Value::Str(s) => {
            w.write_str("Str(")?;
            write_str_debug(w, s)?;
            w.write_str(")")
        }
        other => write!(w, "{other:?}"),
    }
}

/// `{s:?}`: printable ASCII other than `"` and `\` is written as it is, between quotes;
/// anything else is left to `str`'s own escaping.
fn write_str_debug(w: &mut impl Write, s: &str) -> fmt::Result {
    let plain = s
        .bytes()
        .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
    if !plain {
        return write!(w, "{s:?}");
    }
    w.write_str("\"")?;
    w.write_str(s)?;
    w.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flaskcache_engine::engine::HookQuery;
    use flaskcache_engine::error::PyExceptionType;

    fn values() -> Vec<Value> {
        let mut out = vec![
            Value::None,
            Value::Bool(true),
            Value::Bool(false),
            Value::int(-7),
            Value::Float(0.1),
            Value::List(vec![Value::str("a"), Value::None]),
        ];
        for s in STRINGS {
            out.push(Value::str(*s));
        }
        out
    }

    const STRINGS: &[&str] = &[
        "",
        "plain",
        "view//demo/student/all",
        "quo\"te",
        "back\\slash",
        "tab\there",
        "new\nline",
        "it's",
        "caf\u{e9}",
        "\u{301}accent first",
        "\u{7f}del",
        "~ and space ",
    ];

    fn ops() -> Vec<StoreOp> {
        let keys: Vec<String> = STRINGS.iter().map(|s| (*s).to_owned()).collect();
        let mut out = vec![
            StoreOp::Clear,
            StoreOp::GetMany { keys: vec![] },
            StoreOp::GetMany { keys: keys.clone() },
            StoreOp::DeleteMany { keys },
        ];
        for (i, s) in STRINGS.iter().enumerate() {
            let key = (*s).to_owned();
            let timeout = [None, Some(0), Some(-1), Some(300)][i % 4];
            let value = values()[i % values().len()].clone();
            out.push(StoreOp::Get { key: key.clone() });
            out.push(StoreOp::Has { key: key.clone() });
            out.push(StoreOp::Delete { key: key.clone() });
            out.push(StoreOp::Set {
                key: key.clone(),
                value: value.clone(),
                timeout,
            });
            out.push(StoreOp::Add {
                key: key.clone(),
                value: value.clone(),
                timeout,
            });
            out.push(StoreOp::SetMany {
                items: vec![(key.clone(), value), ("k".into(), Value::None)],
                timeout,
            });
        }
        out
    }

    #[test]
    fn steps_are_written_as_debug_writes_them() {
        let mut steps: Vec<Step> = ops().into_iter().map(Step::Store).collect();
        steps.push(Step::Compute);
        steps.push(Step::Hook(HookQuery::Unless));
        let error = PyError::new(PyExceptionType::KeyError, "3");
        let events = [
            CacheEvent::Hit { key: "h\"k".into() },
            CacheEvent::Miss {
                key: "m".into(),
                stored: true,
            },
            CacheEvent::Miss {
                key: "caf\u{e9}".into(),
                stored: false,
            },
            CacheEvent::Bypassed,
            CacheEvent::Uncached {
                error: error.clone(),
            },
            CacheEvent::Deleted { key: "d".into() },
            CacheEvent::VersionReset { key: "v".into() },
            CacheEvent::VersionDeleted { key: "x".into() },
            CacheEvent::Direct,
        ];
        let results = values().into_iter().map(Ok).chain([Err(error)]);
        for (event, result) in events.iter().cycle().zip(results) {
            steps.push(Step::Done(Outcome {
                result,
                event: event.clone(),
            }));
        }
        for step in &steps {
            let mut fast = String::new();
            assert!(write_step(&mut fast, step).is_ok());
            assert_eq!(fast, format!("{step:?}"));
        }
    }

    #[test]
    fn replies_are_written_as_debug_writes_them() {
        let keys: Vec<String> = STRINGS.iter().map(|s| (*s).to_owned()).collect();
        let mut replies: Vec<Result<StoreReply, StoreError>> = vec![
            Ok(StoreReply::Bool(true)),
            Ok(StoreReply::Bool(false)),
            Ok(StoreReply::Keys(vec![])),
            Ok(StoreReply::Keys(keys.clone())),
            Ok(StoreReply::Values(values())),
            Err(StoreError::Failed("backend down".into())),
            Err(StoreError::DeleteManyFailed { keys }),
        ];
        replies.extend(values().into_iter().map(|v| Ok(StoreReply::Value(v))));
        for reply in &replies {
            let mut fast = String::new();
            assert!(write_reply(&mut fast, reply).is_ok());
            assert_eq!(fast, format!("{reply:?}"));
        }
    }
}
