//! Segment files: naming, the per-segment bookkeeping, and the scan that replays a directory
//! left by an earlier engine.
//!
//! A segment is `{first_id:020}.seg` (frames of records, ids from `first_id` up, increasing);
//! its acknowledgement log is `{first_id:020}.ack`. Only the active segment is ever appended
//! to; segments of an earlier run are read-only, so a torn tail left by a crash needs no repair
//! (the reader counts and skips it).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::format::FrameReader;
use super::ledger::{AckSet, ack_frame, read_acks};

/// One segment file and what is left to acknowledge in it.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) first_id: u64,
    /// Bytes in the file (written by this run, or found on disk): the reader's limit.
    pub(crate) bytes: u64,
    /// Records in it not yet acknowledged.
    pub(crate) pending: u64,
    /// No more appends (every segment but the active one).
    pub(crate) sealed: bool,
    /// Written by an earlier run: its records are replayed.
    pub(crate) replayed: bool,
    /// Ids acknowledged by an earlier run (replayed segments only): the reader skips them.
    pub(crate) acked_before: AckSet,
    /// The acknowledgement log, opened at the first acknowledgement.
    ack_log: Option<File>,
}

impl Segment {
    /// A new, empty, active segment starting at `first_id`.
    pub(crate) fn fresh(first_id: u64) -> Self {
        Segment {
            first_id,
            bytes: 0,
            pending: 0,
            sealed: false,
            replayed: false,
            acked_before: AckSet::default(),
            ack_log: None,
        }
    }

    /// Appends an acknowledgement of `ranges` to the segment's log (one `write`).
    pub(crate) fn log_acks(
        &mut self,
        dir: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> io::Result<()> {
        let log = match &mut self.ack_log {
            Some(log) => log,
            empty => empty.insert(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(ack_path(dir, self.first_id))?,
            ),
        };
        log.write_all(&ack_frame(ranges))
    }

    /// Deletes the segment's files.
    pub(crate) fn remove(&mut self, dir: &Path) {
        self.ack_log = None;
        for path in [seg_path(dir, self.first_id), ack_path(dir, self.first_id)] {
            if let Err(error) = fs::remove_file(&path)
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), %error, "amberflo-batcher: could not delete a spool file");
            }
        }
    }
}

/// The path of segment `first_id`.
pub(crate) fn seg_path(dir: &Path, first_id: u64) -> PathBuf {
    dir.join(format!("{first_id:020}.seg"))
}

/// The path of segment `first_id`'s acknowledgement log.
pub(crate) fn ack_path(dir: &Path, first_id: u64) -> PathBuf {
    dir.join(format!("{first_id:020}.ack"))
}

/// The first ids of the segments in `dir`, sorted.
fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".seg")
            && let Ok(id) = stem.parse::<u64>()
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// What the scan of a directory found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Segments with records to replay, oldest first.
    pub(crate) segments: Vec<Segment>,
    /// The id after the largest id ever used.
    pub(crate) next_id: u64,
    /// Records to replay.
    pub(crate) replayed: u64,
    /// Damaged regions skipped.
    pub(crate) corrupt: u64,
    /// Bytes skipped as damaged.
    pub(crate) corrupt_bytes: u64,
    /// Bytes in the kept segments.
    pub(crate) bytes: u64,
}

/// Scans every segment of `dir`: counts the valid, unacknowledged records, deletes segments
/// with none. A frame whose id is out of order (not increasing, or outside the segment's id
/// range) counts as damage.
pub(crate) fn scan(dir: &Path) -> io::Result<Scan> {
    let firsts = list_segments(dir)?;
    let mut scan = Scan {
        next_id: 1,
        ..Scan::default()
    };
    for (index, &first_id) in firsts.iter().enumerate() {
        let upper = firsts.get(index + 1).copied().unwrap_or(u64::MAX);
        let acked_before = read_acks(&ack_path(dir, first_id))?;
        let file = File::open(seg_path(dir, first_id))?;
        let bytes = file.metadata()?.len();
        let mut reader = FrameReader::new(file, 0)?.reporting(first_id);
        let mut pending = 0;
        let mut last = None;
        let mut out_of_order = 0;
        while let Some(frame) = reader.next(bytes)? {
            let id = frame.id;
            if id < first_id || id >= upper || last.is_some_and(|last| id <= last) {
                out_of_order += 1;
                continue;
            }
            last = Some(id);
            if !acked_before.contains(id) {
                pending += 1;
            }
        }
        scan.corrupt += reader.corrupt + out_of_order;
        scan.corrupt_bytes += reader.corrupt_bytes;
        scan.next_id = scan
            .next_id
            .max(first_id.saturating_add(1))
            .max(last.map_or(0, |last| last + 1));
        let mut segment = Segment {
            first_id,
            bytes,
            pending,
            sealed: true,
            replayed: true,
            acked_before,
            ack_log: None,
        };
        if pending == 0 {
            segment.remove(dir);
        } else {
            scan.replayed += pending;
            scan.bytes += bytes;
            scan.segments.push(segment);
        }
    }
    Ok(scan)
}
