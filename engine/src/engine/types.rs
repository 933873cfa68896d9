//! The engine's vocabulary: decorator configurations, commands in, steps and outcomes out.

use crate::error::PyError;
use crate::function::{FunctionDescriptor, Receiver};
use crate::keys::{CachedKeySpec, HashMethod, MakeName, QueryArgs};
use crate::profile::Profile;
use crate::store::{StoreError, StoreOp, StoreReply};
use crate::value::{PythonVersion, Value};

/// Which per-call hooks a decorator was given. The engine never holds the callables: when a
/// hook is configured it asks the caller through [`Step::Hook`] (FC-1.1.1, FC-1.1.3,
/// FC-1.1.5, FC-1.1.8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    /// `unless=`: `True` bypasses the cache entirely.
    pub unless: bool,
    /// `forced_update=`: `True` skips the read and re-stores.
    pub forced_update: bool,
    /// `is_stale=` (2.5 only): `True` turns a hit into a miss.
    pub is_stale: bool,
    /// `response_filter=`: a falsy answer keeps the value out of the cache.
    pub response_filter: bool,
}

/// The arguments of `@cache.memoize(...)` (FC-2).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoizeOptions {
    /// `timeout=` in seconds; `None` = the backend's default.
    pub timeout: Option<i64>,
    /// `make_name=`.
    pub make_name: Option<MakeName>,
    /// `hash_method=`; `None` = the profile's default.
    pub hash_method: Option<HashMethod>,
    /// `args_to_ignore=`.
    pub args_to_ignore: Vec<String>,
    /// With `source_check=True`: the function's source text.
    pub source: Option<String>,
    /// `cache_none=`.
    pub cache_none: bool,
    /// The hooks given.
    pub hooks: Hooks,
}

/// The arguments of `@cache.cached(...)` (FC-1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CachedOptions {
    /// How the default key is built (`key_prefix`, `query_string`, `hash_method`, source).
    pub key: CachedKeySpec,
    /// `timeout=` in seconds; `None` = the backend's default.
    pub timeout: Option<i64>,
    /// `cache_none=`.
    pub cache_none: bool,
    /// `make_cache_key=` was given: the caller supplies its result on every call.
    pub custom_make_cache_key: bool,
    /// The hooks given.
    pub hooks: Hooks,
}

/// A memoized function registered with the engine. Its parts are read through
/// [`Memoized::function`] and [`Memoized::options`]: fixed at construction, so that what is
/// derived from them once (the plain version key) stays true.
#[derive(Clone)]
pub struct Memoized {
    /// The undecorated function.
    pub(crate) function: FunctionDescriptor,
    /// The decorator's arguments.
    pub(crate) options: MemoizeOptions,
    /// The version key of a plain call ([`crate::keys::plain_version_key`]), derived once:
    /// a plain function's namespace never changes, so a hit need not build it again.
    version_key: Option<String>,
}

impl Memoized {
    /// `@cache.memoize(**options)` on `function`.
    pub fn new(function: FunctionDescriptor, options: MemoizeOptions) -> Self {
        let version_key = crate::keys::plain_version_key(&function);
        Memoized {
            function,
            options,
            version_key,
        }
    }

    /// The undecorated function.
    pub fn function(&self) -> &FunctionDescriptor {
        &self.function
    }

    /// The decorator's arguments.
    pub fn options(&self) -> &MemoizeOptions {
        &self.options
    }

    /// The version key of a call reaching the function unbound, when it is the plain one
    /// (not in Flask-Cache 0.13, whose namespaces follow `getargspec`).
    pub(crate) fn plain_version_key(&self, profile: Profile) -> Option<&str> {
        match profile.argspec_keys() {
            true => None,
            false => self.version_key.as_deref(),
        }
    }
}

impl PartialEq for Memoized {
    fn eq(&self, other: &Self) -> bool {
        self.function == other.function && self.options == other.options
    }
}

impl Eq for Memoized {}

impl std::fmt::Debug for Memoized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memoized")
            .field("function", &self.function)
            .field("options", &self.options)
            .finish()
    }
}

/// Handle of a registered memoized function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoizedId(pub usize);

/// Handle of a registered `@cached` function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CachedId(pub usize);

/// A request as Flask reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// `request.path` (percent-decoded).
    pub path: String,
    /// `request.args.items(multi=True)`.
    pub args: Vec<(String, String)>,
}

