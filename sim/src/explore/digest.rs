//! An action's digest: every step the engine emitted, every reply and answer it was given,
//! hashed field by field ([`Digest`]). `--check-determinism` compares these per action,
//! and the summary's history digest is made of them.
//!
//! The hash is structural: each enum writes a tag, each string its length and bytes, each
//! number its bits, so no text is formatted on the explorer's hottest path. It has fixed
//! constants (no per-process seed) and reads nothing in an order that could vary (no hash
//! map iteration), so the same history gives the same digest on every run, platform and
//! thread count.

use flaskcache_engine::engine::{CacheEvent, HookQuery, Outcome, Step};
use flaskcache_engine::error::PyError;
use flaskcache_engine::store::{StoreError, StoreOp, StoreReply};
use flaskcache_engine::value::{ClassRef, PyObject};
use flaskcache_engine::Value;
use std::fmt;

/// A 64-bit digest fed word by word (a multiply-rotate mix, finished with murmur3's
/// `fmix64`). Fixed constants: the same input always gives the same digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

const MUL: u64 = 0x9e37_79b9_7f4a_7c15;

impl Digest {
    /// One 64-bit word.
    #[inline]
    pub fn word(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(MUL);
    }

    /// A small tag (an enum's variant, a field's presence).
    #[inline]
    pub fn tag(&mut self, t: u8) {
        self.word(u64::from(t));
    }

    /// A signed integer.
    #[inline]
    pub fn int(&mut self, i: i64) {
        self.word(i as u64);
    }

    /// Bytes: their length, then eight at a time (the last word zero-padded).
    pub fn bytes(&mut self, b: &[u8]) {
        self.word(b.len() as u64);
        let mut chunks = b.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.word(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.word(u64::from_le_bytes(w));
        }
    }

