//! Traces: what a real Flask app did with Flask-Caching, as JSON Lines
//! (`docs/trace-format.md`). [`parse_trace`] reads one, reporting malformed input with its
//! line and a reason (never panicking); [`Trace::to_jsonl`] writes one.

use crate::pyjson::{
    decode_function, decode_kwargs, decode_receiver, decode_value, decode_values, encode_function,
    encode_value, field, opt_str_field, str_field, DecodeError,
};
use flaskcache_engine::engine::{
    CachedId, CachedOptions, Command, Hooks, MemoizeOptions, MemoizedId, Request,
};
use flaskcache_engine::error::PyError;
use flaskcache_engine::function::{FunctionDescriptor, Receiver};
use flaskcache_engine::keys::{CachedKeySpec, HashMethod, KeyPrefix, MakeName, QueryArgs, Version};
use flaskcache_engine::store::{nonstr, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::{Profile, PythonVersion, Value};
use serde_json::{json, Value as Json};
use std::collections::{BTreeMap, HashSet};
use std::fmt;

/// The trace format version this module reads and writes.
pub const FORMAT_VERSION: u64 = 1;

/// A malformed trace: the 1-based line and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceError {
    /// 1-based line number (0 when the problem is the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for TraceError {}

/// The recorded app's configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceConfig {
    /// `flask-caching` or `flask-cache`.
    pub library: String,
    /// The installed release, e.g. `2.5.1`.
    pub library_version: String,
    /// The profile that reproduces it.
    pub profile: Profile,
    /// The Python that ran it.
    pub python: PythonVersion,
    /// The backend class (`SimpleCache`).
    pub backend: String,
    /// `CACHE_KEY_PREFIX` as the backend applies it.
    pub key_prefix: Option<String>,
    /// `CACHE_DEFAULT_TIMEOUT`.
    pub default_timeout: i64,
    /// `CACHE_THRESHOLD`.
    pub threshold: usize,
    /// `CACHE_IGNORE_ERRORS`.
    pub ignore_errors: bool,
    /// `app.debug`.
    pub debug: bool,
    /// The virtual clock at the start.
    pub start_time: Timestamp,
}

/// A request as Flask decoded it: `request.path` and `request.args.items(multi=True)`.
pub type RequestData = (String, Vec<(String, String)>);

/// A recorded command.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceCommand {
    /// A memoized function called.
    Call {
        /// Its declaration id.
        function: String,
        /// `__self__` when called as a bound method.
        bound_to: Option<Receiver>,
        /// Positional arguments (without the receiver).
        args: Vec<Value>,
        /// Keyword arguments.
        kwargs: Vec<(String, Value)>,
    },
    /// A `@cached` function called (within a request, or outside any).
    Request {
        /// Its declaration id.
        view: String,
        /// `request.path` and `request.args.items(multi=True)`; `None` outside a request.
        request: Option<RequestData>,
        /// A callable `key_prefix`'s result.
        prefix_result: Option<String>,
        /// A custom `make_cache_key`'s result.
        custom_key: Option<String>,
    },
    /// `cache.delete_memoized(f, ...)`.
    DeleteMemoized {
        /// The function's declaration id.
        function: String,
        /// `__self__` when passed as a bound method.
        bound_to: Option<Receiver>,
        /// Positional arguments.
        args: Vec<Value>,
        /// Keyword arguments.
        kwargs: Vec<(String, Value)>,
    },
    /// `cache.delete_memoized_verhash(f)`.
    DeleteMemoizedVerhash {
        /// The function's declaration id.
        function: String,
        /// `__self__` when passed as a bound method.
        bound_to: Option<Receiver>,
    },
    /// `cache.delete_cached(view, ...)`.
    DeleteCached {
        /// The view's declaration id.
        view: String,
        /// `path=`.
        path: Option<String>,
        /// `query_args=`.
        query_args: Option<QueryArgs>,
        /// `url_for()`'s result when no path is given.
        url_for: Option<String>,
        /// A callable `key_prefix`'s result, when the key needed it.
        prefix_result: Option<String>,
        /// The request in progress, when the key read it.
        current_request: Option<RequestData>,
    },
    /// A backend proxy call.
    Backend(StoreOp),
    /// `time.sleep(seconds)`, in microseconds.
    Tick(i64),
}

/// One observed step of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceStep {
    /// A backend call and its reply (or the exception it raised).
    Store {
        /// The call.
        op: StoreOp,
        /// What it returned or raised.
        reply: Result<StoreReply, PyError>,
    },
    /// The function body ran.
    Compute {
        /// What it returned or raised.
        result: Result<Value, PyError>,
        /// Cached calls it made itself.
        events: Vec<Event>,
    },
    /// A hook was asked.
    Hook {
        /// `unless`, `forced_update`, `is_stale` or `response_filter`.
        name: String,
        /// Its answer.
        answer: Result<bool, PyError>,
    },
    /// An exception logged and swallowed.
    Log(PyError),
}

/// One call of the app, with everything observed.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// 1-based, in file order (nested events are numbered too).
    pub number: u64,
    /// The virtual time.
    pub at: Timestamp,
    /// What was called.
    pub command: TraceCommand,
    /// Version strings minted during the call, in order.
    pub versions: Vec<Version>,
    /// What happened, in order.
    pub steps: Vec<TraceStep>,
    /// What the call returned or raised.
    pub result: Result<Value, PyError>,
}

/// Where the app's own code made a call: the innermost frame outside Flask, Flask-Caching,
/// Flask-Cache, cachelib, Werkzeug and the recorder (an event's optional `"site"`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Site {
    /// The source file as the app's Python named it, relative to the directory the
    /// recording ran in when it is inside it (`app/views.py`), else as Python has it.
    pub file: String,
    /// The 1-based line of the call.
    pub line: u64,
    /// The name of the function making the call (`<module>` for a script's top level).
    pub function: String,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} (in {})", self.file, self.line, self.function)
    }
}

/// The call sites of a trace's events, by event number (nested events included). Events
/// recorded without a site (older traces, or a call no frame of the app's code made) are
/// absent.
pub type EventSites = BTreeMap<u64, Site>;

/// A line after the configuration.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// `@cache.memoize(...)` applied.
    Memoize {
        /// Declaration id.
        id: String,
        /// The undecorated function.
        function: FunctionDescriptor,
        /// The decorator's arguments.
        options: MemoizeOptions,
    },
    /// `@cache.cached(...)` applied.
    Cached {
        /// Declaration id.
        id: String,
        /// The function's name.
        name: String,
        /// The decorator's arguments.
        options: CachedOptions,
    },
    /// A call.
    Event(Event),
}

/// A whole trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// The configuration.
    pub config: TraceConfig,
    /// Declarations and events, in file order.
    pub records: Vec<Record>,
}

type Decoded<T> = Result<T, DecodeError>;

/// Ticks below this many seconds are written as JSON numbers: an f64 holds them to the
/// microsecond both ways. Longer ones are written as decimal strings.
const EXACT_TICK_SECS: f64 = 1e9;

