//! The call flows of Flask-Caching, written to mirror its code path by path so that every
//! backend operation, hook call and fallback happens in the same order (FC-1.1, FC-2.5,
//! FC-2.6, FC-3). Each flow runs over `Effects`: this file is compiled twice, suspending for
//! the stepper and immediate for the embeddings (`mod.rs`, "one flow, two compilations").

use super::{backend, flow, Effects};
use crate::engine::effects::Flow;
use crate::engine::types::{
    CacheEvent, CachedOptions, CommandRef, Ctx, Diagnostic, EngineError, HookQuery, Memoized,
    Outcome, Request,
};
use crate::error::{PyError, PyExceptionType};
use crate::function::{Callee, Receiver};
use crate::keys::{
    self, call_args_cow, ensure_self_arg, function_namespace, normalize_args, view_key,
    view_key_into, QueryArgs, RequestInfo, VersionKeys, ViewKeyError, ViewKeyInput, ViewKeyMode,
};
use crate::store::{StoreOp, StoreReply};
use crate::value::Value;
use std::borrow::Cow;

/// Flask-Caching's log message for swallowed exceptions.
const BACKEND_EXCEPTION: &str = "Exception possibly due to cache backend.";

/// A step of a flow that can raise a Python exception.
type Py<T> = Result<T, PyError>;

/// How `_memoize_version` is called.
#[derive(Clone, Copy, Debug)]
enum VersionMode {
    /// Read the versions, minting missing ones (written with this timeout).
    Fetch {
        timeout: Option<i64>,
        forced_update: bool,
    },
    /// Re-write every version key with the value's timeout (FC-2.5.4).
    Refresh { timeout: Option<i64> },
    /// `delete_memoized(f)`: a fresh version for the last key (FC-3.2.2).
    Reset { timeout: Option<i64> },
}

/// Whose versions `_memoize_version` reads.
#[derive(Clone, Copy)]
struct Versioned<'a> {
    /// The callable.
    callee: Callee<'a>,
    /// The call's arguments (`None` for `delete_memoized(f)`).
    args: Option<&'a [Value]>,
    /// The function's version key as its registration keeps it, for a call whose namespace
    /// is the plain one (`Memoized::plain_version_key`).
    kept: Option<&'a str>,
}

/// The version keys `_memoize_version` read, in fetch order.
struct ReadKeys<'a> {
    /// `<fname>_memver` (borrowed when kept).
    function: Cow<'a, str>,
    /// `<instance_fname>_memver`.
    instance: Option<String>,
}

impl ReadKeys<'_> {
    /// The function's namespace (hashed into the key, FC-2.1): its version key without
    /// the `_memver` suffix.
    fn fname(&self) -> &str {
        self.function
            .strip_suffix(keys::MEMVER)
            .unwrap_or(&self.function)
    }

    /// The key a reset writes and `delete_memoized_verhash` deletes (FC-3.2.2).
    fn last(&self) -> &str {
        self.instance.as_deref().unwrap_or(&self.function)
    }
}