    /// A string's bytes.
    #[inline]
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    /// The digest so far.
    pub fn value(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Text written into a digest (each piece as [`Digest::str`]): for the rare values that
/// have no structure of their own here, such as an `int` outside `i64`.
impl fmt::Write for Digest {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.str(s);
        Ok(())
    }
}

/// A step the engine emitted.
pub fn step(h: &mut Digest, step: &Step) {
    match step {
        Step::Store(op) => {
            h.tag(1);
            store_op(h, op);
        }
        Step::Compute => h.tag(2),
        Step::Hook(q) => {
            h.tag(3);
            match q {
                HookQuery::Unless => h.tag(0),
                HookQuery::ForcedUpdate => h.tag(1),
                HookQuery::IsStale(v) => {
                    h.tag(2);
                    value(h, v);
                }
                HookQuery::ResponseFilter(v) => {
                    h.tag(3);
                    value(h, v);
                }
            }
        }
        Step::Log(d) => {
            h.tag(4);
            h.str(d.message);
            py_error(h, &d.error);
        }
        Step::Done(Outcome {
            result: r,
            event: e,
        }) => {
            h.tag(5);
            result(h, r);
            event(h, e);
        }
    }
}

/// A function's result (or a call's).
pub fn result(h: &mut Digest, r: &Result<Value, PyError>) {
    match r {
        Ok(v) => {
            h.tag(0);
            value(h, v);
        }
        Err(e) => {
            h.tag(1);
            py_error(h, e);
        }
    }
}

/// A hook's answer.
pub fn answer(h: &mut Digest, a: &Result<bool, PyError>) {
    match a {
        Ok(b) => h.tag(u8::from(*b)),
        Err(e) => {
            h.tag(2);
            py_error(h, e);
        }
    }
}

/// A store's reply.
pub fn reply(h: &mut Digest, r: &Result<StoreReply, StoreError>) {
    match r {
        Ok(StoreReply::Value(v)) => {
            h.tag(0);
            value(h, v);
        }
        Ok(StoreReply::Values(vs)) => {
            h.tag(1);
            h.word(vs.len() as u64);
            for v in vs {
                value(h, v);
            }
        }
        Ok(StoreReply::Bool(b)) => {
            h.tag(2);
            h.tag(u8::from(*b));
        }
        Ok(StoreReply::Keys(keys)) => {
            h.tag(3);
            strs(h, keys);
        }
        Err(StoreError::DeleteManyFailed { keys }) => {
            h.tag(4);
            strs(h, keys);
        }
        Err(StoreError::Failed(text)) => {
            h.tag(5);
            h.str(text);
        }
        Err(StoreError::Raised(e)) => {
            h.tag(6);
            py_error(h, e);
        }
    }
}

fn strs(h: &mut Digest, items: &[String]) {
    h.word(items.len() as u64);
    for s in items {
        h.str(s);
    }
}

fn timeout(h: &mut Digest, t: Option<i64>) {
    match t {
        None => h.tag(0),
        Some(t) => {
            h.tag(1);
            h.int(t);
        }
    }
}

fn store_op(h: &mut Digest, op: &StoreOp) {
    match op {
        StoreOp::Get { key } => {
            h.tag(0);
            h.str(key);
        }
        StoreOp::GetMany { keys } => {
            h.tag(1);
            strs(h, keys);
        }
        StoreOp::Has { key } => {
            h.tag(2);
            h.str(key);
        }
        StoreOp::Set {
            key,
            value: v,
            timeout: t,
        } => {
            h.tag(3);
            h.str(key);
            value(h, v);
            timeout(h, *t);
        }
        StoreOp::SetMany { items, timeout: t } => {
            h.tag(4);
            h.word(items.len() as u64);
            for (k, v) in items {
                h.str(k);
                value(h, v);
            }
            timeout(h, *t);
        }
        StoreOp::Add {
            key,
            value: v,
            timeout: t,
        } => {
            h.tag(5);
            h.str(key);
            value(h, v);
            timeout(h, *t);
        }
        StoreOp::Delete { key } => {
            h.tag(6);
            h.str(key);
        }
        StoreOp::DeleteMany { keys } => {
            h.tag(7);
            strs(h, keys);
        }
        StoreOp::Clear => h.tag(8),
    }
}

fn event(h: &mut Digest, e: &CacheEvent) {
    match e {
        CacheEvent::Hit { key } => {
            h.tag(0);
            h.str(key);
        }
        CacheEvent::Miss { key, stored } => {
            h.tag(1);
            h.str(key);
            h.tag(u8::from(*stored));
        }
        CacheEvent::Bypassed => h.tag(2),
        CacheEvent::Uncached { error } => {
            h.tag(3);
            py_error(h, error);
        }
        CacheEvent::Deleted { key } => {
            h.tag(4);
            h.str(key);
        }
        CacheEvent::VersionReset { key } => {
            h.tag(5);
            h.str(key);
        }
        CacheEvent::VersionDeleted { key } => {
            h.tag(6);
            h.str(key);
        }
        CacheEvent::Direct => h.tag(7),
    }
}

fn py_error(h: &mut Digest, e: &PyError) {
    h.str(e.kind.as_str());
    h.str(&e.message);
    // Only an HTTPException adds to the digest: other errors digest as they always did.
    if let Some(http) = e.http() {
        h.tag(1);
        class(h, &http.class);
        h.word(u64::from(http.code));
        h.str(&http.repr);
    }
}

/// A class, by its module and qualified name.
pub fn class(h: &mut Digest, c: &ClassRef) {
    h.str(&c.module);
    h.str(&c.qualname);
}

fn pairs(h: &mut Digest, items: &[(Value, Value)]) {
    h.word(items.len() as u64);
    for (k, v) in items {
        value(h, k);
        value(h, v);
    }
}

/// A value, recursively.
pub fn value(h: &mut Digest, v: &Value) {
    match v {
        Value::None => h.tag(0),
        Value::Bool(b) => {
            h.tag(1);
            h.tag(u8::from(*b));
        }
        Value::Int(i) => match i.as_i64() {
            Some(small) => {
                h.tag(2);
                h.int(small);
            }
            None => {
                h.tag(3);
                let _ = fmt::Write::write_fmt(h, format_args!("{i:?}"));
            }
        },
        Value::Float(f) => {
            h.tag(4);
            h.word(f.to_bits());
        }
        Value::Str(s) => {
            h.tag(5);
            h.str(s);
        }
        Value::Bytes(b) => {
            h.tag(6);
            h.bytes(b);
        }
        Value::Tuple(items) | Value::List(items) => {
            h.tag(if matches!(v, Value::Tuple(_)) { 7 } else { 8 });
            h.word(items.len() as u64);
            for item in items {
                value(h, item);
            }
        }
        Value::Dict(items) => {
            h.tag(9);
            pairs(h, items);
        }
        Value::OrderedDict(items) => {
            h.tag(10);
            pairs(h, items);
        }
        Value::Class(c) => {
            h.tag(11);
            class(h, c);
        }
        Value::Exception(e) => {
            h.tag(13);
            py_error(h, e);
        }
        Value::Object(o) => {
            h.tag(12);
            object(h, o);
        }
    }
}

/// An object: its class, repr and caching id.
pub fn object(h: &mut Digest, o: &PyObject) {
    let PyObject {
        class: c,
        repr,
        caching_id,
    } = o;
    class(h, c);
    h.str(repr);
    match caching_id {
        None => h.tag(0),
        Some(id) => {
            h.tag(1);
            h.str(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flaskcache_engine::engine::Diagnostic;
    use flaskcache_engine::error::PyExceptionType;
    use flaskcache_engine::value::PyInt;

    fn values() -> Vec<Value> {
        let mut out = vec![
            Value::None,
            Value::Bool(true),
            Value::Bool(false),
            Value::int(-7),
            Value::int(0),
            match PyInt::parse("123456789012345678901234567890") {
                Ok(big) => Value::Int(big),
                Err(e) => panic!("{e:?}"),
            },
            Value::Float(0.1),
            Value::Float(-0.0),
            Value::Bytes(b"abc".to_vec()),
            Value::List(vec![Value::str("a"), Value::None]),
            Value::Tuple(vec![Value::str("a"), Value::None]),
            Value::List(vec![Value::str("a")]),
            Value::List(vec![Value::List(vec![Value::str("a")])]),
            Value::Dict(vec![(Value::str("k"), Value::int(1))]),
            Value::OrderedDict(vec![(Value::str("k"), Value::int(1))]),
            Value::Class(ClassRef::new("app", "Calc")),
            Value::Object(Box::new(PyObject {
                class: ClassRef::new("app", "Student"),
                repr: "Student(1)".into(),
                caching_id: None,
            })),
            Value::Object(Box::new(PyObject {
                class: ClassRef::new("app", "Student"),
                repr: "Student(1)".into(),
                caching_id: Some("1".into()),
            })),
        ];
        for s in [
            "",
            "a",
            "plain",
            "view//demo/student/all",
            "12345678",
            "123456789",
        ] {
            out.push(Value::str(s));
        }
        out
    }

    fn steps() -> Vec<Step> {
        let error = PyError::new(PyExceptionType::KeyError, "3");
        let mut out = vec![
            Step::Compute,
            Step::Hook(HookQuery::Unless),
            Step::Hook(HookQuery::ForcedUpdate),
            Step::Hook(HookQuery::IsStale(Value::int(1))),
            Step::Hook(HookQuery::ResponseFilter(Value::int(1))),
            Step::Log(Diagnostic {
                message: "Exception possibly due to cache backend.",
                error: error.clone(),
            }),
            Step::Store(StoreOp::Clear),
            Step::Store(StoreOp::GetMany { keys: vec![] }),
            Step::Store(StoreOp::GetMany {
                keys: vec!["a".into(), "b".into()],
            }),
            Step::Store(StoreOp::GetMany {
                keys: vec!["ab".into()],
            }),
            Step::Store(StoreOp::DeleteMany {
                keys: vec!["a".into()],
            }),
            Step::Store(StoreOp::Get { key: "a".into() }),
            Step::Store(StoreOp::Has { key: "a".into() }),
            Step::Store(StoreOp::Delete { key: "a".into() }),
            Step::Done(Outcome {
                result: Err(error.clone()),
                event: CacheEvent::Uncached { error },
            }),
        ];
        for (i, v) in values().into_iter().enumerate() {
            let timeout = [None, Some(0), Some(-1), Some(300)][i % 4];
            out.push(Step::Store(StoreOp::Set {
                key: "k".into(),
                value: v.clone(),
                timeout,
            }));
            out.push(Step::Store(StoreOp::Add {
                key: "k".into(),
                value: v.clone(),
                timeout,
            }));
            out.push(Step::Store(StoreOp::SetMany {
                items: vec![("k".into(), v.clone())],
                timeout,
            }));
            out.push(Step::Done(Outcome {
                result: Ok(v),
                event: CacheEvent::Hit { key: "k".into() },
            }));
        }
        for event in [
            CacheEvent::Miss {
                key: "k".into(),
                stored: true,
            },
            CacheEvent::Miss {
                key: "k".into(),
                stored: false,
            },
            CacheEvent::Bypassed,
            CacheEvent::Deleted { key: "k".into() },
            CacheEvent::VersionReset { key: "k".into() },
            CacheEvent::VersionDeleted { key: "k".into() },
            CacheEvent::Direct,
        ] {
            out.push(Step::Done(Outcome {
                result: Ok(Value::None),
                event,
            }));
        }
        out
    }

    fn of(s: &Step) -> u64 {
        let mut h = Digest::default();
        step(&mut h, s);
        h.value()
    }

    #[test]
    fn distinct_steps_have_distinct_digests_and_equal_steps_equal_ones() {
        let all = steps();
        for (i, a) in all.iter().enumerate() {
            assert_eq!(of(a), of(&a.clone()), "{a:?}");
            for b in &all[i + 1..] {
                if a != b {
                    assert_ne!(of(a), of(b), "{a:?} and {b:?}");
                }
            }
        }
    }

    #[test]
    fn distinct_replies_have_distinct_digests() {
        let keys = vec!["a".to_owned(), "b".to_owned()];
        let mut replies: Vec<Result<StoreReply, StoreError>> = vec![
            Ok(StoreReply::Bool(true)),
            Ok(StoreReply::Bool(false)),
            Ok(StoreReply::Keys(vec![])),
            Ok(StoreReply::Keys(keys.clone())),
            Ok(StoreReply::Values(values())),
            Ok(StoreReply::Values(vec![])),
            Err(StoreError::Failed("backend down".into())),
            Err(StoreError::DeleteManyFailed { keys }),
            Err(StoreError::Raised(PyError::new(
                PyExceptionType::ConnectionError,
                "backend down",
            ))),
        ];
        replies.extend(values().into_iter().map(|v| Ok(StoreReply::Value(v))));
        let digest = |r: &Result<StoreReply, StoreError>| {
            let mut h = Digest::default();
            reply(&mut h, r);
            h.value()
        };
        for (i, a) in replies.iter().enumerate() {
            for b in &replies[i + 1..] {
                assert_ne!(digest(a), digest(b), "{a:?} and {b:?}");
            }
        }
    }

    /// The digest is a fixed function: a change to it changes every printed history digest
    /// (`docs/simulation.md`, the snapshots), so it is pinned here.
    #[test]
    fn the_digest_function_is_pinned() {
        let mut h = Digest::default();
        step(
            &mut h,
            &Step::Store(StoreOp::Set {
                key: "view//demo/student/all".into(),
                value: Value::str("Bob r2 #17"),
                timeout: Some(300),
            }),
        );
        reply(&mut h, &Ok(StoreReply::Bool(true)));
        h.int(1_000_000);
        assert_eq!(format!("{:016x}", h.value()), "cc8101223d78e92d");
    }
}
