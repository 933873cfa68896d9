//! [`RedisBackend`] over `flaskcache-redis`'s [`RedisStore`], and the URL rules of the
//! tools (which servers count as loopback).

use super::backend::{RedisBackend, Ttl};
use flaskcache::Store;
use flaskcache_engine::store::{StoreError, StoreFlavor, StoreOp, StoreReply, Timestamp};
use flaskcache_engine::Value;
use flaskcache_redis::{RedisConfig, RedisStore};
use std::collections::{HashMap, HashSet};

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
    /// The server keys (prefix included) behind the names [`RedisBackend::keys`] last
    /// listed that are not UTF-8: the name shown is lossy (`U+FFFD` for each bad
    /// sequence), the lookups use the key itself.
    raw_names: HashMap<String, Vec<u8>>,
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
        Ok(Real {
            store,
            raw_names: HashMap::new(),
        })
    }

    /// The server key of `key`: the one listed under that name when it was not UTF-8,
    /// else the prefix and `key`.
    fn stored(&self, key: &str) -> Vec<u8> {
        match self.raw_names.get(key) {
            Some(raw) => raw.clone(),
            None => self.store.stored_key(key),
        }
    }
}

impl RedisBackend for Real {
    fn execute(&mut self, op: &StoreOp, now: Timestamp) -> Result<StoreReply, StoreError> {
        self.store.execute(op, now)
    }

