//! The disk spool: a crash-safe, append-only log of accepted items in front of the in-memory
//! queue (opt-in through [`BatcherBuilder::spool`](crate::BatcherBuilder::spool)).
//!
//! # What it does
//!
//! * `try_send` encodes the item ([`SpoolCodec`]), frames it, and appends the frame to the
//!   active segment file with one `write` before returning `Ok`: from then on the item survives
//!   `kill -9` of the process (a power loss depends on the [`FsyncPolicy`]).
//! * The in-memory queue becomes a bounded cache of the spool's head. While it has room and
//!   nothing older waits on disk, the item also goes into it (no read back). Otherwise the item
//!   stays on disk only (the *backlog*), up to the disk budget, past which `try_send` refuses
//!   as before. The workers refill the queue from disk, in order, about a batch at a time as
//!   they take batches out, so an outage costs disk, not memory, and new items keep being
//!   accepted meanwhile (a refill holds the lock appends take for one batch's decoding only).
//! * When a batch settles (delivered, or handed to the error callback), its ids are
//!   acknowledged in the segment's acknowledgement log; a segment whose records are all
//!   acknowledged and that is no longer written to is deleted.
//! * `build` scans the directory, replays every record not acknowledged, oldest first, before
//!   new items ([`Stats::replayed`](crate::Stats::replayed); they count as enqueued), and always
//!   starts a new segment: files of an earlier run are only read, never repaired in place.
//! * Delivery is at least once: a crash after the server took a batch but before its
//!   acknowledgement was written sends the batch again on the next start. Amberflo deduplicates
//!   records by `uniqueId`, so the replay is harmless there; other sinks must be idempotent.
//!
//! # On-disk format
//!
//! `dir/LOCK` (an exclusive `flock`, see the `lock` module), segments `dir/{first_id:020}.seg`
//! and their acknowledgement logs `dir/{first_id:020}.ack`. Both hold frames (see the `format`
//! module): `magic | len | crc32 | id | tag | payload`, the CRC covering everything but the
//! magic and itself. A segment holds records with increasing ids; an acknowledgement frame
//! holds id ranges.
//!
//! Reading verifies every frame. A torn last frame (crash mid-write), a flipped bit, a zeroed
//! length or garbage appended fail the check; the reader counts the damaged region once
//! ([`Stats::spool_corrupt`](crate::Stats::spool_corrupt)), skips forward to the next offset
//! where a frame verifies (the magic makes that scan cheap), and goes on: the rest of the
//! segment and the later segments are still delivered, and nothing panics.
//!
//! # Why this design
//!
//! It follows Vector's disk buffer (v2): segment files of `length | checksum | id | payload`
//! frames, a ledger of acknowledgements, damaged frames skipped and counted, acknowledged
//! segments deleted, and the OpenTelemetry Collector's persistent queue (the queue *is* the
//! write-ahead log; acknowledge after the backend answered; at-least-once replay, deduplicated
//! downstream). Two departures, both simplifications:
//!
//! * Vector's reader is sequential, so its ledger is one position rewritten atomically (temp
//!   file, fsync, rename, fsync the directory). Our workers settle batches out of order, so an
//!   acknowledgement is a *set* of ids; we append each one, framed and checksummed like the
//!   records, to a per-segment log. Acknowledgements are idempotent facts: a torn or lost one
//!   only causes a resend (never a loss), so the log needs neither a rename dance nor fsync,
//!   and it disappears with its segment.
//! * Torn tails are skipped rather than truncated, because a new run never appends to an old
//!   segment.
//!
//! Crates looked at for the core and not taken: `queue-file` (one bad checksum makes the whole
//! file unreadable), `yaque` (no fsync), `sled` (beta, unmaintained), `okaywal` (not production
//! ready), `commitlog` (no acknowledgement model). `redb` with immediate durability was the
//! fallback, at the cost of a B-tree write per record. The only new dependencies are
//! `crc32fast` (the maintained CRC-32 of `flate2`, already in the tree) and, on Unix, `rustix`
//! for a safe `flock` (also already in the tree).

