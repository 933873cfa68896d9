//! A redis-server of the test's own on a free loopback port.
//!
//! The binary is `FLASKCACHE_REDIS_SERVER`, else `redis-server` on `PATH`. Without one the
//! tests skip with a loud notice, unless `FLASKCACHE_REQUIRE_REDIS_SERVER=1`, which makes
//! them fail. The server is stopped (by its pid) when the handle is dropped.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flaskcache_engine::StoreFlavor;
use flaskcache_redis::{RedisConfig, RedisStore};

/// A running redis-server.
pub struct Server {
    child: Child,
    /// Its loopback port.
    pub port: u16,
    binary: PathBuf,
}

fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FLASKCACHE_REDIS_SERVER") {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("redis-server"))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

impl Server {
    /// Starts a server, or returns `None` (after a notice) when there is no binary and it
    /// is not required.
    pub fn start(test: &str) -> Option<Server> {
        let Some(binary) = binary() else {
            let required = std::env::var("FLASKCACHE_REQUIRE_REDIS_SERVER").as_deref() == Ok("1");
            assert!(
                !required,
                "{test}: FLASKCACHE_REQUIRE_REDIS_SERVER=1 but no redis-server found"
            );
            eprintln!(
                "\n!!!!!!!! {test}: SKIPPED: no redis-server on PATH and FLASKCACHE_REDIS_SERVER unset !!!!!!!!\n"
            );
            return None;
        };
        for _ in 0..5 {
            let port = free_port();
            if let Some(server) = Server::start_on(&binary, port) {
                return Some(server);
            }
        }
        panic!("{test}: could not start redis-server");
    }

    fn start_on(binary: &PathBuf, port: u16) -> Option<Server> {
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut server = Server {
            child,
            port,
            binary: binary.clone(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = server.child.try_wait() {
                return None;
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        server.stop();
        None
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// A store on this server.
    pub fn store(&self, prefix: Option<&str>, flavor: StoreFlavor) -> RedisStore {
        let config = RedisConfig {
            key_prefix: prefix.map(str::to_owned),
            flavor,
            connect_timeout: Duration::from_millis(300),
            io_timeout: Duration::from_millis(500),
            ..RedisConfig::new(self.url())
        };
        RedisStore::new(config).unwrap()
    }

    /// Kills the server (by pid) and waits for it.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a fresh server on the same port (after [`Server::stop`]).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(fresh) = Server::start_on(&self.binary, self.port) {
                let old = std::mem::replace(self, fresh);
                drop(old);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("could not restart redis-server on port {}", self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