/// What the caller asks of Flask-Caching.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Call a memoized function, reached through `bound_to` (`c.inst(5)`, `Calc.cm(5)`).
    CallMemoized {
        /// The function.
        function: MemoizedId,
        /// `__self__` when called as a bound method.
        bound_to: Option<Receiver>,
        /// Positional arguments as written at the call site.
        args: Vec<Value>,
        /// Keyword arguments.
        kwargs: Vec<(String, Value)>,
    },
    /// Call a `@cached` view within a request.
    CallCached {
        /// The view.
        view: CachedId,
        /// The request in progress (`None`: called outside a request).
        request: Option<Request>,
        /// A callable `key_prefix`'s result for this call.
        prefix_result: Option<String>,
        /// A custom `make_cache_key`'s result for this call.
        custom_key: Option<String>,
    },
    /// `cache.delete_memoized(f, *args, **kwargs)`; no arguments resets the version.
    DeleteMemoized {
        /// The function.
        function: MemoizedId,
        /// `__self__` when passed as a bound method (`c.inst`, `Calc.cm`).
        bound_to: Option<Receiver>,
        /// Positional arguments.
        args: Vec<Value>,
        /// Keyword arguments.
        kwargs: Vec<(String, Value)>,
    },
    /// `cache.delete_memoized_verhash(f)`.
    DeleteMemoizedVerhash {
        /// The function.
        function: MemoizedId,
        /// `__self__` when passed as a bound method.
        bound_to: Option<Receiver>,
    },
    /// `cache.delete_cached(view, path=, query_args=, **kwargs)` (2.5).
    DeleteCached {
        /// The view.
        view: CachedId,
        /// `path=`.
        path: Option<String>,
        /// `query_args=`.
        query_args: Option<QueryArgs>,
        /// `url_for()`'s result for the view kwargs, when no path is given.
        url_for: Option<String>,
        /// A callable `key_prefix`'s result.
        prefix_result: Option<String>,
        /// The request in progress, if any.
        request: Option<Request>,
    },
    /// A thin proxy to the backend (`cache.get`, `cache.delete`, ...): FC-3.1.1.
    Backend(StoreOp),
    /// Advance time only.
    Tick,
}

/// A [`Command`] with every field borrowed: what an embedding passes to
/// [`super::run_embedded`] when the call's arguments live on its own stack (a typed
/// handle's tuple, the request it was given), so that nothing is copied into a command
/// that lives for one call. `CommandRef::from(&command)` borrows an owned command.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CommandRef<'a> {
    /// [`Command::CallMemoized`].
    CallMemoized {
        /// The function.
        function: MemoizedId,
        /// `__self__` when called as a bound method.
        bound_to: Option<&'a Receiver>,
        /// Positional arguments as written at the call site.
        args: &'a [Value],
        /// Keyword arguments.
        kwargs: &'a [(String, Value)],
    },
    /// [`Command::CallCached`].
    CallCached {
        /// The view.
        view: CachedId,
        /// The request in progress (`None`: called outside a request).
        request: Option<&'a Request>,
        /// A callable `key_prefix`'s result for this call.
        prefix_result: Option<&'a str>,
        /// A custom `make_cache_key`'s result for this call.
        custom_key: Option<&'a str>,
    },
    /// [`Command::DeleteMemoized`].
    DeleteMemoized {
        /// The function.
        function: MemoizedId,
        /// `__self__` when passed as a bound method.
        bound_to: Option<&'a Receiver>,
        /// Positional arguments.
        args: &'a [Value],
        /// Keyword arguments.
        kwargs: &'a [(String, Value)],
    },
    /// [`Command::DeleteMemoizedVerhash`].
    DeleteMemoizedVerhash {
        /// The function.
        function: MemoizedId,
        /// `__self__` when passed as a bound method.
        bound_to: Option<&'a Receiver>,
    },
    /// [`Command::DeleteCached`].
    DeleteCached {
        /// The view.
        view: CachedId,
        /// `path=`.
        path: Option<&'a str>,
        /// `query_args=`.
        query_args: Option<&'a QueryArgs>,
        /// `url_for()`'s result for the view kwargs, when no path is given.
        url_for: Option<&'a str>,
        /// A callable `key_prefix`'s result.
        prefix_result: Option<&'a str>,
        /// The request in progress, if any.
        request: Option<&'a Request>,
    },
    /// [`Command::Backend`].
    Backend(&'a StoreOp),
    /// [`Command::Tick`].
    Tick,
}

impl<'a> From<&'a Command> for CommandRef<'a> {
    fn from(command: &'a Command) -> Self {
        match command {
            Command::CallMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } => CommandRef::CallMemoized {
                function: *function,
                bound_to: bound_to.as_ref(),
                args,
                kwargs,
            },
            Command::CallCached {
                view,
                request,
                prefix_result,
                custom_key,
            } => CommandRef::CallCached {
                view: *view,
                request: request.as_ref(),
                prefix_result: prefix_result.as_deref(),
                custom_key: custom_key.as_deref(),
            },
            Command::DeleteMemoized {
                function,
                bound_to,
                args,
                kwargs,
            } => CommandRef::DeleteMemoized {
                function: *function,
                bound_to: bound_to.as_ref(),
                args,
                kwargs,
            },
            Command::DeleteMemoizedVerhash { function, bound_to } => {
                CommandRef::DeleteMemoizedVerhash {
                    function: *function,
                    bound_to: bound_to.as_ref(),
                }
            }
            Command::DeleteCached {
                view,
                path,
                query_args,
                url_for,
                prefix_result,
                request,
            } => CommandRef::DeleteCached {
                view: *view,
                path: path.as_deref(),
                query_args: query_args.as_ref(),
                url_for: url_for.as_deref(),
                prefix_result: prefix_result.as_deref(),
                request: request.as_ref(),
            },
            Command::Backend(op) => CommandRef::Backend(op),
            Command::Tick => CommandRef::Tick,
        }
    }
}

