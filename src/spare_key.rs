//! One spare key buffer per thread. A call builds its key in it (through
//! [`EmbeddedEffects::key_buffer`](flaskcache_engine::engine::EmbeddedEffects::key_buffer)),
//! and when the caller does not keep the key (`call`, not `call_traced`) it comes back
//! here for the next call: a hit then allocates nothing for its key.

use flaskcache_engine::engine::CacheEvent;
use std::cell::Cell;

/// Keys longer than this are not kept, so one huge key does not stay allocated.
const KEPT_CAPACITY: usize = 1024;

thread_local! {
    static SPARE: Cell<String> = const { Cell::new(String::new()) };
}

/// The spare buffer (empty; a new one when a nested call holds it, or when the thread's
/// storage is already gone, as in a destructor running at thread exit).
#[inline(always)]
pub(crate) fn take() -> String {
    SPARE.try_with(Cell::take).unwrap_or_default()
}

/// Gives back the key an event holds, once the caller has no use for it.
#[inline(always)]
pub(crate) fn give_back(event: CacheEvent) {
    if let CacheEvent::Hit { mut key } | CacheEvent::Miss { mut key, .. } = event {
        if key.capacity() <= KEPT_CAPACITY {
            key.clear();
            // At thread exit the spare may be gone: the key is then simply dropped.
            let _ = SPARE.try_with(|spare| spare.set(key));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_given_back_is_handed_out_again_empty() {
        let mut key = String::with_capacity(80);
        key.push_str("view//students");
        let buffer = key.as_ptr();
        give_back(CacheEvent::Hit { key });
        let next = take();
        assert!(next.is_empty());
        assert_eq!(next.as_ptr(), buffer);
        // Taken: a nested call gets a fresh buffer meanwhile.
        assert_eq!(take().capacity(), 0);
    }

    #[test]
    fn an_oversized_key_is_not_kept() {
        give_back(CacheEvent::Miss {
            key: "k".repeat(KEPT_CAPACITY + 1),
            stored: true,
        });
        assert_eq!(take().capacity(), 0);
    }
}