fn bad(at: &str, reason: impl Into<String>) -> DecodeError {
    DecodeError::new(at, reason)
}

fn parse_time(text: &str, at: &str) -> Decoded<Timestamp> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let negative = int.starts_with('-');
    let digits_ok = !frac.is_empty()
        && frac.len() <= 6
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !int.trim_start_matches('-').is_empty()
        && int
            .trim_start_matches('-')
            .bytes()
            .all(|b| b.is_ascii_digit());
    if !digits_ok {
        return Err(bad(
            at,
            format!("expected seconds with up to six decimals, got {text:?}"),
        ));
    }
    let secs: i64 = int
        .parse()
        .map_err(|_| bad(at, format!("time out of range: {text:?}")))?;
    let mut micros: i64 = frac.parse().map_err(|_| bad(at, "bad fraction"))?;
    micros *= 10i64.pow(6 - frac.len() as u32);
    let total = secs
        .checked_mul(1_000_000)
        .and_then(|s| {
            if negative {
                s.checked_sub(micros)
            } else {
                s.checked_add(micros)
            }
        })
        .ok_or_else(|| bad(at, format!("time out of range: {text:?}")))?;
    Ok(Timestamp::from_micros(total))
}

fn format_time(t: Timestamp) -> String {
    let m = t.as_micros();
    let sign = if m < 0 { "-" } else { "" };
    let m = m.unsigned_abs();
    format!("{sign}{}.{:06}", m / 1_000_000, m % 1_000_000)
}

fn opt_i64(json: &Json, key: &str, at: &str) -> Decoded<Option<i64>> {
    match json.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(&format!("{at}/{key}"), "expected an integer or null")),
    }
}

fn bool_field(json: &Json, key: &str, at: &str) -> Decoded<bool> {
    field(json, key, at)?
        .as_bool()
        .ok_or_else(|| bad(&format!("{at}/{key}"), "expected true or false"))
}

fn strings(json: &Json, at: &str) -> Decoded<Vec<String>> {
    json.as_array()
        .ok_or_else(|| bad(at, "expected an array of strings"))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| bad(at, "expected strings"))
        })
        .collect()
}

fn decode_error(json: &Json, at: &str) -> Decoded<PyError> {
    crate::pyjson::decode_exception(json, at)
}

fn decode_result(json: &Json, at: &str) -> Decoded<Result<Value, PyError>> {
    if let Some(v) = json.get("value") {
        Ok(Ok(decode_value(v, &format!("{at}/value"))?))
    } else if let Some(e) = json.get("raises") {
        Ok(Err(decode_error(e, &format!("{at}/raises"))?))
    } else {
        Err(bad(at, "expected {\"value\": V} or {\"raises\": {...}}"))
    }
}

fn encode_error(e: &PyError) -> Json {
    crate::pyjson::encode_exception(e)
}

fn encode_result(r: &Result<Value, PyError>) -> Json {
    match r {
        Ok(v) => json!({"value": encode_value(v)}),
        Err(e) => json!({"raises": encode_error(e)}),
    }
}

fn decode_hooks(json: &Json, at: &str) -> Decoded<Hooks> {
    let mut hooks = Hooks::default();
    for name in strings(json, at)? {
        match name.as_str() {
            "unless" => hooks.unless = true,
            "forced_update" => hooks.forced_update = true,
            "is_stale" => hooks.is_stale = true,
            "response_filter" => hooks.response_filter = true,
            other => return Err(bad(at, format!("unknown hook {other:?}"))),
        }
    }
    Ok(hooks)
}

fn encode_hooks(h: &Hooks) -> Json {
    let names: Vec<&str> = [
        (h.unless, "unless"),
        (h.forced_update, "forced_update"),
        (h.is_stale, "is_stale"),
        (h.response_filter, "response_filter"),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, n)| *n)
    .collect();
    json!(names)
}

fn hash_method(json: &Json, at: &str) -> Decoded<Option<HashMethod>> {
    opt_str_field(json, "hash_method", at)?
        .map(|n| HashMethod::parse(n).map_err(|e| bad(&format!("{at}/hash_method"), e.to_string())))
        .transpose()
}

/// Decodes a backend key: a JSON string is a `str` key; a tagged value (`{"t": "int", "v":
/// "42"}`) is any other key, carried as its [`nonstr`] key text. A `str` key that starts
/// with [`nonstr::MARK`] is refused: that form is reserved for the others.
pub fn decode_key(json: &Json, at: &str) -> Decoded<String> {
    let key = match json {
        Json::String(s) => Value::Str(s.clone()),
        other => decode_value(other, at)?,
    };
    match key {
        Value::Str(s) if nonstr::is_nonstr(&s) => {
            Err(bad(at, "a str key may not start with U+FDD0 (reserved)"))
        }
        Value::Str(s) => Ok(s),
        other => Ok(nonstr::key_text(&other)),
    }
}

/// Encodes a backend key: a `str` key as a JSON string, any other as its tagged value.
pub fn encode_key(key: &str) -> Json {
    if nonstr::is_nonstr(key) {
        encode_value(&nonstr::key_value(key))
    } else {
        json!(key)
    }
}

fn decode_keys(json: &Json, at: &str) -> Decoded<Vec<String>> {
    json.as_array()
        .ok_or_else(|| bad(at, "expected an array of keys"))?
        .iter()
        .enumerate()
        .map(|(i, k)| decode_key(k, &format!("{at}/{i}")))
        .collect()
}

fn encode_keys(keys: &[String]) -> Json {
    Json::Array(keys.iter().map(|k| encode_key(k)).collect())
}

/// Decodes a backend operation (`{"op": "get", "key": "k"}`, ...).
pub fn decode_op(json: &Json, at: &str) -> Decoded<StoreOp> {
    let key = || decode_key(field(json, "key", at)?, &format!("{at}/key"));
    let keys = || decode_keys(field(json, "keys", at)?, &format!("{at}/keys"));
    let value = || decode_value(field(json, "value", at)?, &format!("{at}/value"));
    let timeout = || opt_i64(json, "timeout", at);
    Ok(match str_field(json, "op", at)? {
        "get" => StoreOp::Get { key: key()? },
        "get_many" => StoreOp::GetMany { keys: keys()? },
        "has" => StoreOp::Has { key: key()? },
        "set" => StoreOp::Set {
            key: key()?,
            value: value()?,
            timeout: timeout()?,
        },
        "add" => StoreOp::Add {
            key: key()?,
            value: value()?,
            timeout: timeout()?,
        },
        "set_many" => StoreOp::SetMany {
            items: decode_items(field(json, "items", at)?, &format!("{at}/items"))?,
            timeout: timeout()?,
        },
        "delete" => StoreOp::Delete { key: key()? },
        "delete_many" => StoreOp::DeleteMany { keys: keys()? },
        "clear" => StoreOp::Clear,
        other => {
            return Err(bad(
                &format!("{at}/op"),
                format!("unknown backend operation {other:?}"),
            ))
        }
    })
}

