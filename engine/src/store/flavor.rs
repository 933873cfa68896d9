//! Which backend a [`MemoryStore`](super::MemoryStore) reproduces (a `SimpleCache`, FC-4.3,
//! or a `RedisCache`, FC-4.5), and the few rules that differ between them.

use std::cmp::Ordering;

use super::time::Timestamp;

const MICROS_PER_SEC: i128 = 1_000_000;
/// The first instant no [`Timestamp`] reaches.
const PAST_LAST_INSTANT: i128 = i64::MAX as i128 + 1;
const FIRST_INSTANT: i128 = i64::MIN as i128;

/// The backend a [`MemoryStore`](super::MemoryStore) behaves as (FC-4.3, FC-4.5).
///
/// The `SimpleCache`s keep entries in a dict in insertion order; the `RedisCache`s keep a
/// Redis keyspace. They differ only in a few rules, consulted where they apply:
///
/// | | `Cachelib` | `FlaskCaching24` | `Werkzeug016` | `Redis` | `Redis24` | `Werkzeug016Redis` |
/// |---|---|---|---|---|---|---|
/// | `expires` for `timeout > 0` | `int(time()) + timeout` | same | `time() + timeout` (float) | `time() + timeout` (float, `EX`) | same | same (`SETEX`) |
/// | alive while | `time() < expires` | same | same | `time() <= expires` | same | same |
/// | `timeout` `0` / `-1` / `<= -2` | never / dead / dead | same | same | never / never / raises | same | same |
/// | key prefix | as configured (none in Flask-Caching) | same | same | `CACHE_KEY_PREFIX` if truthy | same | same |
/// | threshold `0` | means 500 | means 500 | prunes whenever non-empty | no pruning | no pruning | no pruning |
/// | pruning | expired, then oldest expiry first | same | expired and every third entry | none | none | none |
/// | `add` refuses | a live key | a live key | any stored key, dead ones too | a live key (`SETNX`) | same | same; `0`/`-1` create, then delete |
/// | `has`, `delete` | `bool` | same | same | `bool` (`delete` of a dead entry: `False`) | same | `int` (`EXISTS`, `DEL` count) |
/// | `delete_many` | deleted or absent keys; may raise | deleted keys, stops at a miss | `bool`, stops at a miss | every key given (`DEL`, then `EXISTS`) | deleted keys, stops at a miss | `DEL` count (`None` for no keys) |
/// | `set_many` | keys set | keys set | `True` | keys set (pipeline) | same | one `True` per key (pipeline) |
/// | `clear` | `True` | `True` | `None` | `KEYS prefix*` + `DEL`: whether any; `FLUSHDB` without prefix: `True` | same | `KEYS` + `DEL`: the count, `False` if none; `FLUSHDB`: `True` |
/// | a key that is not a `str` | a dict key | same | same | formatted into the name | same | `TypeError` (`prefix + key`) |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StoreFlavor {
    /// cachelib 0.17.0's `SimpleCache`, the backend of Flask-Caching 2.5.x (FC-4.3).
    /// Expiry is whole seconds; `delete_many` returns the keys deleted or absent
    /// afterwards and raises when one is still present unless errors are ignored.
    #[default]
    Cachelib,
    /// Flask-Caching 2.4.1's `SimpleCache(BaseCache, cachelib.SimpleCache)` on cachelib
    /// 0.17.0: cachelib's `SimpleCache` except `delete_many`, which comes from
    /// Flask-Caching's own `BaseCache`. It deletes the keys in order, returns those whose
    /// `delete` returned `True`, stops at the first key that was not stored unless
    /// `ignore_delete_many_errors` (`CACHE_IGNORE_ERRORS`) is set, and never raises.
    FlaskCaching24,
    /// Werkzeug 0.16.1's `werkzeug.contrib.cache.SimpleCache`, the backend of Flask-Cache
    /// 0.13.1. `expires = time() + timeout` is a float; expiry is kept in microseconds
    /// (see [`StoreFlavor::is_alive`]). The threshold is used as configured, `0` included;
    /// pruning removes every dead entry and every entry whose position is a multiple of 3;
    /// `add` refuses a key that is stored at all; `delete_many` returns one `bool` and stops
    /// at the first key that was not stored; `set_many` returns `True`; `clear` returns
    /// `None`, replied as `StoreReply::Value(Value::None)`. `ignore_delete_many_errors`
    /// has no effect.
    Werkzeug016,
    /// cachelib 0.17.0's `RedisCache` through Flask-Caching 2.5.1's `RedisCache` (FC-4.5),
    /// with the server answering as Redis 7 does. Every key is stored as
    /// [`StoreConfig::key_prefix`](super::StoreConfig::key_prefix) + key. A timeout of `0`
    /// or `-1` stores without expiry; `t > 0` is `SET … EX t`: the entry expires `t`
    /// seconds after the write and is alive while `time() <= time_of_write + t`, compared as
    /// the float clock (see [`StoreFlavor::is_alive`]); `t <= -2`, or one too large for the
    /// server, makes `set` and `set_many` raise `ResponseError` (`add` creates the key, then
    /// its `EXPIRE` deletes it, or raises when too large). Expired keys do not exist for any
    /// command (`delete` of one is `False`). No threshold, no pruning. `delete_many` deletes
    /// every key with one `DEL` and returns those absent afterwards: all of them, repeats
    /// included. `clear` deletes the keys `KEYS prefix*` lists (a glob: the prefix's `*`,
    /// `?`, `[` and `\` are pattern characters) and returns whether there were any; without
    /// a prefix it is `FLUSHDB`, `True`. `ignore_delete_many_errors` has no effect (the
    /// check never fails on a single client). Expiry follows the float clock as fakeredis
    /// (on which traces are recorded) does; a real server compares whole milliseconds, which
    /// agrees whenever the times are whole milliseconds.
    Redis,
    /// Flask-Caching 2.4.1's `RedisCache(BaseCache, cachelib.RedisCache)` on cachelib 0.17.0:
    /// [`StoreFlavor::Redis`] except `delete_many`, which is Flask-Caching 2.4.1's own: one
    /// `DEL` per key, in order, returning the keys whose `DEL` removed something and
    /// stopping at the first that did not. Its `ignore_errors` is always `False` for
    /// `RedisCache` (the factory does not pass `CACHE_IGNORE_ERRORS`; measured), so
    /// `ignore_delete_many_errors` has no effect.
    Redis24,
    /// Werkzeug 0.16.1's `werkzeug.contrib.cache.RedisCache`, the backend of Flask-Cache
    /// 0.13.1 with `CACHE_TYPE="redis"` (FC-4.5), with the server answering as Redis 7 does:
    /// the keyspace and expiry of [`StoreFlavor::Redis`], driven by other commands with
    /// other replies. `set` is `SET`, or `SETEX t` for a timeout other than `0` and `-1`
    /// (`t <= -2` raises `ResponseError: invalid expire time in 'setex' command`); `add` is
    /// `SETNX` and, when that created the key, `EXPIRE` whatever the timeout (`0` becomes
    /// `-1`, so `add` with `0`, `-1` or less creates the key and deletes it again, and
    /// returns `True`); `has` is
    /// `EXISTS` and `delete` is `DEL`, both replying an `int`; `delete_many` is one `DEL`
    /// of every key, replying the count (`None` for no keys); `set_many` is a pipeline of
    /// `SET`/`SETEX` replying one `True` per key; `clear` replies the `DEL` count of the
    /// `KEYS prefix*` matches, `False` when there are none, and `True` for `FLUSHDB`.
    /// Values are `b"!"` + `pickle.dumps(value)` (protocol 3 on Python 3.7), an `int` as its
    /// decimal text. Every key goes through `self.key_prefix + key`, so a key that is not a
    /// `str` raises `TypeError`, except in `get_many` and `delete_many` without a prefix,
    /// which hand the keys to redis-py's encoder unformatted.
    Werkzeug016Redis,
}