/// `_memoize_version(f, args, ...)` (FC-2.5.3, FC-2.5.4, FC-3.2.2): appends the version
/// strings joined (`V_ns [+ V_inst]`) to `joined` and returns the version keys read.
#[flow]
async fn memoize_version<'a>(
    cx: Ctx,
    fx: &mut impl Effects,
    of: Versioned<'a>,
    args_to_ignore: &[String],
    mode: VersionMode,
    joined: &mut String,
) -> Result<Py<ReadKeys<'a>>, Flow> {
    let keys = match of.kept {
        Some(key) => ReadKeys {
            function: Cow::Borrowed(key),
            instance: None,
        },
        None => match function_namespace(of.callee, of.args, cx.profile, cx.py) {
            Ok(ns) => {
                let VersionKeys { function, instance } = ns.into_version_keys(args_to_ignore);
                ReadKeys {
                    function: Cow::Owned(function),
                    instance,
                }
            }
            Err(e) => return Ok(Err(e)),
        },
    };
    let both = [&*keys.function, keys.instance.as_deref().unwrap_or("")];
    let fetch_keys = &both[..1 + usize::from(keys.instance.is_some())];
    // A plain read (no forced_update question, nothing to write back) of versions that are
    // all stored is their `"".join(...)`: joined as they are read.
    let read_only = matches!(
        mode,
        VersionMode::Fetch {
            forced_update: false,
            ..
        }
    );
    let fetched = match read_only {
        true => backend::get_many_joined(fx, fetch_keys, joined).await?,
        false => backend::get_many(fx, fetch_keys).await?.map(Some),
    };
    let mut versions = match fetched {
        Ok(None) => return Ok(Ok(keys)),
        Ok(Some(values)) => values,
        Err(e) => return Ok(Err(e.to_py_error(cx.py))),
    };
    let mut dirty = matches!(mode, VersionMode::Refresh { .. });
    // ≤2.4.1 asks forced_update while reading versions and marks them dirty (FC-0.9).
    if let VersionMode::Fetch {
        forced_update: true,
        ..
    } = mode
    {
        match fx.hook(HookQuery::ForcedUpdate).await? {
            Ok(true) => dirty = true,
            Ok(false) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    // Missing versions are minted (function key first); whatever else is stored is kept
    // as it is, written back if dirty, and only then joined (FC-2.5.3).
    for value in &mut versions {
        if matches!(value, Value::None) {
            dirty = true;
            *value = Value::Str(fx.mint().await?.as_str().to_owned());
        }
    }
    let (timeout, reset) = match mode {
        VersionMode::Fetch { timeout, .. } | VersionMode::Refresh { timeout } => (timeout, false),
        VersionMode::Reset { timeout } => {
            versions = vec![Value::Str(fx.mint().await?.as_str().to_owned())];
            dirty = true;
            (timeout, true)
        }
    };
    // `"".join(version_data_list)`, which Python evaluates after the write-back: a version
    // that is not a str raises there. Joined first, so that the versions can move into
    // the write; its error is raised after the write, as in Python.
    let join = join_versions(&versions, joined);
    if dirty {
        // A reset writes the last key only; otherwise every key read is written back.
        let write_keys = match reset {
            true => &fetch_keys[fetch_keys.len() - 1..],
            false => fetch_keys,
        };
        let items: Vec<(String, Value)> = write_keys
            .iter()
            .map(|k| (*k).to_owned())
            .zip(versions)
            .collect();
        if let Err(e) = backend::write(fx, StoreOp::SetMany { items, timeout }).await? {
            return Ok(Err(e.to_py_error(cx.py)));
        }
    }
    if let Err(e) = join {
        return Ok(Err(e));
    }
    Ok(Ok(keys))
}

/// Appends `"".join(versions)` to `joined`: `TypeError` at the first version that is not
/// a `str`.
fn join_versions(versions: &[Value], joined: &mut String) -> Py<()> {
    for (i, version) in versions.iter().enumerate() {
        match version {
            Value::Str(s) => joined.push_str(s),
            other => {
                return Err(PyError::type_error(format!(
                    "sequence item {i}: expected str instance, {} found",
                    other.type_name()
                )))
            }
        }
    }
    Ok(())
}

/// `make_cache_key(f, *args, **kwargs)` of a memoized function: versions, then the hashed
/// key (FC-2.1). `args` include `self`/`cls`.
#[flow]
async fn memoize_key(
    cx: Ctx,
    fx: &mut impl Effects,
    m: &Memoized,
    args: &[Value],
    kwargs: &[(String, Value)],
) -> Result<Py<String>, Flow> {
    let o = &m.options;
    let mode = VersionMode::Fetch {
        timeout: cx.profile.version_creation_timeout(o.timeout),
        forced_update: cx.profile.forced_update_in_version() && o.hooks.forced_update,
    };
    let of = Versioned {
        callee: Callee::unbound(&m.function),
        args: Some(args),
        kept: m.plain_version_key(cx.profile),
    };
    // One buffer: the versions, then the key text after them; the text is hashed and
    // replaced by the key body in front of the versions.
    let mut key = fx.key_buffer();
    key.reserve(64);
    let version_keys = match memoize_version(cx, fx, of, &o.args_to_ignore, mode, &mut key).await? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e)),
    };
    let normalized = match normalize_args(
        &m.function,
        args,
        kwargs,
        &o.args_to_ignore,
        cx.profile,
        cx.py,
    ) {
        Ok(n) => n,
        Err(e) => return Ok(Err(e)),
    };
    let fname = version_keys.fname();
    let altfname = o.make_name.as_ref().map(|mk| mk.apply(fname));
    let versions = key.len();
    keys::write_key_text(
        &mut key,
        altfname.as_deref().unwrap_or(fname),
        &normalized,
        cx.py,
    );
    let hash = o.hash_method.unwrap_or(cx.profile.default_hash());
    let digest = keys::key_digest(&key[versions..], hash, o.source.as_deref());
    key.truncate(versions);
    digest.insert_b64_16(&mut key, 0);
    Ok(Ok(key))
}

