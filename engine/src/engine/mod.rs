//! The sans-IO engine: a [`Command`] and the current time go in; the engine answers with
//! [`Step`]s (backend operations, compute requests, hook questions, diagnostics) until the
//! call's [`Outcome`]. It performs no I/O itself, so the same engine runs in-process over a
//! [`crate::MemoryStore`], against Redis, or inside a simulator.
//!
//! ```
//! use flaskcache_engine::engine::{Command, Engine, EngineConfig, Input, Step};
//! use flaskcache_engine::{MemoryStore, StoreOp, Timestamp, Value};
//!
//! let mut engine = Engine::new(EngineConfig::default());
//! let mut store = MemoryStore::default();
//! let now = Timestamp::from_secs(1_000);
//! let command = Command::Backend(StoreOp::Set { key: "k".into(), value: Value::int(1), timeout: None });
//! let mut step = engine.start(command).unwrap();
//! let outcome = loop {
//!     step = match step {
//!         Step::Store(op) => engine.resume(Input::Store(store.execute(&op, now))).unwrap(),
//!         Step::Done(outcome) => break outcome,
//!         _ => unreachable!("a backend proxy only talks to the store"),
//!     };
//! };
//! assert_eq!(outcome.result, Ok(Value::Bool(true)));
//! ```

mod effects;
mod types;

// One flow, two compilations: `flows.rs` and `backend.rs` are written once, as `async fn`s
// marked `#[flow]`, and compiled here twice. In `stepped` they stay `async` and suspend at
// each effect until the caller answers it (the stepper). In `immediate` the
// `flaskcache-macros` attribute makes them plain functions over effects that answer at
// once (the embeddings): no future is built, moved or polled, and locals stay in
// registers. The same text takes the same paths in both (docs/ARCHITECTURE.md).

/// The flows as `async fn`s over [`Effects`]: the stepper's.
#[path = "."]
mod stepped {
    use super::effects::Effects;
    use flaskcache_macros::suspending as flow;
    mod backend;
    pub(super) mod flows;
}

/// The flows as plain functions over [`effects::Immediate`]: the embeddings'.
#[path = "."]
mod immediate {
    use super::effects::Immediate as Effects;
    use flaskcache_macros::immediate as flow;
    // The second inclusion of the same files is the point: see above.
    #[allow(clippy::duplicate_mod)]
    mod backend;
    #[allow(clippy::duplicate_mod)]
    pub(super) mod flows;
}

pub use effects::VersionSource;
pub use types::{
    CacheEvent, CachedId, CachedOptions, Command, CommandRef, Diagnostic, EngineError, HookQuery,
    Hooks, Input, MemoizeOptions, Memoized, MemoizedId, Outcome, Request, Step,
};

use effects::{Exchange, Stepper};
pub(crate) use effects::{Flow, StoreResult};
use std::borrow::Borrow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use stepped::flows;
use types::Ctx;

use crate::error::PyError;
use crate::store::StoreOp;
use crate::value::Value;

use crate::function::FunctionDescriptor;
use crate::keys::{Version, VersionGenerator};
use crate::profile::{Feature, Profile};
use crate::value::PythonVersion;

/// How the engine behaves.
#[derive(Clone, Debug, Default)]
pub struct EngineConfig {
    /// Which Flask-Caching release to reproduce.
    pub profile: Profile,
    /// Which Python version's reprs to produce (FC-2.3.1).
    pub python: PythonVersion,
    /// `app.debug`: exceptions in key building and backend calls are re-raised instead of
    /// logged (FC-1.1.6, FC-2.6.2).
    pub debug: bool,
    /// Seed of the version generator (FC-2.5.1). The sequence of version strings is fully
    /// determined by it, and the default is 0: deterministic, for the simulator, replays and
    /// tests. Two engines with the same seed mint the same versions, so engines sharing one
    /// store must be given different seeds (the embedding cache in the `flaskcache` crate
    /// draws its seed from OS randomness).
    pub version_seed: u64,
}

/// A flow's future, boxed.
type BoxedFlow = Pin<Box<dyn Future<Output = Result<Outcome, Flow>> + Send>>;

