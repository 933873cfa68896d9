//! Profiles: which Flask-Caching release's behaviour applies. Every behavioural difference
//! between releases is one method here, documented with the clause that measured it.

use crate::keys::HashMethod;

/// A Flask-Caching release line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Profile {
    /// Flask-Caching 2.5.x (current; the default).
    #[default]
    FlaskCaching25,
    /// Flask-Caching 1.4 to 2.4.1, the line most deployed apps still run.
    FlaskCaching24,
    /// Flask-Cache 0.13.1, the release the well-known blog posts describe (FC-5).
    FlaskCache013,
}

/// What `get_id` does with an object's `__caching_id__` (FC-0.7, FC-2.2.6, FC-5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CachingIdPolicy {
    /// `str(obj.__caching_id__())` (2.5).
    Honoured,
    /// Called with one argument too many: `TypeError` (≤2.4.1).
    Broken,
    /// Not looked at: `repr(obj)` (0.13).
    Ignored,
}

/// A decorator argument that not every release accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// `cache_none=`.
    CacheNone,
    /// `forced_update=`.
    ForcedUpdate,
    /// `is_stale=` (2.5.0).
    IsStale,
    /// `response_filter=`.
    ResponseFilter,
    /// `query_string=`.
    QueryString,
    /// `hash_method=`.
    HashMethod,
    /// `source_check=`.
    SourceCheck,
    /// `args_to_ignore=`.
    ArgsToIgnore,
    /// `make_cache_key=` on `@cached`.
    CustomMakeCacheKey,
}