/// The `[key, value]` items of a `set_many`, keys as [`decode_key`] reads them.
fn decode_items(json: &Json, at: &str) -> Decoded<Vec<(String, Value)>> {
    json.as_array()
        .ok_or_else(|| bad(at, "expected an array of [key, value] pairs"))?
        .iter()
        .enumerate()
        .map(|(i, pair)| {
            let here = format!("{at}/{i}");
            match pair.as_array().map(Vec::as_slice) {
                Some([key, value]) => Ok((
                    decode_key(key, &format!("{here}/0"))?,
                    decode_value(value, &format!("{here}/1"))?,
                )),
                _ => Err(bad(&here, "expected a [key, value] pair")),
            }
        })
        .collect()
}

/// Encodes a backend operation.
pub fn encode_op(op: &StoreOp) -> Json {
    let pairs = |items: &[(String, Value)]| -> Vec<Json> {
        items
            .iter()
            .map(|(k, v)| json!([encode_key(k), encode_value(v)]))
            .collect()
    };
    match op {
        StoreOp::Get { key } => json!({"op": "get", "key": encode_key(key)}),
        StoreOp::GetMany { keys } => json!({"op": "get_many", "keys": encode_keys(keys)}),
        StoreOp::Has { key } => json!({"op": "has", "key": encode_key(key)}),
        StoreOp::Set {
            key,
            value,
            timeout,
        } => {
            json!({"op": "set", "key": encode_key(key), "value": encode_value(value), "timeout": timeout})
        }
        StoreOp::Add {
            key,
            value,
            timeout,
        } => {
            json!({"op": "add", "key": encode_key(key), "value": encode_value(value), "timeout": timeout})
        }
        StoreOp::SetMany { items, timeout } => {
            json!({"op": "set_many", "items": pairs(items), "timeout": timeout})
        }
        StoreOp::Delete { key } => json!({"op": "delete", "key": encode_key(key)}),
        StoreOp::DeleteMany { keys } => json!({"op": "delete_many", "keys": encode_keys(keys)}),
        StoreOp::Clear => json!({"op": "clear"}),
    }
}

fn decode_reply(json: &Json, at: &str) -> Decoded<Result<StoreReply, PyError>> {
    let obj = json
        .as_object()
        .ok_or_else(|| bad(at, "expected a reply object"))?;
    let (tag, v) = obj
        .iter()
        .next()
        .filter(|_| obj.len() == 1)
        .ok_or_else(|| bad(at, "expected one of value, values, bool, keys, raises"))?;
    let here = format!("{at}/{tag}");
    Ok(Ok(match tag.as_str() {
        "value" => StoreReply::Value(decode_value(v, &here)?),
        "values" => StoreReply::Values(decode_values(v, &here)?),
        "bool" => StoreReply::Bool(
            v.as_bool()
                .ok_or_else(|| bad(&here, "expected true or false"))?,
        ),
        "keys" => StoreReply::Keys(decode_keys(v, &here)?),
        "raises" => return Ok(Err(decode_error(v, &here)?)),
        other => return Err(bad(at, format!("unknown reply {other:?}"))),
    }))
}

/// Encodes a backend reply.
pub fn encode_reply(reply: &Result<StoreReply, PyError>) -> Json {
    match reply {
        Ok(StoreReply::Value(v)) => json!({"value": encode_value(v)}),
        Ok(StoreReply::Values(vs)) => {
            json!({"values": vs.iter().map(encode_value).collect::<Vec<_>>()})
        }
        Ok(StoreReply::Bool(b)) => json!({"bool": b}),
        Ok(StoreReply::Keys(ks)) => json!({"keys": encode_keys(ks)}),
        Err(e) => json!({"raises": encode_error(e)}),
    }
}

fn decode_string_pairs(json: &Json, at: &str) -> Decoded<Vec<(String, String)>> {
    json.as_array()
        .ok_or_else(|| bad(at, "expected an array of [name, value] strings"))?
        .iter()
        .map(|p| match p.as_array().map(Vec::as_slice) {
            Some([Json::String(k), Json::String(v)]) => Ok((k.clone(), v.clone())),
            _ => Err(bad(at, "expected [name, value] strings")),
        })
        .collect()
}

fn encode_string_pairs(pairs: &[(String, String)]) -> Json {
    json!(pairs.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>())
}

fn decode_query_args(json: Option<&Json>, at: &str) -> Decoded<Option<QueryArgs>> {
    match json {
        None | Some(Json::Null) => Ok(None),
        Some(q) => {
            if let Some(s) = q.get("string").and_then(Json::as_str) {
                Ok(Some(QueryArgs::String(s.to_owned())))
            } else if let Some(p) = q.get("pairs").or_else(|| q.get("mapping")) {
                Ok(Some(QueryArgs::Pairs(decode_kwargs(p, at)?)))
            } else {
                Err(bad(
                    at,
                    "expected {\"string\"}, {\"pairs\"} or {\"mapping\"}",
                ))
            }
        }
    }
}

