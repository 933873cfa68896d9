//! The verbs of `flaskcache redis`: keys, get, set, lookup, invalidate.

use super::app::{takes_receiver, App, Function};
use super::backend::{RedisBackend, Ttl};
use super::classify::Classifier;
use super::drive::{drive, now, End};
use super::pyexpr::{parse_call, parse_expr, parse_literal, Call, ParseError};
use flaskcache_engine::engine::{CacheEvent, Command};
use flaskcache_engine::keys::{
    view_key, CachedKeySpec, QueryArgs, RequestInfo, ViewKeyInput, ViewKeyMode,
};
use flaskcache_engine::store::{StoreError, StoreOp, StoreReply};
use flaskcache_engine::{Receiver, Value};
use std::io::{self, Write};

/// How a verb ended: 0 success, 1 a miss or nothing removed, 2 bad input or a failure.
pub type Status = u8;

/// A failure: printed as `flaskcache redis: MESSAGE`, exit 2.
#[derive(Debug)]
pub struct Failure(pub String);

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure(format!("standard output: {e}"))
    }
}

type Result<T> = std::result::Result<T, Failure>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(Failure(message.into()))
}

fn located(what: &str, text: &str, e: &ParseError) -> Failure {
    Failure(format!("{what} {text:?}: {e}"))
}

/// `repr()` of a value under the app's Python.
fn repr(app: &App, v: &Value) -> String {
    v.repr(app.py)
}

/// A TTL as people read it.
pub fn show_ttl(ttl: Ttl) -> String {
    match ttl {
        Ttl::Missing => "gone".into(),
        Ttl::Persistent => "no expiry".into(),
        Ttl::Millis(ms) => format!("{}.{:03} s", ms / 1000, ms % 1000),
    }
}

fn server_err(e: String) -> Failure {
    Failure(format!("the server failed: {e}"))
}

/// A stored value's repr, or why it cannot be shown.
fn value_text(app: &App, backend: &dyn RedisBackend, raw: &[u8]) -> (Option<Value>, String) {
    match backend.decode(raw) {
        Ok(v) => {
            let text = repr(app, &v);
            (Some(v), text)
        }
        Err(e) => (None, format!("<unreadable: {e}>")),
    }
}

/// `flaskcache redis keys`.
pub fn keys(
    app: &App,
    backend: &mut dyn RedisBackend,
    prefix: &str,
    out: &mut dyn Write,
) -> Result<Status> {
    let keys = backend.keys().map_err(server_err)?;
    let mut values = Vec::with_capacity(keys.len());
    let mut texts = Vec::with_capacity(keys.len());
    let mut ttls = Vec::with_capacity(keys.len());
    for key in &keys {
        let raw = backend.get_raw(key).map_err(server_err)?;
        let (value, text) = match &raw {
            Some(raw) => value_text(app, backend, raw),
            None => (None, "<gone>".into()),
        };
        values.push(value);
        texts.push(text);
        ttls.push(backend.pttl(key).map_err(server_err)?);
    }
    let classifier = Classifier::new(app, &keys, &values);
    writeln!(
        out,
        "{} key{} under prefix {} (keys below are Flask-Caching's; the server key is prefix + key)",
        keys.len(),
        if keys.len() == 1 { "" } else { "s" },
        Value::str(prefix).repr(app.py)
    )?;
    for ((key, text), ttl) in keys.iter().zip(&texts).zip(&ttls) {
        let kind = classifier.classify(key);
        writeln!(out, "{key}")?;
        writeln!(
            out,
            "    {} | ttl {} | {text}",
            kind.describe(),
            show_ttl(*ttl)
        )?;
    }
    Ok(0)
}

/// A hint for a key given with the prefix already in it.
fn prefix_hint(key: &str, prefix: &str) -> String {
    if !prefix.is_empty() && key.starts_with(prefix) {
        format!(
            " (note: {key:?} starts with the prefix {prefix:?}; give keys as Flask-Caching names them, without it)"
        )
    } else {
        String::new()
    }
}

/// `flaskcache redis get KEY`.
pub fn get(
    app: &App,
    backend: &mut dyn RedisBackend,
    prefix: &str,
    key: &str,
    out: &mut dyn Write,
) -> Result<Status> {
    match backend.get_raw(key).map_err(server_err)? {
        None => {
            writeln!(
                out,
                "miss: no key {key:?} under prefix {prefix:?}{}",
                prefix_hint(key, prefix)
            )?;
            Ok(1)
        }
        Some(raw) => match backend.decode(&raw) {
            Ok(v) => {
                writeln!(out, "{}", repr(app, &v))?;
                Ok(0)
            }
            Err(e) => fail(format!("{key}: the stored value cannot be read: {e}")),
        },
    }
}

