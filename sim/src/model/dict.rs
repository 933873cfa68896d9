//! A Python `dict` of cache entries: keys in insertion order, a re-assigned key keeps its
//! place, a deleted key leaves no trace of its position. Stored as a vector of slots in
//! insertion order (`None` where an entry was deleted) and an index from key to slot, so
//! lookups are not scans; the slots are compacted when holes outnumber entries.

use super::store::{Entry, Expiry};
use flaskcache_engine::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

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

/// The entries of a cache, in dict order.
#[derive(Clone, Debug, Default)]
pub struct Dict {
    slots: Vec<Option<Entry>>,
    index: HashMap<String, usize, BuildHasherDefault<FxHasher>>,
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

    /// The entry under `key`.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        let i = *self.index.get(key)?;
        self.slots.get(i)?.as_ref()
    }

    /// The entry under `key`, to change in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Entry> {
        let i = *self.index.get(key)?;
        self.slots.get_mut(i)?.as_mut()
    }

    /// `d[entry.key] = entry`: in place if the key is there, else at the end.
    pub fn insert(&mut self, entry: Entry) {
        if let Some(slot) = self.get_mut(&entry.key) {
            *slot = entry;
            return;
        }
        self.index.insert(entry.key.clone(), self.slots.len());
        self.slots.push(Some(entry));
    }

    /// `d[key] = (expires, value)`: in place if the key is there, else at the end (one
    /// lookup either way).
    pub fn set(&mut self, key: &str, expires: Expiry, value: Value) {
        if let Some(Some(e)) = self.index.get(key).and_then(|&i| self.slots.get_mut(i)) {
            e.expires = expires;
            e.value = value;
            return;
        }
        self.index.insert(key.to_owned(), self.slots.len());
        self.slots.push(Some(Entry {
            key: key.to_owned(),
            expires,
            value,
        }));
    }

    /// `del d[key]`: the entry, if there was one.
    pub fn remove(&mut self, key: &str) -> Option<Entry> {
        let i = self.index.remove(key)?;
        let entry = self.slots.get_mut(i)?.take();
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
        let entry = self.slots.get_mut(i)?.take()?;
        self.index.remove(&entry.key);
        self.maybe_compact();
        Some(entry)
    }

    /// Keeps the entries `keep` accepts, visited in dict order.
    pub fn retain(&mut self, mut keep: impl FnMut(&Entry) -> bool) {
        for slot in &mut self.slots {
            if slot.as_ref().is_some_and(|e| !keep(e)) {
                if let Some(e) = slot.take() {
                    self.index.remove(&e.key);
                }
            }
        }
        self.maybe_compact();
    }

    /// Compacts once holes outnumber entries (and there are enough slots for it to pay):
    /// holes cost iteration only, compaction re-points the index of every entry that moves.
    fn maybe_compact(&mut self) {
        if self.slots.len() > 32 && self.slots.len() > 2 * self.index.len() {
            self.compact();
        } else if self.index.is_empty() {
            self.slots.clear();
        }
    }

    /// `d.clear()`.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.index.clear();
    }

    /// Drops the holes, keeping the order, and re-points the index of the entries that
    /// moved (those after the first hole).
    fn compact(&mut self) {
        let Some(first_hole) = self.slots.iter().position(Option::is_none) else {
            return;
        };
        self.slots.retain(Option::is_some);
        for (i, slot) in self.slots.iter().enumerate().skip(first_hole) {
            if let Some(at) = slot.as_ref().and_then(|e| self.index.get_mut(&e.key)) {
                *at = i;
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