fn decode_command(json: &Json, at: &str) -> Decoded<TraceCommand> {
    let obj = json
        .as_object()
        .ok_or_else(|| bad(at, "expected a command object"))?;
    let receiver = || {
        decode_receiver(
            json.get("bound_to").unwrap_or(&Json::Null),
            &format!("{at}/bound_to"),
        )
    };
    let args = || {
        decode_values(
            json.get("args").unwrap_or(&json!([])),
            &format!("{at}/args"),
        )
    };
    let kwargs = || {
        decode_kwargs(
            json.get("kwargs").unwrap_or(&json!([])),
            &format!("{at}/kwargs"),
        )
    };
    let opt = |k: &str| opt_str_field(json, k, at).map(|o| o.map(str::to_owned));
    if let Some(id) = obj.get("call") {
        let function = id
            .as_str()
            .ok_or_else(|| bad(at, "call: expected a function id"))?
            .to_owned();
        return Ok(TraceCommand::Call {
            function,
            bound_to: receiver()?,
            args: args()?,
            kwargs: kwargs()?,
        });
    }
    if let Some(id) = obj.get("request") {
        let view = id
            .as_str()
            .ok_or_else(|| bad(at, "request: expected a view id"))?
            .to_owned();
        let request = match opt_str_field(json, "path", at)? {
            Some(path) => {
                let args = match json.get("args").filter(|a| !a.is_null()) {
                    Some(a) => decode_string_pairs(a, &format!("{at}/args"))?,
                    None => Vec::new(),
                };
                Some((path.to_owned(), args))
            }
            None => None,
        };
        return Ok(TraceCommand::Request {
            view,
            request,
            prefix_result: opt("prefix_result")?,
            custom_key: opt("custom_key")?,
        });
    }
    if let Some(id) = obj.get("delete_memoized") {
        let function = id
            .as_str()
            .ok_or_else(|| bad(at, "delete_memoized: expected a function id"))?
            .to_owned();
        return Ok(TraceCommand::DeleteMemoized {
            function,
            bound_to: receiver()?,
            args: args()?,
            kwargs: kwargs()?,
        });
    }
    if let Some(id) = obj.get("delete_memoized_verhash") {
        let function = id
            .as_str()
            .ok_or_else(|| bad(at, "delete_memoized_verhash: expected a function id"))?
            .to_owned();
        return Ok(TraceCommand::DeleteMemoizedVerhash {
            function,
            bound_to: receiver()?,
        });
    }
    if let Some(id) = obj.get("delete_cached") {
        let view = id
            .as_str()
            .ok_or_else(|| bad(at, "delete_cached: expected a view id"))?
            .to_owned();
        let current_request = match json.get("current_request") {
            None | Some(Json::Null) => None,
            Some(r) => {
                let here = format!("{at}/current_request");
                let args = decode_string_pairs(field(r, "args", &here)?, &format!("{here}/args"))?;
                Some((str_field(r, "path", &here)?.to_owned(), args))
            }
        };
        return Ok(TraceCommand::DeleteCached {
            view,
            path: opt("path")?,
            query_args: decode_query_args(json.get("query_args"), &format!("{at}/query_args"))?,
            url_for: opt("url_for")?,
            prefix_result: opt("prefix_result")?,
            current_request,
        });
    }
    if let Some(op) = obj.get("backend") {
        return Ok(TraceCommand::Backend(decode_op(
            op,
            &format!("{at}/backend"),
        )?));
    }
    if let Some(secs) = obj.get("tick") {
        // A number of seconds, or (for spans too long for a JSON number to hold to the
        // microsecond) the same as a decimal string.
        let micros = match secs {
            Json::String(text) => parse_time(text, &format!("{at}/tick"))?.as_micros(),
            _ => secs
                .as_f64()
                .filter(|s| s.is_finite() && *s >= 0.0 && *s < EXACT_TICK_SECS)
                .map(|s| (s * 1e6).round() as i64)
                .ok_or_else(|| bad(at, "tick: expected a non-negative number of seconds (below 1e9, or a decimal string)"))?,
        };
        if micros < 0 {
            return Err(bad(at, "tick: the clock cannot go back"));
        }
        return Ok(TraceCommand::Tick(micros));
    }
    Err(bad(at, "unknown command"))
}

fn encode_receiver(r: &Option<Receiver>) -> Json {
    match r {
        None => Json::Null,
        Some(Receiver::Instance(o)) => json!({"instance": encode_value(&Value::Object(o.clone()))}),
        Some(Receiver::Class(c)) => json!({"class": encode_value(&Value::Class(c.clone()))}),
    }
}

fn encode_kwargs(kwargs: &[(String, Value)]) -> Json {
    json!(kwargs
        .iter()
        .map(|(k, v)| json!([k, encode_value(v)]))
        .collect::<Vec<_>>())
}

fn encode_command(c: &TraceCommand) -> Json {
    let values = |v: &[Value]| json!(v.iter().map(encode_value).collect::<Vec<_>>());
    match c {
        TraceCommand::Call {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            json!({"call": function, "bound_to": encode_receiver(bound_to), "args": values(args), "kwargs": encode_kwargs(kwargs)})
        }
        TraceCommand::Request {
            view,
            request,
            prefix_result,
            custom_key,
        } => {
            let (path, args) = match request {
                Some((path, args)) => (json!(path), encode_string_pairs(args)),
                None => (Json::Null, Json::Null),
            };
            json!({"request": view, "path": path, "args": args, "prefix_result": prefix_result, "custom_key": custom_key})
        }
        TraceCommand::DeleteMemoized {
            function,
            bound_to,
            args,
            kwargs,
        } => {
            json!({"delete_memoized": function, "bound_to": encode_receiver(bound_to), "args": values(args), "kwargs": encode_kwargs(kwargs)})
        }
        TraceCommand::DeleteMemoizedVerhash { function, bound_to } => {
            json!({"delete_memoized_verhash": function, "bound_to": encode_receiver(bound_to)})
        }
        TraceCommand::DeleteCached {
            view,
            path,
            query_args,
            url_for,
            prefix_result,
            current_request,
        } => {
            let q = match query_args {
                None => Json::Null,
                Some(QueryArgs::String(s)) => json!({"string": s}),
                Some(QueryArgs::Pairs(p)) => json!({"pairs": encode_kwargs(p)}),
            };
            let mut command =
                json!({"delete_cached": view, "path": path, "query_args": q, "url_for": url_for});
            if let Some(p) = prefix_result {
                command["prefix_result"] = json!(p);
            }
            if let Some((path, args)) = current_request {
                command["current_request"] =
                    json!({"path": path, "args": encode_string_pairs(args)});
            }
            command
        }
        TraceCommand::Backend(op) => json!({"backend": encode_op(op)}),
        TraceCommand::Tick(micros) if (*micros as f64) < EXACT_TICK_SECS * 1e6 => {
            json!({"tick": *micros as f64 / 1e6})
        }
        TraceCommand::Tick(micros) => json!({"tick": format_time(Timestamp::from_micros(*micros))}),
    }
}

fn decode_site(json: Option<&Json>, at: &str) -> Decoded<Option<Site>> {
    let json = match json {
        None | Some(Json::Null) => return Ok(None),
        Some(j) => j,
    };
    let at = format!("{at}/site");
    if !json.is_object() {
        return Err(bad(
            &at,
            "expected {\"file\", \"line\", \"function\"} or null",
        ));
    }
    let line = field(json, "line", &at)?
        .as_u64()
        .ok_or_else(|| bad(&format!("{at}/line"), "expected a non-negative integer"))?;
    Ok(Some(Site {
        file: str_field(json, "file", &at)?.to_owned(),
        line,
        function: str_field(json, "function", &at)?.to_owned(),
    }))
}

fn decode_event(json: &Json, at: &str, sites: &mut EventSites) -> Decoded<Event> {
    let number = field(json, "event", at)?
        .as_u64()
        .ok_or_else(|| bad(&format!("{at}/event"), "expected a positive integer"))?;
    if let Some(site) = decode_site(json.get("site"), at)? {
        sites.insert(number, site);
    }
    let at_time = parse_time(str_field(json, "at", at)?, &format!("{at}/at"))?;
    let command = decode_command(field(json, "command", at)?, &format!("{at}/command"))?;
    let versions = match json.get("versions") {
        None | Some(Json::Null) => Vec::new(),
        Some(v) => strings(v, &format!("{at}/versions"))?
            .iter()
            .map(|t| {
                Version::parse(t).ok_or_else(|| {
                    bad(
                        &format!("{at}/versions"),
                        format!("not a version string: {t:?}"),
                    )
                })
            })
            .collect::<Decoded<_>>()?,
    };
    let steps = match json.get("steps") {
        None | Some(Json::Null) => Vec::new(),
        Some(s) => s
            .as_array()
            .ok_or_else(|| bad(&format!("{at}/steps"), "expected an array"))?
            .iter()
            .enumerate()
            .map(|(i, step)| decode_step(step, &format!("{at}/steps/{i}"), sites))
            .collect::<Decoded<_>>()?,
    };
    let result = match json.get("result") {
        None | Some(Json::Null) => Ok(Value::None),
        Some(r) => decode_result(r, &format!("{at}/result"))?,
    };
    Ok(Event {
        number,
        at: at_time,
        command,
        versions,
        steps,
        result,
    })
}

