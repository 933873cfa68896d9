//! [`RedisStore`]: the engine's store operations executed on a Redis server exactly as
//! cachelib's `RedisCache` issues them.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use flaskcache::Store;
use flaskcache_engine::store::redis::{pipeline_error, response_error};
use flaskcache_engine::{
    PyError, PyExceptionType, StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp, Value,
};
use redis::{Cmd, Connection, ConnectionLike, Pipeline, RedisError, ServerError};

use crate::codec::{self, DecodeError};

/// How a [`RedisStore`] reaches its server and which `RedisCache` it behaves as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user:password@]host:port[/db]` (`CACHE_REDIS_URL`), or `unix://` paths.
    pub url: String,
    /// `CACHE_KEY_PREFIX`: prepended to every key when it is non-empty. `None` and `""`
    /// mean no prefix, and then `clear` is `FLUSHDB`: it empties the whole database,
    /// whoever's keys are in it.
    pub key_prefix: Option<String>,
    /// [`StoreFlavor::Redis`] (Flask-Caching 2.5 / cachelib 0.17) or
    /// [`StoreFlavor::Redis24`] (Flask-Caching 2.4.1, whose `delete_many` differs). Any
    /// other flavour is refused by [`RedisStore::new`].
    pub flavor: StoreFlavor,
    /// `CACHE_DEFAULT_TIMEOUT`: seconds used for a `None` timeout (300).
    pub default_timeout: i64,
    /// How long opening a connection may take before the operation fails.
    pub connect_timeout: Duration,
    /// How long one read or write on a connection may block before the operation fails.
    pub io_timeout: Duration,
    /// `ignore_delete_many_errors` of the 2.5 flavour (`False` in Flask-Caching): when
    /// `false`, `delete_many` raises if a key still exists after its `DEL`.
    pub ignore_delete_many_errors: bool,
    /// How many idle connections the store keeps for reuse (at least one is opened
    /// per thread running an operation at the same time).
    pub max_idle: usize,
}

impl RedisConfig {
    /// Flask-Caching's defaults for `CACHE_TYPE="RedisCache"` on `url`: prefix
    /// `flask_cache_`, flavour 2.5, timeout 300 s; connect and I/O timeouts of 1 s;
    /// `delete_many` errors not ignored; up to 8 idle connections.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            key_prefix: Some("flask_cache_".into()),
            flavor: StoreFlavor::Redis,
            default_timeout: 300,
            connect_timeout: Duration::from_secs(1),
            io_timeout: Duration::from_secs(1),
            ignore_delete_many_errors: false,
            max_idle: 8,
        }
    }
}