/// Where a decorated call's flow lives while it runs: its future, boxed once and reused
/// by the calls that follow. The future of a decorated call is about 1.5 KB; allocating
/// and freeing one per call was a fair part of a hit through the stepper.
trait CallSlot: Send {
    /// Puts a fresh flow for `command` in the slot.
    fn start(&mut self, cx: Ctx, registry: Resolved, command: Command);
    /// Polls the flow in the slot.
    fn poll(&mut self, context: &mut Context<'_>) -> Poll<Result<Outcome, Flow>>;
    /// Drops the flow and what it owns, keeping the storage for the next call.
    fn clear(&mut self);
}

/// A [`CallSlot`] for flows made by `make` (the future's type has no name to write).
struct Slot<F> {
    make: fn(Ctx, Resolved, Command) -> F,
    future: Pin<Box<Option<F>>>,
}

impl<F: Future<Output = Result<Outcome, Flow>> + Send> CallSlot for Slot<F> {
    fn start(&mut self, cx: Ctx, registry: Resolved, command: Command) {
        let flow = (self.make)(cx, registry, command);
        self.future.as_mut().set(Some(flow));
    }

    fn poll(&mut self, context: &mut Context<'_>) -> Poll<Result<Outcome, Flow>> {
        match self.future.as_mut().as_pin_mut() {
            Some(flow) => flow.poll(context),
            None => Poll::Ready(Err(Flow::Abort(EngineError::Idle))),
        }
    }

