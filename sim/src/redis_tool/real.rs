//! [`RedisBackend`] over `flaskcache-redis`'s [`RedisStore`], and the URL rules of the
//! tools (which servers count as loopback).

use super::backend::{RedisBackend, Ttl};
use flaskcache::Store;
use flaskcache_engine::store::{StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::Value;
use flaskcache_redis::{RedisConfig, RedisStore};

/// How to reach a server and which `RedisCache` to behave as.
#[derive(Clone, Debug)]
pub struct Target {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// `CACHE_KEY_PREFIX` (`None` or `""`: no prefix).
    pub prefix: Option<String>,
    /// `Redis` (Flask-Caching 2.5) or `Redis24`.
    pub flavor: StoreFlavor,
    /// `CACHE_DEFAULT_TIMEOUT`.
    pub default_timeout: i64,
    /// `ignore_delete_many_errors`.
    pub ignore_delete_many_errors: bool,
}

/// A [`RedisStore`] seen through [`RedisBackend`].
pub struct Real {
    store: RedisStore,
}

impl Real {
    /// Opens (lazily) a store on `target`.
    pub fn open(target: &Target) -> Result<Self, String> {
        let mut config = RedisConfig::new(target.url.clone());
        config.key_prefix = target.prefix.clone();
        config.flavor = target.flavor;
        config.default_timeout = target.default_timeout;
        config.ignore_delete_many_errors = target.ignore_delete_many_errors;
        config.io_timeout = std::time::Duration::from_secs(5);
        let store = RedisStore::new(config).map_err(|e| e.to_string())?;
        store
            .ping()
            .map_err(|e| format!("{}: {e}", redact(&target.url)))?;
        Ok(Real { store })
    }

    fn stored(&self, key: &str) -> Vec<u8> {
        self.store.stored_key(key)
    }
}

impl RedisBackend for Real {
    fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        self.store.execute(op, now)
    }

    fn keys(&mut self) -> Result<Vec<String>, String> {
        let prefix = self.store.prefix().as_bytes().to_vec();
        let keys = self.store.scan_keys().map_err(|e| e.to_string())?;
        Ok(keys
            .into_iter()
            .map(|k| {
                let rest = k.strip_prefix(prefix.as_slice()).unwrap_or(&k);
                String::from_utf8_lossy(rest).into_owned()
            })
            .collect())
    }

    fn pttl(&mut self, key: &str) -> Result<Ttl, String> {
        let ms = self
            .store
            .pttl(&self.stored(key))
            .map_err(|e| e.to_string())?;
        Ok(match ms {
            -2 => Ttl::Missing,
            -1 => Ttl::Persistent,
            ms => Ttl::Millis(ms),
        })
    }

    fn get_raw(&mut self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.store
            .raw_get(&self.stored(key))
            .map_err(|e| e.to_string())
    }

    fn decode(&self, raw: &[u8]) -> Result<Value, String> {
        flaskcache_redis::codec::loads(Some(raw)).map_err(|e| e.to_string())
    }

    fn pexpire(&mut self, key: &str, ms: i64) -> Result<(), String> {
        // GET + SET PX: the tools' replays are the only writers of their prefix.
        let stored = self.stored(key);
        match self.store.raw_get(&stored).map_err(|e| e.to_string())? {
            Some(bytes) if ms > 0 => self
                .store
                .raw_set(&stored, &bytes, Some(ms))
                .map_err(|e| e.to_string()),
            Some(_) => self
                .store
                .raw_delete(&stored)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }

    fn delete(&mut self, key: &str) -> Result<bool, String> {
        self.store
            .raw_delete(&self.stored(key))
            .map_err(|e| e.to_string())
    }

    fn flush_prefix(&mut self) -> Result<usize, String> {
        self.store
            .flush_prefix()
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
            .map_err(|e| e.to_string())
    }
}

/// The URL without a password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// The host of a `redis://` / `rediss://` URL (`None` for `unix://` and unparsable ones).
pub fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("redis://")
        .or_else(|| url.strip_prefix("rediss://"))?;
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    Some(host.to_ascii_lowercase())
}

/// Whether `url` names a server on this machine: `127.0.0.0/8`, `::1`, `localhost` or a
/// `unix://` socket.
pub fn is_loopback(url: &str) -> bool {
    if url.starts_with("unix://") {
        return true;
    }
    match url_host(url) {
        Some(host) => {
            host == "localhost"
                || host == "::1"
                || host
                    .parse::<std::net::Ipv4Addr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback() {
        assert!(is_loopback("redis://127.0.0.1:16390"));
        assert!(is_loopback("redis://127.1.2.3:1/2"));
        assert!(is_loopback("redis://localhost"));
        assert!(is_loopback("redis://:pw@[::1]:6379/0"));
        assert!(is_loopback("unix:///tmp/redis.sock"));
        assert!(!is_loopback("redis://10.0.0.5:6379"));
        assert!(!is_loopback("redis://cache.prod.example.com:6379/0"));
        assert!(!is_loopback("redis://127.0.0.1.example.com"));
        assert!(!is_loopback("nonsense"));
        assert_eq!(redact("redis://u:secret@h:1/0"), "redis://***@h:1/0");
    }
}
