//! Acknowledgements: which record ids of a segment were settled, as id ranges, and how they
//! are written to the segment's append-only acknowledgement log.
//!
//! Each acknowledgement is one frame (see the `format` module) whose payload is a list of
//! half-open id ranges, `start: u64, end: u64` little-endian. A damaged or torn acknowledgement
//! frame is skipped like any damaged frame: its records are simply sent again after a restart,
//! which the server's `uniqueId` deduplication makes harmless.

use std::fs::File;
use std::io;
use std::ops::Range;
use std::path::Path;

use super::format::{FrameReader, frame_buffer, seal_frame};

/// Sorted, disjoint, non-adjacent half-open id ranges.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct AckSet {
    ranges: Vec<Range<u64>>,
}

impl AckSet {
    /// Adds `range` (merging with its neighbours).
    pub(crate) fn insert(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        // First range that ends at or after the new start: everything before stays.
        let first = self.ranges.partition_point(|r| r.end < range.start);
        let mut merged = range;
        let mut last = first;
        while last < self.ranges.len() && self.ranges[last].start <= merged.end {
            merged.start = merged.start.min(self.ranges[last].start);
            merged.end = merged.end.max(self.ranges[last].end);
            last += 1;
        }
        self.ranges.splice(first..last, [merged]);
    }

    /// Whether `id` is in the set.
    pub(crate) fn contains(&self, id: u64) -> bool {
        let index = self.ranges.partition_point(|r| r.end <= id);
        self.ranges.get(index).is_some_and(|r| r.start <= id)
    }
}

/// Groups increasing `ids` into half-open ranges of consecutive ids.
pub(crate) fn ranges_of(ids: &[u64]) -> Vec<Range<u64>> {
    let mut ranges: Vec<Range<u64>> = Vec::new();
    for &id in ids {
        match ranges.last_mut() {
            Some(last) if last.end == id => last.end = id + 1,
            _ => ranges.push(id..id + 1),
        }
    }
    ranges
}

/// One acknowledgement frame for `ranges`.
pub(crate) fn ack_frame(ranges: &[Range<u64>]) -> Vec<u8> {
    let mut frame = frame_buffer(ranges.len() * 16);
    for range in ranges {
        frame.extend_from_slice(&range.start.to_le_bytes());
        frame.extend_from_slice(&range.end.to_le_bytes());
    }
    seal_frame(&mut frame, 0, 0);
    frame
}

/// Reads the acknowledgement log at `path` (a missing log acknowledges nothing).
pub(crate) fn read_acks(path: &Path) -> io::Result<AckSet> {
    let mut acks = AckSet::default();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(acks),
        Err(error) => return Err(error),
    };
    let mut reader = FrameReader::new(file, 0)?;
    while let Some(frame) = reader.next(u64::MAX)? {
        for pair in frame.payload.chunks_exact(16) {
            let mut start = [0; 8];
            let mut end = [0; 8];
            start.copy_from_slice(&pair[..8]);
            end.copy_from_slice(&pair[8..]);
            acks.insert(u64::from_le_bytes(start)..u64::from_le_bytes(end));
        }
    }
    Ok(acks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn ranges_merge_and_answer_membership() {
        let mut set = AckSet::default();
        set.insert(5..7);
        set.insert(1..2);
        set.insert(2..5);
        set.insert(10..12);
        assert_eq!(set.ranges, vec![1..7, 10..12]);
        assert!(set.contains(1) && set.contains(6) && set.contains(11));
        assert!(!set.contains(0) && !set.contains(7) && !set.contains(12));
        assert_eq!(ranges_of(&[1, 2, 3, 5, 6, 9]), vec![1..4, 5..7, 9..10]);
    }

    proptest! {
        #[test]
        fn the_set_matches_a_model(ranges in proptest::collection::vec((0u64..200, 0u64..20), 0..40)) {
            let mut set = AckSet::default();
            let mut model = BTreeSet::new();
            for (start, len) in ranges {
                set.insert(start..start + len);
                model.extend(start..start + len);
            }
            for id in 0..230 {
                prop_assert_eq!(set.contains(id), model.contains(&id));
            }
            for pair in set.ranges.windows(2) {
                prop_assert!(pair[0].end < pair[1].start);
            }
        }
    }
}