    fn clear(&mut self) {
        self.future.as_mut().set(None);
    }
}

/// The flow of a decorated call: the call's registration and command go into it, so the
/// flow owns all it reads.
async fn decorated_call(cx: Ctx, registry: Resolved, command: Command) -> Result<Outcome, Flow> {
    flows::run(cx, &mut Stepper, &registry, (&command).into()).await
}

fn call_slot() -> Box<dyn CallSlot> {
    Box::new(Slot {
        make: decorated_call,
        future: Box::pin(None),
    })
}

/// A running flow.
enum Running {
    /// A decorated call, in a reusable slot.
    Call(Box<dyn CallSlot>),
    /// A backend proxy call (a small future of its own).
    Backend(BoxedFlow),
}

/// A call in progress: its flow, suspended at the step it last emitted.
struct InFlight {
    flow: Running,
    /// The last step emitted is `Compute` or `Hook`: user code is running, and may itself
    /// call cached functions.
    in_user_code: bool,
}

/// The engine: registered decorators, the version source, and the calls in progress.
///
/// Calls nest the way Python's do: while a call waits for [`Step::Compute`] (or a hook),
/// the function body may call other cached functions; `start` then begins a nested call,
/// which must finish before the outer one resumes.
pub struct Engine {
    config: EngineConfig,
    memoized: Vec<Arc<Memoized>>,
    cached: Vec<Arc<CachedOptions>>,
    versions: VersionSource,
    inflight: Vec<InFlight>,
    /// Slots of finished calls, for the next calls (one per nesting level reached).
    spare: Vec<Box<dyn CallSlot>>,
}

impl Engine {
    /// An engine with no registered functions.
    pub fn new(config: EngineConfig) -> Self {
        let versions = VersionSource::Seeded(VersionGenerator::new(config.version_seed));
        Engine {
            config,
            memoized: Vec::new(),
            cached: Vec::new(),
            versions,
            inflight: Vec::new(),
            spare: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Replaces the version source (e.g. with versions recorded from Python).
    pub fn set_version_source(&mut self, source: VersionSource) {
        self.versions = source;
    }

    /// Replaces the version source and returns the previous one (with whatever it has
    /// not handed out yet): lets a replay give each recorded call its own versions.
    pub fn replace_version_source(&mut self, source: VersionSource) -> VersionSource {
        std::mem::replace(&mut self.versions, source)
    }

    /// Registers `@cache.memoize(...)` on `function`.
    pub fn memoize(
        &mut self,
        function: FunctionDescriptor,
        options: MemoizeOptions,
    ) -> Result<MemoizedId, EngineError> {
        let o = &options;
        self.check_features(&[
            (o.hooks.is_stale, Feature::IsStale, "is_stale"),
            (
                o.hooks.forced_update,
                Feature::ForcedUpdate,
                "forced_update",
            ),
            (
                o.hooks.response_filter,
                Feature::ResponseFilter,
                "response_filter",
            ),
            (o.cache_none, Feature::CacheNone, "cache_none"),
            (o.hash_method.is_some(), Feature::HashMethod, "hash_method"),
            (o.source.is_some(), Feature::SourceCheck, "source_check"),
            (
                !o.args_to_ignore.is_empty(),
                Feature::ArgsToIgnore,
                "args_to_ignore",
            ),
        ])?;
        self.memoized
            .push(Arc::new(Memoized::new(function, options)));
        Ok(MemoizedId(self.memoized.len() - 1))
    }

    /// Registers `@cache.cached(...)`.
    pub fn cached(&mut self, options: CachedOptions) -> Result<CachedId, EngineError> {
        let o = &options;
        self.check_features(&[
            (o.hooks.is_stale, Feature::IsStale, "is_stale"),
            (
                o.hooks.forced_update,
                Feature::ForcedUpdate,
                "forced_update",
            ),
            (
                o.hooks.response_filter,
                Feature::ResponseFilter,
                "response_filter",
            ),
            (o.cache_none, Feature::CacheNone, "cache_none"),
            (
                o.key.hash_method.is_some(),
                Feature::HashMethod,
                "hash_method",
            ),
            (o.key.source.is_some(), Feature::SourceCheck, "source_check"),
            (o.key.query_string, Feature::QueryString, "query_string"),
            (
                o.custom_make_cache_key,
                Feature::CustomMakeCacheKey,
                "make_cache_key",
            ),
        ])?;
        self.cached.push(Arc::new(options));
        Ok(CachedId(self.cached.len() - 1))
    }

    /// Rejects decorator arguments the profile's release does not have.
    fn check_features(&self, used: &[(bool, Feature, &'static str)]) -> Result<(), EngineError> {
        match used
            .iter()
            .find(|(on, feature, _)| *on && !self.config.profile.supports(*feature))
        {
            Some((_, _, name)) => Err(EngineError::Unsupported(name)),
            None => Ok(()),
        }
    }

    /// The registered memoized function.
    pub fn memoized(&self, id: MemoizedId) -> Option<&Memoized> {
        self.memoized.get(id.0).map(|m| &**m)
    }

    /// The registered `@cached` function.
    pub fn cached_view(&self, id: CachedId) -> Option<&CachedOptions> {
        self.cached.get(id.0).map(|c| &**c)
    }

    /// Starts a call and returns its first step.
    ///
    /// The engine reads no clock and takes none: time matters only to the backend, so the
    /// caller executes each [`Step::Store`] at the time of its choosing (as Python's
    /// `time()` is read by the backend, per operation).
    pub fn start(&mut self, command: Command) -> Result<Step, EngineError> {
        if self.inflight.last().is_some_and(|call| !call.in_user_code) {
            return Err(EngineError::Busy);
        }
        let cx = self.ctx();
        let flow = match command {
            // A backend proxy call owns its operation: the flow hands it to the caller as
            // it is, and its future is a fraction of a decorated call's.
            Command::Backend(op) => Running::Backend(Box::pin(async move {
                flows::backend_call(cx, &mut Stepper, op).await
            })),
            command => {
                let registry = Resolved::for_command(&command, &self.memoized, &self.cached)?;
                let mut slot = self.spare.pop().unwrap_or_else(call_slot);
                slot.start(cx, registry, command);
                Running::Call(slot)
            }
        };
        self.inflight.push(InFlight {
            flow,
            in_user_code: false,
        });
        self.advance()
    }

    /// Feeds the answer to the last step of the innermost call and returns its next step.
    pub fn resume(&mut self, input: Input) -> Result<Step, EngineError> {
        if self.inflight.is_empty() {
            return Err(EngineError::Idle);
        }
        effects::publish(Exchange::Input(input));
        self.advance()
    }

    /// How many calls are in progress (more than one when calls nest).
    pub fn depth(&self) -> usize {
        self.inflight.len()
    }

    /// Abandons the innermost call in progress, if any.
    pub fn abort(&mut self) {
        finish(&mut self.inflight, &mut self.spare);
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            profile: self.config.profile,
            py: self.config.python,
            debug: self.config.debug,
        }
    }

    /// Polls the innermost call until it emits a step for the caller or ends. The flow
    /// continues from the `.await` where it suspended: nothing before it runs again.
    fn advance(&mut self) -> Result<Step, EngineError> {
        let Engine {
            inflight,
            versions,
            spare,
            ..
        } = self;
        let Some(call) = inflight.last_mut() else {
            return Err(EngineError::Idle);
        };
        let mut context = Context::from_waker(Waker::noop());
        loop {
            let polled = match &mut call.flow {
                Running::Call(slot) => slot.poll(&mut context),
                Running::Backend(flow) => flow.as_mut().poll(&mut context),
            };
            match polled {
                Poll::Ready(result) => {
                    finish(inflight, spare);
                    effects::collect();
                    return match result {
                        Ok(outcome) => Ok(Step::Done(outcome)),
                        Err(Flow::Abort(e)) => Err(e),
                    };
                }
                Poll::Pending => match effects::collect() {
                    Exchange::Step(step) => {
                        call.in_user_code = matches!(step, Step::Compute | Step::Hook(_));
                        return Ok(step);
                    }
                    // Minting is answered here and the flow polled again at once.
                    Exchange::Mint => {
                        effects::publish(Exchange::Minted(versions.next_version()));
                    }
                    // A flow suspends only through its effects, which always publish.
                    _ => {
                        finish(inflight, spare);
                        return Err(EngineError::UnexpectedInput {
                            expected: "a step from the suspended flow",
                        });
                    }
                },
            }
        }
    }

    /// Runs a command to its end with effects answered directly (no suspension): the
    /// embedded driver's fast path.
    pub(crate) fn run_direct(
        &mut self,
        command: &Command,
        fx: &mut impl DirectEffects,
    ) -> Result<Outcome, EngineError> {
        let cx = self.ctx();
        let mut adapter = Direct {
            inner: fx,
            versions: &mut self.versions,
        };
        let registry = Slices {
            memoized: &self.memoized,
            cached: &self.cached,
        };
        finished(immediate::flows::run(
            cx,
            &mut adapter,
            &registry,
            command.into(),
        ))
    }
}

/// Ends the innermost call: its flow is dropped and a decorated call's slot kept.
fn finish(inflight: &mut Vec<InFlight>, spare: &mut Vec<Box<dyn CallSlot>>) {
    if let Some(InFlight {
        flow: Running::Call(mut slot),
        ..
    }) = inflight.pop()
    {
        slot.clear();
        spare.push(slot);
    }
}

/// The end of an immediate run: its outcome, or the protocol error that stopped it.
fn finished(result: Result<Outcome, Flow>) -> Result<Outcome, EngineError> {
    result.map_err(|Flow::Abort(e)| e)
}

/// Effects answered immediately by an embedding driver.
pub(crate) trait DirectEffects {
    /// Executes a backend operation.
    fn store(&mut self, op: &crate::store::StoreOp) -> StoreResult;
    /// Runs the function.
    fn compute(&mut self) -> Result<crate::value::Value, crate::error::PyError>;
    /// Answers a hook.
    fn hook(&mut self, query: &HookQuery) -> Result<bool, crate::error::PyError>;
    /// Records a diagnostic.
    fn log(&mut self, diagnostic: Diagnostic);
}

struct Direct<'a, D> {
    inner: &'a mut D,
    versions: &'a mut VersionSource,
}

impl<D: DirectEffects> effects::Immediate for Direct<'_, D> {
    fn store(&mut self, op: &StoreOp) -> Result<StoreResult, Flow> {
        Ok(self.inner.store(op))
    }
    fn compute(&mut self) -> Result<Result<Value, PyError>, Flow> {
        Ok(self.inner.compute())
    }
    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, PyError>, Flow> {
        Ok(self.inner.hook(&query))
    }
    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow> {
        self.inner.log(diagnostic);
        Ok(())
    }
    fn mint(&mut self) -> Result<Version, Flow> {
        Ok(self.versions.next_version())
    }
}

/// Where a flow finds the registration its command names.
trait Registry {
    fn memoized(&self, id: MemoizedId) -> Option<&Memoized>;
    fn cached(&self, id: CachedId) -> Option<&CachedOptions>;
}

/// Registrations held by the caller: `MemoizedId(i)` names `memoized[i]`.
struct Slices<'a, M, C> {
    memoized: &'a [M],
    cached: &'a [C],
}

impl<M: Borrow<Memoized>, C: Borrow<CachedOptions>> Registry for Slices<'_, M, C> {
    fn memoized(&self, id: MemoizedId) -> Option<&Memoized> {
        self.memoized.get(id.0).map(Borrow::borrow)
    }
    fn cached(&self, id: CachedId) -> Option<&CachedOptions> {
        self.cached.get(id.0).map(Borrow::borrow)
    }
}

