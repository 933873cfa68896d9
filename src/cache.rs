//! [`Cache`]: the thread-safe embedding cache, and its builder.

use crate::clock::{Clock, SystemClock};
use crate::convert::{FromPy, ToPy};
use crate::error::Error;
use crate::handles::{CachedView, Memoized};
use crate::store::{SharedMemoryStore, Store};
use flaskcache_engine::engine::{
    run_embedded, CacheEvent, CachedOptions, Command, CommandRef, Diagnostic, EmbeddedEffects,
    Engine, EngineConfig, EngineError, HookQuery, MemoizeOptions, Memoized as Registered, Outcome,
};
use flaskcache_engine::keys::{Version, VersionGenerator};
use flaskcache_engine::{
    Binding, FunctionDescriptor, Param, Profile, PyError, PythonVersion, StoreError, StoreOp,
    StoreReply, Timestamp, Value,
};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where diagnostics go: the exceptions Flask-Caching logs with `logger.exception(...)` and
/// swallows (a failing backend during a call, a key that could not be built), after which
/// the call runs uncached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DiagnosticsMode {
    /// Forwarded to the [`log`] crate at `error` level, target `flaskcache` (the level of
    /// `logger.exception`); with `tracing`, the `tracing-log` bridge picks them up.
    #[default]
    Log,
    /// Kept for [`Cache::drain_diagnostics`], the most recent ones up to the builder's
    /// capacity.
    Buffer,
    /// Both.
    LogAndBuffer,
    /// Dropped.
    Discard,
}

struct Diagnostics {
    mode: DiagnosticsMode,
    capacity: usize,
    buffer: Mutex<(VecDeque<Diagnostic>, u64)>,
}

impl Diagnostics {
    fn record(&self, d: Diagnostic) {
        if matches!(
            self.mode,
            DiagnosticsMode::Log | DiagnosticsMode::LogAndBuffer
        ) {
            log::error!(target: "flaskcache", "{}: {}", d.message, d.error);
        }
        if matches!(
            self.mode,
            DiagnosticsMode::Buffer | DiagnosticsMode::LogAndBuffer
        ) {
            let mut buffer = lock(&self.buffer);
            if self.capacity == 0 {
                buffer.1 += 1;
                return;
            }
            if buffer.0.len() == self.capacity {
                buffer.0.pop_front();
                buffer.1 += 1;
            }
            buffer.0.push_back(d);
        }
    }
}

/// What a delete removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deleted {
    /// The entry under `key` was deleted (`delete(key)`, `delete_memoized(f, *args)`,
    /// `delete_cached(view, ...)`). `existed` is the backend's answer: whether an entry was
    /// there to delete (`None` when the backend did not say).
    Entry {
        /// The key deleted.
        key: String,
        /// Whether it held an entry.
        existed: Option<bool>,
    },
    /// `delete_memoized(f)` without arguments: a fresh version was written to
    /// `version_key`, so every result cached before (for this function, or for this
    /// instance of a method) is unreachable and expires in time.
    AllResults {
        /// The version key written.
        version_key: String,
    },
    /// `delete_memoized_verhash(f)`: the version key was deleted.
    VersionKey {
        /// The version key deleted.
        key: String,
    },
    /// The delete failed and Flask-Cache 0.13 logged and swallowed the error: nothing was
    /// deleted.
    Nothing {
        /// The exception logged.
        error: PyError,
    },
}

/// Turns the outcome of a delete command into what it removed.
pub(crate) fn deleted(outcome: Outcome, existed: Option<bool>) -> Result<Deleted, Error> {
    match (outcome.result, outcome.event) {
        (Err(e), _) => Err(Error::Raised(e)),
        (Ok(_), CacheEvent::Deleted { key }) => Ok(Deleted::Entry { key, existed }),
        (Ok(_), CacheEvent::VersionReset { key }) => Ok(Deleted::AllResults { version_key: key }),
        (Ok(_), CacheEvent::VersionDeleted { key }) => Ok(Deleted::VersionKey { key }),
        (Ok(_), CacheEvent::Uncached { error }) => Ok(Deleted::Nothing { error }),
        (Ok(_), _) => Err(Error::Engine(EngineError::UnexpectedInput {
            expected: "the event of a delete",
        })),
    }
}

