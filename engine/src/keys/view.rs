//! `@cache.cached` keys (FC-1.2, FC-1.3): `view/%s` + path, literal and callable
//! `key_prefix`, `query_string` hashing, `source_check`, and the explicit
//! `make_cache_key(path=, query_args=)` / `delete_cached` forms.

use super::hash::HashMethod;
use super::percent_format::percent_format_into;
use super::query::QueryArgs;
use crate::error::{KeyError, PyError, PyExceptionType};
use crate::profile::Profile;
use crate::value::{repr_str_into, PythonVersion};

/// Flask's message when `request` is used outside a request.
pub const OUTSIDE_REQUEST: &str = "Working outside of request context.\n\nThis typically means that you attempted to use functionality that needed\nan active HTTP request. Consult the documentation on testing for\ninformation about how to avoid this problem.";

/// The same message as Flask 1.0 words it (the Flask that Flask-Cache 0.13 runs on): two
/// blanks after "request.".
pub const OUTSIDE_REQUEST_FLASK_1: &str = "Working outside of request context.\n\nThis typically means that you attempted to use functionality that needed\nan active HTTP request.  Consult the documentation on testing for\ninformation about how to avoid this problem.";

/// The `key_prefix` argument of `@cache.cached`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPrefix {
    /// A string: with `%s` it is a `%`-template for the path, without it the whole key
    /// (FC-1.2.1). The default is `view/%s`.
    Template(String),
    /// A callable; its result for each call is supplied by the caller.
    Callable,
}

impl Default for KeyPrefix {
    fn default() -> Self {
        KeyPrefix::Template("view/%s".to_owned())
    }
}

/// How a `@cache.cached` function derives its key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CachedKeySpec {
    /// `key_prefix`.
    pub key_prefix: KeyPrefix,
    /// `query_string=True`.
    pub query_string: bool,
    /// `hash_method`, or `None` for the profile's default (`CACHE_HASH_METHOD`).
    pub hash_method: Option<HashMethod>,
    /// With `source_check` on: `inspect.getsource(f)`, decorator lines included.
    pub source: Option<String>,
}

/// The current request, as Flask reports it.
#[derive(Clone, Copy, Debug)]
pub struct RequestInfo<'a> {
    /// `request.path`: percent-decoded, without the mount point (FC-1.2.5).
    pub path: &'a str,
    /// `request.args.items(multi=True)`, in order.
    pub args: &'a [(String, String)],
}

/// Which key function runs.
#[derive(Clone, Copy, Debug)]
pub enum ViewKeyMode<'a> {
    /// The decorator, inside the view's own request.
    Request,
    /// `view.make_cache_key(path=, query_args=, **view_kwargs)` or `cache.delete_cached`.
    Explicit {
        /// `path=`.
        path: Option<&'a str>,
        /// `query_args=`.
        query_args: Option<&'a QueryArgs>,
        /// `url_for(f.__name__, _external=False, **view_kwargs)`, computed by the caller;
        /// needed only without `path=` for a `%s` prefix.
        url_for: Option<&'a str>,
    },
}

/// Everything a view key can depend on besides the spec.
#[derive(Clone, Copy, Debug)]
pub struct ViewKeyInput<'a> {
    /// The request in progress, if any.
    pub request: Option<RequestInfo<'a>>,
    /// Which key function runs.
    pub mode: ViewKeyMode<'a>,
    /// `key_prefix()`'s result, for a callable prefix.
    pub prefix_result: Option<&'a str>,
}

/// An error building a view key: either Python raised, or the input is incomplete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViewKeyError {
    /// What the real library raises (`RuntimeError`, `%`-formatting errors, ...).
    Python(PyError),
    /// The input cannot describe the call.
    Input(KeyError),
}

impl From<PyError> for ViewKeyError {
    fn from(e: PyError) -> Self {
        ViewKeyError::Python(e)
    }
}

impl From<KeyError> for ViewKeyError {
    fn from(e: KeyError) -> Self {
        ViewKeyError::Input(e)
    }
}

fn outside_request(profile: Profile) -> PyError {
    let message = match profile.runs_on_flask_1() {
        true => OUTSIDE_REQUEST_FLASK_1,
        false => OUTSIDE_REQUEST,
    };
    PyError::new(PyExceptionType::RuntimeError, message)
}

