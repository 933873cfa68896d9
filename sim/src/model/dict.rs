//! A Python `dict` of cache entries: keys in insertion order, a re-assigned key keeps its
//! place, a deleted key leaves no trace of its position. Stored as a vector of slots in
//! insertion order (`None` where an entry was deleted) and an index from key to slot, so
//! lookups are not scans; the slots are compacted when holes outnumber entries.

use super::store::{Entry, Expiry};
use flaskcache_engine::Value;
use hashbrown::HashTable;
use std::hash::Hasher;

/// FxHash (rustc's hasher): a fixed function, no per-process key. The index is only ever
/// looked up, never iterated, so the hash decides no order; it only has to be fast.
#[derive(Clone, Copy, Default)]
pub struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The hash of a key in the index.
fn key_hash(key: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(key.as_bytes());
    h.finish()
}

/// The index's hash of the entry at a position, for the index to rehash with when it
/// grows (a hole is never indexed, so its `0` is never used).
fn slot_hash(slots: &[Option<Entry>]) -> impl Fn(&usize) -> u64 + '_ {
    |&i| match slots.get(i) {
        Some(Some(e)) => key_hash(&e.key),
        _ => 0,
    }
}

/// The entries of a cache, in dict order.
#[derive(Clone, Debug, Default)]
pub struct Dict {
    slots: Vec<Option<Entry>>,
    /// Positions in `slots` of the stored entries, found by their keys' hashes and
    /// confirmed against the slot (each key is stored once, in its entry).
    index: HashTable<usize>,
}

impl Dict {
    /// How many entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The entries in dict order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> + '_ {
        self.slots.iter().flatten()
    }

    /// The slot position of `key`, if it is stored.
    fn position(&self, key: &str) -> Option<usize> {
        let slots = &self.slots;
        let holds = |&i: &usize| matches!(slots.get(i), Some(Some(e)) if e.key == key);
        self.index.find(key_hash(key), holds).copied()
    }

    /// The entry under `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        let i = self.position(key)?;
        self.slots.get(i)?.as_ref()
    }

    /// The entry under `key`, to change in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        let i = self.position(key)?;
        self.slots.get_mut(i)?.as_mut()
    }

    /// Appends an entry whose key is not stored.
    fn push(&mut self, entry: Entry) {
        let rehash = slot_hash(&self.slots);
        self.index
            .insert_unique(key_hash(&entry.key), self.slots.len(), rehash);
        self.slots.push(Some(entry));
    }

    /// `d[entry.key] = entry`: in place if the key is there, else at the end.
    pub fn insert(&mut self, entry: Entry) {
        if let Some(slot) = self.get_mut(&entry.key) {
            *slot = entry;
            return;
        }
        self.push(entry);
    }

    /// `d[key] = (expires, value)`: in place if the key is there, else at the end (one
    /// lookup either way).
    pub fn set(&mut self, key: &str, expires: Expiry, value: Value) {
        if let Some(e) = self.get_mut(key) {
            e.expires = expires;
            e.value = value;
            return;
        }
        self.push(Entry {
            key: key.to_owned(),
            expires,
            value,
        });
    }

    /// Takes the entry at slot `i` out, and its position out of the index.
    fn take(&mut self, i: usize) -> Option<Entry> {
        let entry = self.slots.get_mut(i)?.take()?;
        if let Ok(found) = self.index.find_entry(key_hash(&entry.key), |&p| p == i) {
            found.remove();
        }
        Some(entry)
    }

    /// `del d[key]`: the entry, if there was one.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let i = self.position(key)?;
        let entry = self.take(i);
        self.maybe_compact();
        entry
    }

    /// Removes the first entry, in dict order, of those with the least `order`.
    pub fn remove_first_min_by_key<K: Ord>(
        &mut self,
        mut order: impl FnMut(&Entry) -> K,
    ) -> Option<Entry> {
        // `min_by_key` keeps the last of equal minima; the position makes the first win.
        let (i, _) = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| slot.as_ref().map(|e| (i, e)))
            .min_by_key(|(i, e)| (order(e), *i))?;
        let entry = self.take(i);
        self.maybe_compact();
        entry
    }

    /// Keeps the entries `keep` accepts, visited in dict order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        for i in 0..self.slots.len() {
            let doomed = matches!(self.slots.get(i), Some(Some(e)) if !keep(e));
            if doomed {
                self.take(i);
            }
        }
        self.maybe_compact();
    }

    /// `d.clear()`.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
    }

    /// Compacts once holes outnumber entries (and there are enough slots for it to pay):
    /// holes cost iteration only, compaction re-indexes every entry.
    fn maybe_compact(&mut self) {
        if self.slots.len() > 32 && self.slots.len() > 2 * self.index.len() {
            self.compact();
        } else if self.index.is_empty() {
            self.slots.clear();
        }
    }

    /// Drops the holes, keeping the order, and indexes the entries at their new places.
    fn compact(&mut self) {
        self.slots.retain(Option::is_some);
        self.index.clear();
        let slots = &self.slots;
        let rehash = slot_hash(slots);
        for (i, slot) in slots.iter().enumerate() {
            if let Some(e) = slot {
                self.index.insert_unique(key_hash(&e.key), i, &rehash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, v: i64) -> Entry {
        Entry {
            key: key.to_owned(),
            expires: Expiry::Int(0),
            value: Value::int(v),
        }
    }

    fn keys(d: &Dict) -> Vec<String> {
        d.iter().map(|e| e.key.clone()).collect()
    }

    #[test]
    fn keeps_insertion_order_through_updates_deletes_and_compaction() {
        let mut d = Dict::default();
        let mut plain: Vec<(String, i64)> = Vec::new();
        // A Vec as the obviously right dict, against the indexed one.
        for step in 0..2000i64 {
            let key = format!("k{}", (step * 7919) % 97);
            if step % 3 == 0 {
                d.remove(&key);
                plain.retain(|(k, _)| *k != key);
            } else {
                d.insert(entry(&key, step));
                match plain.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = step,
                    None => plain.push((key.clone(), step)),
                }
            }
            if step % 500 == 0 {
                d.retain(|e| e.key.len() % 2 == 0);
                plain.retain(|(k, _)| k.len() % 2 == 0);
            }
            let want: Vec<String> = plain.iter().map(|(k, _)| k.clone()).collect();
            assert_eq!(keys(&d), want);
            assert_eq!(d.len(), plain.len());
            for (k, v) in &plain {
                assert_eq!(d.get(k).map(|e| &e.value), Some(&Value::int(*v)));
            }
        }
        d.clear();
        assert!(d.is_empty() && d.get("k1").is_none());
    }
}