/// Something that names a parameter of a function: a `&str`/`String` (a required
/// positional-or-keyword parameter) or a full [`Param`].
pub trait IntoParam {
    /// The parameter.
    fn into_param(self) -> Param;
}

impl IntoParam for Param {
    fn into_param(self) -> Param {
        self
    }
}

impl IntoParam for &str {
    fn into_param(self) -> Param {
        Param::required(self)
    }
}

impl IntoParam for String {
    fn into_param(self) -> Param {
        Param::required(self)
    }
}

/// Builds a [`Cache`].
///
/// ```
/// use flaskcache::{Cache, DiagnosticsMode, Profile, SharedMemoryStore, VirtualClock};
/// use flaskcache::engine::StoreConfig;
/// use std::sync::Arc;
///
/// let store = Arc::new(SharedMemoryStore::new(StoreConfig { threshold: 1000, ..Default::default() }));
/// let cache = Cache::builder()
///     .profile(Profile::FlaskCaching25)
///     .store(store)
///     .clock(VirtualClock::at_secs(1_000))
///     .diagnostics(DiagnosticsMode::Buffer)
///     .build()
///     .unwrap();
/// # let _ = cache;
/// ```
pub struct CacheBuilder {
    config: EngineConfig,
    seed: Option<u64>,
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn Clock>>,
    diagnostics: DiagnosticsMode,
    capacity: usize,
}

impl fmt::Debug for CacheBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("config", &self.config)
            .field("seed", &self.seed)
            .field("diagnostics", &self.diagnostics)
            .finish_non_exhaustive()
    }
}

impl CacheBuilder {
    /// Which Flask-Caching release to reproduce (default: 2.5).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.config.profile = profile;
        self
    }

    /// Which Python version's `repr` rules keys follow (default: 3.11).
    pub fn python(mut self, python: PythonVersion) -> Self {
        self.config.python = python;
        self
    }

    /// `app.debug`: exceptions in key building and backend calls are raised instead of
    /// logged (default: off).
    pub fn debug(mut self, debug: bool) -> Self {
        self.config.debug = debug;
        self
    }

    /// The backend (default: a fresh [`SharedMemoryStore`] with SimpleCache's defaults).
    /// Several caches may share one store, as several processes share one Redis.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock read at every backend operation (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// **Testing only.** Seeds the version generator with `seed` instead of OS randomness,
    /// so that version strings (and memoize keys) are reproducible.
    ///
    /// Never give two caches that share a store the same seed: they would mint the same
    /// version strings, and a version reset by one could be re-minted by the other,
    /// bringing results cached before the reset back to life. Flask-Caching draws a fresh
    /// `uuid4()` per version; the default (OS randomness) matches that.
    pub fn version_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Where diagnostics go (default: [`DiagnosticsMode::Log`]).
    pub fn diagnostics(mut self, mode: DiagnosticsMode) -> Self {
        self.diagnostics = mode;
        self
    }

    /// How many diagnostics a buffering cache keeps before dropping the oldest (default:
    /// 1024).
    pub fn diagnostics_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The cache. Fails only when no version seed was given and the operating system's
    /// random source fails.
    pub fn build(self) -> Result<Cache, Error> {
        let seed = match self.seed {
            Some(seed) => seed,
            None => getrandom::u64().map_err(|e| Error::Randomness(e.to_string()))?,
        };
        let config = EngineConfig {
            version_seed: seed,
            ..self.config
        };
        Ok(Cache {
            inner: Arc::new(Inner {
                registry: Mutex::new(Engine::new(config.clone())),
                config,
                store: self
                    .store
                    .unwrap_or_else(|| Arc::new(SharedMemoryStore::default())),
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                versions: Mutex::new(VersionGenerator::new(seed)),
                diagnostics: Diagnostics {
                    mode: self.diagnostics,
                    capacity: self.capacity,
                    buffer: Mutex::new((VecDeque::new(), 0)),
                },
            }),
        })
    }
}