/// The read phase shared by both decorators: returns the cached value on a hit.
#[flow]
async fn read(
    cx: Ctx,
    fx: &mut impl Effects,
    key: &mut String,
    forced: bool,
    cache_none: bool,
    is_stale: bool,
) -> Result<Py<Option<Value>>, Flow> {
    if forced {
        return Ok(Ok(None));
    }
    let value = match backend::get(fx, key).await? {
        Ok(v) => v,
        Err(e) => return Ok(Err(e.to_py_error(cx.py))),
    };
    let mut found = true;
    if matches!(value, Value::None) {
        found = cache_none
            && match backend::has(fx, key).await? {
                Ok(b) => b,
                Err(e) => return Ok(Err(e.to_py_error(cx.py))),
            };
    }
    if found && is_stale && cx.profile.has_is_stale() {
        match fx.hook(HookQuery::IsStale(value.clone())).await? {
            Ok(true) => found = false,
            Ok(false) => {}
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(found.then_some(value)))
}

/// `unless` (FC-1.1.1): `Some(outcome)` when the call is bypassed or `unless` raised.
#[flow]
async fn bypass(fx: &mut impl Effects, unless: bool) -> Result<Option<Outcome>, Flow> {
    if !unless {
        return Ok(None);
    }
    Ok(match fx.hook(HookQuery::Unless).await? {
        Ok(true) => Some(Outcome {
            result: fx.compute().await?,
            event: CacheEvent::Bypassed,
        }),
        Ok(false) => None,
        // `unless` runs outside the error guard: its exception propagates (FC-1.1.7).
        Err(e) => Some(Outcome {
            result: Err(e),
            event: CacheEvent::Bypassed,
        }),
    })
}

/// An exception in the key/read phase: re-raised in debug mode, else logged and the
/// function called uncached (FC-1.1.6, FC-2.6.2).
#[flow]
async fn fallback(cx: Ctx, fx: &mut impl Effects, error: PyError) -> Result<Outcome, Flow> {
    if cx.debug {
        return Ok(Outcome {
            result: Err(error.clone()),
            event: CacheEvent::Uncached { error },
        });
    }
    fx.log(Diagnostic {
        message: BACKEND_EXCEPTION,
        error: error.clone(),
    })
    .await?;
    Ok(Outcome {
        result: fx.compute().await?,
        event: CacheEvent::Uncached { error },
    })
}

/// `forced_update` (FC-1.1.3), inside the error guard.
#[flow]
async fn forced_update(fx: &mut impl Effects, configured: bool) -> Result<Py<bool>, Flow> {
    if !configured {
        return Ok(Ok(false));
    }
    fx.hook(HookQuery::ForcedUpdate).await
}

/// After a miss: compute, filter, and report whether to store (FC-1.1.8, FC-2.6.3).
/// `Err(outcome)` ends the call (the function or the filter raised, or the filter said no).
/// With `capture_http` (2.5's `@cached`) an `HTTPException` the function raises is the
/// value instead (FC-1.1.8); the filter is given it (Python gives its `get_response()`).
#[flow]
async fn compute_and_filter(
    fx: &mut impl Effects,
    key: &str,
    response_filter: bool,
    capture_http: bool,
) -> Result<Result<Value, Outcome>, Flow> {
    let miss = |result, key: &str| Outcome {
        result,
        event: CacheEvent::Miss {
            key: key.to_owned(),
            stored: false,
        },
    };
    let value = match fx.compute().await? {
        Ok(v) => v,
        Err(e) if capture_http && e.http().is_some() => Value::Exception(Box::new(e)),
        Err(e) => return Ok(Err(miss(Err(e), key))),
    };
    if response_filter {
        match fx.hook(HookQuery::ResponseFilter(value.clone())).await? {
            Ok(true) => {}
            Ok(false) => return Ok(Err(miss(Ok(value), key))),
            Err(e) => return Ok(Err(miss(Err(e), key))),
        }
    }
    Ok(Ok(value))
}

/// A storing error: re-raised in debug mode, else logged (FC-1.1.8).
#[flow]
async fn store_failed(
    cx: Ctx,
    fx: &mut impl Effects,
    key: String,
    value: Value,
    error: PyError,
) -> Result<Outcome, Flow> {
    if cx.debug {
        return Ok(Outcome {
            result: Err(error),
            event: CacheEvent::Miss { key, stored: false },
        });
    }
    fx.log(Diagnostic {
        message: BACKEND_EXCEPTION,
        error,
    })
    .await?;
    Ok(Outcome {
        result: Ok(value),
        event: CacheEvent::Miss { key, stored: false },
    })
}

/// How a call continues after its guarded key-and-read phase.
enum Served {
    /// The call is over (fallback, hit, filtered out, raised, or the store failed).
    Done(Outcome),
    /// The value was computed and stored under the key.
    Stored { key: String, value: Value },
}

/// What both decorators do after the guarded read (FC-1.1.6 to FC-1.1.8, FC-2.6.2,
/// FC-2.6.3): fall back on an error, return a hit, or compute, filter and `set`. A failed
/// `set` is logged (re-raised in debug mode); for a `cached` view under 0.13 the function
/// then runs again and that result is returned. A `cached` view under 2.5 captures an
/// `HTTPException` (see [`compute_and_filter`]).
#[flow]
async fn serve(
    cx: Ctx,
    fx: &mut impl Effects,
    guarded: Py<(String, Option<Value>)>,
    response_filter: bool,
    timeout: Option<i64>,
    cached: bool,
) -> Result<Served, Flow> {
    let recompute = cached && cx.profile.cached_recomputes_after_failed_set();
    let capture_http = cached && cx.profile.cached_captures_http_exceptions();
    let key = match guarded {
        Err(e) => return Ok(Served::Done(fallback(cx, fx, e).await?)),
        Ok((key, Some(value))) => {
            return Ok(Served::Done(Outcome {
                result: Ok(value),
                event: CacheEvent::Hit { key },
            }))
        }
        Ok((key, None)) => key,
    };
    let value = match compute_and_filter(fx, &key, response_filter, capture_http).await? {
        Ok(v) => v,
        Err(outcome) => return Ok(Served::Done(outcome)),
    };
    let set = StoreOp::Set {
        key: key.clone(),
        value: value.clone(),
        timeout,
    };
    let Err(e) = backend::write(fx, set).await? else {
        return Ok(Served::Stored { key, value });
    };
    let error = e.to_py_error(cx.py);
    if recompute && !cx.debug {
        // 0.13: `logger.exception(...); return f(*args, **kwargs)`.
        fx.log(Diagnostic {
            message: BACKEND_EXCEPTION,
            error,
        })
        .await?;
        return Ok(Served::Done(Outcome {
            result: fx.compute().await?,
            event: CacheEvent::Miss { key, stored: false },
        }));
    }
    Ok(Served::Done(store_failed(cx, fx, key, value, error).await?))
}

/// A memoized function called through `bound_to` (FC-2.6).
#[flow]
pub(crate) async fn call_memoized(
    cx: Ctx,
    fx: &mut impl Effects,
    m: &Memoized,
    bound_to: Option<&Receiver>,
    args: &[Value],
    kwargs: &[(String, Value)],
) -> Result<Outcome, Flow> {
    let o = &m.options;
    if let Some(outcome) = bypass(fx, o.hooks.unless).await? {
        return Ok(outcome);
    }
    let args = call_args_cow(&m.function, bound_to, args);
    // Key and read, inside Flask-Caching's `try`. 2.5 asks forced_update before the key;
    // ≤2.4.1 after it (and inside it, FC-0.9).
    let before = !cx.profile.forced_update_in_version();
    let guarded: Py<(String, Option<Value>)> = 'guard: {
        let mut forced = false;
        if before {
            match forced_update(fx, o.hooks.forced_update).await? {
                Ok(f) => forced = f,
                Err(e) => break 'guard Err(e),
            }
        }
        let mut key = match memoize_key(cx, fx, m, &args, kwargs).await? {
            Ok(k) => k,
            Err(e) => break 'guard Err(e),
        };
        if !before {
            match forced_update(fx, o.hooks.forced_update).await? {
                Ok(f) => forced = f,
                Err(e) => break 'guard Err(e),
            }
        }
        read(cx, fx, &mut key, forced, o.cache_none, o.hooks.is_stale)
            .await?
            .map(|hit| (key, hit))
    };
    let (key, value) =
        match serve(cx, fx, guarded, o.hooks.response_filter, o.timeout, false).await? {
            Served::Done(outcome) => return Ok(outcome),
            Served::Stored { key, value } => (key, value),
        };
    // `flaskcache_planted_bug` skips the version refresh (FC-2.5.4): a deliberate bug that
    // `tests/sim_planted_bug.rs` requires the simulator to find and shrink.
    if cx.profile.refreshes_version_keys() && !cfg!(flaskcache_planted_bug) {
        let mode = VersionMode::Refresh { timeout: o.timeout };
        let of = Versioned {
            callee: Callee::unbound(&m.function),
            args: Some(&args),
            kept: m.plain_version_key(cx.profile),
        };
        let mut versions = String::new();
        let refreshed = memoize_version(cx, fx, of, &o.args_to_ignore, mode, &mut versions).await?;
        if let Err(e) = refreshed {
            return store_failed(cx, fx, key, value, e).await;
        }
    }
    Ok(Outcome {
        result: Ok(value),
        event: CacheEvent::Miss { key, stored: true },
    })
}