/// The one registration a stepped call uses, owned by its flow.
enum Resolved {
    Memoized(MemoizedId, Arc<Memoized>),
    Cached(CachedId, Arc<CachedOptions>),
    None,
}

impl Resolved {
    fn for_command(
        command: &Command,
        memoized: &[Arc<Memoized>],
        cached: &[Arc<CachedOptions>],
    ) -> Result<Resolved, EngineError> {
        let found = match command {
            Command::CallMemoized { function, .. }
            | Command::DeleteMemoized { function, .. }
            | Command::DeleteMemoizedVerhash { function, .. } => memoized
                .get(function.0)
                .map(|m| Resolved::Memoized(*function, Arc::clone(m))),
            Command::CallCached { view, .. } | Command::DeleteCached { view, .. } => cached
                .get(view.0)
                .map(|c| Resolved::Cached(*view, Arc::clone(c))),
            Command::Backend(_) | Command::Tick => Some(Resolved::None),
        };
        found.ok_or(EngineError::UnknownHandle)
    }
}

impl Registry for Resolved {
    fn memoized(&self, id: MemoizedId) -> Option<&Memoized> {
        match self {
            Resolved::Memoized(i, m) if *i == id => Some(m),
            _ => None,
        }
    }
    fn cached(&self, id: CachedId) -> Option<&CachedOptions> {
        match self {
            Resolved::Cached(i, c) if *i == id => Some(c),
            _ => None,
        }
    }
}