/// `flaskcache redis set KEY VALUE [--timeout N]`: `cache.set(key, value, timeout)`.
pub fn set(
    app: &App,
    backend: &mut dyn RedisBackend,
    key: &str,
    value_text: &str,
    timeout: Option<i64>,
    out: &mut dyn Write,
) -> Result<Status> {
    let value = parse_literal(value_text).map_err(|e| located("VALUE", value_text, &e))?;
    value
        .check_repr(app.py)
        .map_err(|e| Failure(format!("VALUE: {e}")))?;
    let op = StoreOp::Set {
        key: key.to_owned(),
        value: value.clone(),
        timeout,
    };
    match backend.execute(&op, now()) {
        Ok(StoreReply::Bool(true)) => {
            let ttl = backend.pttl(key).map_err(server_err)?;
            writeln!(
                out,
                "stored {key} = {} (ttl {})",
                repr(app, &value),
                show_ttl(ttl)
            )?;
            Ok(0)
        }
        Ok(other) => fail(format!("cache.set returned {other:?}")),
        Err(e) => fail(format!("cache.set raises {}", e.to_py_error(app.py))),
    }
}

/// The function and arguments of a CALL.
struct Resolved<'a> {
    f: &'a Function,
    args: Vec<Value>,
    kwargs: Vec<(String, Value)>,
    bare: bool,
}

fn resolve<'a>(app: &'a App, text: &str) -> Result<Resolved<'a>> {
    let (call, bare): (Call, bool) = parse_call(text).map_err(|e| located("CALL", text, &e))?;
    let f = app
        .function(&call.name, call.column)
        .map_err(|e| located("CALL", text, &e))?;
    let (args, kwargs) = app
        .arguments(f, &call)
        .map_err(|e| located("CALL", text, &e))?;
    Ok(Resolved {
        f,
        args,
        kwargs,
        bare,
    })
}

fn version_values(
    ops: &[(StoreOp, std::result::Result<StoreReply, StoreError>)],
) -> Option<(Vec<String>, Vec<Value>)> {
    ops.iter().find_map(|(op, reply)| match (op, reply) {
        (StoreOp::GetMany { keys }, Ok(StoreReply::Values(vs))) => Some((keys.clone(), vs.clone())),
        _ => None,
    })
}

/// `flaskcache redis lookup CALL`: the key the call reads, and what it finds. Nothing is
/// written: where Flask-Caching would mint a missing version, this reports a miss.
pub fn lookup(
    app: &mut App,
    backend: &mut dyn RedisBackend,
    text: &str,
    out: &mut dyn Write,
) -> Result<Status> {
    let Resolved {
        f,
        args,
        kwargs,
        bare,
    } = resolve(app, text)?;
    if bare
        && !f.function.params.is_empty()
        && f.function.params.iter().any(|p| p.default.is_none())
    {
        // A bare name is a call without arguments; say so if that cannot be meant.
        writeln!(out, "note: {text} is looked up as the call {text}()")?;
    }
    let name = f.full_name();
    let handle = f.handle;
    let cache_none = f.options.cache_none;
    let command = Command::CallMemoized {
        function: handle,
        bound_to: None,
        args,
        kwargs,
    };
    let driven = drive(&mut app.engine, backend, command, true).map_err(Failure)?;
    writeln!(out, "function {name}")?;
    if let Some((keys, values)) = version_values(&driven.ops) {
        for (k, v) in keys.iter().zip(&values) {
            match v {
                Value::None => writeln!(out, "version key {k}: missing")?,
                v => writeln!(out, "version key {k} = {}", repr(app, v))?,
            }
        }
    }
    if let Some(d) = driven.logs.first() {
        writeln!(
            out,
            "Flask-Caching cannot build the key: {} (it logs this and runs the function uncached)",
            d.error
        )?;
        return Ok(1);
    }
    let read = driven
        .ops
        .iter()
        .rev()
        .find_map(|(op, reply)| match (op, reply) {
            (StoreOp::Get { key }, Ok(StoreReply::Value(v))) => Some((key.clone(), v.clone())),
            _ => None,
        });
    match (&driven.end, read) {
        (End::Write(StoreOp::SetMany { items, .. }), None) => {
            let missing: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
            writeln!(
                out,
                "miss: {name} has no version key yet ({}): nothing of it is cached (a call would write a fresh version first)",
                missing.join(", ")
            )?;
            Ok(1)
        }
        (End::Compute, Some((key, value))) => {
            writeln!(out, "key {key}")?;
            let ttl = backend.pttl(&key).map_err(server_err)?;
            if ttl == Ttl::Missing {
                writeln!(
                    out,
                    "miss: no entry under the key (a call computes and stores it)"
                )?;
            } else if value == Value::None && !cache_none {
                writeln!(
                    out,
                    "miss: the entry holds None and cache_none is off, so Flask-Caching recomputes (ttl {})",
                    show_ttl(ttl)
                )?;
            } else {
                writeln!(out, "miss (ttl {})", show_ttl(ttl))?;
            }
            Ok(1)
        }
        (End::Done(outcome), _) => match &outcome.event {
            CacheEvent::Hit { key } => {
                writeln!(out, "key {key}")?;
                let ttl = backend.pttl(key).map_err(server_err)?;
                let value = outcome
                    .result
                    .as_ref()
                    .map(|v| repr(app, v))
                    .unwrap_or_default();
                let stale = if driven.hooks.contains(&"is_stale") {
                    " (its is_stale hook is not run here)"
                } else {
                    ""
                };
                writeln!(out, "hit (ttl {}){stale}: {value}", show_ttl(ttl))?;
                Ok(0)
            }
            CacheEvent::Bypassed => {
                writeln!(out, "bypassed")?;
                Ok(1)
            }
            other => fail(format!("unexpected outcome of a lookup: {other:?}")),
        },
        (End::Write(op), _) => {
            writeln!(out, "miss: a call would write first ({})", op.name())?;
            Ok(1)
        }
        (End::Compute, None) => {
            writeln!(out, "miss")?;
            Ok(1)
        }
    }
}

