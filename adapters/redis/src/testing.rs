//! A private redis-server for tests of code that talks to Redis.
//!
//! [`RedisServer`] is a `redis-server` child process on `127.0.0.1`, on a free port (or a
//! given one), without persistence unless asked (`--save '' --appendonly no`), in a
//! temporary directory of its own (its `--dir`, with its log `redis.log`). It can be
//! stopped and restarted on the same port, and it is stopped (by its pid) when dropped.
//!
//! [`SharedOrOwn`] is the server at `FLASKCACHE_REDIS_URL` when that is set, else a private
//! one.
//!
//! The binary is `FLASKCACHE_REDIS_SERVER`, else `redis-server` on `PATH`. When there is
//! none, the `*_or_skip` constructors print a loud notice and return `None`, so that the
//! test can return early; with `FLASKCACHE_REQUIRE_REDIS_SERVER=1` they panic instead, so
//! that the test fails. A server that is installed but does not start is a panic.
//!
//! ```no_run
//! use flaskcache_redis::testing::RedisServer;
//! use flaskcache_redis::{RedisConfig, RedisStore};
//!
//! let Some(server) = RedisServer::start_or_skip("my_test", &[]) else {
//!     return Ok(());
//! };
//! let store = RedisStore::new(RedisConfig::new(server.url_db(0)))?;
//! assert!(server.command(&["PING"])?.contains("PONG"));
//! # let _ = store;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// The variable naming the `redis-server` binary (else it is looked up on `PATH`).
pub const BINARY_VAR: &str = "FLASKCACHE_REDIS_SERVER";
/// The variable naming a running server to share ([`SharedOrOwn`]).
pub const URL_VAR: &str = "FLASKCACHE_REDIS_URL";
/// The variable that, set to `1`, turns a skip for want of a server into a failure.
pub const REQUIRE_VAR: &str = "FLASKCACHE_REQUIRE_REDIS_SERVER";

/// How long a starting server has to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a restart keeps trying to bind the same port.
const RESTART_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound of every connect, read and write of [`RedisServer::command`].
const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts of [`RedisServer::start`] on port 0 (a free port may be taken before it binds).
const FREE_PORT_ATTEMPTS: usize = 5;

/// Why there is no server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// There is no `redis-server` to run: a test skips (or fails under
    /// `FLASKCACHE_REQUIRE_REDIS_SERVER=1`).
    NotInstalled(String),
    /// A server could not be started, restarted or talked to.
    Failed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotInstalled(why) | Error::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Error {}

/// The `redis-server` binary: `FLASKCACHE_REDIS_SERVER` when set, else `redis-server` on
/// `PATH`.
pub fn binary() -> Result<PathBuf, Error> {
    if let Some(path) = std::env::var_os(BINARY_VAR).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::NotInstalled(format!(
                "{BINARY_VAR}={} is not a file",
                path.display()
            )))
        };
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("redis-server"))
                .find(|p| p.is_file())
        })
        .ok_or_else(|| {
            Error::NotInstalled(format!("no redis-server on PATH and {BINARY_VAR} unset"))
        })
}

/// A free loopback port (the OS's choice; nothing holds it once this returns).
pub fn free_port() -> Result<u16, Error> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| Error::Failed(format!("no free loopback port: {e}")))
}

/// Whether `FLASKCACHE_REQUIRE_REDIS_SERVER=1`.
pub fn required() -> bool {
    env_is_1(REQUIRE_VAR)
}