fn decode_step(json: &Json, at: &str, sites: &mut EventSites) -> Decoded<TraceStep> {
    if let Some(op) = json.get("store") {
        let reply = decode_reply(field(json, "reply", at)?, &format!("{at}/reply"))?;
        return Ok(TraceStep::Store {
            op: decode_op(op, &format!("{at}/store"))?,
            reply,
        });
    }
    if let Some(r) = json.get("compute") {
        let events = match json.get("events") {
            None | Some(Json::Null) => Vec::new(),
            Some(e) => e
                .as_array()
                .ok_or_else(|| bad(&format!("{at}/events"), "expected an array"))?
                .iter()
                .enumerate()
                .map(|(i, ev)| decode_event(ev, &format!("{at}/events/{i}"), sites))
                .collect::<Decoded<_>>()?,
        };
        return Ok(TraceStep::Compute {
            result: decode_result(r, &format!("{at}/compute"))?,
            events,
        });
    }
    if let Some(name) = json.get("hook") {
        let name = name
            .as_str()
            .ok_or_else(|| bad(at, "hook: expected a name"))?
            .to_owned();
        let answer = match field(json, "answer", at)? {
            Json::Bool(b) => Ok(*b),
            other => Err(decode_error(
                field(other, "raises", at)?,
                &format!("{at}/answer/raises"),
            )?),
        };
        return Ok(TraceStep::Hook { name, answer });
    }
    if let Some(e) = json.get("log") {
        return Ok(TraceStep::Log(decode_error(e, &format!("{at}/log"))?));
    }
    Err(bad(
        at,
        "unknown step (expected store, compute, hook or log)",
    ))
}

fn encode_event(e: &Event, sites: &EventSites) -> Json {
    let mut json = json!({
        "event": e.number,
        "at": format_time(e.at),
        "command": encode_command(&e.command),
        "versions": e.versions.iter().map(|v| v.as_str().to_owned()).collect::<Vec<_>>(),
        "steps": e.steps.iter().map(|s| encode_step(s, sites)).collect::<Vec<_>>(),
        "result": encode_result(&e.result),
    });
    if let (Some(site), Some(obj)) = (sites.get(&e.number), json.as_object_mut()) {
        obj.insert(
            "site".into(),
            json!({"file": site.file, "line": site.line, "function": site.function}),
        );
    }
    json
}

fn encode_step(s: &TraceStep, sites: &EventSites) -> Json {
    match s {
        TraceStep::Store { op, reply } => {
            json!({"store": encode_op(op), "reply": encode_reply(reply)})
        }
        TraceStep::Compute { result, events } if events.is_empty() => {
            json!({"compute": encode_result(result)})
        }
        TraceStep::Compute { result, events } => {
            json!({"compute": encode_result(result), "events": events.iter().map(|e| encode_event(e, sites)).collect::<Vec<_>>()})
        }
        TraceStep::Hook { name, answer } => match answer {
            Ok(b) => json!({"hook": name, "answer": b}),
            Err(e) => json!({"hook": name, "answer": {"raises": encode_error(e)}}),
        },
        TraceStep::Log(e) => json!({"log": encode_error(e)}),
    }
}

fn decode_config(json: &Json) -> Decoded<TraceConfig> {
    let at = "/config";
    let profile_text = str_field(json, "profile", at)?;
    let python_text = str_field(json, "python", at)?;
    let threshold = field(json, "threshold", at)?
        .as_u64()
        .ok_or_else(|| bad("/config/threshold", "expected a non-negative integer"))?;
    Ok(TraceConfig {
        library: str_field(json, "library", at)?.to_owned(),
        library_version: str_field(json, "library_version", at)?.to_owned(),
        profile: Profile::parse(profile_text).ok_or_else(|| {
            bad(
                "/config/profile",
                format!("unknown profile {profile_text:?}"),
            )
        })?,
        python: PythonVersion::parse(python_text).ok_or_else(|| {
            bad(
                "/config/python",
                format!("unsupported Python {python_text:?}"),
            )
        })?,
        backend: str_field(json, "backend", at)?.to_owned(),
        key_prefix: opt_str_field(json, "key_prefix", at)?.map(str::to_owned),
        default_timeout: field(json, "default_timeout", at)?
            .as_i64()
            .ok_or_else(|| bad("/config/default_timeout", "expected an integer"))?,
        threshold: usize::try_from(threshold).map_err(|_| bad("/config/threshold", "too large"))?,
        ignore_errors: bool_field(json, "ignore_errors", at)?,
        debug: bool_field(json, "debug", at)?,
        start_time: parse_time(str_field(json, "start_time", at)?, "/config/start_time")?,
    })
}

fn decode_memoize(json: &Json) -> Decoded<Record> {
    let at = "/memoize";
    let o = field(json, "options", at)?;
    let oa = "/memoize/options";
    let options = MemoizeOptions {
        timeout: opt_i64(o, "timeout", oa)?,
        make_name: opt_str_field(o, "make_name", oa)?.map(|t| MakeName(t.to_owned())),
        hash_method: hash_method(o, oa)?,
        args_to_ignore: strings(
            o.get("args_to_ignore").unwrap_or(&json!([])),
            "/memoize/options/args_to_ignore",
        )?,
        source: opt_str_field(o, "source", oa)?.map(str::to_owned),
        cache_none: o.get("cache_none").and_then(Json::as_bool).unwrap_or(false),
        hooks: decode_hooks(
            o.get("hooks").unwrap_or(&json!([])),
            "/memoize/options/hooks",
        )?,
    };
    Ok(Record::Memoize {
        id: str_field(json, "id", at)?.to_owned(),
        function: decode_function(field(json, "function", at)?, "/memoize/function")?,
        options,
    })
}

