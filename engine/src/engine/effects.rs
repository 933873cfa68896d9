//! How flows reach the outside world. A flow is an `async fn` written as straight-line code
//! over [`Effects`]: every backend operation, function run, hook question and log line is an
//! `.await` point. Two kinds of implementation drive it:
//! - [`Stepper`] (the sans-IO stepper): each effect publishes its [`Step`] in the exchange
//!   and suspends; [`super::Engine::resume`] puts the caller's [`Input`] there and polls the
//!   flow again, which continues from the `.await` where it stopped. A call is one pass
//!   through its flow: keys are derived once, no input is replayed.
//! - [`Immediate`] effects (the embeddings): every effect answers at once, so they drive the
//!   flows' immediate compilation, in which each flow is a plain function (see `mod.rs`,
//!   "one flow, two compilations"): no future, no poll, no allocation for the flow.
//!
//! No executor, runtime or waker is involved: the engine polls its own futures with a no-op
//! waker, and only from inside [`super::Engine::start`]/[`super::Engine::resume`].

use super::types::{Diagnostic, EngineError, HookQuery, Input, Step};
use crate::error::PyError;
use crate::keys::{Version, VersionGenerator};
use crate::store::{StoreError, StoreOp, StoreReply};
use crate::value::Value;
use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Why a flow stopped before its end: the caller broke the protocol.
#[derive(Debug)]
pub(crate) enum Flow {
    /// The input did not answer the step (or a handle was unknown).
    Abort(EngineError),
}

/// The answer to one backend operation.
pub(crate) type StoreResult = Result<StoreReply, StoreError>;

/// The effects a flow can have.
pub(crate) trait Effects {
    /// Executes a backend operation.
    async fn store(&mut self, op: &StoreOp) -> Result<StoreResult, Flow>;
    /// Executes a backend operation the flow has no further use for (a write): the
    /// stepper hands it to the caller as it is, without a copy.
    async fn store_owned(&mut self, op: StoreOp) -> Result<StoreResult, Flow> {
        self.store(&op).await
    }
    /// `get_many(*keys)` for a reader that needs the values themselves only when one of
    /// them is not a stored `str`: `Ok(None)` when every key held a `str`, each appended to
    /// `joined` in order (an embedding reads them in place, with no copy); otherwise the
    /// reply as [`Effects::store`] gives it, and `joined` is left as it was.
    async fn get_many_joined(
        &mut self,
        keys: &[&str],
        joined: &mut String,
    ) -> Result<Result<Option<StoreReply>, StoreError>, Flow> {
        let op = StoreOp::get_many_of(keys);
        Ok(self
            .store_owned(op)
            .await?
            .map(|reply| reply.join_strs(keys.len(), joined)))
    }
    /// `get(key)` with the key lent, and left as it was: the default moves it into the
    /// operation and back out (the stepper hands the caller a copy); an embedding reads
    /// the store with it in place.
    async fn get(&mut self, key: &mut String) -> Result<StoreResult, Flow> {
        let op = StoreOp::Get {
            key: std::mem::take(key),
        };
        let reply = self.store(&op).await;
        give_key_back(op, key);
        reply
    }
    /// Runs the decorated function.
    async fn compute(&mut self) -> Result<Result<Value, PyError>, Flow>;
    /// Asks a hook.
    async fn hook(&mut self, query: HookQuery) -> Result<Result<bool, PyError>, Flow>;
    /// Logs a diagnostic.
    async fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow>;
    /// Draws a fresh version string (`uuid.uuid4()`, FC-2.5.1).
    async fn mint(&mut self) -> Result<Version, Flow>;
    /// An empty buffer to build the call's key in; the key leaves in the outcome's event.
    /// An embedding that gets keys back hands out a spare one, so that building a key
    /// allocates nothing.
    fn key_buffer(&mut self) -> String {
        String::new()
    }
}

/// The effects of a driver that answers each one at once (the embeddings): the methods of
/// [`Effects`], returning their answers. The flows' immediate compilation calls them where
/// the suspending one awaits (`mod.rs`, "One flow, two compilations").
pub(crate) trait Immediate {
    /// Executes a backend operation.
    fn store(&mut self, op: &StoreOp) -> Result<StoreResult, Flow>;
    /// As [`Effects::store_owned`].
    fn store_owned(&mut self, op: StoreOp) -> Result<StoreResult, Flow> {
        self.store(&op)
    }
    /// As [`Effects::get_many_joined`].
    fn get_many_joined(
        &mut self,
        keys: &[&str],
        joined: &mut String,
    ) -> Result<Result<Option<StoreReply>, StoreError>, Flow> {
        let op = StoreOp::get_many_of(keys);
        Ok(self
            .store_owned(op)?
            .map(|reply| reply.join_strs(keys.len(), joined)))
    }
    /// As [`Effects::get`].
    fn get(&mut self, key: &mut String) -> Result<StoreResult, Flow> {
        lend_key(key, |op| self.store(op))
    }
    /// Runs the decorated function.
    fn compute(&mut self) -> Result<Result<Value, PyError>, Flow>;
    /// Asks a hook.
    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, PyError>, Flow>;
    /// Logs a diagnostic.
    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow>;
    /// Draws a fresh version string.
    fn mint(&mut self) -> Result<Version, Flow>;
    /// As [`Effects::key_buffer`].
    fn key_buffer(&mut self) -> String {
        String::new()
    }
}