impl StoreFlavor {
    /// The `expires` a [`StoreFlavor::Werkzeug016`] entry stored with timeout `0` has:
    /// it is alive at every instant.
    pub const NEVER: i128 = i128::MAX;

    /// Whether `expires` values are microseconds ([`StoreFlavor::Werkzeug016`] and the Redis
    /// flavours) rather than whole seconds (the cachelib `SimpleCache` flavours).
    pub fn expires_in_micros(self) -> bool {
        matches!(
            self,
            StoreFlavor::Werkzeug016
                | StoreFlavor::Redis
                | StoreFlavor::Redis24
                | StoreFlavor::Werkzeug016Redis
        )
    }

    /// Whether the flavour is a `RedisCache` ([`StoreFlavor::Redis`],
    /// [`StoreFlavor::Redis24`], [`StoreFlavor::Werkzeug016Redis`]) rather than a
    /// `SimpleCache` (FC-4.5).
    pub fn is_redis(self) -> bool {
        matches!(
            self,
            StoreFlavor::Redis | StoreFlavor::Redis24 | StoreFlavor::Werkzeug016Redis
        )
    }

    /// Whether the backend prunes to a threshold (the `SimpleCache`s, FC-4.3.4); Redis
    /// keeps every key until it expires or is deleted.
    pub fn prunes(self) -> bool {
        !self.is_redis()
    }