/// The effects of one call, answered immediately by an embedding driver that keeps its
/// registrations and version source itself (for example a thread-safe cache that holds each
/// [`Memoized`] in its own handle and shares one version generator between threads).
///
/// Every method answers at once: the flow never suspends. The driver decides where the
/// store lives, which time it is, how the function body runs and where fresh versions come
/// from ([`EmbeddedEffects::mint`]).
pub trait EmbeddedEffects {
    /// Executes a backend operation.
    fn store(
        &mut self,
        op: &crate::store::StoreOp,
    ) -> Result<crate::store::StoreReply, crate::store::StoreError>;
    /// `get_many(*keys)` for a reader that only wants stored `str`s (the version strings of
    /// a memoize key): `Ok(None)` when every key holds a `str`, each appended to `joined` in
    /// order; otherwise the reply [`EmbeddedEffects::store`] gives for
    /// [`StoreOp::GetMany`], with `joined` unchanged. The default runs that operation; a
    /// store that can lend its values overrides it to read them in place, without copies.
    fn get_many_joined(
        &mut self,
        keys: &[&str],
        joined: &mut String,
    ) -> Result<Option<crate::store::StoreReply>, crate::store::StoreError> {
        let op = StoreOp::get_many_of(keys);
        Ok(self.store(&op)?.join_strs(keys.len(), joined))
    }
    /// `get(key)`, with the key lent and left as it was. The default runs
    /// [`StoreOp::Get`] through [`EmbeddedEffects::store`]; a store that can read in place
    /// overrides it, so that the read builds no operation.
    fn get(
        &mut self,
        key: &mut String,
    ) -> Result<crate::store::StoreReply, crate::store::StoreError> {
        effects::lend_key(key, |op| self.store(op))
    }
    /// Runs the decorated function (or view) and returns what it returned or raised.
    fn compute(&mut self) -> Result<crate::value::Value, crate::error::PyError>;
    /// Answers a per-call hook.
    fn hook(&mut self, query: &HookQuery) -> Result<bool, crate::error::PyError>;
    /// Records a diagnostic (an exception Flask-Caching logs and swallows).
    fn log(&mut self, diagnostic: Diagnostic);
    /// Draws a fresh version string (`uuid.uuid4()`, FC-2.5.1).
    fn mint(&mut self) -> Version;
    /// An empty buffer for the call's key, which leaves in the [`Outcome`]'s event. The
    /// default is a new `String`; an embedding that takes keys back from outcomes it does
    /// not keep hands one of those out, so that a hit allocates no key.
    fn key_buffer(&mut self) -> String {
        String::new()
    }
}

struct Embedded<'a, D>(&'a mut D);