/// What went wrong in a [`RedisStore`] call outside [`Store::execute`] (which reports
/// [`StoreError`]s instead).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The configuration is unusable (bad URL, a zero timeout, a flavour that is not a
    /// Redis one).
    Config(String),
    /// The server could not be reached, or the connection was lost or timed out.
    Connection(String),
    /// The server answered with an error, as redis-py raises it.
    Server(PyError),
    /// A stored value could not be read.
    Decode(DecodeError),
    /// The server's reply had a shape the command never returns.
    Unexpected(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config(why) => write!(f, "bad Redis store configuration: {why}"),
            Error::Connection(why) => write!(f, "{why}"),
            Error::Server(err) => write!(f, "{err}"),
            Error::Decode(err) => write!(f, "{err}"),
            Error::Unexpected(why) => write!(f, "unexpected reply from Redis: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for StoreError {
    /// A server error is what redis-py raises ([`StoreError::Raised`]); anything else is a
    /// backend failure ([`StoreError::Failed`]), which the engine logs and survives.
    fn from(err: Error) -> Self {
        match err {
            Error::Server(py) => StoreError::Raised(py),
            other => StoreError::Failed(other.to_string()),
        }
    }
}

/// The exception redis-py 8 raises for a server error reply `code detail`
/// (`BaseParser.parse_error`): known codes lose their code and map to their class
/// (`ERR` to `ResponseError`, `READONLY` to `ReadOnlyError`, ...); unknown codes keep the
/// whole text in a `ResponseError`.
pub fn server_error(code: &str, detail: Option<&str>) -> PyError {
    let detail = detail.unwrap_or("");
    let class = match code {
        "ERR" => match detail {
            "max number of clients reached" => "ConnectionError",
            "invalid password"
            | "wrong number of arguments for 'auth' command"
            | "wrong number of arguments for 'AUTH' command" => "AuthenticationError",
            _ => "ResponseError",
        },
        "OOM" => "OutOfMemoryError",
        "WRONGPASS" | "NOAUTH" => "AuthenticationError",
        "EXECABORT" => "ExecAbortError",
        "LOADING" => "BusyLoadingError",
        "NOSCRIPT" => "NoScriptError",
        "READONLY" => "ReadOnlyError",
        "NOPERM" => "NoPermissionError",
        "ASK" => "AskError",
        "TRYAGAIN" => "TryAgainError",
        "MOVED" => "MovedError",
        "CLUSTERDOWN" => "ClusterDownError",
        "CROSSSLOT" => "ClusterCrossSlotError",
        "MASTERDOWN" => "MasterDownError",
        _ => {
            let full = if detail.is_empty() {
                code.to_owned()
            } else {
                format!("{code} {detail}")
            };
            return response_error(full);
        }
    };
    match class {
        "ResponseError" => response_error(detail),
        "ConnectionError" => PyError::new(PyExceptionType::ConnectionError, detail),
        other => PyError::new(PyExceptionType::Other(other.into()), detail),
    }
}

fn from_server(err: &ServerError) -> PyError {
    server_error(err.code(), err.details())
}

/// A [`flaskcache::Store`] on a real Redis server, with the semantics of cachelib's
/// `RedisCache` (Flask-Caching 2.5) or Flask-Caching 2.4.1's (see the crate docs).
///
/// Thread-safe: a small pool of idle connections behind a mutex that is held only to take
/// or return a connection, never during I/O, so operations from several threads run in
/// parallel on their own connections, as redis-py's connection pool does. Connections are
/// opened lazily; one that fails (I/O error, timeout, lost connection) is dropped together
/// with every idle one, and the next operation connects afresh, so the store recovers on
/// its own once the server is back.
pub struct RedisStore {
    config: RedisConfig,
    client: redis::Client,
    /// The URL without its credentials, for messages.
    place: String,
    idle: Mutex<Vec<Connection>>,
    round_trips: AtomicU64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("place", &self.place)
            .field("key_prefix", &self.config.key_prefix)
            .field("flavor", &self.config.flavor)
            .field("round_trips", &self.round_trips())
            .finish_non_exhaustive()
    }
}

/// Why one command failed, before it becomes an [`Error`].
enum Fail {
    Down(String),
    Server(PyError),
    Unexpected(String),
    Decode(DecodeError),
}

impl From<Fail> for Error {
    fn from(f: Fail) -> Self {
        match f {
            Fail::Down(why) => Error::Connection(why),
            Fail::Server(err) => Error::Server(err),
            Fail::Unexpected(why) => Error::Unexpected(why),
            Fail::Decode(err) => Error::Decode(err),
        }
    }
}

/// A reply that is one of a command's expected shapes.
type Reply = redis::Value;

/// A checked-out connection: returned to the pool when dropped, unless it failed.
struct Session<'a> {
    store: &'a RedisStore,
    con: Option<Connection>,
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if let Some(con) = self.con.take() {
            let mut idle = self.store.idle();
            if idle.len() < self.store.config.max_idle {
                idle.push(con);
            }
        }
    }
}