/// What to invalidate.
pub enum Target<'a> {
    /// CALL or FUNCTION, with `--bound` for `delete_memoized(obj.method)`.
    Memoized {
        /// The text.
        text: &'a str,
        /// `--bound VALUE`.
        bound: Option<&'a str>,
    },
    /// `--view PATH [--query ARGS] [--name VIEW]`.
    View {
        /// The path.
        path: &'a str,
        /// The query string.
        query: Option<&'a str>,
        /// The view's name, when several are declared.
        name: Option<&'a str>,
    },
}

/// `flaskcache redis invalidate ...`.
pub fn invalidate(
    app: &mut App,
    backend: &mut dyn RedisBackend,
    target: Target<'_>,
    out: &mut dyn Write,
) -> Result<Status> {
    match target {
        Target::Memoized { text, bound } => invalidate_memoized(app, backend, text, bound, out),
        Target::View { path, query, name } => invalidate_view(app, backend, path, query, name, out),
    }
}

fn invalidate_memoized(
    app: &mut App,
    backend: &mut dyn RedisBackend,
    text: &str,
    bound: Option<&str>,
    out: &mut dyn Write,
) -> Result<Status> {
    let Resolved {
        f,
        args,
        kwargs,
        bare,
    } = resolve(app, text)?;
    let name = f.full_name();
    let bound_to = match bound {
        None => None,
        Some(_) if !bare => return fail("--bound applies to FUNCTION (cache.delete_memoized(obj.method)), not to a CALL: give the receiver as the call's first argument"),
        Some(b) => {
            let e = parse_expr(b).map_err(|e| located("--bound", b, &e))?;
            match app.value(f, &e).map_err(|e| located("--bound", b, &e))? {
                Value::Object(obj) => Some(Receiver::Instance(obj)),
                Value::Class(c) => Some(Receiver::Class(c)),
                _ => return fail("--bound takes instance('repr') or the method's class"),
            }
        }
    };
    let whole = args.is_empty() && kwargs.is_empty();
    if whole && !bare && takes_receiver(&f.function) {
        writeln!(out, "note: {text} has no receiver argument; this is cache.delete_memoized(f) for the whole function")?;
    }
    let command = Command::DeleteMemoized {
        function: f.handle,
        bound_to,
        args,
        kwargs,
    };
    let driven = drive(&mut app.engine, backend, command, false).map_err(Failure)?;
    let End::Done(outcome) = &driven.end else {
        return fail("delete_memoized stopped unexpectedly");
    };
    if let Err(e) = &outcome.result {
        writeln!(out, "cache.delete_memoized raises {e}: nothing was removed")?;
        return Ok(2);
    }
    let versions = version_values(&driven.ops);
    let missing: Vec<String> = versions
        .as_ref()
        .map(|(keys, values)| {
            keys.iter()
                .zip(values)
                .filter(|(_, v)| **v == Value::None)
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default();
    match &outcome.event {
        CacheEvent::VersionReset { key } => {
            if missing.iter().any(|k| k == key) {
                writeln!(
                    out,
                    "removed nothing: {name} had no version key ({key}), so nothing of it was cached; a fresh version was written to it, as cache.delete_memoized does"
                )?;
                return Ok(1);
            }
            writeln!(
                out,
                "wrote a fresh version to {key}: every result of {name} cached before is unreachable now (each expires by its own timeout)"
            )?;
            Ok(0)
        }
        CacheEvent::Deleted { key } => {
            let existed = driven
                .ops
                .iter()
                .rev()
                .find_map(|(op, reply)| match (op, reply) {
                    (StoreOp::Delete { key: k }, Ok(StoreReply::Bool(b))) if k == key => Some(*b),
                    _ => None,
                });
            if !missing.is_empty() {
                writeln!(
                    out,
                    "removed nothing: {name} had no version key yet ({}), so nothing of it was cached; Flask-Caching wrote a fresh one while building the key {key}, as cache.delete_memoized does",
                    missing.join(", ")
                )?;
                return Ok(1);
            }
            match existed {
                Some(true) => {
                    writeln!(out, "removed {key}")?;
                    Ok(0)
                }
                _ => {
                    writeln!(
                        out,
                        "removed nothing: no entry under {key} (never cached with these arguments, or already expired)"
                    )?;
                    Ok(1)
                }
            }
        }
        CacheEvent::Uncached { error } => {
            writeln!(
                out,
                "nothing removed: Flask-Caching logged and swallowed {error}"
            )?;
            Ok(1)
        }
        other => fail(format!("unexpected outcome of delete_memoized: {other:?}")),
    }
}

fn invalidate_view(
    app: &mut App,
    backend: &mut dyn RedisBackend,
    path: &str,
    query: Option<&str>,
    name: Option<&str>,
    out: &mut dyn Write,
) -> Result<Status> {
    let view = match (name, app.views.as_slice()) {
        (Some(n), views) => match views.iter().find(|v| v.name == n) {
            Some(v) => Some(v.clone()),
            None => {
                return fail(format!(
                    "no cached view named {n:?} in the declarations (known: {})",
                    views
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            }
        },
        (None, []) => None,
        (None, [v]) => Some(v.clone()),
        (None, views) => {
            let first = &views[0].options.key;
            if views.iter().all(|v| &v.options.key == first) {
                Some(views[0].clone())
            } else {
                return fail(format!(
                    "the declarations have several cached views with different keys: choose one with --name ({})",
                    views.iter().map(|v| v.name.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    };
    let query_args = query.map(|q| QueryArgs::String(q.to_owned()));
    let command = match &view {
        Some(v) if app.profile.has_explicit_path_api() => Command::DeleteCached {
            view: v.handle,
            path: Some(path.to_owned()),
            query_args: query_args.clone(),
            url_for: None,
            prefix_result: None,
            request: None,
        },
        _ => {
            // `cache.delete(key)` with the key the view stores for a request to PATH.
            let spec = view
                .as_ref()
                .map(|v| v.options.key.clone())
                .unwrap_or(CachedKeySpec {
                    key_prefix: Default::default(),
                    query_string: false,
                    hash_method: None,
                    source: None,
                });
            let pairs = query_args
                .as_ref()
                .map(|q| q.to_pairs(app.py))
                .unwrap_or_default();
            let input = ViewKeyInput {
                request: Some(RequestInfo { path, args: &pairs }),
                mode: ViewKeyMode::Request,
                prefix_result: None,
            };
            let key = view_key(&spec, &input, app.profile, app.py)
                .map_err(|e| Failure(format!("the view key cannot be built: {e:?}")))?;
            Command::Backend(StoreOp::Delete { key })
        }
    };
    let how = match &command {
        Command::DeleteCached { .. } => "cache.delete_cached",
        _ => "cache.delete",
    };
    let driven = drive(&mut app.engine, backend, command, false).map_err(Failure)?;
    let End::Done(outcome) = &driven.end else {
        return fail("the delete stopped unexpectedly");
    };
    if let Err(e) = &outcome.result {
        writeln!(out, "{how} raises {e}: nothing was removed")?;
        return Ok(2);
    }
    let Some((StoreOp::Delete { key }, reply)) = driven.ops.last() else {
        return fail("the delete made no backend call");
    };
    match reply {
        Ok(StoreReply::Bool(true)) => {
            writeln!(out, "removed {key} ({how})")?;
            Ok(0)
        }
        Ok(_) => {
            writeln!(
                out,
                "removed nothing: no entry under {key} ({how}; the page is not cached, or already expired)"
            )?;
            Ok(1)
        }
        Err(e) => fail(format!("{how} raises {}", e.to_py_error(app.py))),
    }
}
