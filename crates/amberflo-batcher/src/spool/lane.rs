//! A lane: one ordered log of the spool, with its own segment files, reader and
//! acknowledgement logs, in its own directory (`dir/lane-{n}`).
//!
//! Everything here happens under the lane's state lock: an append writes its frame with one
//! `write` while holding it, and a refill reads up to a batch while holding it. Only the
//! `fdatasync` of [`FsyncPolicy::Always`] comes after the lock is released, shared by the
//! appends that came meanwhile (group commit, [`Lane::sync_through`]). Producers
//! append to their own thread's lane (see the `spool` module), so on a machine with as many
//! lanes as cores they rarely wait for each other.
//!
//! One file on purpose: appends, refills and acknowledgements share the lane's lock and its
//! recovery rules.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::mem;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Waker;

use super::format::{FrameReader, seal_frame};
use super::ledger::ranges_of;
use super::segment::{self, Segment, seg_path};
use super::{
    AppendError, BUDGET_STEP, FsyncPolicy, MAX_RECORD_ID, Refill, SpoolCodec, SpoolConfig,
    SpoolCounters, tag,
};
use crate::core::RING;
use crate::ingress::Entry;
use crate::sync::{ArrayQueue, AtomicBool, Condvar, Mutex, lock, wait};

/// One ordered log of the spool.
pub(super) struct Lane {
    /// The lane's number, carried in the ids of its entries.
    index: u8,
    dir: PathBuf,
    config: SpoolConfig,
    state: Mutex<State>,
    counters: Arc<SpoolCounters>,
    /// The epoch slot replayed records are counted in.
    replay_slot: u8,
    /// Mirrors `State::backlog`, read without the lock.
    backlog: AtomicBool,
    /// A sync thread flushes this lane (policy `Every`); without one, rotation does.
    background_sync: AtomicBool,
    /// Group commit under `Always` (see [`Lane::sync_through`]).
    sync_group: Mutex<SyncGroup>,
    /// Notified when a group's sync ends.
    synced: Condvar,
}

/// Where the group commit of [`FsyncPolicy::Always`] is.
#[derive(Default)]
struct SyncGroup {
    /// Every append with an id below this one is synced.
    synced: u64,
    /// A caller is syncing for the group.
    syncing: bool,
    /// The appends before this id are awaited by a [`Durability`](super::Durability).
    wanted: u64,
    /// The tasks awaiting them, woken when a sync ends.
    wakers: Vec<Waker>,
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
    /// The active segment was written since the last sync (policies `Every` and `Always`).
    dirty: bool,
    /// Sealed segments written since their last sync (policy `Every`).
    unsynced: Vec<File>,
    /// Segments were created since the directory's last sync (policy `Every`).
    dir_dirty: bool,
    /// `disk_bytes` as last added to the shared figure the budget is checked against.
    budget_published: u64,
}

impl State {
    fn active_segment(&mut self) -> &mut Segment {
        // The list always holds the active segment.
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }
}