fn decode_cached(json: &Json) -> Decoded<Record> {
    let at = "/cached";
    let o = field(json, "options", at)?;
    let oa = "/cached/options";
    let prefix = field(o, "key_prefix", oa)?;
    let key_prefix = match opt_str_field(prefix, "template", "/cached/options/key_prefix")? {
        Some(t) => KeyPrefix::Template(t.to_owned()),
        None if prefix.get("callable").and_then(Json::as_bool) == Some(true) => KeyPrefix::Callable,
        None => {
            return Err(bad(
                "/cached/options/key_prefix",
                "expected {\"template\": ...} or {\"callable\": true}",
            ))
        }
    };
    let options = CachedOptions {
        key: CachedKeySpec {
            key_prefix,
            query_string: o
                .get("query_string")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            hash_method: hash_method(o, oa)?,
            source: opt_str_field(o, "source", oa)?.map(str::to_owned),
        },
        timeout: opt_i64(o, "timeout", oa)?,
        cache_none: o.get("cache_none").and_then(Json::as_bool).unwrap_or(false),
        custom_make_cache_key: o
            .get("make_cache_key")
            .and_then(Json::as_bool)
            .unwrap_or(false),
        hooks: decode_hooks(
            o.get("hooks").unwrap_or(&json!([])),
            "/cached/options/hooks",
        )?,
    };
    Ok(Record::Cached {
        id: str_field(json, "id", at)?.to_owned(),
        name: opt_str_field(json, "name", at)?.unwrap_or("").to_owned(),
        options,
    })
}

/// Reads a trace. Errors name the 1-based line. (The events' call sites are checked and
/// dropped; [`parse_trace_with_sites`] keeps them.)
pub fn parse_trace(text: &str) -> Result<Trace, TraceError> {
    parse_trace_with_sites(text).map(|(trace, _)| trace)
}

/// Reads a trace and the call sites of its events (`"site"`, optional: traces recorded
/// without sites read with none). Errors name the 1-based line.
pub fn parse_trace_with_sites(text: &str) -> Result<(Trace, EventSites), TraceError> {
    let mut lines = text
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)));
    let err = |line: usize, reason: String| TraceError { line, reason };
    let parse = |line: usize, text: &str| -> Result<Json, TraceError> {
        serde_json::from_str(text).map_err(|e| err(line, format!("not valid JSON: {e}")))
    };
    let at = |line: usize| move |e: DecodeError| err(line, e.to_string());

    let (line, header) = lines.next().ok_or_else(|| err(1, "empty file".into()))?;
    let header = parse(line, header)?;
    match header.get("flaskcache_trace").and_then(Json::as_u64) {
        Some(FORMAT_VERSION) => {}
        Some(v) => return Err(err(line, format!("trace format version {v} is not supported (this reader reads version {FORMAT_VERSION})"))),
        None => return Err(err(line, "not a flaskcache trace: the first line must be {\"flaskcache_trace\": 1}".into())),
    }
    let (line, config) = lines
        .next()
        .filter(|(_, l)| !l.is_empty())
        .ok_or_else(|| err(2, "missing the config line".into()))?;
    let config_json = parse(line, config)?;
    let config = decode_config(
        config_json
            .get("config")
            .ok_or_else(|| err(line, "expected the config line".into()))?,
    )
    .map_err(at(line))?;

    let mut records = Vec::new();
    // The ids declared so far: a set, so that each declaration and event is checked in
    // constant time and reading stays linear in the size of the trace.
    let mut declared: HashSet<String> = HashSet::new();
    let mut sites = EventSites::new();
    let mut last_event = 0u64;
    let mut last_time = config.start_time;
    for (line, text) in lines {
        if text.trim().is_empty() {
            continue;
        }
        let json = parse(line, text)?;
        let record = if let Some(m) = json.get("memoize") {
            decode_memoize(m).map_err(at(line))?
        } else if let Some(c) = json.get("cached") {
            decode_cached(c).map_err(at(line))?
        } else if json.get("event").is_some() {
            Record::Event(decode_event(&json, "", &mut sites).map_err(at(line))?)
        } else if json.get("config").is_some() {
            return Err(err(line, "a second config line".into()));
        } else {
            return Err(err(
                line,
                "unknown record (expected memoize, cached or event)".into(),
            ));
        };
        match &record {
            Record::Memoize { id, .. } | Record::Cached { id, .. } => {
                if !declared.insert(id.clone()) {
                    return Err(err(line, format!("{id:?} is declared twice")));
                }
            }
            Record::Event(event) => {
                check_event(event, &declared, &mut last_event, &mut last_time)
                    .map_err(|r| err(line, r))?;
            }
        }
        records.push(record);
    }
    Ok((Trace { config, records }, sites))
}

/// Events are numbered in file order (nested ones too), in time order, and name declared
/// functions only.
fn check_event(
    event: &Event,
    declared: &HashSet<String>,
    last: &mut u64,
    last_time: &mut Timestamp,
) -> Result<(), String> {
    if event.number != *last + 1 {
        return Err(format!(
            "event {} out of order (expected {})",
            event.number,
            *last + 1
        ));
    }
    *last = event.number;
    if event.at < *last_time {
        return Err(format!("event {} goes back in time", event.number));
    }
    *last_time = event.at;
    let id = match &event.command {
        TraceCommand::Call { function, .. }
        | TraceCommand::DeleteMemoized { function, .. }
        | TraceCommand::DeleteMemoizedVerhash { function, .. } => Some(function),
        TraceCommand::Request { view, .. } | TraceCommand::DeleteCached { view, .. } => Some(view),
        TraceCommand::Backend(_) | TraceCommand::Tick(_) => None,
    };
    if let Some(id) = id.filter(|id| !declared.contains(id.as_str())) {
        return Err(format!(
            "event {} uses {id:?}, which is not declared before it",
            event.number
        ));
    }
    for step in &event.steps {
        if let TraceStep::Compute { events, .. } = step {
            for nested in events {
                check_event(nested, declared, last, last_time)?;
            }
        }
    }
    Ok(())
}

impl TraceCommand {
    /// The engine command this recorded command stands for, resolving declaration ids with
    /// `function` and `view`; `None` for a clock advance (it has no engine command).
    pub fn to_engine<E>(
        &self,
        function: impl Fn(&str) -> Result<MemoizedId, E>,
        view: impl Fn(&str) -> Result<CachedId, E>,
    ) -> Result<Option<Command>, E> {
        let request = |(path, args): &RequestData| Request {
            path: path.clone(),
            args: args.clone(),
        };
        Ok(Some(match self {
            TraceCommand::Call {
                function: f,
                bound_to,
                args,
                kwargs,
            } => Command::CallMemoized {
                function: function(f)?,
                bound_to: bound_to.clone(),
                args: args.clone(),
                kwargs: kwargs.clone(),
            },
            TraceCommand::Request {
                view: v,
                request: r,
                prefix_result,
                custom_key,
            } => Command::CallCached {
                view: view(v)?,
                request: r.as_ref().map(request),
                prefix_result: prefix_result.clone(),
                custom_key: custom_key.clone(),
            },
            TraceCommand::DeleteMemoized {
                function: f,
                bound_to,
                args,
                kwargs,
            } => Command::DeleteMemoized {
                function: function(f)?,
                bound_to: bound_to.clone(),
                args: args.clone(),
                kwargs: kwargs.clone(),
            },
            TraceCommand::DeleteMemoizedVerhash {
                function: f,
                bound_to,
            } => Command::DeleteMemoizedVerhash {
                function: function(f)?,
                bound_to: bound_to.clone(),
            },
            TraceCommand::DeleteCached {
                view: v,
                path,
                query_args,
                url_for,
                prefix_result,
                current_request,
            } => Command::DeleteCached {
                view: view(v)?,
                path: path.clone(),
                query_args: query_args.clone(),
                url_for: url_for.clone(),
                prefix_result: prefix_result.clone(),
                request: current_request.as_ref().map(request),
            },
            TraceCommand::Backend(op) => Command::Backend(op.clone()),
            TraceCommand::Tick(_) => return Ok(None),
        }))
    }
}

