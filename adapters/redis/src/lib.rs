//! A real Redis server as a [`flaskcache::Store`]: the engine's store operations executed
//! exactly as Flask-Caching's `RedisCache` issues them (cachelib 0.17's `RedisCache` under
//! Flask-Caching 2.5, or Flask-Caching 2.4.1's), with the same bytes on the wire, so a
//! Python application and a Rust one can share a cache.
//!
//! ```no_run
//! use std::sync::Arc;
//! use flaskcache_redis::{RedisConfig, RedisStore};
//!
//! let store = RedisStore::new(RedisConfig::new("redis://127.0.0.1:6379/0"))?;
//! let cache = flaskcache::Cache::builder().store(Arc::new(store)).build()?;
//! # let _ = cache;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same `Cache` API runs over the engine's `MemoryStore` or over this store; the
//! flows (memoize, cached views, deletes) are the engine's, one copy for both.
//!
//! # What is sent
//!
//! Every key is `CACHE_KEY_PREFIX` + key (no prefix when it is `None` or `""`). Values are
//! cachelib's `RedisSerializer` ([`codec`]): an `int` as ASCII decimal, anything else `!`
//! followed by `pickle.dumps(value, 5)`. A timeout of `None` is the default one; `0` and
//! `-1` store without expiry; `t > 0` is `EX t`. For `set` and `set_many`, `t <= -2` or
//! one too large for the server makes the server refuse the `SET`, and the store reports
//! redis-py's `ResponseError` with its exact text. `add` sends `SETNX` and then `EXPIRE k t`,
//! which the server accepts for any `t <= -2`: it deletes the key just created, and `add`
//! still returns `True`, as in Python (a `t` too large for the server fails that
//! `EXPIRE` with the server's error, after `SETNX` created the key).
//!
//! | operation | commands (round trips) |
//! |---|---|
//! | `get` | `GET` (1) |
//! | `get_many` | `MGET` of all keys (1; a bare `MGET` for no keys, as redis-py sends) |
//! | `has` | `EXISTS` (1) |
//! | `set` | `SET k v [EX t]` (1) |
//! | `set_many` | one non-transactional pipeline of `SET`s (1; none for an empty mapping) |
//! | `add` | `SETNX`, then `EXPIRE` if it created the key and `t` is not `0`/`-1` (1 or 2) |
//! | `delete` | `DEL` (1) |
//! | `delete_many`, 2.5 | `DEL` of all keys, then `EXISTS` per key (1 + n; none for no keys) |
//! | `delete_many`, 2.4.1 | `DEL` per key until one deletes nothing (up to n) |
//! | `clear` | `KEYS prefix*` then `DEL` of them if any (1 or 2); without a prefix `FLUSHDB` (1) |
//!
//! **`clear` without a prefix is `FLUSHDB`**: it deletes every key of the database,
//! including keys that belong to other applications. Give every cache a prefix, or a
//! database of its own. `clear`'s `KEYS` pattern is cachelib's, unescaped: a prefix
//! holding `*`, `?`, `[` or `\` matches (and clears) other keys too, as in Python.
//!
//! Replies are those of the engine's `MemoryStore` with the same Redis flavour, errors
//! included (redis-py's messages, a pipeline's annotated as redis-py does), so the engine
//! and the simulator cannot tell the two apart.
//!
//! # Faults
//!
//! Connections are opened lazily, each bounded by [`RedisConfig::connect_timeout`], and
//! every read and write by [`RedisConfig::io_timeout`]. A refused connection, a lost one
//! or a timeout is [`StoreError::Failed`](flaskcache_engine::StoreError::Failed): the
//! engine logs it and serves the call uncached, as Flask-Caching does when its backend
//! raises. The failed connection and every idle one are dropped; the next operation
//! connects again, so caching resumes by itself once the server is back. redis-py retries
//! a failed command on a new connection (its default `Retry`); this store does not: an
//! operation that fails is reported at once, and one caught mid-way (an `add` whose
//! `SETNX` went through but whose `EXPIRE` did not) leaves what the server had done.
//!
//! # What is exact and what differs
//!
//! - Written bytes are CPython 3.11's `pickle.dumps(value, 5)` for `None`, `bool`, `int`,
//!   `float`, `str`, `bytes`, tuples, lists, dicts and `OrderedDict`s, except where one
//!   `str`, `bytes` or container object occurs twice in a Python value (CPython then
//!   writes a back-reference; the value read back is equal either way).
//! - Reading keeps dict order and reads everything CPython writes for those types; any
//!   other type (a `set`, `datetime`, `Decimal`, an instance of a class, a class or function
//!   reference) is a failure naming the type (`cannot represent a pickled
//!   datetime.datetime`), served as a backend failure: logged, the call runs uncached.
//! - A corrupt entry reads as cachelib reads it: where CPython's `pickle.loads` raises
//!   `UnpicklingError` (truncated data, an unknown opcode, a missing memo entry, ...)
//!   cachelib returns `None`, and so does this store (a hit whose value is `None`); where
//!   it raises another exception (`EOFError`, `ValueError`, `OverflowError`, `TypeError`,
//!   ...) Python's `get` raises it, and this store reports a failure whose text names the
//!   exception (`cannot read the pickle: EOFError: Ran out of input`). The reader's limits
//!   (nesting deeper than 1000, copies of shared objects beyond a budget linear in the
//!   entry's size, binary `int`s over 64 KiB) are failures too; [`codec`] has the details.
//! - Expiry is the server's own clock (milliseconds); the `now` passed to
//!   [`flaskcache::Store::execute`] is ignored. [`RedisStore::age`] moves deadlines to make
//!   a simulated clock hold on a real server.
//! - Round trips are counted per command or pipeline ([`RedisStore::round_trips`]); the
//!   connection handshake is not.

#![deny(missing_docs)]

pub mod codec;
mod store;
pub mod testing;

pub use codec::DecodeError;
pub use store::{prefix_glob, server_error, Error, RedisConfig, RedisStore};