impl Lane {
    /// Opens lane `index` in `dir` (creating it): scans what an earlier engine left, counts it
    /// in `counters`, and starts a new segment.
    pub(super) fn open(
        dir: PathBuf,
        index: u8,
        config: &SpoolConfig,
        counters: &Arc<SpoolCounters>,
        replay_slot: u8,
    ) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        let scan = segment::scan(&dir)?;
        let next_id = scan.next_id;
        if next_id >= MAX_RECORD_ID {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "spool lane {} holds record ids past 2^56 (a foreign file?)",
                    dir.display()
                ),
            ));
        }
        let active = create_segment(&dir, next_id, config.fsync != FsyncPolicy::Never)?;
        let mut segments: VecDeque<Segment> = scan.segments.into();
        let cursor = match segments.front() {
            Some(oldest) => Cursor::at(oldest.first_id, 0),
            None => Cursor::at(next_id, 0),
        };
        let backlog = scan.replayed > 0;
        segments.push_back(Segment::fresh(next_id));
        counters.replayed.fetch_add(scan.replayed, Ordering::SeqCst);
        counters.corrupt.fetch_add(scan.corrupt, Ordering::SeqCst);
        counters
            .corrupt_bytes
            .fetch_add(scan.corrupt_bytes, Ordering::SeqCst);
        if scan.replayed > 0 || scan.corrupt > 0 {
            tracing::info!(
                dir = %dir.display(),
                replayed = scan.replayed,
                corrupt = scan.corrupt,
                "amberflo-batcher: replaying the spool left by an earlier engine"
            );
        }
        let lane = Lane {
            index,
            dir,
            config: config.clone(),
            state: Mutex::new(State {
                next_id,
                segments,
                active,
                disk_bytes: scan.bytes,
                pending: scan.replayed,
                cursor,
                backlog,
                dirty: false,
                unsynced: Vec::new(),
                dir_dirty: false,
                budget_published: 0,
            }),
            counters: Arc::clone(counters),
            replay_slot,
            backlog: AtomicBool::new(backlog),
            background_sync: AtomicBool::new(false),
            sync_group: Mutex::new(SyncGroup::default()),
            synced: Condvar::new(),
        };
        lane.publish(&mut lock(&lane.state));
        Ok(lane)
    }

    /// The lane's number (its position in the spool's lanes).
    pub(super) fn index(&self) -> usize {
        usize::from(self.index)
    }

    /// Whether the lane was left by an earlier engine with more lanes: nothing is appended to
    /// it, and once drained its directory goes.
    fn is_drain_only(&self) -> bool {
        usize::from(self.index) >= self.config.lanes
    }

    /// Whether records wait on disk for room in the queue (a cheap check).
    #[inline]
    pub(super) fn has_backlog(&self) -> bool {
        self.backlog.load(Ordering::SeqCst)
    }

    /// From now on a sync thread flushes this lane.
    pub(super) fn sync_in_background(&self) {
        self.background_sync.store(true, Ordering::SeqCst);
    }

    /// Appends the encoded `frame` of `item` (its header reserved; counted in epoch slot
    /// `slot`) to the lane; if nothing older waits on disk in this lane and the queue has room,
    /// also pushes `item` into `queue`. Returns the id past the frame's, for
    /// [`sync_through`](Self::sync_through) under [`FsyncPolicy::Always`].
    pub(super) fn append<T>(
        &self,
        frame: &mut [u8],
        item: T,
        slot: u8,
        queue: &ArrayQueue<Entry<T>>,
        capacity: usize,
    ) -> Result<u64, (AppendError, T)> {
        let total = frame.len() as u64;
        let mut state = lock(&self.state);
        // The budget is shared by the lanes: the others' bytes as they last published them,
        // and this lane's exactly.
        let others = self
            .counters
            .disk_bytes
            .load(Ordering::SeqCst)
            .wrapping_sub(state.budget_published);
        if others
            .saturating_add(state.disk_bytes)
            .saturating_add(total)
            > self.config.max_disk_bytes
        {
            return Err((AppendError::Full, item));
        }
        let active_bytes = state.active_segment().bytes;
        if active_bytes > 0
            && active_bytes.saturating_add(total) > self.config.segment_bytes
            && let Err(error) = self.rotate(&mut state)
        {
            return Err((AppendError::Io(error), item));
        }
        let id = state.next_id;
        seal_frame(frame, id, slot);
        if let Err(error) = state.active.write_all(frame) {
            self.after_write_error(&mut state);
            return Err((AppendError::Io(error), item));
        }
        state.next_id += 1;
        let segment = state.active_segment();
        segment.bytes += total;
        segment.pending += 1;
        state.disk_bytes += total;
        state.pending += 1;
        // `Always` syncs after the lock is released (group commit, see `sync_through`, which
        // the caller runs); a rotation syncs the segment it seals when it is dirty.
        state.dirty |= self.config.fsync != FsyncPolicy::Never;
        let written = state.next_id;
        self.publish(&mut state);
        self.queue_or_backlog(
            &mut state,
            queue,
            capacity,
            Entry {
                slot,
                item,
                id: tag(self.index, id),
            },
            total,
        );
        Ok(written)
    }

    /// After an append: puts `entry` into `queue` too when nothing older waits on disk and
    /// there is room (moving the read-back cursor past its `bytes`); otherwise the lane has a
    /// backlog from now on and the reader loads the entry.
    fn queue_or_backlog<T>(
        &self,
        state: &mut State,
        queue: &ArrayQueue<Entry<T>>,
        capacity: usize,
        entry: Entry<T>,
        bytes: u64,
    ) {
        if state.backlog {
            return;
        }
        if queue.len() < capacity && queue.push(entry).is_ok() {
            state.cursor.offset += bytes;
            return;
        }
        // The record stays on disk; the reader will load it.
        state.backlog = true;
        self.backlog.store(true, Ordering::SeqCst);
    }

    /// Under [`FsyncPolicy::Always`]: returns once the lane's appends before id `written` are
    /// synced. Group commit: the first caller to find no sync in progress leads one, covering
    /// every append made before it starts; callers that appended meanwhile wait for it, or
    /// lead the next, so one `fdatasync` serves every append of the lane that came during
    /// the previous one. Appends sealed into an older segment were synced by the rotation
    /// that sealed it.
    pub(super) fn sync_through(&self, written: u64) {
        let mut group = lock(&self.sync_group);
        while group.synced < written {
            if group.syncing {
                group = wait(&self.synced, group);
                continue;
            }
            group.syncing = true;
            drop(group);
            let (covered, file) = {
                let state = lock(&self.state);
                (state.next_id, state.active.try_clone())
            };
            if let Some(hook) = &self.config.before_sync {
                hook.run();
            }
            match file.and_then(|file| file.sync_data()) {
                Ok(()) => {
                    self.counters.syncs.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => tracing::error!(%error, "amberflo-batcher: spool fsync failed"),
            }
            group = lock(&self.sync_group);
            group.synced = group.synced.max(covered);
            group.syncing = false;
            let wakers = mem::take(&mut group.wakers);
            self.synced.notify_all();
            drop(group);
            wakers.into_iter().for_each(Waker::wake);
            group = lock(&self.sync_group);
        }
    }

    /// A [`Durability`](super::Durability) waits for the appends before id `written`: the
    /// demand-driven sync thread will sync them ([`sync_wanted`](Self::sync_wanted)).
    pub(super) fn want_sync(&self, written: u64) {
        let mut group = lock(&self.sync_group);
        group.wanted = group.wanted.max(written);
    }

    /// The sync thread's side: syncs what a [`Durability`](super::Durability) waits for.
    pub(super) fn sync_wanted(&self) {
        let wanted = lock(&self.sync_group).wanted;
        self.sync_through(wanted);
    }

    /// Whether the appends before id `written` are synced; if not, `waker` is woken when a
    /// sync ends.
    pub(super) fn poll_synced(&self, written: u64, waker: &Waker) -> bool {
        let mut group = lock(&self.sync_group);
        if group.synced >= written {
            return true;
        }
        if !group.wakers.iter().any(|known| known.will_wake(waker)) {
            group.wakers.push(waker.clone());
        }
        false
    }

    /// Loads up to `at_most` records of this lane from disk into `queue`, in order, while it
    /// has room (below `capacity`), adding to `outcome`; returns how many it loaded (pushed or
    /// found undecodable). The state lock is held meanwhile.
    pub(super) fn refill<T>(
        &self,
        codec: &dyn SpoolCodec<T>,
        queue: &ArrayQueue<Entry<T>>,
        capacity: usize,
        at_most: usize,
        outcome: &mut Refill,
    ) -> usize {
        if !self.has_backlog() {
            return 0;
        }
        let mut guard = lock(&self.state);
        let state = &mut *guard;
        let mut corrupt = 0u64;
        let mut corrupt_bytes = 0u64;
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
                // The scan reported the damage of replayed segments.
                let opened = File::open(seg_path(&self.dir, segment.first_id))
                    .and_then(|file| FrameReader::new(file, cursor.offset))
                    .map(|reader| match segment.replayed {
                        true => reader,
                        false => reader.reporting(segment.first_id),
                    });
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
                        corrupt_bytes += reader.corrupt_bytes;
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
                self.replay_slot
            } else {
                frame.tag
            };
            match codec.decode(frame.payload) {
                Ok(item) => {
                    // A push follows a capacity check under a lane's lock; the other lanes
                    // overshoot it by one item each at most, within the array's headroom
                    // (more than `MAX_LANES`), so this cannot fail.
                    if queue
                        .push(Entry {
                            slot,
                            item,
                            id: tag(self.index, id),
                        })
                        .is_err()
                    {
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
            self.counters.corrupt.fetch_add(corrupt, Ordering::SeqCst);
            self.counters
                .corrupt_bytes
                .fetch_add(corrupt_bytes, Ordering::SeqCst);
        }
        if !undecodable_ids.is_empty() {
            self.ack_locked(state, &undecodable_ids);
        }
        loaded
    }

    /// Acknowledges settled records of this lane (untagged ids, in increasing order).
    pub(super) fn ack(&self, ids: &[u64]) {
        let mut state = lock(&self.state);
        self.ack_locked(&mut state, ids);
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.sync();
        // Leave no fully acknowledged segment behind, the active one included.
        let mut state = lock(&self.state);
        let active = state.active_segment();
        if active.pending == 0 {
            active.sealed = true;
            self.remove_settled(&mut state);
        }
        if self.is_drain_only()
            && state.segments.is_empty()
            && let Err(error) = fs::remove_dir(&self.dir)
        {
            tracing::warn!(dir = %self.dir.display(), %error, "amberflo-batcher: could not remove a drained spool lane");
        }
    }
}

impl Lane {
    /// Updates the lane's gauges, and its share of the shared disk figure once it moved by
    /// [`BUDGET_STEP`] (or to zero).
    fn publish(&self, state: &mut State) {
        let gauges = &self.counters.lanes[usize::from(self.index)];
        gauges.records.store(state.pending, Ordering::SeqCst);
        gauges.bytes.store(state.disk_bytes, Ordering::SeqCst);
        let moved = state.disk_bytes.abs_diff(state.budget_published);
        if moved >= BUDGET_STEP || (moved > 0 && state.disk_bytes == 0) {
            self.counters.disk_bytes.fetch_add(
                state.disk_bytes.wrapping_sub(state.budget_published),
                Ordering::SeqCst,
            );
            state.budget_published = state.disk_bytes;
        }
    }

    /// Seals the active segment and starts a new one at the next id.
    ///
    /// With `Every` and its sync thread running, nothing waits for a disk flush here, under
    /// the lane's lock: the thread flushes the sealed segment and the directory within its
    /// interval. Otherwise (`Always`, whose records are synced already, or `Every` without
    /// the thread) the sealed segment and the new name are synced before a record goes in.
    fn rotate(&self, state: &mut State) -> io::Result<()> {
        let deferred = matches!(self.config.fsync, FsyncPolicy::Every(_))
            && self.background_sync.load(Ordering::SeqCst);
        let now = self.config.fsync != FsyncPolicy::Never && !deferred;
        if now && state.dirty {
            state.active.sync_data()?;
            self.counters.syncs.fetch_add(1, Ordering::Relaxed);
            state.dirty = false;
        }
        let first_id = state.next_id;
        let file = create_segment(&self.dir, first_id, now)?;
        let sealed = mem::replace(&mut state.active, file);
        if deferred {
            if mem::take(&mut state.dirty) {
                state.unsynced.push(sealed);
            }
            state.dir_dirty = true;
        }
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
        let path = seg_path(&self.dir, state.active_segment().first_id);
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

    /// Logs acknowledgements of `ids` (in increasing order) and deletes segments left with
    /// nothing to deliver.
    fn ack_locked(&self, state: &mut State, ids: &[u64]) {
        debug_assert!(ids.is_sorted(), "spool acknowledgements must come sorted");
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
        if let Err(error) = segment.log_acks(&self.dir, parts) {
            tracing::warn!(%error, "amberflo-batcher: cannot log a spool acknowledgement (its records may be sent again after a restart)");
        }
        segment.pending = segment.pending.saturating_sub(count);
        state.pending = state.pending.saturating_sub(count);
        parts.clear();
    }

    /// Deletes sealed segments whose records are all acknowledged.
    fn remove_settled(&self, state: &mut State) {
        let dir = &self.dir;
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

    /// Syncs what was written since the last sync (policy `Every`): sealed segments, the
    /// directory's new names, the active segment.
    pub(super) fn sync(&self) {
        let (active, sealed, dir) = {
            let mut state = lock(&self.state);
            let active = mem::take(&mut state.dirty).then(|| state.active.try_clone());
            (
                active,
                mem::take(&mut state.unsynced),
                mem::take(&mut state.dir_dirty),
            )
        };
        if dir {
            sync_dir(&self.dir);
        }
        for file in sealed.into_iter().map(Ok).chain(active) {
            match file.and_then(|file| file.sync_data()) {
                Ok(()) => {
                    self.counters.syncs.fetch_add(1, Ordering::Relaxed);
                }
                Err(error) => tracing::error!(%error, "amberflo-batcher: spool fsync failed"),
            }
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
pub(super) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|dir| dir.sync_all()) {
        tracing::warn!(%error, "amberflo-batcher: cannot sync the spool directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}