struct Inner {
    config: EngineConfig,
    /// Validates registrations (profile features); never touched by calls.
    registry: Mutex<Engine>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    versions: Mutex<VersionGenerator>,
    diagnostics: Diagnostics,
}

/// Flask-Caching's `Cache` for Rust programs: `@cache.memoize`, `@cache.cached`, the
/// deletes and the backend proxies, with keys byte-exact with Flask-Caching's.
///
/// A `Cache` is a handle (an `Arc` inside): clone it freely and share it between threads.
/// No lock is held while a function body runs; the store is locked for one backend
/// operation at a time, and version minting takes a lock only when a version is missing.
/// A body may call other memoized functions through the same cache.
///
/// ```
/// use flaskcache::{Cache, MemoizeOptions};
/// use std::convert::Infallible;
///
/// let cache = Cache::new().unwrap();
/// let get_student = cache
///     .memoize("app.models.get_student", ["sid"], MemoizeOptions { timeout: Some(600), ..Default::default() })
///     .unwrap();
///
/// let name: String = get_student.call(&cache, (7,), || Ok::<_, Infallible>("Ann".to_owned())).unwrap();
/// assert_eq!(name, "Ann");
/// let again = get_student.call(&cache, (7,), || Ok::<_, Infallible>("changed".to_owned())).unwrap();
/// assert_eq!(again, "Ann"); // served from the cache
///
/// cache.delete_memoized(&get_student, (7,)).unwrap();
/// let after = get_student.call(&cache, (7,), || Ok::<_, Infallible>("Bob".to_owned())).unwrap();
/// assert_eq!(after, "Bob");
/// ```
#[derive(Clone)]
pub struct Cache {
    inner: Arc<Inner>,
}

impl fmt::Debug for Cache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// The effects of one call: the shared store, the clock, the body and the hooks.
struct Driver<'a, C, H> {
    inner: &'a Inner,
    compute: C,
    hook: H,
    /// The backend's answer to the last `delete`.
    existed: Option<bool>,
    /// The time of this stretch of backend operations: read at the first one and kept
    /// until user code (the body, a hook) runs. Python reads `time()` per operation; the
    /// operations of one stretch run back to back, so one reading serves them all.
    now: Option<Timestamp>,
}

impl<C, H> Driver<'_, C, H> {
    /// The time of this stretch: the clock read at its first backend operation.
    fn now(&mut self) -> Timestamp {
        *self.now.get_or_insert_with(|| self.inner.clock.now())
    }
}

impl<C, H> EmbeddedEffects for Driver<'_, C, H>
where
    C: FnMut() -> Result<Value, PyError>,
    H: FnMut(&HookQuery) -> Result<bool, PyError>,
{
    fn store(&mut self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        let now = self.now();
        let reply = self.inner.store.execute(op, now);
        if let (StoreOp::Delete { .. }, Ok(reply)) = (op, &reply) {
            if let Some(existed) = reply.flag() {
                self.existed = Some(existed);
            }
        }
        reply
    }
    fn get_many_joined(
        &mut self,
        keys: &[&str],
        joined: &mut String,
    ) -> Result<Option<StoreReply>, StoreError> {
        let now = self.now();
        self.inner.store.get_many_joined(keys, now, joined)
    }
    fn get(&mut self, key: &mut String) -> Result<StoreReply, StoreError> {
        let now = self.now();
        self.inner.store.get(key, now)
    }
    fn compute(&mut self) -> Result<Value, PyError> {
        self.now = None;
        (self.compute)()
    }
    fn hook(&mut self, query: &HookQuery) -> Result<bool, PyError> {
        self.now = None;
        (self.hook)(query)
    }
    fn log(&mut self, diagnostic: Diagnostic) {
        self.inner.diagnostics.record(diagnostic);
    }
    fn mint(&mut self) -> Version {
        lock(&self.inner.versions).next_version()
    }
    fn key_buffer(&mut self) -> String {
        crate::spare_key::take()
    }
}