impl Session<'_> {
    fn broken(&mut self, err: &RedisError) -> Fail {
        self.con = None;
        self.store.idle().clear();
        Fail::Down(format!("Redis at {}: {err}", self.store.place))
    }

    fn connection(&mut self) -> Result<&mut Connection, Fail> {
        if self.con.is_none() {
            self.con = Some(self.store.connect()?);
        }
        self.con
            .as_mut()
            .ok_or_else(|| Fail::Down("no connection".into()))
    }

    /// Sends one command and reads its reply: one round trip. A server error is
    /// `Ok(Reply::ServerError)`.
    fn raw(&mut self, cmd: &Cmd) -> Result<Reply, Fail> {
        self.store.round_trips.fetch_add(1, Ordering::Relaxed);
        let con = self.connection()?;
        match con.req_command(cmd) {
            Ok(reply) => Ok(reply),
            Err(err) => Err(self.error(&err)),
        }
    }

    /// One command whose server error is a failure.
    fn cmd(&mut self, cmd: &Cmd) -> Result<Reply, Fail> {
        match self.raw(cmd)? {
            Reply::ServerError(err) => Err(Fail::Server(from_server(&err))),
            reply => Ok(reply),
        }
    }

    /// A non-transactional pipeline: one round trip, one reply per command, server errors
    /// in place.
    fn pipeline(&mut self, pipe: &Pipeline, count: usize) -> Result<Vec<Reply>, Fail> {
        self.store.round_trips.fetch_add(1, Ordering::Relaxed);
        let packed = pipe.get_packed_pipeline();
        let con = self.connection()?;
        match con.req_packed_commands(&packed, 0, count) {
            Ok(replies) if replies.len() == count => Ok(replies),
            Ok(replies) => Err(Fail::Unexpected(format!(
                "{} replies to a pipeline of {count}",
                replies.len()
            ))),
            Err(err) => Err(self.error(&err)),
        }
    }

    fn error(&mut self, err: &RedisError) -> Fail {
        match (err.code(), err.is_io_error() || err.is_timeout()) {
            (Some(code), false) => Fail::Server(server_error(code, err.detail())),
            _ => self.broken(err),
        }
    }

    fn int(&mut self, cmd: &Cmd, what: &str) -> Result<i64, Fail> {
        match self.cmd(cmd)? {
            Reply::Int(n) => Ok(n),
            other => Err(unexpected(what, &other)),
        }
    }

    fn ok(&mut self, cmd: &Cmd, what: &str) -> Result<(), Fail> {
        match self.cmd(cmd)? {
            Reply::Okay => Ok(()),
            Reply::SimpleString(s) if s == "OK" => Ok(()),
            other => Err(unexpected(what, &other)),
        }
    }
}

fn unexpected(what: &str, reply: &Reply) -> Fail {
    let mut text = format!("{reply:?}");
    if text.len() > 200 {
        let mut cut = 200;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("...");
    }
    Fail::Unexpected(format!("{what} replied {text}"))
}

fn bulk(reply: Reply, what: &str) -> Result<Option<Vec<u8>>, Fail> {
    match reply {
        Reply::Nil => Ok(None),
        Reply::BulkString(b) => Ok(Some(b)),
        Reply::SimpleString(s) => Ok(Some(s.into_bytes())),
        other => Err(unexpected(what, &other)),
    }
}

fn cmd(name: &str) -> Cmd {
    let mut c = Cmd::new();
    c.arg(name);
    c
}

/// `pattern` for `SCAN MATCH` / `KEYS` that matches exactly the keys starting with
/// `prefix`: its glob characters (`*`, `?`, `[`, `]`, `\`) escaped, then `*`.
pub fn prefix_glob(prefix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + 1);
    for &b in prefix {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'*');
    out
}

/// `dict(items)`: each key once, at its first position, with its last value.
fn dict_items(items: &[(String, Value)]) -> Vec<(&str, &Value)> {
    let mut out: Vec<(&str, &Value)> = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashMap::with_capacity(items.len());
    for (k, v) in items {
        match seen.get(k.as_str()) {
            Some(&i) => out[i] = (k.as_str(), v),
            None => {
                seen.insert(k.as_str(), out.len());
                out.push((k.as_str(), v));
            }
        }
    }
    out
}