/// Turns a view-key error into the flow's result: Python errors are raised, incomplete
/// input is a protocol error.
fn view_key_result<T>(result: Result<T, ViewKeyError>) -> Result<Py<T>, Flow> {
    match result {
        Ok(k) => Ok(Ok(k)),
        Err(ViewKeyError::Python(e)) => Ok(Err(e)),
        Err(ViewKeyError::Input(e)) => Err(Flow::Abort(EngineError::InvalidCommand(e.to_string()))),
    }
}

fn request_info(request: Option<&Request>) -> Option<RequestInfo<'_>> {
    request.map(|r| RequestInfo {
        path: &r.path,
        args: &r.args,
    })
}

/// A `@cached` function called within `request` (FC-1.1).
#[flow]
pub(crate) async fn call_cached(
    cx: Ctx,
    fx: &mut impl Effects,
    view: &CachedOptions,
    request: Option<&Request>,
    prefix_result: Option<&str>,
    custom_key: Option<&str>,
) -> Result<Outcome, Flow> {
    if let Some(outcome) = bypass(fx, view.hooks.unless).await? {
        return Ok(outcome);
    }
    let guarded: Py<(String, Option<Value>)> = 'guard: {
        let mut key = fx.key_buffer();
        if view.custom_make_cache_key {
            match custom_key {
                Some(k) => key.push_str(k),
                None => {
                    return Err(Flow::Abort(EngineError::InvalidCommand(
                        "make_cache_key is custom but no key was supplied".into(),
                    )))
                }
            }
        } else {
            let input = ViewKeyInput {
                request: request_info(request),
                mode: ViewKeyMode::Request,
                prefix_result,
            };
            let built = view_key_into(&view.key, &input, cx.profile, cx.py, &mut key);
            if let Err(e) = view_key_result(built)? {
                break 'guard Err(e);
            }
        };
        let forced = match forced_update(fx, view.hooks.forced_update).await? {
            Ok(f) => f,
            Err(e) => break 'guard Err(e),
        };
        read(
            cx,
            fx,
            &mut key,
            forced,
            view.cache_none,
            view.hooks.is_stale,
        )
        .await?
        .map(|hit| (key, hit))
    };
    let outcome = match serve(
        cx,
        fx,
        guarded,
        view.hooks.response_filter,
        view.timeout,
        true,
    )
    .await?
    {
        Served::Done(outcome) => outcome,
        Served::Stored { key, value } => Outcome {
            result: Ok(value),
            event: CacheEvent::Miss { key, stored: true },
        },
    };
    Ok(match cx.profile.cached_captures_http_exceptions() {
        true => raise_http(outcome),
        false => outcome,
    })
}