    /// Whether an entry with this `expires` is alive at `now` (FC-4.3.2).
    ///
    /// Cachelib flavours: `expires` is whole seconds, `0` never expires, and the entry is
    /// alive while `expires > time()`, strictly. [`StoreFlavor::Werkzeug016`]: `expires` is
    /// the first microsecond at which the entry is dead, [`StoreFlavor::NEVER`] for never;
    /// the entry is alive while `now` is before it. That microsecond is the first instant
    /// whose float clock is not below Python's `expires` (`time() + timeout`, or the
    /// timeout itself when it is not positive), so the comparison is the one Python makes.
    /// Redis flavours: the same representation; there the first dead microsecond is the
    /// first whose float clock is above the float `time_of_write + timeout` (the server's
    /// deadline), so a key is alive at exactly `time_of_write + timeout`.
    pub fn is_alive(self, expires: i128, now: Timestamp) -> bool {
        match self {
            StoreFlavor::Cachelib | StoreFlavor::FlaskCaching24 => {
                expires == 0 || now.cmp_secs(expires) == Ordering::Less
            }
            StoreFlavor::Werkzeug016
            | StoreFlavor::Redis
            | StoreFlavor::Redis24
            | StoreFlavor::Werkzeug016Redis => i128::from(now.as_micros()) < expires,
        }
    }
}

/// The microsecond `expires` a Redis flavour gives a key written at `now` with `EX timeout`
/// (`timeout > 0`, already checked by the server): the server records `time() + timeout`
/// as a float and a key is expired once that is below the clock, so the key is dead from
/// the first instant whose float clock is above it (alive at exactly `now + timeout`).
/// Searched over every [`Timestamp`] like [`werkzeug_expires`].
pub(crate) fn redis_expires(timeout: i64, now: Timestamp) -> i128 {
    // Python's `float + int` converts the int to the nearest double first.
    let expires = now.as_py_float() + timeout as f64;
    let nominal = i128::from(now.as_micros()) + i128::from(timeout) * MICROS_PER_SEC + 1;
    first_dead_instant(nominal, |t| t.as_py_float() > expires)
}

/// The microsecond `expires` Werkzeug 0.16's `SimpleCache` gives an entry stored at `now`
/// with the (already defaulted) `timeout`: [`StoreFlavor::NEVER`] for `0` and for a float
/// `time() + timeout` that is exactly `0.0`; otherwise the first instant at which
/// `expires > time()` is false, searched over every [`Timestamp`] (`i64::MIN` if dead at
/// all of them, `i64::MAX + 1` if alive at all of them).
pub(crate) fn werkzeug_expires(timeout: i64, now: Timestamp) -> i128 {
    match timeout.cmp(&0) {
        Ordering::Equal => StoreFlavor::NEVER,
        // `expires` stays the int `timeout`: dead once `time() >= timeout`.
        Ordering::Less => first_dead_instant(i128::from(timeout) * MICROS_PER_SEC, |t| {
            t.cmp_secs(i128::from(timeout)) != Ordering::Less
        }),
        Ordering::Greater => {
            // Python's `float + int` converts the int to the nearest double first.
            let expires = now.as_py_float() + timeout as f64;
            if expires == 0.0 {
                return StoreFlavor::NEVER;
            }
            let nominal = i128::from(now.as_micros()) + i128::from(timeout) * MICROS_PER_SEC;
            first_dead_instant(nominal, |t| t.as_py_float() >= expires)
        }
    }
}