/// How many keys one `DEL` or pipeline of the raw tools carries.
const BATCH: usize = 500;

impl RedisStore {
    /// A store on `config.url`. Nothing is connected yet: the first operation connects
    /// (bounded by [`RedisConfig::connect_timeout`]), and a server that is down then
    /// makes that operation fail, not this constructor.
    pub fn new(config: RedisConfig) -> Result<Self, Error> {
        if !config.flavor.is_redis() {
            return Err(Error::Config(format!(
                "flavour {:?} is not a Redis flavour",
                config.flavor
            )));
        }
        if config.flavor == StoreFlavor::Werkzeug016Redis {
            // Its replies and its protocol-3 pickles are modelled by `MemoryStore` only.
            return Err(Error::Config(
                "flavour Werkzeug016Redis (Flask-Cache 0.13) is replayed in memory only; \
                 a real server is driven as Flask-Caching 2.5 (Redis) or 2.4 (Redis24)"
                    .into(),
            ));
        }
        if config.connect_timeout.is_zero() || config.io_timeout.is_zero() {
            return Err(Error::Config("timeouts must be positive".into()));
        }
        let client = redis::Client::open(config.url.as_str())
            .map_err(|e| Error::Config(format!("{}: {e}", redact(&config.url))))?;
        Ok(RedisStore {
            place: redact(&config.url),
            client,
            config,
            idle: Mutex::new(Vec::new()),
            round_trips: AtomicU64::new(0),
        })
    }

    /// The configuration the store was made with.
    pub fn config(&self) -> &RedisConfig {
        &self.config
    }

    /// How many round trips to the server the store has made (a command, or a pipeline
    /// of commands, sent and its replies awaited), attempts that failed included. Opening
    /// a connection (the driver's own handshake) is not counted.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// The prefix in force: `CACHE_KEY_PREFIX` when it is non-empty.
    pub fn prefix(&self) -> &str {
        match &self.config.key_prefix {
            Some(p) => p,
            None => "",
        }
    }

    /// The server key for cache key `key`: prefix + key.
    pub fn stored_key(&self, key: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.prefix().len() + key.len());
        out.extend_from_slice(self.prefix().as_bytes());
        out.extend_from_slice(key.as_bytes());
        out
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A panic while the lock was held leaves at worst a connection list: keep going.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn connect(&self) -> Result<Connection, Fail> {
        let down = |e: RedisError| Fail::Down(format!("Redis at {}: {e}", self.place));
        let con = self
            .client
            .get_connection_with_timeout(self.config.connect_timeout)
            .map_err(down)?;
        con.set_read_timeout(Some(self.config.io_timeout))
            .map_err(down)?;
        con.set_write_timeout(Some(self.config.io_timeout))
            .map_err(down)?;
        Ok(con)
    }