/// The default key of a `@cache.cached` function (FC-1.2, FC-1.3).
pub fn view_key(
    spec: &CachedKeySpec,
    input: &ViewKeyInput<'_>,
    profile: Profile,
    py: PythonVersion,
) -> Result<String, ViewKeyError> {
    let mut key = String::new();
    view_key_into(spec, input, profile, py, &mut key)?;
    Ok(key)
}

/// Whether Python's `"%s" in template` holds (what decides whether a `key_prefix` is
/// formatted with the path, FC-1.2.1).
fn has_percent_s(template: &str) -> bool {
    template.as_bytes().windows(2).any(|w| w == b"%s")
}

/// [`view_key`], written into `key` (cleared first, so that a caller can reuse a buffer).
pub fn view_key_into(
    spec: &CachedKeySpec,
    input: &ViewKeyInput<'_>,
    profile: Profile,
    py: PythonVersion,
    key: &mut String,
) -> Result<(), ViewKeyError> {
    key.clear();
    let (explicit_path, query_args, url_for) = match input.mode {
        ViewKeyMode::Request => (None, None, None),
        ViewKeyMode::Explicit {
            path,
            query_args,
            url_for,
        } => {
            if !profile.has_explicit_path_api() && (path.is_some() || query_args.is_some()) {
                return Err(
                    KeyError::UnsupportedByProfile("make_cache_key(path=, query_args=)").into(),
                );
            }
            (path, query_args, url_for)
        }
    };
    let request_path = || {
        input
            .request
            .map(|r| r.path)
            .ok_or_else(|| outside_request(profile))
    };
    let hash = spec.hash_method.unwrap_or(profile.default_hash());

    if spec.query_string {
        // FC-1.2.3: sorted pairs, `str()` of the tuple, hashed (then the source).
        let mut pairs = match query_args {
            Some(q) => q.to_pairs(py),
            None => input
                .request
                .ok_or_else(|| outside_request(profile))?
                .args
                .to_vec(),
        };
        pairs.sort();
        let mut text = String::new();
        write_pairs_repr(&mut text, &pairs, py);
        let mut hasher = hash.hasher();
        hasher.update(text.as_bytes());
        if let Some(source) = &spec.source {
            hasher.update(source.as_bytes());
        }
        let digest = hasher.finish();
        if profile.query_string_uses_prefix() {
            match &spec.key_prefix {
                KeyPrefix::Callable => key.push_str(prefix_result(input)?),
                KeyPrefix::Template(p) if has_percent_s(p) => {
                    let path = match explicit_path {
                        Some(path) => path,
                        None => request_path()?,
                    };
                    percent_format_into(p, path, py, key)?
                }
                KeyPrefix::Template(p) => key.push_str(p),
            }
        } else {
            key.push_str(request_path()?);
        }
        digest.write_hex(key);
        return Ok(());
    }

    match &spec.key_prefix {
        KeyPrefix::Callable => key.push_str(prefix_result(input)?),
        KeyPrefix::Template(p) if has_percent_s(p) => {
            let path = match (input.mode, explicit_path) {
                (_, Some(path)) => path,
                (ViewKeyMode::Request, None) => request_path()?,
                (ViewKeyMode::Explicit { .. }, None) => url_for.ok_or(KeyError::MissingUrlFor)?,
            };
            percent_format_into(p, path, py, key)?
        }
        KeyPrefix::Template(p) => key.push_str(p),
    }
    if let Some(source) = &spec.source {
        let mut hasher = hash.hasher();
        hasher.update(source.as_bytes());
        hasher.finish().write_hex(key);
    }
    Ok(())
}

fn prefix_result<'a>(input: &ViewKeyInput<'a>) -> Result<&'a str, KeyError> {
    input.prefix_result.ok_or(KeyError::MissingPrefixResult)
}

/// Appends `str(tuple(pairs))` for string pairs: `(('a', '0'), ('b', '2'))`.
fn write_pairs_repr(out: &mut String, pairs: &[(String, String)], py: PythonVersion) {
    out.push('(');
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('(');
        repr_str_into(k, out, py);
        out.push_str(", ");
        repr_str_into(v, out, py);
        out.push(')');
    }
    if pairs.len() == 1 {
        out.push(',');
    }
    out.push(')');
}