impl Profile {
    /// The name used in traces, vectors and on the command line (`2.5`, `2.4`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::FlaskCaching25 => "2.5",
            Profile::FlaskCaching24 => "2.4",
            Profile::FlaskCache013 => "0.13",
        }
    }

    /// Every profile.
    pub const ALL: [Profile; 3] = [
        Profile::FlaskCaching25,
        Profile::FlaskCaching24,
        Profile::FlaskCache013,
    ];

    /// Parses `2.5` / `2.4` / `0.13` (and the variant names).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "0.13" | "FlaskCache013" => Some(Profile::FlaskCache013),
            "2.5" | "FlaskCaching25" => Some(Profile::FlaskCaching25),
            "2.4" | "FlaskCaching24" => Some(Profile::FlaskCaching24),
            _ => None,
        }
    }

    /// Hash used by `query_string`, `source_check` and memoize keys when none is given
    /// (FC-0.1): sha256 in 2.5, md5 before.
    pub fn default_hash(self) -> HashMethod {
        match self {
            Profile::FlaskCaching25 => HashMethod::Sha256,
            Profile::FlaskCaching24 | Profile::FlaskCache013 => HashMethod::Md5,
        }
    }

    /// Whether a `query_string=True` key starts with the resolved `key_prefix` (2.5) or
    /// with `request.path`, ignoring the prefix (≤2.4.1) (FC-0.2, FC-1.2.3).
    pub fn query_string_uses_prefix(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Whether the Flask underneath is 1.0 (Flask-Cache 0.13's), whose errors are worded
    /// differently from Flask 2's and 3's (the "outside of request context" message).
    pub fn runs_on_flask_1(self) -> bool {
        matches!(self, Profile::FlaskCache013)
    }

    /// Whether `make_cache_key(path=, query_args=)` and `delete_cached` exist (new in 2.5.0,
    /// FC-1.3.3).
    pub fn has_explicit_path_api(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Whether an omitted parameter's default is used when it is not `None` (2.5) or only
    /// when it is truthy (≤2.4.1: falsy defaults are keyed as `None`) (FC-0.3, FC-2.4.3).
    pub fn falsy_defaults_kept(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Whether namespaces are sanitised (2.5) or passed through `str.translate` as a no-op
    /// (≤2.4.1) (FC-0.4, FC-2.2.5).
    pub fn sanitizes_namespace(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Whether `delete_memoized(obj.method, args...)` prepends the bound instance
    /// (FC-0.5, FC-3.3.1).
    pub fn inserts_bound_self(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// What `get_id` does with `__caching_id__` (FC-0.7, FC-2.2.6, FC-5.2).
    pub fn caching_id(self) -> CachingIdPolicy {
        match self {
            Profile::FlaskCaching25 => CachingIdPolicy::Honoured,
            Profile::FlaskCaching24 => CachingIdPolicy::Broken,
            Profile::FlaskCache013 => CachingIdPolicy::Ignored,
        }
    }

    /// Whether a missing `self`/`cls` argument raises the explanatory `ValueError` (2.5) or
    /// an `IndexError` from `args[0]` (≤2.4.1) (FC-2.4.1).
    pub fn explains_missing_receiver(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Timeout of version keys when they are first written: 0, never expiring (2.5), or the
    /// memoize decorator's timeout (≤2.4.1) (FC-0.6, FC-2.5.3).
    pub fn version_creation_timeout(self, decorator_timeout: Option<i64>) -> Option<i64> {
        match self {
            Profile::FlaskCaching25 => Some(0),
            Profile::FlaskCaching24 | Profile::FlaskCache013 => decorator_timeout,
        }
    }

    /// Whether storing a memoized value re-writes the version keys with the value's timeout
    /// (2.5) or leaves them alone (≤2.4.1) (FC-0.6, FC-2.5.4).
    pub fn refreshes_version_keys(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Timeout of the version key written by `delete_memoized(f)`: 0 (2.5) or the backend
    /// default (≤2.4.1 passes `timeout=None`) (FC-0.6, FC-3.2.2).
    pub fn version_reset_timeout(self) -> Option<i64> {
        match self {
            Profile::FlaskCaching25 => Some(0),
            Profile::FlaskCaching24 | Profile::FlaskCache013 => None,
        }
    }

    /// Whether `forced_update` is also consulted while reading the version keys, marking
    /// them dirty (≤2.4.1: evaluated twice per call) (FC-0.9).
    pub fn forced_update_in_version(self) -> bool {
        matches!(self, Profile::FlaskCaching24)
    }

    /// Whether the decorators accept `is_stale` (new in 2.5.0, FC-1.1.5).
    pub fn has_is_stale(self) -> bool {
        self.supports(Feature::IsStale)
    }

    /// Whether keys come from `inspect.getargspec` (0.13): every positional parameter
    /// (`self` of a bound method included), defaults by position from the end, extra
    /// positionals dropped, keyword arguments never in the key (`{}`), keyword-only
    /// parameters an error, no `cls` check (FC-5.2).
    pub fn argspec_keys(self) -> bool {
        matches!(self, Profile::FlaskCache013)
    }

    /// Whether `delete_memoized`/`delete_memoized_verhash` log and swallow exceptions
    /// unless `app.debug` (0.13), or let them propagate (FC-3.3.2, FC-5.3).
    pub fn swallows_delete_errors(self) -> bool {
        matches!(self, Profile::FlaskCache013)
    }

    /// Whether `cache.set/add/delete/...` return the backend's result (Flask-Caching) or
    /// `None` (0.13, FC-5.1). `get` and `get_many` always return theirs.
    pub fn proxies_return_results(self) -> bool {
        !matches!(self, Profile::FlaskCache013)
    }

    /// Whether `Cache` has a `has` proxy (not in 0.13).
    pub fn has_has_proxy(self) -> bool {
        !matches!(self, Profile::FlaskCache013)
    }

    /// Whether a failed `set` in `@cached` calls the view a second time and returns that
    /// (0.13: `return f(*args, **kwargs)` in the `except`).
    pub fn cached_recomputes_after_failed_set(self) -> bool {
        matches!(self, Profile::FlaskCache013)
    }

    /// Whether `@cached` captures an `HTTPException` the view raises (`abort(404)`): stores
    /// it as the value, raises it again, and raises a stored one on a hit (2.5.0; FC-0.8,
    /// FC-1.1.7, FC-1.1.8). ≤2.4.1 and 0.13 let it propagate like any exception and return
    /// a stored one as a value (measured: no `set`, the view runs on every request).
    /// `memoize` never captures it (FC-2.6.2).
    pub fn cached_captures_http_exceptions(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }

    /// Whether the decorators accept `feature`.
    pub fn supports(self, feature: Feature) -> bool {
        match self {
            Profile::FlaskCaching25 => true,
            Profile::FlaskCaching24 => feature != Feature::IsStale,
            Profile::FlaskCache013 => false,
        }
    }
}