impl Trace {
    /// Writes the trace as JSON Lines (without call sites).
    pub fn to_jsonl(&self) -> String {
        self.to_jsonl_with_sites(&EventSites::new())
    }

    /// Writes the trace as JSON Lines, each event with its call site from `sites` (events
    /// not in `sites` get none).
    pub fn to_jsonl_with_sites(&self, sites: &EventSites) -> String {
        let c = &self.config;
        let mut out = String::new();
        let mut line = |j: Json| {
            out.push_str(&j.to_string());
            out.push('\n');
        };
        line(json!({"flaskcache_trace": FORMAT_VERSION}));
        line(json!({"config": {
            "library": c.library, "library_version": c.library_version,
            "profile": c.profile.as_str(), "python": c.python.as_str(), "backend": c.backend,
            "key_prefix": c.key_prefix, "default_timeout": c.default_timeout,
            "threshold": c.threshold, "ignore_errors": c.ignore_errors, "debug": c.debug,
            "start_time": format_time(c.start_time),
        }}));
        for record in &self.records {
            line(match record {
                Record::Memoize {
                    id,
                    function,
                    options: o,
                } => json!({"memoize": {
                "id": id, "function": encode_function(function), "options": {
                    "timeout": o.timeout, "make_name": o.make_name.as_ref().map(|m| m.0.clone()),
                    "hash_method": o.hash_method.map(HashMethod::as_str),
                    "args_to_ignore": o.args_to_ignore, "source": o.source,
                    "cache_none": o.cache_none, "hooks": encode_hooks(&o.hooks),
                }}}),
                Record::Cached {
                    id,
                    name,
                    options: o,
                } => {
                    let prefix = match &o.key.key_prefix {
                        KeyPrefix::Template(t) => json!({"template": t}),
                        KeyPrefix::Callable => json!({"callable": true}),
                    };
                    json!({"cached": {"id": id, "name": name, "options": {
                        "key_prefix": prefix, "query_string": o.key.query_string,
                        "hash_method": o.key.hash_method.map(HashMethod::as_str), "source": o.key.source,
                        "timeout": o.timeout, "cache_none": o.cache_none,
                        "make_cache_key": o.custom_make_cache_key, "hooks": encode_hooks(&o.hooks),
                    }}})
                }
                Record::Event(e) => encode_event(e, sites),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "{\"flaskcache_trace\": 1}\n{\"config\": {\"library\": \"flask-caching\", \"library_version\": \"2.5.1\", \"profile\": \"2.5\", \"python\": \"3.11\", \"backend\": \"SimpleCache\", \"key_prefix\": null, \"default_timeout\": 300, \"threshold\": 500, \"ignore_errors\": false, \"debug\": false, \"start_time\": \"1000.000000\"}}\n";

    #[test]
    fn round_trips() {
        let text = format!(
            "{HEAD}{}\n{}\n",
            r#"{"memoize": {"id": "m1", "function": {"module": "app", "qualname": "f", "binding": "function", "params": [{"name": "a", "kind": "positional_or_keyword", "default": null}]}, "options": {"timeout": 60, "make_name": null, "hash_method": null, "args_to_ignore": [], "source": null, "cache_none": false, "hooks": []}}}"#,
            r#"{"event": 1, "at": "1000.250000", "command": {"call": "m1", "bound_to": null, "args": [{"t": "int", "v": "1"}], "kwargs": []}, "versions": ["AQEBAQ"], "steps": [{"store": {"op": "get_many", "keys": ["app.f_memver"]}, "reply": {"values": [{"t": "none"}]}}, {"compute": {"value": {"t": "int", "v": "1"}}}], "result": {"value": {"t": "int", "v": "1"}}}"#
        );
        let trace = parse_trace(&text).expect("valid trace");
        assert_eq!(trace.records.len(), 2);
        let again = parse_trace(&trace.to_jsonl()).expect("written trace reads back");
        assert_eq!(again, trace);
    }

    /// An `HTTPException` raised (`"http"` in `raises`) and stored (an `exception` value)
    /// reads as `PyExceptionType::Http` / `Value::Exception` and is written back as read;
    /// a malformed `http` is an error, not a panic.
    #[test]
    fn http_exceptions_round_trip() {
        let text = include_str!("../../tests/traces/http_errors.2.5.trace.jsonl");
        let trace = parse_trace(text).expect("the recorded trace reads");
        let written = trace.to_jsonl();
        assert_eq!(
            parse_trace(&written).expect("written trace reads back"),
            trace
        );
        let stored = trace.records.iter().any(|r| match r {
            Record::Event(e) => e.steps.iter().any(|s| {
                matches!(s, TraceStep::Store { reply: Ok(StoreReply::Value(Value::Exception(x))), .. }
                    if x.http().is_some_and(|h| h.code == 404))
            }),
            _ => false,
        });
        assert!(stored, "a hit on the stored NotFound");
        for (from, to) in [
            (r#""code": 404"#, r#""code": "404""#),
            (r#""code": 404"#, r#""code": 70000"#),
            (
                r#""type": "NotFound", "message""#,
                r#""type": "Gone", "message""#,
            ),
            (r#""repr": "<NotFound"#, r#""rep": "<NotFound"#),
        ] {
            let broken = text.replacen(from, to, 1);
            assert_ne!(broken, text, "{from}");
            assert!(parse_trace(&broken).is_err(), "{to} was accepted");
        }
    }

    #[test]
    fn call_sites_are_optional_and_round_trip() {
        let memoize = r#"{"memoize": {"id": "m1", "function": {"module": "app", "qualname": "f", "binding": "function", "params": []}, "options": {}}}"#;
        let call = |n: u64, site: &str| {
            format!(
                r#"{{"event": {n}, "at": "1000.000000"{site}, "command": {{"call": "m1", "bound_to": null, "args": [], "kwargs": []}}, "versions": [], "steps": [{{"compute": {{"value": {{"t": "none"}}}}}}], "result": {{"value": {{"t": "none"}}}}}}"#
            )
        };
        let with = r#", "site": {"file": "app/views.py", "line": 12, "function": "index"}"#;
        let text = format!(
            "{HEAD}{memoize}\n{}\n{}\n{}\n",
            call(1, with),
            call(2, ""),
            call(3, r#", "site": null"#)
        );
        let (trace, sites) = parse_trace_with_sites(&text).expect("valid trace");
        assert_eq!(trace, parse_trace(&text).expect("valid trace"));
        let site = Site {
            file: "app/views.py".into(),
            line: 12,
            function: "index".into(),
        };
        assert_eq!(sites, EventSites::from([(1, site.clone())]));
        assert_eq!(site.to_string(), "app/views.py:12 (in index)");
        let again = parse_trace_with_sites(&trace.to_jsonl_with_sites(&sites)).expect("reads back");
        assert_eq!(again, (trace.clone(), sites));
        assert!(!trace.to_jsonl().contains("site"));
        for broken in [
            r#", "site": 12"#,
            r#", "site": {"file": "a.py", "line": -1, "function": "f"}"#,
            r#", "site": {"line": 1, "function": "f"}"#,
        ] {
            let text = format!("{HEAD}{memoize}\n{}\n", call(1, broken));
            assert!(
                parse_trace(&text).is_err_and(|e| e.line == 4 && e.reason.contains("/site")),
                "{broken}"
            );
        }
    }

    #[test]
    fn ticks_round_trip_exactly() {
        for micros in [
            0,
            1,
            999_999,
            5_000_000,
            999_999_999_999_999,
            227_306_542_132_866_592,
            i64::MAX,
        ] {
            let trace = Trace {
                config: parse_trace(HEAD).expect("header").config,
                records: vec![Record::Event(Event {
                    number: 1,
                    at: Timestamp::from_secs(1000),
                    command: TraceCommand::Tick(micros),
                    versions: vec![],
                    steps: vec![],
                    result: Ok(Value::None),
                })],
            };
            let back = parse_trace(&trace.to_jsonl()).expect("reads back");
            assert_eq!(back, trace, "tick of {micros} µs");
        }
    }

    /// A key that is not a `str` is a tagged value; it reads as its reserved key text and is
    /// written back as the same tagged value. A `str` key in the reserved form is refused.
    #[test]
    fn nonstr_keys_round_trip_and_reserved_str_keys_are_refused() {
        let int = r#"{"t": "int", "v": "42"}"#;
        let tuple = r#"{"t": "tuple", "v": [{"t": "float", "v": "1.5"}, {"t": "str", "v": "a"}]}"#;
        let event = format!(
            r#"{{"event": 1, "at": "1000.000000", "command": {{"backend": {{"op": "delete_many", "keys": [{int}, "k", {tuple}]}}}}, "versions": [], "steps": [{{"store": {{"op": "delete_many", "keys": [{int}, "k", {tuple}]}}, "reply": {{"keys": [{int}, "k", {tuple}]}}}}], "result": {{"value": {{"t": "list", "v": [{int}, {{"t": "str", "v": "k"}}, {tuple}]}}}}}}"#
        );
        let text = format!(
            "{HEAD}{event}
"
        );
        let trace = parse_trace(&text).unwrap_or_else(|e| panic!("{e}"));
        let Some(Record::Event(e)) = trace.records.first() else {
            panic!("no event")
        };
        let Some(TraceStep::Store { op, .. }) = e.steps.first() else {
            panic!("no store step")
        };
        let StoreOp::DeleteMany { keys } = op else {
            panic!("{op:?}")
        };
        assert_eq!(keys[0], nonstr::key_text(&Value::int(42)));
        assert_eq!(keys[1], "k");
        assert!(nonstr::is_nonstr(&keys[2]));
        let written = trace.to_jsonl();
        assert!(
            written.contains(r#""keys":[{"t":"int","v":"42"},"k",{"t":"tuple""#),
            "{written}"
        );
        assert_eq!(parse_trace(&written).as_ref(), Ok(&trace));
        // A tagged `str` key is the plain key.
        let tagged = text.replacen(r#""k""#, r#"{"t": "str", "v": "k"}"#, 1);
        assert_eq!(parse_trace(&tagged), Ok(trace));
        for reserved in [r#""﷐i42;""#, r#"{"t": "str", "v": "﷐i42;"}"#] {
            let bad = text.replacen(r#""k""#, reserved, 1);
            let err = parse_trace(&bad).expect_err("a reserved str key");
            assert!(err.reason.contains("U+FDD0"), "{err}");
        }
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse_trace("").map_err(|e| e.line), Err(1));
        assert_eq!(parse_trace("garbage").map_err(|e| e.line), Err(1));
        let bad_event = format!(
            "{HEAD}{{\"event\": 2, \"at\": \"1000.000000\", \"command\": {{\"tick\": 1}}}}\n"
        );
        let e = parse_trace(&bad_event).err();
        assert_eq!(e.as_ref().map(|e| e.line), Some(3), "{e:?}");
        let undeclared = format!(
            "{HEAD}{{\"event\": 1, \"at\": \"1000.000000\", \"command\": {{\"call\": \"m9\"}}}}\n"
        );
        assert!(parse_trace(&undeclared)
            .is_err_and(|e| e.line == 3 && e.reason.contains("not declared")));
        let truncated = &HEAD[..HEAD.len() - 20];
        assert!(parse_trace(truncated).is_err_and(|e| e.line == 2));
    }

    #[test]
    fn rejects_a_second_declaration_of_an_id() {
        let memoize = r#"{"memoize": {"id": "m1", "function": {"module": "app", "qualname": "f", "binding": "function", "params": []}, "options": {}}}"#;
        let cached = r#"{"cached": {"id": "m1", "name": "v", "options": {"key_prefix": {"template": "view/%s"}}}}"#;
        let text = format!("{HEAD}{memoize}\n{cached}\n");
        let e = parse_trace(&text).err();
        assert_eq!(
            e,
            Some(TraceError {
                line: 4,
                reason: "\"m1\" is declared twice".into()
            })
        );
    }

    mod synthetic {
        include!("../benches/support/synthetic.rs");
    }

    /// A trace far larger than the recorded ones (168 MB) reads back whole. Reading is
    /// linear, so this takes a couple of seconds in a release build; a reader that searched a
    /// list of the declared ids for every declaration and event took three minutes here.
    /// Not a timed test: a regression shows as a test that runs for minutes (the
    /// `trace_parse` benchmark has the figures). Debug builds skip it (it would only be slow
    /// there); the release test run, the one CI makes, runs it.
    #[test]
    #[cfg_attr(debug_assertions, ignore = "large: run with --release")]
    fn reads_200k_declarations_and_200k_events() {
        let n = 200_000;
        let trace = match parse_trace(&synthetic::synthetic_trace(n, n)) {
            Ok(trace) => trace,
            Err(e) => panic!("the synthetic trace does not read: {e}"),
        };
        let mut declarations = 0;
        let mut events = 0;
        let mut stack: Vec<&Event> = Vec::new();
        for record in &trace.records {
            match record {
                Record::Memoize { .. } | Record::Cached { .. } => declarations += 1,
                Record::Event(e) => stack.push(e),
            }
            while let Some(e) = stack.pop() {
                events += 1;
                for step in &e.steps {
                    if let TraceStep::Compute { events: nested, .. } = step {
                        stack.extend(nested);
                    }
                }
            }
        }
        assert_eq!((declarations, events), (n, n));
    }
}
