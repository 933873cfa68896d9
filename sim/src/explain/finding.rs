//! What `flaskcache explain` reports: one finding per cause (a faulty delete, a key that
//! can never be hit again, a lost version key, two calls sharing a key), with the stale
//! reads it caused listed inside it.

use super::rule::Rule;
use crate::trace::Site;

/// A live entry a faulty call most likely meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Its key.
    pub key: String,
    /// The decorated call that stored it, in Python.
    pub call: String,
    /// The event that stored it.
    pub event: u64,
    /// Where that call was made.
    pub site: Option<Site>,
    /// The call that removes it, tried on a copy of the cache.
    pub fix: Option<String>,
}

/// A hit served a value that a faulty delete should have removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleRead {
    /// The event that was served the value.
    pub event: u64,
    /// Where the app made that call.
    pub site: Option<Site>,
}

/// One cause of trouble.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule (`docs/pitfalls.md` has a section per rule).
    pub rule: Rule,
    /// The event of the faulty call (for a key that is never hit again: its first call).
    pub event: u64,
    /// Where the app made it.
    pub site: Option<Site>,
    /// The call, in Python.
    pub call: String,
    /// The keys the call touched (deleted, or created as a version key).
    pub targeted_keys: Vec<String>,
    /// The live entries it most likely meant, each with its verified fix.
    pub candidates: Vec<Candidate>,
    /// The corrected call (or, where the fix is not a call, what to change).
    pub fix: Option<String>,
    /// Whether the fix was tried on a copy of the cache at that moment and did what it
    /// should (a corrected delete removes every candidate; a stable repr turns misses into
    /// hits).
    pub verified: bool,
    /// How the fix was checked, in a sentence (empty when it was not).
    pub verification: String,
    /// Whether the fix is a call to write in place of the call at `site` (otherwise it is
    /// a change elsewhere: to a class, a function's signature, the configuration).
    pub fix_replaces_call: bool,
    /// What happened, in a sentence.
    pub detail: String,
    /// The hits that were served a value this cause left in place.
    pub stale_reads: Vec<StaleRead>,
}
