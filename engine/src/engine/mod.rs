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
mod flows;
mod types;

pub use effects::VersionSource;
pub use types::{
    CacheEvent, CachedId, CachedOptions, Command, Diagnostic, EngineError, HookQuery, Hooks, Input,
    MemoizeOptions, Memoized, MemoizedId, Outcome, Request, Step,
};

use effects::Replay;
pub(crate) use effects::{Effects, Flow, StoreResult};
use flows::Ctx;

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

/// A call in progress: its command and every input received so far.
struct InFlight {
    command: Command,
    inputs: Vec<Input>,
    minted: Vec<Version>,
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
    memoized: Vec<Memoized>,
    cached: Vec<CachedOptions>,
    versions: VersionSource,
    inflight: Vec<InFlight>,
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
        self.memoized.push(Memoized { function, options });
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
        self.cached.push(options);
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
        self.memoized.get(id.0)
    }

    /// The registered `@cached` function.
    pub fn cached_view(&self, id: CachedId) -> Option<&CachedOptions> {
        self.cached.get(id.0)
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
        self.inflight.push(InFlight {
            command,
            inputs: Vec::new(),
            minted: Vec::new(),
            in_user_code: false,
        });
        self.advance()
    }

    /// Feeds the answer to the last step of the innermost call and returns its next step.
    pub fn resume(&mut self, input: Input) -> Result<Step, EngineError> {
        match self.inflight.last_mut() {
            Some(call) => call.inputs.push(input),
            None => return Err(EngineError::Idle),
        }
        self.advance()
    }

    /// How many calls are in progress (more than one when calls nest).
    pub fn depth(&self) -> usize {
        self.inflight.len()
    }

    /// Abandons the innermost call in progress, if any.
    pub fn abort(&mut self) {
        self.inflight.pop();
    }

    fn advance(&mut self) -> Result<Step, EngineError> {
        let Some(mut call) = self.inflight.pop() else {
            return Err(EngineError::Idle);
        };
        let cx = Ctx {
            profile: self.config.profile,
            py: self.config.python,
            debug: self.config.debug,
        };
        let mut fx = Replay {
            inputs: &call.inputs,
            position: 0,
            minted: &mut call.minted,
            mint_position: 0,
            source: &mut self.versions,
        };
        let result = run(cx, &mut fx, &self.memoized, &self.cached, &call.command);
        match result {
            Ok(outcome) => Ok(Step::Done(outcome)),
            Err(Flow::Suspend(step)) => {
                call.in_user_code = matches!(step, Step::Compute | Step::Hook(_));
                self.inflight.push(call);
                Ok(step)
            }
            Err(Flow::Abort(e)) => Err(e),
        }
    }

    /// Runs a command to its end with effects answered directly (no suspension): the
    /// embedded driver's fast path.
    pub(crate) fn run_direct(
        &mut self,
        command: &Command,
        fx: &mut impl DirectEffects,
    ) -> Result<Outcome, EngineError> {
        let cx = Ctx {
            profile: self.config.profile,
            py: self.config.python,
            debug: self.config.debug,
        };
        let mut adapter = Direct {
            inner: fx,
            versions: &mut self.versions,
        };
        match run(cx, &mut adapter, &self.memoized, &self.cached, command) {
            Ok(outcome) => Ok(outcome),
            Err(Flow::Abort(e)) => Err(e),
            Err(Flow::Suspend(_)) => Err(EngineError::UnexpectedInput {
                expected: "a direct answer",
            }),
        }
    }
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

impl<D: DirectEffects> Effects for Direct<'_, D> {
    fn store(&mut self, op: &crate::store::StoreOp) -> Result<StoreResult, Flow> {
        Ok(self.inner.store(op))
    }
    fn compute(&mut self) -> Result<Result<crate::value::Value, crate::error::PyError>, Flow> {
        Ok(self.inner.compute())
    }
    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, crate::error::PyError>, Flow> {
        Ok(self.inner.hook(&query))
    }
    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow> {
        self.inner.log(diagnostic);
        Ok(())
    }
    fn mint(&mut self) -> Version {
        self.versions.next_version()
    }
}