    fn keys(&mut self) -> Result<Vec<String>, String> {
        let prefix = self.store.prefix().as_bytes().to_vec();
        let keys = self.store.scan_keys().map_err(|e| e.to_string())?;
        let mut names = Vec::with_capacity(keys.len());
        let mut utf8: HashSet<String> = HashSet::new();
        let mut lossy: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for key in keys {
            let rest = key.strip_prefix(prefix.as_slice()).unwrap_or(&key);
            let name = match std::str::from_utf8(rest) {
                Ok(name) => {
                    utf8.insert(name.to_owned());
                    name.to_owned()
                }
                Err(_) => {
                    let name = String::from_utf8_lossy(rest).into_owned();
                    lossy.entry(name.clone()).or_default().push(key);
                    name
                }
            };
            names.push(name);
        }
        // A lossy name is looked up as its key when that key is the only one shown under
        // it (no UTF-8 key has the same text, no other key the same lossy text).
        self.raw_names = lossy
            .into_iter()
            .filter(|(name, raw)| raw.len() == 1 && !utf8.contains(name))
            .filter_map(|(name, raw)| raw.into_iter().next().map(|raw| (name, raw)))
            .collect();
        Ok(names)
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

/// The URL without its user information (user name and password), for messages.
///
/// The authority ends at the first `/`, `?` or `#` after the scheme, as the URL parser
/// reads it: an `@` in the path, query or fragment is not the end of a password.
pub fn redact(url: &str) -> String {
    let Some(scheme) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme + 3..];
    let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_len].rfind('@') {
        Some(at) => format!("{}://***@{}", &url[..scheme], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// Whether `url` names a server on this machine: a host in `127.0.0.0/8`, `::1` or
/// `localhost`, or a Unix socket.
///
/// The address is the one the driver connects to: the URL goes through the same parser
/// ([`redis::IntoConnectionInfo`]), so a URL whose text merely contains a loopback name
/// (in a fragment, a query, a user name) is judged by the host it really names. A URL the
/// driver does not accept is not loopback.
pub fn is_loopback(url: &str) -> bool {
    use redis::{ConnectionAddr, IntoConnectionInfo};
    let Ok(info) = url.into_connection_info() else {
        return false;
    };
    match info.addr() {
        ConnectionAddr::Tcp(host, _) | ConnectionAddr::TcpTls { host, .. } => {
            is_loopback_host(host)
        }
        ConnectionAddr::Unix(_) => true,
        // Kinds of address the driver may add (the enum is non-exhaustive): not known to
        // be local.
        _ => false,
    }
}

/// Whether a host, as the driver holds it (an IPv6 address without brackets), is this
/// machine's loopback.
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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

    /// The host is the one the driver connects to, not a loopback name elsewhere in the URL.
    #[test]
    fn loopback_is_the_drivers_host() {
        for remote in [
            "redis://prod.example.com:6379/0#@127.0.0.1",
            "redis://10.0.0.5:6379/0?x=@localhost",
            "redis://127.0.0.1.evil.com",
            "redis://localhost.evil.com:6379",
            "redis://[::2]:6379",
            "redis://user@localhost@prod.example.com",
            "http://127.0.0.1:6379",
            "redis://0.0.0.0:6379",
        ] {
            assert!(!is_loopback(remote), "{remote}");
        }
        for local in [
            "redis://127.0.0.1:6379",
            "redis://localhost",
            "redis://LocalHost:6379/1",
            "redis://[::1]:6379",
            "redis+unix:///tmp/x.sock",
            "unix:///tmp/x.sock?db=2",
            "redis://user:pw@127.0.0.1:1/0",
            "redis://:p%40ss@127.0.0.1:1/0",
        ] {
            assert!(is_loopback(local), "{local}");
        }
        // Messages show the host that is connected to.
        assert_eq!(
            redact("redis://prod.example.com:6379/0#@127.0.0.1"),
            "redis://prod.example.com:6379/0#@127.0.0.1"
        );
        assert_eq!(
            redact("redis://10.0.0.5:6379/0?x=@localhost"),
            "redis://10.0.0.5:6379/0?x=@localhost"
        );
        assert_eq!(redact("redis://a@b:pw@h:1"), "redis://***@h:1");
        assert_eq!(redact("unix:///tmp/x.sock"), "unix:///tmp/x.sock");
    }

    /// A key that is not UTF-8 is listed under a lossy name, and that name reaches the key
    /// itself: its value, its TTL, its deletion.
    #[test]
    fn keys_that_are_not_utf8_are_looked_up_as_themselves() {
        let Some(server) =
            flaskcache_redis::testing::RedisServer::start_or_skip("real::non_utf8_keys", &[])
        else {
            return;
        };
        let mut real = Real::open(&Target {
            url: server.url_db(0),
            prefix: Some("p:".into()),
            flavor: StoreFlavor::Redis,
            default_timeout: 300,
            ignore_delete_many_errors: false,
        })
        .expect("open");
        let pickled = |v: &Value| flaskcache_redis::codec::dumps(v);
        let store = &real.store;
        store
            .raw_set(b"p:bad\xff", &pickled(&Value::int(1)), Some(60_000))
            .expect("set");
        store
            .raw_set(b"p:ok", &pickled(&Value::int(2)), None)
            .expect("set");
        // Two keys with one lossy name, and a UTF-8 key spelling a lossy name: ambiguous,
        // so those names are looked up as UTF-8 (and find nothing, or the UTF-8 key).
        store
            .raw_set(b"p:two\xfe", &pickled(&Value::int(3)), None)
            .expect("set");
        store
            .raw_set(b"p:two\xfd", &pickled(&Value::int(4)), None)
            .expect("set");
        store
            .raw_set(b"p:u\xff", &pickled(&Value::int(5)), None)
            .expect("set");
        store
            .raw_set("p:u\u{fffd}".as_bytes(), &pickled(&Value::int(6)), None)
            .expect("set");
        let keys = real.keys().expect("keys");
        assert_eq!(
            keys,
            [
                "bad\u{fffd}",
                "ok",
                "two\u{fffd}",
                "two\u{fffd}",
                "u\u{fffd}",
                "u\u{fffd}"
            ]
        );
        let value = |real: &mut Real, key: &str| {
            real.get_raw(key)
                .expect("get")
                .map(|raw| real.decode(&raw).expect("decode"))
        };
        assert_eq!(value(&mut real, "bad\u{fffd}"), Some(Value::int(1)));
        assert!(matches!(real.pttl("bad\u{fffd}"), Ok(Ttl::Millis(ms)) if ms > 0));
        assert_eq!(value(&mut real, "ok"), Some(Value::int(2)));
        assert_eq!(value(&mut real, "two\u{fffd}"), None);
        assert_eq!(value(&mut real, "u\u{fffd}"), Some(Value::int(6)));
        real.pexpire("bad\u{fffd}", 30_000).expect("pexpire");
        assert!(matches!(real.pttl("bad\u{fffd}"), Ok(Ttl::Millis(ms)) if ms <= 30_000));
        assert_eq!(real.delete("bad\u{fffd}"), Ok(true));
        assert_eq!(
            real.store.raw_get(b"p:bad\xff").expect("get"),
            None,
            "the key itself is deleted"
        );
        assert_eq!(real.flush_prefix(), Ok(5));
    }
}