mod config;
mod format;
mod ledger;
mod lock;
mod segment;

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_queue::ArrayQueue;

pub use self::config::{
    CodecError, DEFAULT_MAX_DISK_BYTES, DEFAULT_SEGMENT_BYTES, FsyncPolicy, MIN_SEGMENT_BYTES,
    SpoolCodec, SpoolConfig,
};
use self::format::{FrameReader, HEADER, MAX_PAYLOAD, frame_buffer, seal_frame};
use self::ledger::ranges_of;
use self::lock::{DirLock, LockError};
use self::segment::{Segment, seg_path};
use crate::core::{RING, lock, wait_timeout};
use crate::error::BuildError;
use crate::ingress::Entry;

/// The spool's gauges and counters, read by `Core::stats`.
#[derive(Debug, Default)]
pub(crate) struct SpoolCounters {
    pub(crate) records: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) corrupt: AtomicU64,
}

/// Why an append was refused.
#[derive(Debug)]
pub(crate) enum AppendError {
    /// The disk budget is used up.
    Full,
    /// The codec could not encode the item.
    Encode(CodecError),
    /// The encoded item is over the frame size limit.
    TooLarge(usize),
    /// Writing failed.
    Io(io::Error),
}

/// What a refill did.
#[derive(Debug, Default)]
pub(crate) struct Refill {
    /// Items pushed into the queue.
    pub(crate) pushed: usize,
    /// Records that could not be decoded, per epoch slot: the caller counts them failed.
    pub(crate) undecodable: [u64; RING],
}

/// The spool of a `Shared<T>`.
pub(crate) struct Spool<T> {
    // Dropped first: stops and joins the sync thread.
    sync: Option<SyncThread>,
    codec: Box<dyn SpoolCodec<T>>,
    inner: Arc<Inner>,
    /// Mirrors `State::backlog`, read without the lock.
    backlog: AtomicBool,
}

/// The type-independent part, shared (weakly) with the sync thread.
struct Inner {
    config: SpoolConfig,
    state: Mutex<State>,
    counters: Arc<SpoolCounters>,
    /// The epoch slot replayed records are counted in.
    replay_slot: u8,
    _lock: DirLock,
}

/// Where the reader is: the next frame to load into memory.
struct Cursor {
    /// The segment (by first id; if deleted, the next one).
    seg: u64,
    /// The file offset, when no reader is open.
    offset: u64,
    reader: Option<FrameReader>,
    /// The last id read in this segment.
    last_id: Option<u64>,
}

impl Cursor {
    fn at(seg: u64, offset: u64) -> Self {
        Cursor {
            seg,
            offset,
            reader: None,
            last_id: None,
        }
    }
}

struct State {
    next_id: u64,
    /// Oldest first; the last one is the active segment.
    segments: VecDeque<Segment>,
    /// The active segment, opened for appending.
    active: File,
    /// Bytes of all segment files.
    disk_bytes: u64,
    /// Records not yet acknowledged.
    pending: u64,
    cursor: Cursor,
    /// Records on disk are not in the queue yet (the reader is behind the writer).
    backlog: bool,
    /// Written since the last sync (policy `Every`).
    dirty: bool,
}

impl State {
    fn active_segment(&mut self) -> &mut Segment {
        // The list always holds the active segment.
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }
}