/// A question for a per-call hook.
#[derive(Clone, Debug, PartialEq)]
pub enum HookQuery {
    /// `unless(...) is True`?
    Unless,
    /// `forced_update(...) is True`?
    ForcedUpdate,
    /// `is_stale(value, ...) is True`?
    IsStale(Value),
    /// `response_filter(value)` truthy?
    ResponseFilter(Value),
}

/// Something the engine logged (`logger.exception(...)` in Flask-Caching).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The log message.
    pub message: &'static str,
    /// The exception logged.
    pub error: PyError,
}

/// What the engine needs next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Execute this backend operation and resume with its reply.
    Store(StoreOp),
    /// Run the decorated function and resume with its result.
    Compute,
    /// Ask the hook and resume with its answer.
    Hook(HookQuery),
    /// Record this diagnostic and resume with [`Input::Logged`].
    Log(Diagnostic),
    /// The call is over.
    Done(Outcome),
}

/// The caller's answer to the last [`Step`].
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// The reply to [`Step::Store`].
    Store(Result<StoreReply, StoreError>),
    /// The result of [`Step::Compute`]: a value, or the exception the function raised.
    Computed(Result<Value, PyError>),
    /// The answer to [`Step::Hook`] (`true` = the hook returned `True` / a truthy value).
    Hook(Result<bool, PyError>),
    /// [`Step::Log`] was recorded.
    Logged,
}

/// What the cache did for one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheEvent {
    /// Served from the cache.
    Hit {
        /// The key read.
        key: String,
    },
    /// Computed; `stored` says whether the value was written.
    Miss {
        /// The key.
        key: String,
        /// Whether `set` was called and did not raise.
        stored: bool,
    },
    /// `unless` returned `True`: no backend traffic.
    Bypassed,
    /// The key or the read failed: logged, and the function ran uncached (FC-1.1.6,
    /// FC-2.6.2).
    Uncached {
        /// What failed.
        error: PyError,
    },
    /// `delete_memoized`/`delete_cached` with arguments deleted this key.
    Deleted {
        /// The key passed to `delete`.
        key: String,
    },
    /// `delete_memoized(f)` wrote a fresh version to this key.
    VersionReset {
        /// The version key.
        key: String,
    },
    /// `delete_memoized_verhash(f)` deleted this version key.
    VersionDeleted {
        /// The version key.
        key: String,
    },
    /// A backend proxy call or a tick.
    Direct,
}

/// The end of a call: what Python returned or raised, and what the cache did.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// The call's return value, or the exception it raised.
    pub result: Result<Value, PyError>,
    /// What the cache did.
    pub event: CacheEvent,
}

/// Misuse of the engine's stepping protocol (never a Python-level outcome).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EngineError {
    /// `start` while a call is in progress.
    Busy,
    /// `resume` with no call in progress.
    Idle,
    /// The input does not answer the last step (e.g. a `Computed` for a `Store` step, or a
    /// `get` answered with a list). The call is abandoned.
    UnexpectedInput {
        /// What the step needed.
        expected: &'static str,
    },
    /// A command names a function or view that was never registered.
    UnknownHandle,
    /// The registration is not possible in this profile (e.g. `is_stale` before 2.5).
    Unsupported(&'static str),
    /// The command lacks an input the call needs (e.g. a callable `key_prefix`'s result).
    InvalidCommand(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Busy => write!(f, "a call is already in progress"),
            EngineError::Idle => write!(f, "no call is in progress"),
            EngineError::UnexpectedInput { expected } => {
                write!(f, "unexpected input: the step needed {expected}")
            }
            EngineError::UnknownHandle => write!(f, "unknown function or view handle"),
            EngineError::Unsupported(what) => write!(f, "{what} is not supported by this profile"),
            EngineError::InvalidCommand(why) => write!(f, "invalid command: {why}"),
        }
    }
}

impl std::error::Error for EngineError {}

/// What a flow needs to know besides its command.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx {
    pub profile: Profile,
    pub py: PythonVersion,
    /// `app.debug`: exceptions in key building and backend calls are re-raised.
    pub debug: bool,
}
