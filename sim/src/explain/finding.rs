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
    /// The event that stored it (0 when it was stored before the trace began).
    pub event: u64,
    /// Where that call was made.
    pub site: Option<Site>,
    /// The call that removes it, tried on a copy of the cache (`None` where the finding's
    /// own fix covers all its candidates: a collision, a whole-function invalidation).
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
    /// The keys the finding is about: for a delete, the keys it named that held nothing
    /// live and any version key it created; the entries a whole-function invalidation
    /// orphaned; the lost version keys; the shared key of a collision; the entries a
    /// default repr keyed; a call's keys on both Pythons.
    pub targeted_keys: Vec<String>,
    /// The live entries it most likely meant (with each one's fix, when one was tried).
    pub candidates: Vec<Candidate>,
    /// The corrected call (or, where the fix is not a call, what to change).
    pub fix: Option<String>,
    /// Whether the fix was tried (on a copy of the cache at that moment, or by keying the
    /// call anew) and did what it should; `verification` says how.
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