    fn session(&self) -> Session<'_> {
        let con = self.idle().pop();
        Session { store: self, con }
    }

    fn default_normalized(&self, timeout: Option<i64>) -> i64 {
        // cachelib's `_normalize_timeout`: `None` is the default; `0` becomes `-1`, which
        // sends no `EX`.
        match timeout.unwrap_or(self.config.default_timeout) {
            0 => -1,
            t => t,
        }
    }

    fn set_cmd(&self, key: &str, value: &Value, t: i64) -> (Cmd, Vec<Vec<u8>>) {
        let mut args = vec![b"SET".to_vec(), self.stored_key(key), codec::dumps(value)];
        if t != -1 {
            args.push(b"EX".to_vec());
            args.push(t.to_string().into_bytes());
        }
        let mut c = Cmd::new();
        for a in &args {
            c.arg(a.as_slice());
        }
        (c, args)
    }

    fn load(raw: Option<Vec<u8>>) -> Result<Value, Fail> {
        codec::loads(raw.as_deref()).map_err(Fail::Decode)
    }

    fn run(&self, op: &StoreOp) -> Result<StoreReply, StoreError> {
        let mut s = self.session();
        match self.run_on(&mut s, op) {
            Ok(reply) => Ok(reply),
            Err(Ok(fail)) => Err(Error::from(fail).into()),
            Err(Err(store)) => Err(store),
        }
    }

    /// One operation, exactly as cachelib's `RedisCache` (or Flask-Caching 2.4.1's) sends
    /// it (redis_base.py).
    fn run_on(
        &self,
        s: &mut Session<'_>,
        op: &StoreOp,
    ) -> Result<StoreReply, Result<Fail, StoreError>> {
        match op {
            StoreOp::Get { key } => {
                let mut c = cmd("GET");
                c.arg(self.stored_key(key));
                let raw = bulk(s.cmd(&c).map_err(Ok)?, "GET").map_err(Ok)?;
                Ok(StoreReply::Value(Self::load(raw).map_err(Ok)?))
            }
            StoreOp::GetMany { keys } => {
                let mut c = cmd("MGET");
                for key in keys {
                    c.arg(self.stored_key(key));
                }
                // redis-py sends a bare `MGET` too, and answers `[]` to its error.
                let reply = s.raw(&c).map_err(Ok)?;
                let items = match reply {
                    Reply::ServerError(_) if keys.is_empty() => Vec::new(),
                    Reply::ServerError(err) => return Err(Ok(Fail::Server(from_server(&err)))),
                    Reply::Array(items) if items.len() == keys.len() => items,
                    other => return Err(Ok(unexpected("MGET", &other))),
                };
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    let raw = bulk(item, "MGET").map_err(Ok)?;
                    values.push(Self::load(raw).map_err(Ok)?);
                }
                Ok(StoreReply::Values(values))
            }
            StoreOp::Has { key } => {
                let mut c = cmd("EXISTS");
                c.arg(self.stored_key(key));
                Ok(StoreReply::Bool(s.int(&c, "EXISTS").map_err(Ok)? > 0))
            }
            StoreOp::Set {
                key,
                value,
                timeout,
            } => {
                let (c, _) = self.set_cmd(key, value, self.default_normalized(*timeout));
                s.ok(&c, "SET").map_err(Ok)?;
                Ok(StoreReply::Bool(true))
            }
            StoreOp::SetMany { items, timeout } => {
                let mapping = dict_items(items);
                if mapping.is_empty() {
                    // redis-py's `execute` of an empty pipeline sends nothing.
                    return Ok(StoreReply::Keys(Vec::new()));
                }
                let t = self.default_normalized(*timeout);
                let mut pipe = redis::pipe();
                let mut all_args = Vec::with_capacity(mapping.len());
                for (key, value) in &mapping {
                    let (c, args) = self.set_cmd(key, value, t);
                    pipe.add_command(c);
                    all_args.push(args);
                }
                let replies = s.pipeline(&pipe, mapping.len()).map_err(Ok)?;
                let mut set_keys = Vec::with_capacity(mapping.len());
                for (i, reply) in replies.iter().enumerate() {
                    match reply {
                        Reply::ServerError(err) => {
                            let mut py = from_server(err);
                            let args = all_args.get(i).map_or(&[][..], Vec::as_slice);
                            py.message = pipeline_error(i + 1, args, &py.message);
                            return Err(Err(StoreError::Raised(py)));
                        }
                        Reply::Okay => set_keys.push(mapping[i].0.to_owned()),
                        Reply::SimpleString(ok) if ok == "OK" => {
                            set_keys.push(mapping[i].0.to_owned())
                        }
                        Reply::Nil => {}
                        other => return Err(Ok(unexpected("SET", other))),
                    }
                }
                Ok(StoreReply::Keys(set_keys))
            }
            StoreOp::Add {
                key,
                value,
                timeout,
            } => {
                let t = self.default_normalized(*timeout);
                let mut c = cmd("SETNX");
                c.arg(self.stored_key(key)).arg(codec::dumps(value));
                let created = s.int(&c, "SETNX").map_err(Ok)? > 0;
                if created && t != -1 {
                    let mut e = cmd("EXPIRE");
                    e.arg(self.stored_key(key)).arg(t);
                    s.int(&e, "EXPIRE").map_err(Ok)?;
                }
                Ok(StoreReply::Bool(created))
            }
            StoreOp::Delete { key } => {
                let mut c = cmd("DEL");
                c.arg(self.stored_key(key));
                Ok(StoreReply::Bool(s.int(&c, "DEL").map_err(Ok)? > 0))
            }
            StoreOp::DeleteMany { keys } => self.delete_many(s, keys),
            StoreOp::Clear => {
                if self.prefix().is_empty() {
                    s.ok(&cmd("FLUSHDB"), "FLUSHDB").map_err(Ok)?;
                    return Ok(StoreReply::Bool(true));
                }
                // cachelib's own pattern: the prefix is not escaped.
                let mut pattern = self.prefix().as_bytes().to_vec();
                pattern.push(b'*');
                let mut k = cmd("KEYS");
                k.arg(pattern);
                let found = match s.cmd(&k).map_err(Ok)? {
                    Reply::Array(items) => items,
                    Reply::Set(items) => items,
                    other => return Err(Ok(unexpected("KEYS", &other))),
                };
                if found.is_empty() {
                    return Ok(StoreReply::Bool(false));
                }
                let mut d = cmd("DEL");
                for key in found {
                    match bulk(key, "KEYS").map_err(Ok)? {
                        Some(key) => d.arg(key),
                        None => return Err(Ok(Fail::Unexpected("KEYS listed nil".into()))),
                    };
                }
                Ok(StoreReply::Bool(s.int(&d, "DEL").map_err(Ok)? > 0))
            }
        }
    }

    fn delete_many(
        &self,
        s: &mut Session<'_>,
        keys: &[String],
    ) -> Result<StoreReply, Result<Fail, StoreError>> {
        if self.config.flavor == StoreFlavor::Redis24 {
            // Flask-Caching 2.4.1's `BaseCache.delete_many`: `delete` per key, stopping
            // at the first that deleted nothing (`ignore_errors` is always False there).
            let mut deleted = Vec::new();
            for key in keys {
                let mut c = cmd("DEL");
                c.arg(self.stored_key(key));
                if s.int(&c, "DEL").map_err(Ok)? == 0 {
                    break;
                }
                deleted.push(key.clone());
            }
            return Ok(StoreReply::Keys(deleted));
        }
        if keys.is_empty() {
            return Ok(StoreReply::Keys(Vec::new()));
        }
        let mut c = cmd("DEL");
        for key in keys {
            c.arg(self.stored_key(key));
        }
        s.int(&c, "DEL").map_err(Ok)?;
        // `deleted_keys = [k for k in keys if not self.has(k)]`: one EXISTS per key.
        let mut deleted = Vec::with_capacity(keys.len());
        for key in keys {
            let mut e = cmd("EXISTS");
            e.arg(self.stored_key(key));
            if s.int(&e, "EXISTS").map_err(Ok)? == 0 {
                deleted.push(key.clone());
            }
        }
        if !self.config.ignore_delete_many_errors && deleted.len() != keys.len() {
            let failed: Vec<String> = keys
                .iter()
                .filter(|k| !deleted.contains(k))
                .cloned()
                .collect();
            if !failed.is_empty() {
                return Err(Err(StoreError::DeleteManyFailed { keys: failed }));
            }
        }
        Ok(StoreReply::Keys(deleted))
    }

    // ----- Raw tools -----

    /// Every server key under the prefix (all keys without one), sorted and without
    /// repeats, listed with `SCAN … MATCH` on the escaped prefix (never `KEYS`, which
    /// blocks the server).
    pub fn scan_keys(&self) -> Result<Vec<Vec<u8>>, Error> {
        let mut s = self.session();
        Ok(self.scan_on(&mut s)?.into_iter().collect())
    }

    fn scan_on(&self, s: &mut Session<'_>) -> Result<BTreeSet<Vec<u8>>, Fail> {
        let pattern = prefix_glob(self.prefix().as_bytes());
        let mut cursor = b"0".to_vec();
        let mut keys = BTreeSet::new();
        loop {
            let mut c = cmd("SCAN");
            c.arg(cursor.as_slice())
                .arg("MATCH")
                .arg(pattern.as_slice())
                .arg("COUNT")
                .arg(1000);
            let (next, batch) = match s.cmd(&c)? {
                Reply::Array(mut parts) if parts.len() == 2 => {
                    let batch = parts.pop();
                    let next = parts.pop();
                    match (next, batch) {
                        (Some(next), Some(Reply::Array(batch))) => (next, batch),
                        _ => return Err(Fail::Unexpected("SCAN reply shape".into())),
                    }
                }
                other => return Err(unexpected("SCAN", &other)),
            };
            for key in batch {
                if let Some(key) = bulk(key, "SCAN")? {
                    keys.insert(key);
                }
            }
            cursor = match bulk(next, "SCAN")? {
                Some(c) => c,
                None => return Err(Fail::Unexpected("SCAN returned a nil cursor".into())),
            };
            if cursor == b"0" {
                return Ok(keys);
            }
        }
    }

    /// `PTTL key` of a server key: milliseconds left, `-1` without expiry, `-2` absent.
    pub fn pttl(&self, key: &[u8]) -> Result<i64, Error> {
        let mut c = cmd("PTTL");
        c.arg(key);
        Ok(self.session().int(&c, "PTTL")?)
    }

    /// `GET key` of a server key: its bytes as stored, or `None`.
    pub fn raw_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let mut c = cmd("GET");
        c.arg(key);
        let reply = self.session().cmd(&c)?;
        Ok(bulk(reply, "GET")?)
    }

    /// `SET key value [PX ms]` of a server key with raw bytes.
    pub fn raw_set(&self, key: &[u8], value: &[u8], px: Option<i64>) -> Result<(), Error> {
        let mut c = cmd("SET");
        c.arg(key).arg(value);
        if let Some(ms) = px {
            c.arg("PX").arg(ms);
        }
        Ok(self.session().ok(&c, "SET")?)
    }

    /// `DEL key` of a server key: whether it existed.
    pub fn raw_delete(&self, key: &[u8]) -> Result<bool, Error> {
        let mut c = cmd("DEL");
        c.arg(key);
        Ok(self.session().int(&c, "DEL")? > 0)
    }

    /// Deletes every key under the prefix (every key of the database without one), found
    /// with `SCAN`; returns how many were deleted.
    pub fn flush_prefix(&self) -> Result<u64, Error> {
        let mut s = self.session();
        let keys: Vec<Vec<u8>> = self.scan_on(&mut s)?.into_iter().collect();
        let mut deleted = 0u64;
        for chunk in keys.chunks(BATCH) {
            let mut c = cmd("DEL");
            for key in chunk {
                c.arg(key.as_slice());
            }
            deleted += u64::try_from(s.int(&c, "DEL")?).unwrap_or(0);
        }
        Ok(deleted)
    }

    /// Moves every deadline under the prefix `delta_ms` milliseconds earlier (later for a
    /// negative `delta_ms`), as if that much time had passed: a key whose deadline is then
    /// not after the server's clock is deleted by the server. Keys without expiry are left
    /// alone. Returns how many keys had a deadline.
    ///
    /// Deadlines are absolute (`PEXPIRETIME`, then `PEXPIREAT` of it minus `delta_ms`,
    /// Redis 7), so the shift is exact to the millisecond however long the call takes;
    /// servers before Redis 7 fall back to `PTTL` and `PEXPIRE`, where the time between
    /// the two commands (under a millisecond on loopback) is lost. The server's own clock
    /// keeps running meanwhile, as it does between any two operations.
    pub fn age(&self, delta_ms: i64) -> Result<usize, Error> {
        let mut s = self.session();
        let keys: Vec<Vec<u8>> = self.scan_on(&mut s)?.into_iter().collect();
        let mut aged = 0;
        for chunk in keys.chunks(BATCH) {
            aged += self.age_chunk(&mut s, chunk, delta_ms)?;
        }
        Ok(aged)
    }

    fn age_chunk(
        &self,
        s: &mut Session<'_>,
        keys: &[Vec<u8>],
        delta_ms: i64,
    ) -> Result<usize, Fail> {
        let mut absolute = true;
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("PEXPIRETIME").arg(key.as_slice());
        }
        let mut replies = s.pipeline(&pipe, keys.len())?;
        if replies.iter().any(|r| matches!(r, Reply::ServerError(_))) {
            absolute = false;
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.cmd("PTTL").arg(key.as_slice());
            }
            replies = s.pipeline(&pipe, keys.len())?;
        }
        let mut pipe = redis::pipe();
        let mut count = 0;
        for (key, reply) in keys.iter().zip(replies) {
            let when = match reply {
                Reply::Int(n) if n >= 0 => n,
                Reply::Int(_) => continue,
                other => return Err(unexpected("PEXPIRETIME", &other)),
            };
            let shifted = when.saturating_sub(delta_ms);
            if absolute {
                pipe.cmd("PEXPIREAT")
                    .arg(key.as_slice())
                    .arg(shifted.max(0));
            } else if shifted <= 0 {
                pipe.cmd("DEL").arg(key.as_slice());
            } else {
                pipe.cmd("PEXPIRE").arg(key.as_slice()).arg(shifted);
            }
            count += 1;
        }
        if count > 0 {
            let replies = s.pipeline(&pipe, count)?;
            if let Some(Reply::ServerError(err)) =
                replies.iter().find(|r| matches!(r, Reply::ServerError(_)))
            {
                return Err(Fail::Server(from_server(err)));
            }
        }
        Ok(count)
    }

    /// `PING`: whether the server answers (connecting if needed).
    pub fn ping(&self) -> Result<(), Error> {
        match self.session().cmd(&cmd("PING"))? {
            Reply::SimpleString(_) | Reply::Okay | Reply::BulkString(_) => Ok(()),
            other => Err(unexpected("PING", &other).into()),
        }
    }
}