impl Cache {
    /// A cache with the defaults: Flask-Caching 2.5, Python 3.11 reprs, an in-memory
    /// SimpleCache, the system clock, a version seed from OS randomness, diagnostics to
    /// the log.
    pub fn new() -> Result<Cache, Error> {
        Cache::builder().build()
    }

    /// A builder, starting from the defaults of [`Cache::new`].
    pub fn builder() -> CacheBuilder {
        CacheBuilder {
            config: EngineConfig::default(),
            seed: None,
            store: None,
            clock: None,
            diagnostics: DiagnosticsMode::default(),
            capacity: 1024,
        }
    }

    /// The configuration (`version_seed` is the seed in use).
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The clock's current time.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Takes the buffered diagnostics (with [`DiagnosticsMode::Buffer`] or
    /// [`DiagnosticsMode::LogAndBuffer`]), oldest first.
    pub fn drain_diagnostics(&self) -> Vec<Diagnostic> {
        lock(&self.inner.diagnostics.buffer).0.drain(..).collect()
    }

    /// How many diagnostics were dropped because the buffer was full.
    pub fn dropped_diagnostics(&self) -> u64 {
        lock(&self.inner.diagnostics.buffer).1
    }

    /// `@cache.memoize(...)` on a plain function named `name`, with parameters `params`.
    ///
    /// `name` is `module.qualname` split at its last dot (`app.models.get_student`), or
    /// `module:qualname` when the qualname has dots itself (`app.models:outer.<locals>.f`).
    /// For methods use [`Cache::memoize_fn`] with a [`FunctionDescriptor`] and its
    /// [`Binding`]. `T` is the function's result type.
    pub fn memoize<T>(
        &self,
        name: &str,
        params: impl IntoIterator<Item = impl IntoParam>,
        options: MemoizeOptions,
    ) -> Result<Memoized<T>, Error> {
        let split = match name.split_once(':') {
            Some(parts) => Some(parts),
            None => name.rsplit_once('.'),
        };
        let (module, qualname) = match split {
            Some((m, q)) if !m.is_empty() && !q.is_empty() => (m, q),
            _ => return Err(Error::InvalidName(name.to_owned())),
        };
        let params = params.into_iter().map(IntoParam::into_param).collect();
        let function = FunctionDescriptor::new(module, qualname, params, Binding::Function)?;
        self.memoize_fn(function, options)
    }

    /// `@cache.memoize(...)` on the function `function` describes (any binding).
    pub fn memoize_fn<T>(
        &self,
        function: FunctionDescriptor,
        options: MemoizeOptions,
    ) -> Result<Memoized<T>, Error> {
        let mut registry = lock(&self.inner.registry);
        let id = registry.memoize(function, options)?;
        let registered = registry
            .memoized(id)
            .cloned()
            .ok_or(EngineError::UnknownHandle)?;
        Ok(Memoized::new(Arc::new(registered), &self.inner.config))
    }

    /// `@cache.cached(...)` on a view returning `T`.
    pub fn cached_view<T>(&self, options: CachedOptions) -> Result<CachedView<T>, Error> {
        let mut registry = lock(&self.inner.registry);
        let id = registry.cached(options)?;
        let registered = registry
            .cached_view(id)
            .cloned()
            .ok_or(EngineError::UnknownHandle)?;
        Ok(CachedView::new(Arc::new(registered), &self.inner.config))
    }

    /// Fails when a handle registered under `config` is used with this cache.
    pub(crate) fn check(&self, profile: Profile, python: PythonVersion) -> Result<(), Error> {
        let c = &self.inner.config;
        if c.profile == profile && c.python == python {
            Ok(())
        } else {
            Err(Error::ForeignHandle)
        }
    }

    /// Runs one command to its end; returns the outcome and the backend's answer to the
    /// last `delete`.
    #[inline(always)]
    pub(crate) fn execute(
        &self,
        memoized: &[Registered],
        cached: &[CachedOptions],
        command: CommandRef<'_>,
        compute: impl FnMut() -> Result<Value, PyError>,
        hook: impl FnMut(&HookQuery) -> Result<bool, PyError>,
    ) -> Result<(Outcome, Option<bool>), Error> {
        let mut driver = Driver {
            inner: &self.inner,
            compute,
            hook,
            existed: None,
            now: None,
        };
        let outcome = run_embedded(&self.inner.config, &mut driver, memoized, cached, command)?;
        Ok((outcome, driver.existed))
    }

