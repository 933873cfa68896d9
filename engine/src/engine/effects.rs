//! How flows reach the outside world. A flow is written as straight-line code over
//! [`Effects`]; two implementations run it:
//! - [`Replay`] (the sans-IO stepper): answers effects from the inputs received so far and
//!   suspends the flow at the first unanswered one, which becomes the next [`Step`]. The
//!   flow is re-run from the start on every resume; it is deterministic, so it takes the
//!   same path, and minted versions are remembered so that re-runs reuse them.
//! - a direct executor (the embedded [`crate::Cache`]): answers each effect immediately.

use super::types::{Diagnostic, EngineError, HookQuery, Input, Step};
use crate::error::PyError;
use crate::keys::{Version, VersionGenerator};
use crate::store::{StoreError, StoreOp, StoreReply};
use crate::value::Value;
use std::collections::VecDeque;

/// Why a flow stopped before its end.
#[derive(Debug)]
pub(crate) enum Flow {
    /// It needs the answer to this step.
    Suspend(Step),
    /// The caller broke the protocol.
    Abort(EngineError),
}

/// The answer to one backend operation.
pub(crate) type StoreResult = Result<StoreReply, StoreError>;

/// The effects a flow can have.
pub(crate) trait Effects {
    /// Executes a backend operation.
    fn store(&mut self, op: &StoreOp) -> Result<StoreResult, Flow>;
    /// Runs the decorated function.
    fn compute(&mut self) -> Result<Result<Value, PyError>, Flow>;
    /// Asks a hook.
    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, PyError>, Flow>;
    /// Logs a diagnostic.
    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow>;
    /// Draws a fresh version string (`uuid.uuid4()`, FC-2.5.1).
    fn mint(&mut self) -> Version;
}

/// Where version strings come from.
#[derive(Clone, Debug)]
pub enum VersionSource {
    /// A seeded generator.
    Seeded(VersionGenerator),
    /// Recorded versions (a trace replay), then the generator once they run out.
    Injected(VecDeque<Version>, VersionGenerator),
}

impl VersionSource {
    /// The next version.
    pub fn next_version(&mut self) -> Version {
        match self {
            VersionSource::Seeded(g) => g.next_version(),
            VersionSource::Injected(queue, g) => {
                queue.pop_front().unwrap_or_else(|| g.next_version())
            }
        }
    }
}

/// The stepper's effects: inputs received so far, versions minted so far.
pub(crate) struct Replay<'a> {
    pub inputs: &'a [Input],
    pub position: usize,
    pub minted: &'a mut Vec<Version>,
    pub mint_position: usize,
    pub source: &'a mut VersionSource,
}

impl Replay<'_> {
    /// The next input, or a suspension at `step` (built only when suspending).
    fn answer(&mut self, step: impl FnOnce() -> Step) -> Result<&Input, Flow> {
        match self.inputs.get(self.position) {
            Some(input) => {
                self.position += 1;
                Ok(input)
            }
            None => Err(Flow::Suspend(step())),
        }
    }
}

fn unexpected(expected: &'static str) -> Flow {
    Flow::Abort(EngineError::UnexpectedInput { expected })
}

impl Effects for Replay<'_> {
    fn store(&mut self, op: &StoreOp) -> Result<StoreResult, Flow> {
        match self.answer(|| Step::Store(op.clone()))? {
            Input::Store(reply) => Ok(reply.clone()),
            _ => Err(unexpected("Input::Store")),
        }
    }

    fn compute(&mut self) -> Result<Result<Value, PyError>, Flow> {
        match self.answer(|| Step::Compute)? {
            Input::Computed(result) => Ok(result.clone()),
            _ => Err(unexpected("Input::Computed")),
        }
    }

    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, PyError>, Flow> {
        match self.answer(|| Step::Hook(query))? {
            Input::Hook(answer) => Ok(answer.clone()),
            _ => Err(unexpected("Input::Hook")),
        }
    }

    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow> {
        match self.answer(|| Step::Log(diagnostic))? {
            Input::Logged => Ok(()),
            _ => Err(unexpected("Input::Logged")),
        }
    }

    fn mint(&mut self) -> Version {
        let version = match self.minted.get(self.mint_position) {
            Some(v) => *v,
            None => {
                let v = self.source.next_version();
                self.minted.push(v);
                v
            }
        };
        self.mint_position += 1;
        version
    }
}

/// Typed backend calls: each checks that the reply has the shape the operation returns.
pub(crate) mod backend {
    use super::*;

    fn shape(expected: &'static str) -> Flow {
        unexpected(expected)
    }

    /// `cache.get(key)`: the key goes into the operation and comes back out of it.
    pub fn get(fx: &mut impl Effects, key: &mut String) -> Result<Result<Value, StoreError>, Flow> {
        let op = StoreOp::Get {
            key: std::mem::take(key),
        };
        let reply = fx.store(&op);
        if let StoreOp::Get { key: k } = op {
            *key = k;
        }
        match reply? {
            Ok(StoreReply::Value(v)) => Ok(Ok(v)),
            Ok(_) => Err(shape("StoreReply::Value for get")),
            Err(e) => Ok(Err(e)),
        }
    }

    /// `cache.has(key)`.
    pub fn has(fx: &mut impl Effects, key: &str) -> Result<Result<bool, StoreError>, Flow> {
        match fx.store(&StoreOp::Has {
            key: key.to_owned(),
        })? {
            Ok(StoreReply::Bool(b)) => Ok(Ok(b)),
            Ok(_) => Err(shape("StoreReply::Bool for has")),
            Err(e) => Ok(Err(e)),
        }
    }

    /// `cache.get_many(*keys)`: one value per key. The keys go into the operation and come
    /// back out of it.
    pub fn get_many(
        fx: &mut impl Effects,
        keys: &mut Vec<String>,
    ) -> Result<Result<Vec<Value>, StoreError>, Flow> {
        let n = keys.len();
        let op = StoreOp::GetMany {
            keys: std::mem::take(keys),
        };
        let reply = fx.store(&op);
        if let StoreOp::GetMany { keys: k } = op {
            *keys = k;
        }
        match reply? {
            Ok(StoreReply::Values(v)) if v.len() == n => Ok(Ok(v)),
            Ok(_) => Err(shape(
                "StoreReply::Values with one value per key for get_many",
            )),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Any write whose reply the flow ignores (`set`, `set_many`, `delete`, ...): only the
    /// failure matters.
    pub fn write(
        fx: &mut impl Effects,
        op: StoreOp,
    ) -> Result<Result<StoreReply, StoreError>, Flow> {
        fx.store(&op)
    }
}