impl<D: EmbeddedEffects> effects::Immediate for Embedded<'_, D> {
    fn store(&mut self, op: &StoreOp) -> Result<StoreResult, Flow> {
        Ok(self.0.store(op))
    }
    fn get_many_joined(
        &mut self,
        keys: &[&str],
        joined: &mut String,
    ) -> Result<Result<Option<crate::store::StoreReply>, crate::store::StoreError>, Flow> {
        Ok(self.0.get_many_joined(keys, joined))
    }
    fn get(&mut self, key: &mut String) -> Result<StoreResult, Flow> {
        Ok(self.0.get(key))
    }
    fn compute(&mut self) -> Result<Result<Value, PyError>, Flow> {
        Ok(self.0.compute())
    }
    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, PyError>, Flow> {
        Ok(self.0.hook(&query))
    }
    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow> {
        self.0.log(diagnostic);
        Ok(())
    }
    fn mint(&mut self) -> Result<Version, Flow> {
        Ok(self.0.mint())
    }
    fn key_buffer(&mut self) -> String {
        let mut key = self.0.key_buffer();
        key.clear();
        key
    }
}

/// Runs `command` to its end with every effect answered by `fx`, over registrations the
/// caller holds: `MemoizedId(i)` names `memoized[i]`, `CachedId(i)` names `cached[i]`.
/// The same flows as [`Engine::start`] run (one copy of each); only `config`'s profile,
/// Python version and `debug` are read (its `version_seed` is not: `fx` mints versions).
///
/// A driver holding one registration passes `std::slice::from_ref(&m)` and `MemoizedId(0)`.
/// The function takes no `&mut` state of its own, so any number of threads may run calls
/// at once; nested calls (a body calling another cached function) are plain recursion.
///
/// ```
/// use flaskcache_engine::engine::{
///     run_embedded, CacheEvent, Command, Diagnostic, EmbeddedEffects, EngineConfig, HookQuery,
///     MemoizeOptions, Memoized, MemoizedId,
/// };
/// use flaskcache_engine::keys::{Version, VersionGenerator};
/// use flaskcache_engine::{
///     Binding, FunctionDescriptor, MemoryStore, Param, PyError, StoreError, StoreOp,
///     StoreReply, Timestamp, Value,
/// };
///
/// struct Fx<'a> { store: &'a mut MemoryStore, versions: &'a mut VersionGenerator }
/// impl EmbeddedEffects for Fx<'_> {
///     fn store(&mut self, op: &StoreOp) -> Result<StoreReply, StoreError> {
///         self.store.execute(op, Timestamp::from_secs(1_000))
///     }
///     fn compute(&mut self) -> Result<Value, PyError> { Ok(Value::str("Ann")) }
///     fn hook(&mut self, _: &HookQuery) -> Result<bool, PyError> { Ok(false) }
///     fn log(&mut self, _: Diagnostic) {}
///     fn mint(&mut self) -> Version { self.versions.next_version() }
/// }
///
/// let f = FunctionDescriptor::new("app", "get", vec![Param::required("sid")], Binding::Function).unwrap();
/// let m = Memoized::new(f, MemoizeOptions::default());
/// let (mut store, mut versions) = (MemoryStore::default(), VersionGenerator::new(42));
/// let call = Command::CallMemoized {
///     function: MemoizedId(0), bound_to: None, args: vec![Value::int(7)], kwargs: vec![],
/// };
/// let config = EngineConfig::default();
/// let mut fx = Fx { store: &mut store, versions: &mut versions };
/// let first = run_embedded(&config, &mut fx, std::slice::from_ref(&m), &[], &call).unwrap();
/// assert!(matches!(first.event, CacheEvent::Miss { stored: true, .. }));
/// let again = run_embedded(&config, &mut fx, std::slice::from_ref(&m), &[], &call).unwrap();
/// assert!(matches!(again.event, CacheEvent::Hit { .. }));
/// ```
#[inline(always)]
pub fn run_embedded<'c>(
    config: &EngineConfig,
    fx: &mut impl EmbeddedEffects,
    memoized: &[Memoized],
    cached: &[CachedOptions],
    command: impl Into<CommandRef<'c>>,
) -> Result<Outcome, EngineError> {
    let cx = Ctx {
        profile: config.profile,
        py: config.python,
        debug: config.debug,
    };
    let registry = Slices { memoized, cached };
    finished(immediate::flows::run(
        cx,
        &mut Embedded(fx),
        &registry,
        command.into(),
    ))
}
