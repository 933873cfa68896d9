//! A redis-server of the test's own on a free loopback port:
//! [`flaskcache_redis::testing::RedisServer`], which also says when the tests skip (no
//! redis-server) and when they fail instead (`FLASKCACHE_REQUIRE_REDIS_SERVER=1`).

#![allow(dead_code)]

use std::time::Duration;

use flaskcache_engine::StoreFlavor;
use flaskcache_redis::testing::RedisServer;
use flaskcache_redis::{RedisConfig, RedisStore};

/// A running redis-server, stopped when dropped.
pub struct Server {
    server: RedisServer,
    /// Its loopback port.
    pub port: u16,
}

impl Server {
    /// Starts a server, or returns `None` (after a notice) when there is no binary and it
    /// is not required.
    pub fn start(test: &str) -> Option<Server> {
        let server = RedisServer::start_or_skip(test, &[])?;
        Some(Server {
            port: server.port(),
            server,
        })
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        self.server.url_db(0)
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
        self.server.stop();
    }

    /// Starts a fresh server on the same port (after [`Server::stop`]).
    pub fn restart(&mut self) {
        if let Err(e) = self.server.restart() {
            panic!("{e}");
        }
    }
}
