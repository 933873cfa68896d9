//! `Cache`: the engine with an in-memory store and closures: a single-threaded,
//! deterministic driver for tests and tools. Its version strings come from an explicit seed,
//! so two caches built with the same seed mint the same versions: never point two of them
//! at one shared store. The thread-safe embedding cache (the `flaskcache` crate) draws its
//! seed from OS randomness.
//!
//! ```
//! use flaskcache_engine::{Binding, Cache, FunctionDescriptor, Param, Timestamp, Value};
//! use flaskcache_engine::engine::MemoizeOptions;
//!
//! let mut cache = Cache::seeded(42);
//! let f = FunctionDescriptor::new("app.models", "get_student",
//!     vec![Param::required("sid")], Binding::Function).unwrap();
//! let get_student = cache.memoize(f, MemoizeOptions { timeout: Some(600), ..Default::default() }).unwrap();
//! let now = Timestamp::from_secs(1_000);
//! let first = cache.call(now, get_student, &[Value::int(7)], || Ok(Value::str("Ann"))).unwrap();
//! let again = cache.call(now, get_student, &[Value::int(7)], || Ok(Value::str("changed"))).unwrap();
//! assert_eq!(again.result, Ok(Value::str("Ann")));           // a hit
//! cache.delete_memoized(now, get_student, &[Value::int(7)]).unwrap();
//! let after = cache.call(now, get_student, &[Value::int(7)], || Ok(Value::str("Bob"))).unwrap();
//! assert_eq!(after.result, Ok(Value::str("Bob")));
//! # let _ = first;
//! ```

use crate::engine::{
    CachedId, CachedOptions, Command, Diagnostic, Engine, EngineConfig, EngineError, HookQuery,
    MemoizeOptions, MemoizedId, Outcome,
};
use crate::engine::{DirectEffects, StoreResult};
use crate::error::PyError;
use crate::function::{FunctionDescriptor, Receiver};
use crate::store::{MemoryStore, StoreConfig, StoreOp, Timestamp};
use crate::value::Value;

/// The engine driving a [`MemoryStore`] directly.
pub struct Cache {
    engine: Engine,
    store: MemoryStore,
    diagnostics: Vec<Diagnostic>,
}

struct Driver<'a, C, H> {
    store: &'a mut MemoryStore,
    now: Timestamp,
    compute: C,
    hook: H,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl<C, H> DirectEffects for Driver<'_, C, H>
where
    C: FnMut() -> Result<Value, PyError>,
    H: FnMut(&HookQuery) -> Result<bool, PyError>,
{
    fn store(&mut self, op: &StoreOp) -> StoreResult {
        self.store.execute(op, self.now)
    }
    fn compute(&mut self) -> Result<Value, PyError> {
        (self.compute)()
    }
    fn hook(&mut self, query: &HookQuery) -> Result<bool, PyError> {
        (self.hook)(query)
    }
    fn log(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

impl Cache {
    /// A cache with the given engine and store configuration (the version seed is
    /// `engine.version_seed`).
    pub fn new(engine: EngineConfig, store: StoreConfig) -> Self {
        Cache {
            engine: Engine::new(engine),
            store: MemoryStore::new(store),
            diagnostics: Vec::new(),
        }
    }

    /// A cache with the default profile (2.5), Python 3.11 reprs and SimpleCache defaults
    /// (300 s, threshold 500), whose version generator starts from `version_seed`.
    ///
    /// The seed fixes every version string the cache will mint: this is a testing tool
    /// (reproducible keys), not a production setting.
    pub fn seeded(version_seed: u64) -> Self {
        Cache::new(
            EngineConfig {
                version_seed,
                ..EngineConfig::default()
            },
            StoreConfig::default(),
        )
    }

    /// The engine (for registrations and configuration).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store.
    pub fn store(&self) -> &MemoryStore {
        &self.store
    }

    /// Everything logged so far (exceptions Flask-Caching would log and swallow).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Registers `@cache.memoize(...)`.
    pub fn memoize(
        &mut self,
        f: FunctionDescriptor,
        o: MemoizeOptions,
    ) -> Result<MemoizedId, EngineError> {
        self.engine.memoize(f, o)
    }

    /// Registers `@cache.cached(...)`.
    pub fn cached(&mut self, o: CachedOptions) -> Result<CachedId, EngineError> {
        self.engine.cached(o)
    }

    /// Runs any command; `compute` runs the decorated function, `hook` answers hooks.
    pub fn run(
        &mut self,
        now: Timestamp,
        command: &Command,
        compute: impl FnMut() -> Result<Value, PyError>,
        hook: impl FnMut(&HookQuery) -> Result<bool, PyError>,
    ) -> Result<Outcome, EngineError> {
        let mut driver = Driver {
            store: &mut self.store,
            now,
            compute,
            hook,
            diagnostics: &mut self.diagnostics,
        };
        self.engine.run_direct(command, &mut driver)
    }

    /// Calls a memoized plain function (or staticmethod) with positional arguments.
    pub fn call(
        &mut self,
        now: Timestamp,
        function: MemoizedId,
        args: &[Value],
        compute: impl FnMut() -> Result<Value, PyError>,
    ) -> Result<Outcome, EngineError> {
        self.call_bound(now, function, None, args, &[], compute)
    }

    /// Calls a memoized function through a receiver, with keyword arguments.
    pub fn call_bound(
        &mut self,
        now: Timestamp,
        function: MemoizedId,
        bound_to: Option<Receiver>,
        args: &[Value],
        kwargs: &[(String, Value)],
        compute: impl FnMut() -> Result<Value, PyError>,
    ) -> Result<Outcome, EngineError> {
        let command = Command::CallMemoized {
            function,
            bound_to,
            args: args.to_vec(),
            kwargs: kwargs.to_vec(),
        };
        self.run(now, &command, compute, |_| Ok(false))
    }

    /// `cache.delete_memoized(f, *args)` for a plain function.
    pub fn delete_memoized(
        &mut self,
        now: Timestamp,
        function: MemoizedId,
        args: &[Value],
    ) -> Result<Outcome, EngineError> {
        let command = Command::DeleteMemoized {
            function,
            bound_to: None,
            args: args.to_vec(),
            kwargs: Vec::new(),
        };
        self.run(now, &command, || Ok(Value::None), |_| Ok(false))
    }

    /// A backend proxy call (`cache.get`, `cache.delete`, ...).
    pub fn backend(&mut self, now: Timestamp, op: StoreOp) -> Result<Outcome, EngineError> {
        self.run(
            now,
            &Command::Backend(op),
            || Ok(Value::None),
            |_| Ok(false),
        )
    }
}