fn env_is_1(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

/// Skips `test` loudly for want of a server, or panics when
/// `FLASKCACHE_REQUIRE_REDIS_SERVER=1`.
pub fn skip(test: &str, why: &dyn fmt::Display) {
    skip_unless_required(REQUIRE_VAR, test, why);
}

/// Skips `test` loudly for want of something it needs (a server, an interpreter), or
/// panics when the variable `require` is `1`. The same notice as [`skip`]'s.
pub fn skip_unless_required(require: &str, test: &str, why: &dyn fmt::Display) {
    if env_is_1(require) {
        panic!("{test}: {why} ({require}=1: this test must run)");
    }
    eprintln!(
        "\n!!!!!!!! {test}: SKIPPED: {why} (set {require}=1 to make this a failure) !!!!!!!!\n"
    );
}

/// A `redis-server` child process on `127.0.0.1`, stopped (by its pid) when dropped.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    binary: PathBuf,
    port: u16,
    args: Vec<String>,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on `port` (0: a free one, tried again on another if it was taken
    /// meanwhile) with `--save '' --appendonly no` and then `extra` (which may override
    /// them), and waits until it answers `PING`.
    pub fn start(port: u16, extra: &[&str]) -> Result<RedisServer, Error> {
        let binary = binary()?;
        if port != 0 {
            return RedisServer::launch_new(&binary, port, extra);
        }
        let mut last = None;
        for _ in 0..FREE_PORT_ATTEMPTS {
            match RedisServer::launch_new(&binary, free_port()?, extra) {
                Ok(server) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(Error::Failed(format!(
            "redis-server did not start on a free port in {FREE_PORT_ATTEMPTS} attempts; the last: {}",
            last.map_or_else(String::new, |e| e.to_string())
        )))
    }

    /// [`RedisServer::start`] on a free port, or `None` after a loud notice ([`skip`]) when
    /// there is no `redis-server`. Panics when one is required, or when it does not start.
    pub fn start_or_skip(test: &str, extra: &[&str]) -> Option<RedisServer> {
        match RedisServer::start(0, extra) {
            Ok(server) => Some(server),
            Err(why @ Error::NotInstalled(_)) => {
                skip(test, &why);
                None
            }
            Err(why) => panic!("{test}: {why}"),
        }
    }

    fn launch_new(binary: &Path, port: u16, extra: &[&str]) -> Result<RedisServer, Error> {
        let dir = std::env::temp_dir().join(format!(
            "flaskcache-redis-test-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| {
            Error::Failed(format!("redis-server's directory {}: {e}", dir.display()))
        })?;
        let mut server = RedisServer {
            child: None,
            binary: binary.to_owned(),
            port,
            args: extra.iter().map(|s| (*s).to_owned()).collect(),
            dir,
        };
        server.launch()?;
        Ok(server)
    }

    /// Spawns the process and waits until it answers `PING`.
    fn launch(&mut self) -> Result<(), Error> {
        let port = self.port.to_string();
        let dir = self.dir.to_string_lossy().into_owned();
        let mut args = vec![
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ];
        args.extend(self.args.iter().map(String::as_str));
        args.extend(["--dir", &dir, "--logfile", "redis.log"]);
        let child = Command::new(&self.binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                Error::Failed(format!(
                    "{} could not be started: {e}",
                    self.binary.display()
                ))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(exited) = self.child.as_mut().map(Child::try_wait) {
                match exited {
                    Ok(None) => {}
                    Ok(Some(status)) => {
                        self.child = None;
                        return Err(Error::Failed(format!(
                            "redis-server on port {} exited at once ({status}){}",
                            self.port,
                            self.log_tail()
                        )));
                    }
                    Err(e) => {
                        self.stop();
                        return Err(Error::Failed(format!(
                            "redis-server on port {}: waiting for it: {e}",
                            self.port
                        )));
                    }
                }
            }
            if self.command(&["PING"]).is_ok_and(|r| r.contains("PONG")) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        Err(Error::Failed(format!(
            "redis-server on port {} did not answer PING within {} s{}",
            self.port,
            START_TIMEOUT.as_secs(),
            self.log_tail()
        )))
    }

    /// The last lines of the server's log, for error messages.
    fn log_tail(&self) -> String {
        let path = self.dir.join("redis.log");
        let Ok(log) = std::fs::read_to_string(&path) else {
            return String::new();
        };
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("\n  ");
        format!("; {}:\n  {tail}", path.display())
    }

    /// Stops the server if it is running, then starts it again on the same port, with the
    /// same arguments and directory (a persistent server finds its data again), trying for
    /// up to 10 s while the port is not free yet.
    pub fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        let deadline = Instant::now() + RESTART_TIMEOUT;
        loop {
            match self.launch() {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    return Err(Error::Failed(format!("restarting: {e}")))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Kills the server (SIGKILL, by its pid) and waits for it; nothing when it is not
    /// running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // It may have exited already: nothing to kill then, and `wait` reaps it.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Whether the process is running (it has not been stopped).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT` (the client's default database, 0).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `redis://127.0.0.1:PORT/DB`.
    pub fn url_db(&self, db: u8) -> String {
        format!("{}/{db}", self.url())
    }

    /// Sends one command (`args`, the verb first) on a new connection and returns the reply
    /// as the server sent it, decoded as UTF-8 (lossily): `+PONG\r\n`, `:0\r\n`, ...
    pub fn command(&self, args: &[&str]) -> Result<String, Error> {
        command(self.port, args)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        // Best effort: a directory left behind in the temporary directory is harmless.
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One command to the server on `127.0.0.1:port`; its reply as sent (see
/// [`RedisServer::command`]).
fn command(port: u16, args: &[&str]) -> Result<String, Error> {
    let failed =
        |what: &str, e: std::io::Error| Error::Failed(format!("127.0.0.1:{port}: {what}: {e}"));
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream =
        TcpStream::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| failed("connecting", e))?;
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| failed("setting timeouts", e))?;
    let mut request = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        request.extend(format!("${}\r\n", arg.len()).bytes());
        request.extend(arg.bytes());
        request.extend(b"\r\n");
    }
    stream
        .write_all(&request)
        .map_err(|e| failed("sending", e))?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(len) =
            reply_len(&reply).map_err(|why| Error::Failed(format!("127.0.0.1:{port}: {why}")))?
        {
            reply.truncate(len);
            return Ok(String::from_utf8_lossy(&reply).into_owned());
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                return Err(Error::Failed(format!(
                    "127.0.0.1:{port}: the connection closed before a whole reply"
                )))
            }
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(failed("reading the reply", e)),
        }
    }
}

/// How deeply a reply's aggregates may nest before it is refused as malformed (a server's
/// replies to the tests' commands nest a level or two).
const MAX_REPLY_DEPTH: usize = 64;

/// The length of the complete RESP value at the start of `buf`: `Ok(None)` while it is
/// incomplete, `Err` when it cannot be a reply (a header that is not a number, a count
/// whose size overflows, aggregates nested more than [`MAX_REPLY_DEPTH`] deep).
fn reply_len(buf: &[u8]) -> Result<Option<usize>, String> {
    reply_len_at(buf, 0)
}

fn reply_len_at(buf: &[u8], depth: usize) -> Result<Option<usize>, String> {
    let Some(line_end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let after_line = line_end + 2;
    let header = || String::from_utf8_lossy(&buf[..line_end]).into_owned();
    let number = || -> Result<i64, String> {
        std::str::from_utf8(&buf[1..line_end])
            .ok()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("malformed reply header {:?}", header()))
    };
    let too_big = || format!("reply header {:?}: the size overflows", header());
    let Some(kind) = buf.first() else {
        return Ok(None);
    };
    match kind {
        // Blob strings: the length, the bytes, CRLF; -1 is the null one.
        b'$' | b'=' | b'!' => match number()? {
            n if n < 0 => Ok(Some(after_line)),
            n => {
                let end = usize::try_from(n)
                    .ok()
                    .and_then(|n| after_line.checked_add(n))
                    .and_then(|end| end.checked_add(2))
                    .ok_or_else(too_big)?;
                Ok((buf.len() >= end).then_some(end))
            }
        },
        // Aggregates: the count, then that many values (twice for a map).
        agg @ (b'*' | b'~' | b'>' | b'%') => {
            if depth >= MAX_REPLY_DEPTH {
                return Err(format!(
                    "reply nested more than {MAX_REPLY_DEPTH} aggregates deep"
                ));
            }
            let count = number()?;
            let count = if count < 0 {
                0
            } else {
                usize::try_from(count).map_err(|_| too_big())?
            };
            let count = if *agg == b'%' {
                count.checked_mul(2).ok_or_else(too_big)?
            } else {
                count
            };
            let mut at = after_line;
            for _ in 0..count {
                match reply_len_at(&buf[at..], depth + 1)? {
                    Some(len) => at += len,
                    None => return Ok(None),
                }
            }
            Ok(Some(at))
        }
        // Everything else is one line (`+`, `-`, `:`, `_`, `,`, `#`, `(`).
        _ => Ok(Some(after_line)),
    }
}

/// A server to use: the one at `FLASKCACHE_REDIS_URL`, shared with whatever else uses it
/// (tests keep to keys or databases of their own), or a private one.
#[derive(Debug)]
pub enum SharedOrOwn {
    /// The one at `FLASKCACHE_REDIS_URL`, as given.
    Shared(String),
    /// One started for the test ([`RedisServer`]).
    Own(RedisServer),
}

impl SharedOrOwn {
    /// The server at `FLASKCACHE_REDIS_URL` when set (and not empty), else a new private
    /// one ([`RedisServer::start`] on a free port, with `extra`).
    pub fn acquire(extra: &[&str]) -> Result<SharedOrOwn, Error> {
        if let Some(url) = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty()) {
            return Ok(SharedOrOwn::Shared(url));
        }
        match RedisServer::start(0, extra) {
            Ok(server) => Ok(SharedOrOwn::Own(server)),
            Err(Error::NotInstalled(why)) => {
                Err(Error::NotInstalled(format!("{why}, and {URL_VAR} unset")))
            }
            Err(e) => Err(e),
        }
    }

    /// [`SharedOrOwn::acquire`], or `None` after a loud notice ([`skip`]) when there is
    /// neither a shared server nor a `redis-server`. Panics when one is required, or when
    /// it does not start.
    pub fn acquire_or_skip(test: &str) -> Option<SharedOrOwn> {
        match SharedOrOwn::acquire(&[]) {
            Ok(server) => Some(server),
            Err(why @ Error::NotInstalled(_)) => {
                skip(test, &why);
                None
            }
            Err(why) => panic!("{test}: {why}"),
        }
    }

    /// [`SharedOrOwn::acquire_or_skip`], but one server for all the callers in the process
    /// that hold it at the same time: the first starts it (or takes the shared one), and the
    /// last one to drop its handle stops it. Tests running in parallel share one private
    /// server this way, and none outlives them.
    pub fn in_process_or_skip(test: &str) -> Option<Arc<SharedOrOwn>> {
        static HELD: Mutex<Weak<SharedOrOwn>> = Mutex::new(Weak::new());
        let mut held = HELD.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(server) = held.upgrade() {
            return Some(server);
        }
        let server = Arc::new(SharedOrOwn::acquire_or_skip(test)?);
        *held = Arc::downgrade(&server);
        Some(server)
    }

    /// The shared server's URL as given, or `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        match self {
            SharedOrOwn::Shared(url) => url.clone(),
            SharedOrOwn::Own(server) => server.url(),
        }
    }

    /// The URL of database `db` (a shared URL's own database number replaced).
    pub fn url_db(&self, db: u8) -> String {
        match self {
            SharedOrOwn::Shared(url) => {
                let base = match url.split_once("://") {
                    Some((scheme, rest)) => match rest.split_once('/') {
                        Some((authority, _)) => format!("{scheme}://{authority}"),
                        None => url.clone(),
                    },
                    None => url.clone(),
                };
                format!("{base}/{db}")
            }
            SharedOrOwn::Own(server) => server.url_db(db),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_lengths() {
        assert_eq!(reply_len(b"+PONG\r\n"), Ok(Some(7)));
        assert_eq!(reply_len(b"+PON"), Ok(None));
        assert_eq!(reply_len(b""), Ok(None));
        assert_eq!(reply_len(b":0\r\nrest"), Ok(Some(4)));
        assert_eq!(reply_len(b"$-1\r\n"), Ok(Some(5)));
        assert_eq!(reply_len(b"$3\r\nab"), Ok(None));
        assert_eq!(reply_len(b"$3\r\nabc\r\n"), Ok(Some(9)));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n"), Ok(None));
        assert_eq!(reply_len(b"*2\r\n$1\r\na\r\n:1\r\n"), Ok(Some(15)));
        assert_eq!(reply_len(b"*-1\r\n"), Ok(Some(5)));
        assert_eq!(reply_len(b"%1\r\n+a\r\n:1\r\n"), Ok(Some(12)));
        assert_eq!(reply_len(b"%1\r\n+a\r\n"), Ok(None));
    }

    /// A reply that cannot be is an error, not an overflow, an endless wait or a stack
    /// overflow.
    #[test]
    fn malformed_replies_are_errors() {
        let err = |buf: &[u8]| reply_len(buf).unwrap_err();
        // The largest counts are merely incomplete (their sizes are checked, not wrapped).
        assert_eq!(reply_len(b"%9223372036854775807\r\n"), Ok(None));
        assert_eq!(reply_len(b"%9223372036854775807\r\n+a\r\n:1\r\n"), Ok(None));
        assert_eq!(reply_len(b"$9223372036854775807\r\n"), Ok(None));
        assert!(err(b"*x\r\n").contains("malformed reply header"));
        assert!(err(b"$\r\n").contains("malformed reply header"));
        let deep = "*1\r\n".repeat(100_000);
        assert!(err(deep.as_bytes()).contains("nested more than 64"));
        let ok = format!("{}:1\r\n", "*1\r\n".repeat(64));
        assert_eq!(reply_len(ok.as_bytes()), Ok(Some(ok.len())));
        let over = format!("{}:1\r\n", "*1\r\n".repeat(65));
        assert!(err(over.as_bytes()).contains("nested more than 64"));
    }

    #[test]
    fn shared_url_of_a_database() {
        let shared = |url: &str| SharedOrOwn::Shared(url.to_owned());
        assert_eq!(
            shared("redis://127.0.0.1:6379/0").url_db(9),
            "redis://127.0.0.1:6379/9"
        );
        assert_eq!(
            shared("redis://127.0.0.1:6379").url_db(3),
            "redis://127.0.0.1:6379/3"
        );
        assert_eq!(
            shared("redis://127.0.0.1:6379/0").url(),
            "redis://127.0.0.1:6379/0"
        );
    }
}