/// The smallest instant in `[i64::MIN, i64::MAX]` at which `dead` holds, or `i64::MAX + 1`
/// when it holds at none. `dead` must be monotone (false, then true). Starts at `guess`,
/// which is exact or off by a few microseconds in practice, and widens the search
/// exponentially from there.
fn first_dead_instant(guess: i128, dead: impl Fn(Timestamp) -> bool) -> i128 {
    let at = |t: i128| match i64::try_from(t) {
        Ok(t) => dead(Timestamp::from_micros(t)),
        // Only `PAST_LAST_INSTANT` reaches here: treated as dead, a sentinel.
        Err(_) => true,
    };
    let start = guess.clamp(FIRST_INSTANT, PAST_LAST_INSTANT);
    // Invariant: `lo` is alive (or just before the first instant), `hi` is dead.
    let (mut lo, mut hi);
    let mut step: i128 = 1;
    if at(start) {
        hi = start;
        loop {
            let probe = hi - step;
            if probe < FIRST_INSTANT {
                lo = FIRST_INSTANT - 1;
                break;
            }
            if at(probe) {
                hi = probe;
                step *= 2;
            } else {
                lo = probe;
                break;
            }
        }
    } else {
        lo = start;
        loop {
            let probe = lo + step;
            if probe >= PAST_LAST_INSTANT {
                hi = PAST_LAST_INSTANT;
                break;
            }
            if at(probe) {
                hi = probe;
                break;
            }
            lo = probe;
            step *= 2;
        }
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if at(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(micros: i64) -> Timestamp {
        Timestamp::from_micros(micros)
    }

    /// Away from binade edges, `time() + timeout` is exact in microseconds.
    #[test]
    fn ordinary_expiry_is_now_plus_timeout() {
        let now = at(1_700_000_000_123_456);
        assert_eq!(werkzeug_expires(5, now), 1_700_000_005_123_456);
        assert_eq!(werkzeug_expires(0, now), StoreFlavor::NEVER);
        assert_eq!(werkzeug_expires(-5, now), -5_000_000);
        assert_eq!(werkzeug_expires(-1, at(-3)), -1_000_000);
    }

    /// `time() + timeout` crossing a power of two rounds on the coarser grid: measured with
    /// Python, `-17500805 / 10**6 + 18` is `0.4991950000000003`, still above
    /// `499195 / 10**6`, so the entry lives one microsecond past the nominal expiry; so do
    /// `1073741823917363 / 10**6 + 14` and `2147483633777784 / 10**6 + 15`.
    #[test]
    fn binade_crossing_shifts_expiry_by_a_microsecond() {
        assert_eq!(werkzeug_expires(18, at(-17_500_805)), 499_196);
        assert!(StoreFlavor::Werkzeug016.is_alive(499_196, at(499_195)));
        assert_eq!(werkzeug_expires(15, at(-18_054_585)), -3_054_584);
        assert_eq!(
            werkzeug_expires(14, at(1_073_741_823_917_363)),
            1_073_741_837_917_364
        );
        assert_eq!(
            werkzeug_expires(15, at(2_147_483_633_777_784)),
            2_147_483_648_777_785
        );
    }

    /// `time() + timeout == 0.0` compares equal to `0`: never expires.
    #[test]
    fn float_zero_never_expires() {
        assert_eq!(werkzeug_expires(5, at(-5_000_000)), StoreFlavor::NEVER);
    }

    /// Far from the epoch several microseconds share one float; the entry dies at the first
    /// microsecond whose float reaches `expires`.
    #[test]
    fn coarse_floats() {
        let now = at(9_000_000_000_000_000_000);
        let e = werkzeug_expires(1, now);
        let expires = now.as_py_float() + 1.0;
        assert!(at(i64::try_from(e).unwrap_or(i64::MAX)).as_py_float() >= expires);
        assert!(at(i64::try_from(e - 1).unwrap_or(i64::MAX)).as_py_float() < expires);
        // At the end of the range, alive at every instant or dead at every one.
        assert_eq!(werkzeug_expires(i64::MAX, now), PAST_LAST_INSTANT);
        assert_eq!(werkzeug_expires(i64::MIN, now), FIRST_INSTANT);
        assert_eq!(werkzeug_expires(i64::MAX, at(i64::MIN)), PAST_LAST_INSTANT);
        assert_eq!(werkzeug_expires(1, at(i64::MAX)), PAST_LAST_INSTANT);
    }

    #[test]
    fn liveness() {
        let c = StoreFlavor::Cachelib;
        assert!(c.is_alive(0, at(i64::MAX)));
        assert!(c.is_alive(1010, at(1_009_999_999)));
        assert!(!c.is_alive(1010, at(1_010_000_000)));
        let w = StoreFlavor::Werkzeug016;
        assert!(w.is_alive(StoreFlavor::NEVER, at(i64::MAX)));
        assert!(w.is_alive(1_010_000_000, at(1_009_999_999)));
        assert!(!w.is_alive(1_010_000_000, at(1_010_000_000)));
        assert!(!w.is_alive(0, at(0)));
        assert!(w.is_alive(0, at(-1)));
        assert!(w.expires_in_micros() && !c.expires_in_micros());
    }
}