/// 2.5's `@cached` raises an `HTTPException` it ends a hit or a miss with: a stored one,
/// or the one the view raised (stored or not) (FC-1.1.7, FC-1.1.8). A fallback's uncached
/// call returns the function's result as it is.
fn raise_http(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome {
            result: Ok(Value::Exception(e)),
            event: event @ (CacheEvent::Hit { .. } | CacheEvent::Miss { .. }),
        } if e.http().is_some() => Outcome {
            result: Err(*e),
            event,
        },
        other => other,
    }
}

fn raised(error: PyError) -> Outcome {
    Outcome {
        result: Err(error),
        event: CacheEvent::Direct,
    }
}

/// An exception inside `delete_memoized`/`delete_memoized_verhash`: propagated, except in
/// 0.13 where it is logged and swallowed unless `app.debug` (FC-3.3.2, FC-5.3).
#[flow]
async fn delete_failed(cx: Ctx, fx: &mut impl Effects, error: PyError) -> Result<Outcome, Flow> {
    if !cx.profile.swallows_delete_errors() || cx.debug {
        return Ok(raised(error));
    }
    fx.log(Diagnostic {
        message: BACKEND_EXCEPTION,
        error: error.clone(),
    })
    .await?;
    Ok(Outcome {
        result: Ok(Value::None),
        event: CacheEvent::Uncached { error },
    })
}