/// Runs `get` on a `get(key)` operation that borrows `key` for the while (moved in and
/// back out, so nothing is copied).
pub(crate) fn lend_key<R>(key: &mut String, get: impl FnOnce(&StoreOp) -> R) -> R {
    let op = StoreOp::Get {
        key: std::mem::take(key),
    };
    let reply = get(&op);
    give_key_back(op, key);
    reply
}

fn give_key_back(op: StoreOp, key: &mut String) {
    if let StoreOp::Get { key: lent } = op {
        *key = lent;
    }
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

/// What a suspended flow and the engine hand each other while the engine polls it.
#[derive(Debug, Default)]
pub(crate) enum Exchange {
    /// Nothing pending.
    #[default]
    Empty,
    /// The flow's next step, for the caller.
    Step(Step),
    /// The caller's answer to that step.
    Input(Input),
    /// The flow needs a fresh version (the engine owns the version source).
    Mint,
    /// The engine's answer to [`Exchange::Mint`].
    Minted(Version),
}

thread_local! {
    /// The exchange of the flow being polled on this thread. A flow is only ever polled
    /// from inside `Engine::start`/`resume`, which never re-enter one another (user code
    /// runs between steps, never during a poll), so one slot per thread serves every
    /// engine and every nested call; it is empty whenever no poll is running.
    static EXCHANGE: Cell<Exchange> = const { Cell::new(Exchange::Empty) };
}

/// Puts `item` in this thread's exchange.
pub(crate) fn publish(item: Exchange) {
    EXCHANGE.set(item);
}

/// Takes what is in this thread's exchange, leaving it empty.
pub(crate) fn collect() -> Exchange {
    EXCHANGE.take()
}

/// The `.await` point of a stepped effect: the first poll publishes the request and
/// suspends; the next poll (after the engine has answered) returns the answer, picked out
/// of the exchange by `answer`. Each effect of the stepper is this one plain future, so a
/// resume descends no deeper than the flow's own `.await`s.
struct Ask<T> {
    request: Option<Exchange>,
    answer: fn(Exchange) -> Option<T>,
    expected: &'static str,
}

impl<T> Future for Ask<T> {
    type Output = Result<T, Flow>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        match self.request.take() {
            Some(request) => {
                publish(request);
                Poll::Pending
            }
            None => Poll::Ready((self.answer)(collect()).ok_or_else(|| unexpected(self.expected))),
        }
    }
}

/// The stepper's effects: every one suspends the flow until the engine answers it.
pub(crate) struct Stepper;

pub(crate) fn unexpected(expected: &'static str) -> Flow {
    Flow::Abort(EngineError::UnexpectedInput { expected })
}

/// Suspends at `request` (a step for the caller, or a version to mint) until the answer,
/// which `answer` picks out of the exchange.
fn ask<T>(request: Exchange, answer: fn(Exchange) -> Option<T>, expected: &'static str) -> Ask<T> {
    Ask {
        request: Some(request),
        answer,
        expected,
    }
}

fn store_reply(exchange: Exchange) -> Option<StoreResult> {
    match exchange {
        Exchange::Input(Input::Store(reply)) => Some(reply),
        _ => None,
    }
}

impl Effects for Stepper {
    fn store(&mut self, op: &StoreOp) -> impl Future<Output = Result<StoreResult, Flow>> {
        ask(
            Exchange::Step(Step::Store(op.clone())),
            store_reply,
            "Input::Store",
        )
    }

    fn store_owned(&mut self, op: StoreOp) -> impl Future<Output = Result<StoreResult, Flow>> {
        ask(Exchange::Step(Step::Store(op)), store_reply, "Input::Store")
    }

    fn compute(&mut self) -> impl Future<Output = Result<Result<Value, PyError>, Flow>> {
        let answer = |exchange| match exchange {
            Exchange::Input(Input::Computed(result)) => Some(result),
            _ => None,
        };
        ask(Exchange::Step(Step::Compute), answer, "Input::Computed")
    }

    fn hook(
        &mut self,
        query: HookQuery,
    ) -> impl Future<Output = Result<Result<bool, PyError>, Flow>> {
        let answer = |exchange| match exchange {
            Exchange::Input(Input::Hook(answer)) => Some(answer),
            _ => None,
        };
        ask(Exchange::Step(Step::Hook(query)), answer, "Input::Hook")
    }

    fn log(&mut self, diagnostic: Diagnostic) -> impl Future<Output = Result<(), Flow>> {
        let answer = |exchange| match exchange {
            Exchange::Input(Input::Logged) => Some(()),
            _ => None,
        };
        ask(
            Exchange::Step(Step::Log(diagnostic)),
            answer,
            "Input::Logged",
        )
    }

    fn mint(&mut self) -> impl Future<Output = Result<Version, Flow>> {
        let answer = |exchange| match exchange {
            Exchange::Minted(version) => Some(version),
            _ => None,
        };
        ask(Exchange::Mint, answer, "a minted version")
    }
}
