//! What the Flask interop tests share: a real redis-server (the one at
//! `FLASKCACHE_REDIS_URL`, or one of their own on a free loopback port, from
//! [`flaskcache_redis::testing`]), the Python of each Flask-Caching profile, and the driver
//! of `shop_app.py` run in a new process.
//!
//! A missing server or interpreter is a loud skip, and a failure when
//! `FLASKCACHE_REQUIRE_REDIS_SERVER=1` (server) or `FLASKCACHE_REQUIRE_REDIS=1` (venvs).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// A redis-server child process on 127.0.0.1 (stopped, by its pid, when dropped).
#[allow(unused_imports)] // fault_vs_flask.rs's, not flask_interop.rs's
pub use flaskcache_redis::testing::RedisServer as OwnServer;
use flaskcache_redis::testing::{self, SharedOrOwn};

/// One test at a time in a binary: they share the server and read its global
/// `INFO commandstats`.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Skips the test loudly, or fails it when `require` names a variable set to 1.
pub fn skip(require: &str, why: &dyn std::fmt::Display) {
    let test = std::thread::current()
        .name()
        .unwrap_or("flask_interop")
        .to_owned();
    testing::skip_unless_required(require, &test, why);
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory of the Python side.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/flask_interop")
}

/// A Flask-Caching release the tests run against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fc {
    /// Flask-Caching 2.5.1.
    V25,
    /// Flask-Caching 2.4.1.
    V24,
}

impl Fc {
    /// The profile's name, as in keys prefixes and messages.
    pub fn name(self) -> &'static str {
        match self {
            Fc::V25 => "2.5",
            Fc::V24 => "2.4",
        }
    }

    /// The version `importlib.metadata` reports.
    pub fn version(self) -> &'static str {
        match self {
            Fc::V25 => "2.5.1",
            Fc::V24 => "2.4.1",
        }
    }

    /// The interpreter of the profile's RedisCache venv, or `None` (skipped) when missing.
    pub fn python(self) -> Option<PathBuf> {
        let (var, venv) = match self {
            Fc::V25 => ("FLASKCACHE_PY_FC25_REDIS", ".venv-fc25-redis"),
            Fc::V24 => ("FLASKCACHE_PY_FC24_REDIS", ".venv-fc24-redis"),
        };
        let path = std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join(venv).join("bin/python"));
        if path.is_file() {
            Some(path)
        } else {
            skip(
                "FLASKCACHE_REQUIRE_REDIS",
                &format!(
                    "no Python with Flask-Caching {} and redis at {} (scripts/python-env.sh creates it; or set {var})",
                    self.version(),
                    path.display()
                ),
            );
            None
        }
    }
}

/// A redis-server these tests may use: the one at `FLASKCACHE_REDIS_URL` (shared: tests
/// only touch keys under their own prefixes), or one started here.
pub struct Server(SharedOrOwn);

impl Server {
    /// The server at `FLASKCACHE_REDIS_URL`, else a new one when there is a
    /// `redis-server`, else `None` (skipped loudly, or a failure under
    /// `FLASKCACHE_REQUIRE_REDIS_SERVER=1`).
    pub fn acquire() -> Option<Server> {
        match SharedOrOwn::acquire(&[]) {
            Ok(server) => Some(Server(server)),
            Err(why) => {
                skip(testing::REQUIRE_VAR, &why);
                None
            }
        }
    }

    /// The shared server's URL, or `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.0.url()
    }
}

/// A free loopback port (the OS's choice; redis-server binds it right after).
pub fn free_port() -> u16 {
    testing::free_port().unwrap_or_else(|e| panic!("{e}"))
}

/// A plain connection for inspection (keys, `INFO`).
pub fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .unwrap_or_else(|e| panic!("connecting to {url}: {e}"))
}

/// The keys under `prefix`, sorted.
pub fn keys(url: &str, prefix: &str) -> Vec<String> {
    let mut con = connect(url);
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut con)
        .expect("KEYS");
    keys.sort();
    keys
}

/// Deletes every key under `prefix` (each test starts from an empty namespace).
pub fn clear(url: &str, prefix: &str) {
    let keys = keys(url, prefix);
    if !keys.is_empty() {
        let mut con = connect(url);
        let _: i64 = redis::cmd("DEL").arg(&keys).query(&mut con).expect("DEL");
    }
}

/// The commands the server has executed, `INFO` excluded (`INFO commandstats`).
pub fn commands(con: &mut redis::Connection) -> u64 {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(con)
        .expect("INFO commandstats");
    info.lines()
        .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info:"))
        .filter_map(|l| {
            l.split_once("calls=")?
                .1
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// Runs `driver.py MODE --url URL --prefix PREFIX [extra]` in a new process; its JSON.
pub fn driver(py: &Path, mode: &str, url: &str, prefix: &str, extra: &[&str]) -> serde_json::Value {
    driver_env(py, mode, url, prefix, extra, &[])
}

/// [`driver`] with extra environment variables (`SHOP_DB`).
pub fn driver_env(
    py: &Path,
    mode: &str,
    url: &str,
    prefix: &str,
    extra: &[&str],
    env: &[(&str, &Path)],
) -> serde_json::Value {
    let out = Command::new(py)
        .arg(python_dir().join("driver.py"))
        .args([mode, "--url", url, "--prefix", prefix])
        .args(extra)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", py.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "driver.py {mode} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("driver.py {mode} printed no JSON ({e}):\n{stdout}"))
}

/// `driver.py serve`: one JSON command in, one JSON reply out.
pub struct Served {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Served {
    /// Starts `driver.py serve` and waits for its ready line.
    pub fn start(py: &Path, url: &str, prefix: &str) -> Served {
        let mut child = Command::new(py)
            .arg(python_dir().join("driver.py"))
            .args(["serve", "--url", url, "--prefix", prefix])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", py.display()));
        let stdin = child.stdin.take().expect("driver stdin");
        let stdout = BufReader::new(child.stdout.take().expect("driver stdout"));
        let mut served = Served {
            child,
            stdin,
            stdout,
        };
        let ready = served.read();
        assert_eq!(ready["ready"], true, "driver.py serve: {ready}");
        served
    }

    fn read(&mut self) -> serde_json::Value {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("reading driver.py serve");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("driver.py serve said {line:?}: {e}"))
    }

    /// Sends one command; its reply.
    pub fn send(&mut self, command: serde_json::Value) -> serde_json::Value {
        writeln!(self.stdin, "{command}").expect("writing to driver.py serve");
        self.stdin.flush().expect("writing to driver.py serve");
        self.read()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", serde_json::json!({"op": "quit"}));
        let _ = self.stdin.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