/// `cache.delete_memoized(f, *args, **kwargs)` (FC-3.2, FC-3.3): no exception handling.
#[flow]
pub(crate) async fn delete_memoized(
    cx: Ctx,
    fx: &mut impl Effects,
    m: &Memoized,
    bound_to: Option<&Receiver>,
    args: &[Value],
    kwargs: &[(String, Value)],
) -> Result<Outcome, Flow> {
    let callee = match bound_to {
        Some(r) => Callee::bound(&m.function, r),
        None => Callee::unbound(&m.function),
    };
    if args.is_empty() && kwargs.is_empty() {
        let mode = VersionMode::Reset {
            timeout: cx.profile.version_reset_timeout(),
        };
        let of = Versioned {
            callee,
            args: None,
            kept: None,
        };
        let mut versions = String::new();
        return match memoize_version(cx, fx, of, &[], mode, &mut versions).await? {
            Err(e) => delete_failed(cx, fx, e).await,
            Ok(keys) => Ok(Outcome {
                result: Ok(Value::None),
                event: CacheEvent::VersionReset {
                    key: keys.last().to_owned(),
                },
            }),
        };
    }
    let args = ensure_self_arg(callee, args, cx.profile);
    let key = match memoize_key(cx, fx, m, &args, kwargs).await? {
        Ok(k) => k,
        Err(e) => return delete_failed(cx, fx, e).await,
    };
    match backend::write(fx, StoreOp::Delete { key: key.clone() }).await? {
        Ok(_) => Ok(Outcome {
            result: Ok(Value::None),
            event: CacheEvent::Deleted { key },
        }),
        Err(e) => delete_failed(cx, fx, e.to_py_error(cx.py)).await,
    }
}

/// `cache.delete_memoized_verhash(f)` (FC-3.4.1).
#[flow]
pub(crate) async fn delete_memoized_verhash(
    cx: Ctx,
    fx: &mut impl Effects,
    m: &Memoized,
    bound_to: Option<&Receiver>,
) -> Result<Outcome, Flow> {
    let callee = match bound_to {
        Some(r) => Callee::bound(&m.function, r),
        None => Callee::unbound(&m.function),
    };
    let namespace = match function_namespace(callee, None, cx.profile, cx.py) {
        Ok(ns) => ns,
        Err(e) => return delete_failed(cx, fx, e).await,
    };
    let key = namespace.version_keys(&[]).last().to_owned();
    let op = StoreOp::DeleteMany {
        keys: vec![key.clone()],
    };
    match backend::write(fx, op).await? {
        Ok(_) => Ok(Outcome {
            result: Ok(Value::None),
            event: CacheEvent::VersionDeleted { key },
        }),
        Err(e) => delete_failed(cx, fx, e.to_py_error(cx.py)).await,
    }
}

/// The explicit key inputs of `delete_cached`.
pub(crate) struct DeleteCachedArgs<'a> {
    pub path: Option<&'a str>,
    pub query_args: Option<&'a QueryArgs>,
    pub url_for: Option<&'a str>,
    pub prefix_result: Option<&'a str>,
    pub request: Option<&'a Request>,
}

