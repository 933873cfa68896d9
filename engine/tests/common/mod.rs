//! What the store differential tests share: a seeded generator for their random
//! histories, and the line protocol they speak with their Python drivers
//! (`store_driver.py`, `store_redis_driver.py`): one operation per line out, one reply per
//! line back. Each test encodes values its own way.

// Each test crate uses the part of this module it needs.
#![allow(dead_code)]

use flaskcache_engine::store::{StoreError, StoreOp, StoreReply};
use flaskcache_engine::value::{PythonVersion, Value};

/// SplitMix64: the tests' random histories, fixed by their seed.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A number in `lo..=hi_inclusive`.
    pub fn range(&mut self, lo: i64, hi_inclusive: i64) -> i64 {
        let span = (hi_inclusive - lo + 1) as u64;
        lo + self.below(span) as i64
    }
}

/// A timeout as the drivers read it: `N` for `None`.
pub fn timeout_token(t: Option<i64>) -> String {
    t.map_or_else(|| "N".to_owned(), |t| t.to_string())
}

/// One operation at time `now` (microseconds), values encoded by `value_token`.
pub fn op_line(now: i64, op: &StoreOp, value_token: impl Fn(&Value) -> String) -> String {
    let mut f = vec![now.to_string(), op.name().to_owned()];
    match op {
        StoreOp::Get { key } | StoreOp::Has { key } | StoreOp::Delete { key } => {
            f.push(key.clone())
        }
        StoreOp::GetMany { keys } | StoreOp::DeleteMany { keys } => f.extend(keys.iter().cloned()),
        StoreOp::Set {
            key,
            value,
            timeout,
        }
        | StoreOp::Add {
            key,
            value,
            timeout,
        } => {
            f.push(key.clone());
            f.push(value_token(value));
            f.push(timeout_token(*timeout));
        }
        StoreOp::SetMany { items, timeout } => {
            f.push(timeout_token(*timeout));
            for (k, v) in items {
                f.push(k.clone());
                f.push(value_token(v));
            }
        }
        StoreOp::Clear => {}
    }
    f.join(" ")
}

/// How a driver prints an exception's message.
#[derive(Clone, Copy)]
pub enum Message {
    /// As `str(exc)`.
    Plain,
    /// As `repr(str(exc))` (messages that may hold spaces, quotes or newlines).
    Repr,
}

/// A reply as the drivers print it.
pub fn reply_text(reply: &Result<StoreReply, StoreError>, message: Message) -> String {
    let py = PythonVersion::Py311;
    match reply {
        Ok(StoreReply::Value(v)) => format!("v {}", v.repr(py)),
        Ok(StoreReply::Values(vs)) => std::iter::once("vs".to_owned())
            .chain(vs.iter().map(|v| v.repr(py)))
            .collect::<Vec<_>>()
            .join(" "),
        Ok(StoreReply::Bool(b)) => format!("b {}", if *b { "True" } else { "False" }),
        Ok(StoreReply::Keys(ks)) => std::iter::once("k".to_owned())
            .chain(ks.iter().cloned())
            .collect::<Vec<_>>()
            .join(" "),
        Err(e) => match e.py_error(py) {
            Some(err) => match message {
                Message::Plain => format!("e {} {}", err.kind.as_str(), err.message),
                Message::Repr => format!(
                    "e {} {}",
                    err.kind.as_str(),
                    Value::str(err.message).repr(py)
                ),
            },
            None => format!("e ? {e}"),
        },
    }
}
