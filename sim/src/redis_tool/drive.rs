//! Runs one engine command against a [`RedisBackend`]: every backend call of the flow is
//! executed on the server, in Flask-Caching's order, or (read-only) the flow is stopped
//! before its first write.

use super::backend::RedisBackend;
use flaskcache_engine::engine::{Command, Diagnostic, Engine, HookQuery, Input, Outcome, Step};
use flaskcache_engine::store::{StoreError, StoreOp, StoreReply, Timestamp};

/// How a driven command ended.
#[derive(Clone, Debug)]
pub enum End {
    /// The flow finished.
    Done(Outcome),
    /// Read-only: the flow wanted to write this (not executed).
    Write(StoreOp),
    /// The flow wanted to run the function (a miss).
    Compute,
}

/// What a driven command did.
#[derive(Clone, Debug)]
pub struct Driven {
    /// The backend calls executed, with their replies.
    pub ops: Vec<(StoreOp, Result<StoreReply, StoreError>)>,
    /// What Flask-Caching logged and swallowed.
    pub logs: Vec<Diagnostic>,
    /// Hooks asked (answered `False`).
    pub hooks: Vec<&'static str>,
    /// The end.
    pub end: End,
}

fn hook_name(q: &HookQuery) -> &'static str {
    match q {
        HookQuery::Unless => "unless",
        HookQuery::ForcedUpdate => "forced_update",
        HookQuery::IsStale(_) => "is_stale",
        HookQuery::ResponseFilter(_) => "response_filter",
    }
}

/// The current time, for the store's `now` (the server's own clock decides expiry).
pub fn now() -> Timestamp {
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_micros(micros)
}

/// Drives `command`. Hooks are answered `False` (the app's callables are not here).
pub fn drive(
    engine: &mut Engine,
    backend: &mut dyn RedisBackend,
    command: Command,
    read_only: bool,
) -> Result<Driven, String> {
    let mut driven = Driven {
        ops: Vec::new(),
        logs: Vec::new(),
        hooks: Vec::new(),
        end: End::Compute,
    };
    let mut step = engine.start(command).map_err(|e| e.to_string())?;
    loop {
        let input = match step {
            Step::Done(outcome) => {
                driven.end = End::Done(outcome);
                return Ok(driven);
            }
            Step::Store(op) => {
                if read_only && op.is_write() {
                    engine.abort();
                    driven.end = End::Write(op);
                    return Ok(driven);
                }
                let reply = backend.execute(&op, now());
                if let Err(StoreError::Failed(why)) = &reply {
                    engine.abort();
                    return Err(format!("the server failed: {why}"));
                }
                driven.ops.push((op, reply.clone()));
                Input::Store(reply)
            }
            Step::Compute => {
                engine.abort();
                driven.end = End::Compute;
                return Ok(driven);
            }
            Step::Hook(q) => {
                driven.hooks.push(hook_name(&q));
                Input::Hook(Ok(false))
            }
            Step::Log(d) => {
                driven.logs.push(d);
                Input::Logged
            }
        };
        step = engine.resume(input).map_err(|e| e.to_string())?;
    }
}