    /// A backend proxy call (`cache.get(...)`, `cache.set(...)`, ...): what it returned,
    /// or the exception it raised as [`Error::Raised`].
    pub fn backend(&self, op: StoreOp) -> Result<Value, Error> {
        let command = Command::Backend(op);
        let (outcome, _) = self.execute(&[], &[], (&command).into(), no_compute, no_hook)?;
        outcome.result.map_err(Error::Raised)
    }

    /// `cache.get(key)`: `None` (Python's) when missing, so read into an `Option`.
    ///
    /// ```
    /// # let cache = flaskcache::Cache::new().unwrap();
    /// cache.set("greeting", &"hello", None).unwrap();
    /// assert_eq!(cache.get::<Option<String>>("greeting").unwrap().as_deref(), Some("hello"));
    /// assert_eq!(cache.get::<Option<String>>("other").unwrap(), None);
    /// ```
    pub fn get<T: FromPy>(&self, key: &str) -> Result<T, Error> {
        let value = self.backend(StoreOp::Get {
            key: key.to_owned(),
        })?;
        Ok(T::from_py(value)?)
    }

    /// `cache.set(key, value, timeout=timeout)`: whether the backend stored it (Flask-Cache
    /// 0.13's proxy returns nothing: `false`).
    pub fn set(&self, key: &str, value: &impl ToPy, timeout: Option<i64>) -> Result<bool, Error> {
        let op = StoreOp::Set {
            key: key.to_owned(),
            value: value.to_py(self.inner.config.python),
            timeout,
        };
        Ok(matches!(self.backend(op)?, Value::Bool(true)))
    }

    /// `cache.delete(key)`.
    pub fn delete(&self, key: &str) -> Result<Deleted, Error> {
        let command = Command::Backend(StoreOp::Delete {
            key: key.to_owned(),
        });
        let (outcome, existed) = self.execute(&[], &[], (&command).into(), no_compute, no_hook)?;
        outcome.result.map_err(Error::Raised)?;
        Ok(Deleted::Entry {
            key: key.to_owned(),
            existed,
        })
    }

    /// `cache.delete_memoized(f, *args)`: the result cached for these arguments; with no
    /// arguments (`()`), every result of `f` (a fresh version, as in Python). Keyword
    /// arguments and bound methods: [`Memoized::kwarg`], [`Memoized::on_instance`].
    pub fn delete_memoized<T>(
        &self,
        function: &Memoized<T>,
        args: impl crate::convert::IntoArgs,
    ) -> Result<Deleted, Error> {
        function.with_args().delete(self, args)
    }

    /// `cache.delete_memoized(f)`: every cached result of `f` becomes unreachable.
    pub fn delete_memoized_all<T>(&self, function: &Memoized<T>) -> Result<Deleted, Error> {
        self.delete_memoized(function, ())
    }

    /// `cache.delete_memoized_verhash(f)`: deletes `f`'s version key.
    pub fn delete_memoized_verhash<T>(&self, function: &Memoized<T>) -> Result<Deleted, Error> {
        function.with_args().delete_verhash(self)
    }

    /// `cache.delete_cached(view, path=path, query_args=query_args)` (Flask-Caching 2.5).
    pub fn delete_cached<T>(
        &self,
        view: &CachedView<T>,
        path: &str,
        query_args: Option<flaskcache_engine::keys::QueryArgs>,
    ) -> Result<Deleted, Error> {
        view.delete(self, path, query_args)
    }
}

/// The body of a command that runs none.
pub(crate) fn no_compute() -> Result<Value, PyError> {
    Ok(Value::None)
}

/// The hooks of a command that asks none.
pub(crate) fn no_hook(_: &HookQuery) -> Result<bool, PyError> {
    Ok(false)
}