impl Store for RedisStore {
    /// Executes `op` on the server as cachelib's `RedisCache` does. `now` is ignored: the
    /// server's clock decides expiry.
    fn execute(&self, op: &StoreOp, _now: Timestamp) -> Result<StoreReply, StoreError> {
        self.run(op)
    }
}

/// `url` without the credentials between `//` and `@`.
fn redact(url: &str) -> String {
    match (url.find("//"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start + 2 => {
            format!("{}//{}", &url[..start], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_errors() {
        assert_eq!(prefix_glob(b"fc[x]?_"), b"fc\\[x\\]\\?_*".to_vec());
        assert_eq!(prefix_glob(b""), b"*".to_vec());
        assert_eq!(
            server_error("ERR", Some("invalid expire time in 'set' command")),
            response_error("invalid expire time in 'set' command")
        );
        assert_eq!(
            server_error("WRONGTYPE", Some("Operation against a key")),
            response_error("WRONGTYPE Operation against a key")
        );
        assert_eq!(
            server_error("READONLY", Some("x")).kind,
            PyExceptionType::Other("ReadOnlyError".into())
        );
        assert_eq!(redact("redis://u:p@h:1/0"), "redis://h:1/0");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }

    #[test]
    fn dict_semantics() {
        let items = vec![
            ("a".to_string(), Value::int(1)),
            ("b".to_string(), Value::int(2)),
            ("a".to_string(), Value::int(3)),
        ];
        let d = dict_items(&items);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0], ("a", &Value::int(3)));
    }
}