/// `cache.delete_cached(f, path=, query_args=, **kwargs)` (FC-1.3.3; 2.5 only).
#[flow]
pub(crate) async fn delete_cached(
    cx: Ctx,
    fx: &mut impl Effects,
    view: &CachedOptions,
    a: DeleteCachedArgs<'_>,
) -> Result<Outcome, Flow> {
    if !cx.profile.has_explicit_path_api() {
        return Ok(raised(PyError::new(
            PyExceptionType::AttributeError,
            "'Cache' object has no attribute 'delete_cached'",
        )));
    }
    let input = ViewKeyInput {
        request: request_info(a.request),
        mode: ViewKeyMode::Explicit {
            path: a.path,
            query_args: a.query_args,
            url_for: a.url_for,
        },
        prefix_result: a.prefix_result,
    };
    let key = match view_key_result(view_key(&view.key, &input, cx.profile, cx.py))? {
        Ok(k) => k,
        Err(e) => return Ok(raised(e)),
    };
    Ok(
        match backend::write(fx, StoreOp::Delete { key: key.clone() }).await? {
            Ok(reply) => Outcome {
                result: Ok(reply_value(reply)),
                event: CacheEvent::Deleted { key },
            },
            Err(e) => raised(e.to_py_error(cx.py)),
        },
    )
}

/// A backend reply as the Python value `cache.<op>()` returns.
pub(crate) fn reply_value(reply: StoreReply) -> Value {
    match reply {
        StoreReply::Value(v) => v,
        StoreReply::Values(vs) => Value::List(vs),
        StoreReply::Bool(b) => Value::Bool(b),
        // Keys come back as the app gave them (a non-str key as its value, not its key text).
        StoreReply::Keys(ks) => Value::List(
            ks.iter()
                .map(|k| crate::store::nonstr::key_value(k))
                .collect(),
        ),
    }
}

/// `cache.get/set/add/has/delete/...`: a thin proxy (FC-3.1.1). In 0.13 only `get` and
/// `get_many` return the backend's result, and there is no `has` (FC-5.1).
#[flow]
pub(crate) async fn backend_call(
    cx: Ctx,
    fx: &mut impl Effects,
    op: StoreOp,
) -> Result<Outcome, Flow> {
    if matches!(op, StoreOp::Has { .. }) && !cx.profile.has_has_proxy() {
        return Ok(raised(PyError::new(
            PyExceptionType::AttributeError,
            "'Cache' object has no attribute 'has'",
        )));
    }
    let returns = cx.profile.proxies_return_results()
        || matches!(op, StoreOp::Get { .. } | StoreOp::GetMany { .. });
    Ok(match fx.store_owned(op).await? {
        Ok(reply) => Outcome {
            result: Ok(if returns {
                reply_value(reply)
            } else {
                Value::None
            }),
            event: CacheEvent::Direct,
        },
        Err(e) => raised(e.to_py_error(cx.py)),
    })
}

/// Runs one command: the flow its kind names, over the registration it names.
#[flow]
pub(crate) async fn run(
    cx: Ctx,
    fx: &mut impl Effects,
    registry: &impl crate::engine::Registry,
    command: CommandRef<'_>,
) -> Result<Outcome, Flow> {
    let unknown = || Flow::Abort(EngineError::UnknownHandle);
    match command {
        CommandRef::CallMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            let m = registry.memoized(function).ok_or_else(unknown)?;
            call_memoized(cx, fx, m, bound_to, args, kwargs).await
        }
        CommandRef::CallCached {
            view,
            request,
            prefix_result,
            custom_key,
        } => {
            let v = registry.cached(view).ok_or_else(unknown)?;
            call_cached(cx, fx, v, request, prefix_result, custom_key).await
        }
        CommandRef::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            let m = registry.memoized(function).ok_or_else(unknown)?;
            delete_memoized(cx, fx, m, bound_to, args, kwargs).await
        }
        CommandRef::DeleteMemoizedVerhash { function, bound_to } => {
            let m = registry.memoized(function).ok_or_else(unknown)?;
            delete_memoized_verhash(cx, fx, m, bound_to).await
        }
        CommandRef::DeleteCached {
            view,
            path,
            query_args,
            url_for,
            prefix_result,
            request,
        } => {
            let v = registry.cached(view).ok_or_else(unknown)?;
            let a = DeleteCachedArgs {
                path,
                query_args,
                url_for,
                prefix_result,
                request,
            };
            delete_cached(cx, fx, v, a).await
        }
        CommandRef::Backend(op) => backend_call(cx, fx, op.clone()).await,
        CommandRef::Tick => Ok(Outcome {
            result: Ok(Value::None),
            event: CacheEvent::Direct,
        }),
    }
}