fn run(
    cx: Ctx,
    fx: &mut impl Effects,
    memoized: &[Memoized],
    cached: &[CachedOptions],
    command: &Command,
) -> Result<Outcome, Flow> {
    let unknown = || Flow::Abort(EngineError::UnknownHandle);
    match command {
        Command::CallMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            let m = memoized.get(function.0).ok_or_else(unknown)?;
            flows::call_memoized(cx, fx, m, bound_to.as_ref(), args, kwargs)
        }
        Command::CallCached {
            view,
            request,
            prefix_result,
            custom_key,
        } => {
            let v = cached.get(view.0).ok_or_else(unknown)?;
            flows::call_cached(
                cx,
                fx,
                v,
                request.as_ref(),
                prefix_result.as_deref(),
                custom_key.as_deref(),
            )
        }
        Command::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            let m = memoized.get(function.0).ok_or_else(unknown)?;
            flows::delete_memoized(cx, fx, m, bound_to.as_ref(), args, kwargs)
        }
        Command::DeleteMemoizedVerhash { function, bound_to } => {
            let m = memoized.get(function.0).ok_or_else(unknown)?;
            flows::delete_memoized_verhash(cx, fx, m, bound_to.as_ref())
        }
        Command::DeleteCached {
            view,
            path,
            query_args,
            url_for,
            prefix_result,
            request,
        } => {
            let v = cached.get(view.0).ok_or_else(unknown)?;
            let a = flows::DeleteCachedArgs {
                path: path.as_deref(),
                query_args: query_args.as_ref(),
                url_for: url_for.as_deref(),
                prefix_result: prefix_result.as_deref(),
                request: request.as_ref(),
            };
            flows::delete_cached(cx, fx, v, a)
        }
        Command::Backend(op) => flows::backend_call(cx, fx, op.clone()),
        Command::Tick => Ok(Outcome {
            result: Ok(crate::value::Value::None),
            event: CacheEvent::Direct,
        }),
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
    /// Runs the decorated function (or view) and returns what it returned or raised.
    fn compute(&mut self) -> Result<crate::value::Value, crate::error::PyError>;
    /// Answers a per-call hook.
    fn hook(&mut self, query: &HookQuery) -> Result<bool, crate::error::PyError>;
    /// Records a diagnostic (an exception Flask-Caching logs and swallows).
    fn log(&mut self, diagnostic: Diagnostic);
    /// Draws a fresh version string (`uuid.uuid4()`, FC-2.5.1).
    fn mint(&mut self) -> Version;
}

struct Embedded<'a, D>(&'a mut D);

impl<D: EmbeddedEffects> Effects for Embedded<'_, D> {
    fn store(&mut self, op: &crate::store::StoreOp) -> Result<StoreResult, Flow> {
        Ok(self.0.store(op))
    }
    fn compute(&mut self) -> Result<Result<crate::value::Value, crate::error::PyError>, Flow> {
        Ok(self.0.compute())
    }
    fn hook(&mut self, query: HookQuery) -> Result<Result<bool, crate::error::PyError>, Flow> {
        Ok(self.0.hook(&query))
    }
    fn log(&mut self, diagnostic: Diagnostic) -> Result<(), Flow> {
        self.0.log(diagnostic);
        Ok(())
    }
    fn mint(&mut self) -> Version {
        self.0.mint()
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
/// let m = Memoized { function: f, options: MemoizeOptions::default() };
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
pub fn run_embedded(
    config: &EngineConfig,
    fx: &mut impl EmbeddedEffects,
    memoized: &[Memoized],
    cached: &[CachedOptions],
    command: &Command,
) -> Result<Outcome, EngineError> {
    let cx = Ctx {
        profile: config.profile,
        py: config.python,
        debug: config.debug,
    };
    match run(cx, &mut Embedded(fx), memoized, cached, command) {
        Ok(outcome) => Ok(outcome),
        Err(Flow::Abort(e)) => Err(e),
        Err(Flow::Suspend(_)) => Err(EngineError::UnexpectedInput {
            expected: "a direct answer",
        }),
    }
}