impl<T> Spool<T> {
    /// Opens (creating) the directory, takes its lock, scans what an earlier engine left and
    /// starts a new segment. Returns the spool and how many records it replays.
    pub(crate) fn open(
        config: SpoolConfig,
        codec: Box<dyn SpoolCodec<T>>,
        counters: Arc<SpoolCounters>,
        replay_slot: u8,
    ) -> Result<(Self, u64), BuildError> {
        let dir = config.dir.clone();
        let io_error = |source: io::Error| BuildError::Spool {
            dir: dir.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(io_error)?;
        let dir_lock = DirLock::acquire(&dir).map_err(|error| match error {
            LockError::Held => BuildError::SpoolLocked { dir: dir.clone() },
            LockError::Io(source) => io_error(source),
        })?;
        let scan = segment::scan(&dir).map_err(io_error)?;
        let next_id = scan.next_id;
        let active =
            create_segment(&dir, next_id, config.fsync != FsyncPolicy::Never).map_err(io_error)?;
        let mut segments: VecDeque<Segment> = scan.segments.into();
        let cursor = match segments.front() {
            Some(oldest) => Cursor::at(oldest.first_id, 0),
            None => Cursor::at(next_id, 0),
        };
        let backlog = scan.replayed > 0;
        segments.push_back(Segment::fresh(next_id));
        counters.records.store(scan.replayed, Ordering::SeqCst);
        counters.bytes.store(scan.bytes, Ordering::SeqCst);
        counters.replayed.store(scan.replayed, Ordering::SeqCst);
        counters.corrupt.store(scan.corrupt, Ordering::SeqCst);
        if scan.replayed > 0 || scan.corrupt > 0 {
            tracing::info!(
                dir = %dir.display(),
                replayed = scan.replayed,
                corrupt = scan.corrupt,
                "amberflo-batcher: replaying the spool left by an earlier engine"
            );
        }
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                next_id,
                segments,
                active,
                disk_bytes: scan.bytes,
                pending: scan.replayed,
                cursor,
                backlog,
                dirty: false,
            }),
            config,
            counters,
            replay_slot,
            _lock: dir_lock,
        });
        let sync = match inner.config.fsync {
            FsyncPolicy::Every(interval) => Some(SyncThread::start(&inner, interval)),
            _ => None,
        };
        Ok((
            Spool {
                sync,
                codec,
                inner,
                backlog: AtomicBool::new(backlog),
            },
            scan.replayed,
        ))
    }

    /// Whether records wait on disk for room in the queue (a cheap check).
    #[inline]
    pub(crate) fn has_backlog(&self) -> bool {
        self.backlog.load(Ordering::SeqCst)
    }

    /// Appends `item` (counted in epoch slot `slot`) to the spool; if nothing older waits on
    /// disk and the queue has room, also pushes it into `queue`.
    pub(crate) fn append(
        &self,
        item: T,
        slot: u8,
        queue: &ArrayQueue<Entry<T>>,
        capacity: usize,
    ) -> Result<(), (AppendError, T)> {
        let mut frame = frame_buffer(240);
        if let Err(error) = self.codec.encode(&item, &mut frame) {
            return Err((AppendError::Encode(error), item));
        }
        let payload = frame.len() - HEADER;
        if payload > MAX_PAYLOAD {
            return Err((AppendError::TooLarge(payload), item));
        }
        let inner = &*self.inner;
        let total = frame.len() as u64;
        let mut state = lock(&inner.state);
        if state.disk_bytes.saturating_add(total) > inner.config.max_disk_bytes {
            return Err((AppendError::Full, item));
        }
        let active_bytes = state.active_segment().bytes;
        if active_bytes > 0
            && active_bytes.saturating_add(total) > inner.config.segment_bytes
            && let Err(error) = inner.rotate(&mut state)
        {
            return Err((AppendError::Io(error), item));
        }
        let id = state.next_id;
        seal_frame(&mut frame, id, slot);
        if let Err(error) = state.active.write_all(&frame) {
            inner.after_write_error(&mut state);
            return Err((AppendError::Io(error), item));
        }
        state.next_id += 1;
        let segment = state.active_segment();
        segment.bytes += total;
        segment.pending += 1;
        state.disk_bytes += total;
        state.pending += 1;
        match inner.config.fsync {
            FsyncPolicy::Always => {
                if let Err(error) = state.active.sync_data() {
                    tracing::error!(%error, "amberflo-batcher: spool fsync failed");
                }
            }
            FsyncPolicy::Every(_) => state.dirty = true,
            FsyncPolicy::Never => {}
        }
        inner.publish(&state);
        if !state.backlog {
            if queue.len() < capacity {
                match queue.push(Entry { slot, item, id }) {
                    Ok(()) => {
                        state.cursor.offset += total;
                        return Ok(());
                    }
                    // The record stays on disk; the reader will load it.
                    Err(entry) => drop(entry),
                }
            }
            state.backlog = true;
            self.backlog.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Loads up to `at_most` records from disk into `queue`, in order, while it has room
    /// (below `capacity`). The state lock is held meanwhile, and `append` needs it, so a call
    /// loads about a batch: `meter` never waits behind a whole backlog being decoded.
    pub(crate) fn refill(
        &self,
        queue: &ArrayQueue<Entry<T>>,
        capacity: usize,
        at_most: usize,
    ) -> Refill {
        let mut outcome = Refill::default();
        if !self.has_backlog() {
            return outcome;
        }
        let inner = &*self.inner;
        let mut guard = lock(&inner.state);
        let state = &mut *guard;
        let mut corrupt = 0u64;
        let mut undecodable_ids = Vec::new();
        let mut loaded = 0;
        while state.backlog && queue.len() < capacity && loaded < at_most {
            let index = state
                .segments
                .partition_point(|segment| segment.first_id < state.cursor.seg);
            let last = state.segments.len() - 1;
            let index = index.min(last);
            let segment = &state.segments[index];
            if segment.first_id != state.cursor.seg {
                state.cursor = Cursor::at(segment.first_id, 0);
            }
            let is_active = index == last;
            let limit = segment.bytes;
            let upper = state
                .segments
                .get(index + 1)
                .map_or(u64::MAX, |next| next.first_id);
            let cursor = &mut state.cursor;
            if cursor.reader.is_none() {
                if is_active && cursor.offset >= limit {
                    state.backlog = false;
                    break;
                }
                let opened = File::open(seg_path(&inner.config.dir, segment.first_id))
                    .and_then(|file| FrameReader::new(file, cursor.offset));
                match opened {
                    Ok(reader) => cursor.reader = Some(reader),
                    Err(error) => {
                        tracing::error!(%error, segment = segment.first_id, "amberflo-batcher: cannot read a spool segment");
                        if is_active {
                            break;
                        }
                        *cursor = Cursor::at(segment.first_id + 1, 0);
                        continue;
                    }
                }
            }
            let Some(reader) = cursor.reader.as_mut() else {
                break;
            };
            // Damage is counted when a reader of this run's segments ends (the scan counted it
            // for replayed ones).
            let frame = match reader.next(limit) {
                Ok(Some(frame)) => frame,
                Ok(None) => {
                    if !segment.replayed {
                        corrupt += reader.corrupt;
                    }
                    if is_active {
                        cursor.offset = reader.offset();
                        cursor.reader = None;
                        state.backlog = false;
                        break;
                    }
                    *cursor = Cursor::at(segment.first_id + 1, 0);
                    continue;
                }
                Err(error) => {
                    tracing::error!(%error, segment = segment.first_id, "amberflo-batcher: cannot read a spool segment");
                    if is_active {
                        cursor.offset = reader.offset();
                        cursor.reader = None;
                        break;
                    }
                    *cursor = Cursor::at(segment.first_id + 1, 0);
                    continue;
                }
            };
            let id = frame.id;
            if id < segment.first_id || id >= upper || cursor.last_id.is_some_and(|last| id <= last)
            {
                // Counted by the scan for replayed segments; impossible otherwise.
                if !segment.replayed {
                    corrupt += 1;
                }
                continue;
            }
            cursor.last_id = Some(id);
            if segment.replayed && segment.acked_before.contains(id) {
                continue;
            }
            loaded += 1;
            let slot = if segment.replayed {
                inner.replay_slot
            } else {
                frame.tag
            };
            match self.codec.decode(frame.payload) {
                Ok(item) => {
                    // Every push happens under the state lock and the array has headroom above
                    // `capacity`, so this cannot fail.
                    if queue.push(Entry { slot, item, id }).is_err() {
                        tracing::error!(
                            id,
                            "amberflo-batcher: the queue refused a spooled record; it is lost"
                        );
                    }
                    outcome.pushed += 1;
                }
                Err(error) => {
                    tracing::error!(%error, id, "amberflo-batcher: a spooled record cannot be decoded; counted failed");
                    corrupt += 1;
                    outcome.undecodable[usize::from(slot) % RING] += 1;
                    undecodable_ids.push(id);
                }
            }
        }
        if !state.backlog {
            self.backlog.store(false, Ordering::SeqCst);
        }
        if corrupt > 0 {
            inner.counters.corrupt.fetch_add(corrupt, Ordering::SeqCst);
        }
        if !undecodable_ids.is_empty() {
            inner.ack_locked(state, &undecodable_ids);
        }
        outcome
    }

    /// Acknowledges settled records (ids in increasing order, as batches hold them).
    pub(crate) fn ack(&self, ids: &[u64]) {
        if ids.is_empty() {
            return;
        }
        let mut state = lock(&self.inner.state);
        self.inner.ack_locked(&mut state, ids);
    }
}

impl<T> Drop for Spool<T> {
    fn drop(&mut self) {
        if let Some(sync) = self.sync.take() {
            drop(sync);
            self.inner.sync();
        }
        // Leave no fully acknowledged segment behind, the active one included.
        let mut state = lock(&self.inner.state);
        let active = state.active_segment();
        if active.pending == 0 {
            active.sealed = true;
            self.inner.remove_settled(&mut state);
        }
    }
}

impl Inner {
    /// Updates the public gauges.
    fn publish(&self, state: &State) {
        self.counters.records.store(state.pending, Ordering::SeqCst);
        self.counters
            .bytes
            .store(state.disk_bytes, Ordering::SeqCst);
    }

    /// Seals the active segment and starts a new one at the next id.
    fn rotate(&self, state: &mut State) -> io::Result<()> {
        let durable = self.config.fsync != FsyncPolicy::Never;
        if durable {
            state.active.sync_data()?;
        }
        let first_id = state.next_id;
        let file = create_segment(&self.config.dir, first_id, durable)?;
        state.active = file;
        state.dirty = false;
        state.active_segment().sealed = true;
        state.segments.push_back(Segment::fresh(first_id));
        if !state.backlog {
            state.cursor = Cursor::at(first_id, 0);
        }
        self.remove_settled(state);
        Ok(())
    }

    /// A write failed: the segment may end with part of a frame. Seal it at its real length
    /// (the reader skips the torn frame) and start a new one, skipping an id so that the new
    /// segment's name cannot collide.
    fn after_write_error(&self, state: &mut State) {
        let path = seg_path(&self.config.dir, state.active_segment().first_id);
        if let Ok(metadata) = fs::metadata(&path) {
            let segment = state.active_segment();
            let grown = metadata.len().saturating_sub(segment.bytes);
            segment.bytes += grown;
            state.disk_bytes += grown;
        }
        state.next_id += 1;
        if let Err(error) = self.rotate(state) {
            tracing::error!(%error, "amberflo-batcher: cannot start a new spool segment");
        }
    }

    /// Logs acknowledgements of `ids` and deletes segments left with nothing to deliver.
    fn ack_locked(&self, state: &mut State, ids: &[u64]) {
        let mut sorted;
        let ids = if ids.is_sorted() {
            ids
        } else {
            sorted = ids.to_vec();
            sorted.sort_unstable();
            &sorted
        };
        let mut parts: Vec<std::ops::Range<u64>> = Vec::new();
        let mut current: Option<usize> = None;
        for range in ranges_of(ids) {
            let mut start = range.start;
            while start < range.end {
                let after = state.segments.partition_point(|s| s.first_id <= start);
                let Some(index) = after.checked_sub(1) else {
                    start = state.segments.front().map_or(range.end, |s| s.first_id);
                    continue;
                };
                let end = state
                    .segments
                    .get(index + 1)
                    .map_or(range.end, |next| next.first_id.min(range.end));
                if current.is_some_and(|c| c != index) {
                    self.log_acks(state, current, &mut parts);
                }
                current = Some(index);
                parts.push(start..end);
                start = end;
            }
        }
        self.log_acks(state, current, &mut parts);
        self.remove_settled(state);
        self.publish(state);
    }

    /// Writes `parts` to segment `index`'s acknowledgement log and counts them settled.
    fn log_acks(
        &self,
        state: &mut State,
        index: Option<usize>,
        parts: &mut Vec<std::ops::Range<u64>>,
    ) {
        let Some(index) = index else { return };
        if parts.is_empty() {
            return;
        }
        let count: u64 = parts.iter().map(|r| r.end - r.start).sum();
        let segment = &mut state.segments[index];
        if let Err(error) = segment.log_acks(&self.config.dir, parts) {
            tracing::warn!(%error, "amberflo-batcher: cannot log a spool acknowledgement (its records may be sent again after a restart)");
        }
        segment.pending = segment.pending.saturating_sub(count);
        state.pending = state.pending.saturating_sub(count);
        parts.clear();
    }

    /// Deletes sealed segments whose records are all acknowledged.
    fn remove_settled(&self, state: &mut State) {
        let dir = &self.config.dir;
        let mut freed = 0;
        state.segments.retain_mut(|segment| {
            if segment.sealed && segment.pending == 0 {
                segment.remove(dir);
                freed += segment.bytes;
                false
            } else {
                true
            }
        });
        state.disk_bytes = state.disk_bytes.saturating_sub(freed);
    }

    /// Syncs the active segment if written since the last sync (new segments sync the
    /// directory when created).
    fn sync(&self) {
        let file = {
            let mut state = lock(&self.state);
            if !state.dirty {
                return;
            }
            state.dirty = false;
            state.active.try_clone()
        };
        if let Err(error) = file.and_then(|file| file.sync_data()) {
            tracing::error!(%error, "amberflo-batcher: spool fsync failed");
        }
    }
}

/// Creates segment `first_id` for appending (syncing the directory so that it survives a
/// power loss when `durable`).
fn create_segment(dir: &Path, first_id: u64, durable: bool) -> io::Result<File> {
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(seg_path(dir, first_id))?;
    if durable {
        sync_dir(dir);
    }
    Ok(file)
}

/// Syncs a directory's entries (Unix; a no-op elsewhere).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|dir| dir.sync_all()) {
        tracing::warn!(%error, "amberflo-batcher: cannot sync the spool directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The background thread of [`FsyncPolicy::Every`].
struct SyncThread {
    stop: Arc<(Mutex<bool>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl SyncThread {
    fn start(inner: &Arc<Inner>, interval: Duration) -> Self {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let weak: Weak<Inner> = Arc::downgrade(inner);
        let signal = Arc::clone(&stop);
        let handle = thread::Builder::new()
            .name("amberflo-batcher-spool-sync".to_owned())
            .spawn(move || {
                let (flag, cv) = &*signal;
                let mut stopped = lock(flag);
                while !*stopped {
                    stopped = wait_timeout(cv, stopped, interval);
                    if *stopped {
                        break;
                    }
                    drop(stopped);
                    match weak.upgrade() {
                        Some(inner) => inner.sync(),
                        None => return,
                    }
                    stopped = lock(flag);
                }
            });
        let handle = match handle {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::error!(%error, "amberflo-batcher: cannot start the spool sync thread; syncing only at rotation and shutdown");
                None
            }
        };
        SyncThread { stop, handle }
    }
}

impl Drop for SyncThread {
    fn drop(&mut self) {
        let (flag, cv) = &*self.stop;
        *lock(flag) = true;
        cv.notify_all();
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}
