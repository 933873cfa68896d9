//! Where the cache's time comes from: the system clock in production, a virtual clock in
//! tests, behind one trait.

use flaskcache_engine::Timestamp;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, read at every backend operation (the moment Python's
/// `time()` would be read inside the backend).
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock (`time.time()`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        // Whole seconds and microseconds apart (64-bit arithmetic, not `as_micros`'s u128).
        let micros = |d: std::time::Duration| {
            i64::try_from(d.as_secs())
                .ok()
                .and_then(|s| s.checked_mul(1_000_000))
                .and_then(|m| m.checked_add(i64::from(d.subsec_micros())))
        };
        let micros = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => micros(d).unwrap_or(i64::MAX),
            Err(before) => micros(before.duration()).map_or(i64::MIN, |m| -m),
        };
        Timestamp::from_micros(micros)
    }
}

/// A clock that moves only when told to. Clones share one time, so a test keeps a clone and
/// advances the clock the cache reads.
///
/// ```
/// use flaskcache::{Clock, Timestamp, VirtualClock};
/// use std::time::Duration;
///
/// let clock = VirtualClock::at_secs(1_000);
/// let seen_by_cache = clock.clone();
/// clock.tick();                                   // one tick: a second by default
/// clock.advance(Duration::from_millis(500));
/// assert_eq!(seen_by_cache.now(), Timestamp::from_micros(1_001_500_000));
/// ```
#[derive(Clone, Debug)]
pub struct VirtualClock {
    micros: Arc<AtomicI64>,
    tick_micros: i64,
}

fn micros_of(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

impl VirtualClock {
    /// A clock showing `start`, whose tick is one second.
    pub fn new(start: Timestamp) -> Self {
        VirtualClock {
            micros: Arc::new(AtomicI64::new(start.as_micros())),
            tick_micros: 1_000_000,
        }
    }

    /// A clock showing `secs` seconds after the epoch.
    pub fn at_secs(secs: i64) -> Self {
        Self::new(Timestamp::from_secs(secs))
    }

    /// The same clock with ticks of `tick` (shared time, own tick length).
    pub fn with_tick(mut self, tick: Duration) -> Self {
        self.tick_micros = micros_of(tick);
        self
    }

    /// Sets the time.
    pub fn set(&self, now: Timestamp) {
        self.micros.store(now.as_micros(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        self.advance_micros(micros_of(by));
    }

    /// Moves the clock by `micros` microseconds (negative: backwards).
    pub fn advance_micros(&self, micros: i64) {
        let _ = self
            .micros
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |m| {
                Some(m.saturating_add(micros))
            });
    }

    /// Moves the clock by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.advance_micros(secs.saturating_mul(1_000_000));
    }

    /// Moves the clock forward by one tick.
    pub fn tick(&self) {
        self.ticks(1);
    }

    /// Moves the clock forward by `n` ticks.
    pub fn ticks(&self, n: i64) {
        self.advance_micros(self.tick_micros.saturating_mul(n));
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }
}
