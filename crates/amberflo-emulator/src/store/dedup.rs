//! The dedup index: from a hash of a record's unique id to the positions of the stored
//! records whose id hashes alike, in one flat open-addressing table.
//!
//! Unique ids are random, so every lookup of a new id lands on a cold part of a table that
//! outgrows the CPU caches after a few hundred thousand records. Two choices keep that cheap:
//!
//! - a slot is one `u64`, a 32-bit tag (the two halves of the hash folded together, which
//!   also picks the home slot) and a 32-bit position, with no separate control bytes: an insert touches one cache
//!   line where a `HashMap` touches two;
//! - [`DedupIndex::warm`] reads the home slots of a whole batch before the batch is inserted.
//!   Those loads do not depend on each other, so the CPU overlaps their cache misses instead
//!   of taking them one at a time inside the insert loop.
//!
//! Equal tags do not mean equal ids: callers compare the stored records themselves. A tag may
//! repeat along a probe run, which is how an id reused with other content (or a tag collision)
//! keeps several positions.

/// An empty slot. Positions are stored plus one, so a used slot is never zero.
const EMPTY: u64 = 0;

/// The smallest table, in slots (a power of two).
const MIN_SLOTS: usize = 1024;

/// A multimap from id hash to record position (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct DedupIndex {
    slots: Vec<u64>,
    len: usize,
}

/// The tag kept for `hash`: its two halves folded into 32 bits (multiplicative hashers
/// such as the store's put their best-mixed bits high).
fn tag(hash: u64) -> u64 {
    (hash ^ (hash >> 32)) & u64::from(u32::MAX)
}

/// The tag a used slot holds (its low half).
fn stored_tag(slot: u64) -> u64 {
    slot & u64::from(u32::MAX)
}

/// The position a used slot holds.
fn position(slot: u64) -> u32 {
    u32::try_from((slot >> 32).saturating_sub(1)).unwrap_or(u32::MAX)
}

impl DedupIndex {
    /// The table size minus one (the slot count is a power of two).
    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    /// The slot whose probe run holds the entries tagged `tag`.
    fn home(&self, tag: u64) -> usize {
        // A tag is 32 bits and the table is at most 2^32 slots: the cast keeps it whole.
        (tag as usize) & self.mask()
    }

    /// Makes room for `additional` more entries, so a batch never grows the table mid-way,
    /// keeping it at most half full so that probe runs stay short.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let needed = (self.len + additional).saturating_mul(2);
        if needed <= self.slots.len() {
            return;
        }
        let size = needed.next_power_of_two().max(MIN_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        for slot in old.into_iter().filter(|slot| *slot != EMPTY) {
            self.place(slot);
        }
    }

    /// Reads the home slot of every hash, so that the inserts that follow find them in
    /// cache. Returns a value made from the loads, for `std::hint::black_box`.
    pub(crate) fn warm(&self, hashes: &[u64]) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        hashes.iter().fold(0, |acc, hash| {
            acc ^ self.slots.get(self.home(tag(*hash))).copied().unwrap_or(0)
        })
    }

    /// The positions stored under hashes with the same tag as `hash`.
    pub(crate) fn candidates(&self, hash: u64) -> impl Iterator<Item = u32> + '_ {
        let wanted = tag(hash);
        let start = self.home(wanted);
        (0..self.slots.len())
            .map_while(move |step| {
                let slot = self.slots.get((start + step) & self.mask()).copied()?;
                (slot != EMPTY).then_some(slot)
            })
            .filter(move |slot| stored_tag(*slot) == wanted)
            .map(position)
    }

    /// Adds `position` under `hash` (`u32::MAX`, a saturated position, is not kept).
    pub(crate) fn insert(&mut self, hash: u64, position: u32) {
        let Some(stored) = position.checked_add(1) else {
            return;
        };
        self.reserve(1);
        self.place((u64::from(stored) << 32) | tag(hash));
        self.len += 1;
    }

    /// Puts a used slot at the first empty slot of its probe run (the table has room).
    fn place(&mut self, slot: u64) {
        let mask = self.mask();
        let mut at = self.home(stored_tag(slot));
        while self.slots.get(at).is_some_and(|taken| *taken != EMPTY) {
            at = (at + 1) & mask;
        }
        if let Some(free) = self.slots.get_mut(at) {
            *free = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_position_under_its_hash() {
        let mut index = DedupIndex::default();
        assert_eq!(index.candidates(7).count(), 0);
        assert_eq!(index.warm(&[1, 2]), 0);
        index.reserve(3000);
        // Many entries, growing the table several times, with colliding tags and homes.
        for position in 0..5000u32 {
            let hash = u64::from(position % 2500).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            index.insert(hash, position);
        }
        for position in 0..2500u32 {
            let hash = u64::from(position).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let mut found: Vec<u32> = index.candidates(hash).collect();
            found.sort_unstable();
            // Each hash was inserted twice; other hashes may share its tag.
            assert!(found.contains(&position) && found.contains(&(position + 2500)));
        }
        let _ = std::hint::black_box(index.warm(&[0, 1, u64::MAX]));
    }

    #[test]
    fn hashes_folding_to_one_tag_share_a_run() {
        let mut index = DedupIndex::default();
        // Both fold to the tag 5: 5 ^ 0, and 4 ^ 1.
        let other = (1 << 32) | 4;
        assert_eq!((tag(5), tag(other)), (5, 5));
        index.insert(5, 0);
        index.insert(other, 1);
        let found: Vec<u32> = index.candidates(5).collect();
        assert_eq!(found, vec![0, 1]);
        assert_eq!(index.candidates(other).count(), 2);
        assert_eq!(index.candidates(6).count(), 0);
    }
}
