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
}

impl Profile {
    /// The name used in traces, vectors and on the command line (`2.5`, `2.4`).
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::FlaskCaching25 => "2.5",
            Profile::FlaskCaching24 => "2.4",
        }
    }

    /// Parses `2.5` / `2.4` (and the variant names).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
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
            Profile::FlaskCaching24 => HashMethod::Md5,
        }
    }

    /// Whether a `query_string=True` key starts with the resolved `key_prefix` (2.5) or
    /// with `request.path`, ignoring the prefix (≤2.4.1) (FC-0.2, FC-1.2.3).
    pub fn query_string_uses_prefix(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
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

    /// Whether `get_id` honours `__caching_id__` (2.5) or calls it with an extra argument
    /// and raises `TypeError` (≤2.4.1) (FC-0.7, FC-2.2.6).
    pub fn caching_id_works(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
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
            Profile::FlaskCaching24 => decorator_timeout,
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
            Profile::FlaskCaching24 => None,
        }
    }

    /// Whether `forced_update` is also consulted while reading the version keys, marking
    /// them dirty (≤2.4.1: evaluated twice per call) (FC-0.9).
    pub fn forced_update_in_version(self) -> bool {
        matches!(self, Profile::FlaskCaching24)
    }

    /// Whether the decorators accept `is_stale` (new in 2.5.0, FC-1.1.5).
    pub fn has_is_stale(self) -> bool {
        matches!(self, Profile::FlaskCaching25)
    }
}
