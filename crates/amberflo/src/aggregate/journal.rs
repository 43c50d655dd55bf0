//! The aggregation journal, with a spool: every record of an aggregated meter is appended to
//! it before `meter` returns, and so are the closes of windows and the acknowledgement of
//! their aggregates once delivered. Replaying it after a crash recomputes exactly the
//! aggregates that were not acknowledged: the same records in the same order, so the same
//! values and ids.
//!
//! Files `{seq:020}.log` in `dir`, frames `len: u32 | crc32: u32 | kind: u8 | payload`
//! (little-endian, the CRC over kind and payload):
//!
//! * record: `function: u8 | window_ms: i64 | the record's compact form`;
//! * close: `round: u64 | instance: 16 bytes | window_start_ms: i64 | meter: len-prefixed
//!   text`: every cell of that meter and window opened since the window's previous close
//!   belongs to `round`, whose aggregate ids are derived in `instance`'s namespace;
//! * ack: `round: u64`: every round up to it was handed to the spooled delivery queue (or to
//!   the error callback). Every file starts with the latest one.
//!
//! A torn frame ends its file (only the tail can be torn: a file is never written after a
//! failed write, nor by a later run). A file is deleted once every record and close in it
//! belongs to an acknowledged round. `dir/instance` keeps the namespace of the aggregate ids,
//! so that a restarted client derives the same ones.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use amberflo_batcher::FsyncPolicy;
use amberflo_types::{Dimensions, MeterRecord, UniqueId, Uuid};

use super::AggregateFunction;

/// A file is closed and a new one started past this size.
const FILE_BYTES: u64 = 8 << 20;
/// The largest frame written or read.
pub(crate) const MAX_FRAME: usize = 1 << 20;

const RECORD: u8 = 1;
const CLOSE: u8 = 2;
const ACK: u8 = 3;

/// Frames per file, by file number.
pub(crate) type FileCounts = BTreeMap<u64, u64>;

/// An open journal.
pub(crate) struct Journal {
    dir: PathBuf,
    fsync: FsyncPolicy,
    file: File,
    seq: u64,
    bytes: u64,
    dirty: bool,
    /// Frames of each file whose round is not acknowledged (records and closes).
    refs: FileCounts,
    /// The frames of each closed, unacknowledged round, per file.
    rounds: BTreeMap<u64, FileCounts>,
    next_round: u64,
    /// Every round up to this one was acknowledged: the first frame of every new file says so,
    /// so that deleting the file of an older acknowledgement never brings its rounds back.
    acknowledged: Option<u64>,
    buf: Vec<u8>,
}

/// A cell rebuilt by the replay.
#[derive(Debug, Clone)]
pub(crate) struct ReplayedCell {
    /// The namespace its round's aggregate ids were derived in (`None` while open).
    pub(crate) instance: Option<Uuid>,
    pub(crate) meter: String,
    pub(crate) window_ms: i64,
    pub(crate) window_start_ms: i64,
    pub(crate) customer: String,
    pub(crate) dimensions: Option<Dimensions>,
    pub(crate) value: f64,
    pub(crate) first_member: UniqueId,
    pub(crate) files: FileCounts,
}

/// What the replay found: the cells of each closed round not acknowledged, and the cells
/// still open (the caller closes them at once, in a round of their own).
#[derive(Debug, Default)]
pub(crate) struct Replayed {
    pub(crate) rounds: BTreeMap<u64, Vec<ReplayedCell>>,
    pub(crate) open: Vec<ReplayedCell>,
}

impl Journal {
    /// Opens the journal in `dir` (creating it), replays what an earlier client left, and
    /// starts a new file. Returns the journal, the replay and the instance id for new
    /// rounds (`instance` when given, else the one kept in `dir`, else a new one, kept);
    /// replayed rounds keep the one they were closed with.
    pub(crate) fn open(
        dir: &Path,
        fsync: FsyncPolicy,
        instance: Option<Uuid>,
    ) -> io::Result<(Journal, Replayed, Uuid)> {
        fs::create_dir_all(dir)?;
        let instance = match instance {
            Some(instance) => instance,
            None => kept_instance(dir, fsync)?,
        };
        let seqs = files(dir)?;
        let mut replay = Replay::default();
        for &seq in &seqs {
            replay.read(seq, &fs::read(file_path(dir, seq))?);
        }
        let (replayed, mut refs, rounds, next_round, acknowledged) = replay.finish();
        // Files holding only settled frames are not counted: `remove_settled` deletes them.
        for &seq in &seqs {
            refs.entry(seq).or_default();
        }
        let seq = seqs.last().map_or(0, |last| last + 1);
        let mut journal = Journal {
            dir: dir.to_owned(),
            fsync,
            file: create(dir, seq, fsync)?,
            seq,
            bytes: 0,
            dirty: false,
            refs,
            rounds,
            next_round,
            acknowledged,
            buf: Vec::new(),
        };
        journal.refs.entry(seq).or_default();
        journal.mark_acknowledged()?;
        journal.remove_settled();
        Ok((journal, replayed, instance))
    }

    /// Appends `record` (folded with `function` over windows of `window_ms`); returns the
    /// number of the file that holds it.
    pub(crate) fn append_record(
        &mut self,
        record: &MeterRecord,
        function: AggregateFunction,
        window_ms: i64,
    ) -> io::Result<u64> {
        let mut payload = std::mem::take(&mut self.buf);
        payload.clear();
        payload.push(function_code(function));
        payload.extend_from_slice(&window_ms.to_le_bytes());
        record.write_compact(&mut payload);
        let written = match payload.len() < MAX_FRAME {
            true => self.write_frame(RECORD, &payload),
            false => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "record too large for the aggregation journal",
            )),
        };
        self.buf = payload;
        written?;
        // `write_all` starts a new file before a write, never after: this is the one written.
        *self.refs.entry(self.seq).or_default() += 1;
        Ok(self.seq)
    }

    /// Writes the close of `windows` (meter, window start) as a new round whose records are
    /// in `members` and whose aggregate ids are derived in `instance`'s namespace; returns
    /// the round.
    pub(crate) fn close(
        &mut self,
        windows: &[(&str, i64)],
        mut members: FileCounts,
        instance: Uuid,
    ) -> io::Result<u64> {
        let round = self.next_round;
        let mut frames = Vec::new();
        for (meter, window_start_ms) in windows {
            let mut payload = Vec::with_capacity(40 + meter.len());
            payload.extend_from_slice(&round.to_le_bytes());
            payload.extend_from_slice(instance.as_bytes());
            payload.extend_from_slice(&window_start_ms.to_le_bytes());
            put_text(&mut payload, meter);
            frame(&mut frames, CLOSE, &payload);
        }
        self.write_all(&frames)?;
        self.next_round += 1;
        *members.entry(self.seq).or_default() += windows.len() as u64;
        *self.refs.entry(self.seq).or_default() += windows.len() as u64;
        self.rounds.insert(round, members);
        Ok(round)
    }

    /// When it syncs its files.
    pub(crate) fn fsync(&self) -> FsyncPolicy {
        self.fsync
    }

    /// The last round closed, if any.
    pub(crate) fn last_round(&self) -> Option<u64> {
        self.next_round.checked_sub(1)
    }

    /// Every round up to `round` was delivered: writes so, and deletes the files left with
    /// nothing to deliver.
    pub(crate) fn acknowledge_through(&mut self, round: u64) -> io::Result<()> {
        let settled: Vec<u64> = self
            .rounds
            .range(..=round)
            .map(|(round, _)| *round)
            .collect();
        if settled.is_empty() {
            return Ok(());
        }
        self.write_frame(ACK, &round.to_le_bytes())?;
        self.acknowledged = self.acknowledged.max(Some(round));
        for round in settled {
            for (seq, count) in self.rounds.remove(&round).unwrap_or_default() {
                if let Some(refs) = self.refs.get_mut(&seq) {
                    *refs = refs.saturating_sub(count);
                }
            }
        }
        self.remove_settled();
        Ok(())
    }

    /// Syncs what was written since the last sync (policy `Every`).
    pub(crate) fn sync(&mut self) {
        if std::mem::take(&mut self.dirty)
            && let Err(error) = self.file.sync_data()
        {
            tracing::error!(%error, "amberflo: cannot sync the aggregation journal");
        }
    }

    fn write_frame(&mut self, kind: u8, payload: &[u8]) -> io::Result<()> {
        let mut framed = Vec::with_capacity(9 + payload.len());
        frame(&mut framed, kind, payload);
        self.write_all(&framed)
    }

    /// Writes whole frames to the current file, first starting a new one when it is full (so
    /// that the frames' file is the current one once this returns, and a file is never left
    /// while frames written to it are not counted yet); after a failed write, the file (which
    /// may end with part of a frame) is left for good and a new one started.
    fn write_all(&mut self, frames: &[u8]) -> io::Result<()> {
        if self.bytes >= FILE_BYTES {
            self.next_file()?;
        }
        if let Err(error) = self.file.write_all(frames) {
            // Whatever part reached the file is cut off: frames reported unwritten must not
            // be replayed.
            if let Err(error) = self.file.set_len(self.bytes) {
                tracing::error!(%error, "amberflo: cannot cut a failed write off the aggregation journal");
            }
            if let Err(error) = self.next_file() {
                tracing::error!(%error, "amberflo: cannot start a new aggregation journal file");
            }
            return Err(error);
        }
        self.bytes += frames.len() as u64;
        self.dirty = true;
        if self.fsync == FsyncPolicy::Always {
            // Written, so it survives a crash of the process either way; as with the spool, a
            // failed sync is reported, not undone.
            self.sync();
        }
        Ok(())
    }

    /// Leaves the current file and starts the next.
    fn next_file(&mut self) -> io::Result<()> {
        self.sync();
        let file = create(&self.dir, self.seq + 1, self.fsync)?;
        self.file = file;
        self.seq += 1;
        self.bytes = 0;
        // Every file is counted, so that it goes once it holds nothing to deliver.
        self.refs.entry(self.seq).or_default();
        self.mark_acknowledged()?;
        self.remove_settled();
        Ok(())
    }

    /// Starts the current (new, empty) file with the acknowledgement of every round up to
    /// the last one acknowledged.
    fn mark_acknowledged(&mut self) -> io::Result<()> {
        if let Some(round) = self.acknowledged {
            let mut frames = Vec::new();
            frame(&mut frames, ACK, &round.to_le_bytes());
            self.file.write_all(&frames)?;
            self.bytes += frames.len() as u64;
            self.dirty = true;
        }
        Ok(())
    }

    /// Deletes the files, other than the current one, with nothing left to deliver.
    fn remove_settled(&mut self) {
        let current = self.seq;
        let dir = &self.dir;
        self.refs.retain(|&seq, refs| {
            if seq == current || *refs > 0 {
                return true;
            }
            if let Err(error) = fs::remove_file(file_path(dir, seq))
                && error.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(%error, "amberflo: cannot delete a settled aggregation journal file");
            }
            false
        });
    }
}

impl Drop for Journal {
    /// Leaves no file behind that holds nothing to deliver; the current one too, unless an
    /// older one stays (the current one may hold the acknowledgements it needs).
    fn drop(&mut self) {
        self.remove_settled();
        if self.refs.len() == 1 && self.refs.get(&self.seq) == Some(&0) {
            self.seq += 1;
            self.remove_settled();
        }
    }
}

/// What closing `cells` (meter, window start, the files holding the cell's records) as one
/// round writes and counts: each window once, and the records per file.
pub(crate) fn round_of<'a>(
    cells: impl IntoIterator<Item = (&'a str, i64, &'a FileCounts)>,
) -> (Vec<(&'a str, i64)>, FileCounts) {
    let mut windows = Vec::new();
    let mut members = FileCounts::new();
    for (meter, window_start_ms, files) in cells {
        windows.push((meter, window_start_ms));
        for (&seq, &records) in files {
            *members.entry(seq).or_default() += records;
        }
    }
    windows.sort_unstable();
    windows.dedup();
    (windows, members)
}

/// The replay's state while it reads the files in order.
#[derive(Default)]
struct Replay {
    /// Open cells by key: meter, window start, customer, dimensions.
    open: HashMap<(String, i64, String, Option<Dimensions>), ReplayedCell>,
    /// Closed rounds' cells.
    rounds: BTreeMap<u64, (Vec<ReplayedCell>, FileCounts)>,
    /// Every round up to this one was acknowledged.
    acked: Option<u64>,
    /// The round after the last one closed.
    next_round: u64,
}

impl Replay {
    /// Reads file `seq`'s frames, up to the first that does not verify.
    fn read(&mut self, seq: u64, mut bytes: &[u8]) {
        while let Some((kind, payload, rest)) = next_frame(bytes) {
            bytes = rest;
            if self.apply(seq, kind, payload).is_none() {
                tracing::warn!(
                    file = seq,
                    "amberflo: skipping an unreadable aggregation journal frame"
                );
            }
        }
        if !bytes.is_empty() {
            tracing::warn!(
                file = seq,
                bytes = bytes.len(),
                "amberflo: the aggregation journal ends with a torn frame (a crash mid-write); skipped"
            );
        }
    }

    fn apply(&mut self, seq: u64, kind: u8, payload: &[u8]) -> Option<()> {
        match kind {
            RECORD => {
                let function = function_of(*payload.first()?)?;
                let window_ms = i64::from_le_bytes(payload.get(1..9)?.try_into().ok()?);
                let record = MeterRecord::read_compact(payload.get(9..)?).ok()?;
                let time = record.meter_time_in_millis();
                let window_start_ms = time - time.rem_euclid(window_ms.max(1));
                let key = (
                    record.meter_api_name().to_owned(),
                    window_start_ms,
                    record.customer_id().to_owned(),
                    record.dimensions().cloned(),
                );
                let cell = self.open.entry(key).or_insert_with(|| ReplayedCell {
                    instance: None,
                    meter: record.meter_api_name().to_owned(),
                    window_ms,
                    window_start_ms,
                    customer: record.customer_id().to_owned(),
                    dimensions: record.dimensions().cloned(),
                    value: super::table::start(function, record.meter_value()),
                    first_member: record.unique_id().clone(),
                    files: FileCounts::new(),
                });
                if !cell.files.is_empty() {
                    // Folded exactly as the first time: same records, same order.
                    cell.value = super::table::combine(function, cell.value, record.meter_value())?;
                    if record.unique_id() < &cell.first_member {
                        cell.first_member = record.unique_id().clone();
                    }
                }
                *cell.files.entry(seq).or_default() += 1;
            }
            CLOSE => {
                let round = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
                let instance = Uuid::from_slice(payload.get(8..24)?).ok()?;
                let window_start_ms = i64::from_le_bytes(payload.get(24..32)?.try_into().ok()?);
                let meter = get_text(payload.get(32..)?)?;
                let closed: Vec<_> = self
                    .open
                    .extract_if(|key, _| key.0 == meter && key.1 == window_start_ms)
                    .map(|(_, mut cell)| {
                        cell.instance = Some(instance);
                        cell
                    })
                    .collect();
                let (cells, files) = self.rounds.entry(round).or_default();
                *files.entry(seq).or_default() += 1;
                for cell in closed {
                    for (&file, &count) in &cell.files {
                        *files.entry(file).or_default() += count;
                    }
                    cells.push(cell);
                }
                self.next_round = self.next_round.max(round + 1);
            }
            ACK => {
                let round = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
                self.acked = self.acked.max(Some(round));
            }
            _ => return None,
        }
        Some(())
    }

    /// What is left to deliver, the files' reference counts, the rounds' files, the next
    /// round's number (past every round closed or acknowledged) and the last acknowledged.
    fn finish(
        self,
    ) -> (
        Replayed,
        FileCounts,
        BTreeMap<u64, FileCounts>,
        u64,
        Option<u64>,
    ) {
        let mut refs = FileCounts::new();
        let mut replayed = Replayed::default();
        let mut rounds = BTreeMap::new();
        for (round, (cells, files)) in self.rounds {
            if self.acked.is_some_and(|acked| round <= acked) {
                continue;
            }
            for (&seq, &count) in &files {
                *refs.entry(seq).or_default() += count;
            }
            rounds.insert(round, files);
            replayed.rounds.insert(round, cells);
        }
        for cell in self.open.into_values() {
            for (&seq, &count) in &cell.files {
                *refs.entry(seq).or_default() += count;
            }
            replayed.open.push(cell);
        }
        let next_round = self.next_round.max(self.acked.map_or(0, |acked| acked + 1));
        (replayed, refs, rounds, next_round, self.acked)
    }
}

/// The next frame of `bytes` that verifies: `(kind, payload, rest)`.
fn next_frame(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    if len == 0 || len > MAX_FRAME {
        return None;
    }
    let body = bytes.get(8..8 + len)?;
    (crc32fast::hash(body) == crc).then(|| (body[0], &body[1..], &bytes[8 + len..]))
}

/// Appends a frame of `kind` and `payload` to `out`.
fn frame(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind]);
    hasher.update(payload);
    // A payload is far below 4 GiB (`MAX_FRAME`).
    out.extend_from_slice(&((payload.len() + 1) as u32).to_le_bytes());
    out.extend_from_slice(&hasher.finalize().to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn get_text(bytes: &[u8]) -> Option<String> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    String::from_utf8(bytes.get(4..4 + len)?.to_vec()).ok()
}

fn function_code(function: AggregateFunction) -> u8 {
    match function {
        AggregateFunction::Sum => 1,
        AggregateFunction::Max => 2,
        AggregateFunction::Min => 3,
        AggregateFunction::Count => 4,
    }
}

fn function_of(code: u8) -> Option<AggregateFunction> {
    Some(match code {
        1 => AggregateFunction::Sum,
        2 => AggregateFunction::Max,
        3 => AggregateFunction::Min,
        4 => AggregateFunction::Count,
        _ => return None,
    })
}

fn file_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:020}.log"))
}

/// The journal files in `dir`, oldest first.
fn files(dir: &Path) -> io::Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(seq) = name
            .to_str()
            .and_then(|name| name.strip_suffix(".log"))
            .and_then(|seq| seq.parse().ok())
        {
            seqs.push(seq);
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Creates file `seq` for appending (its name synced unless the policy is `Never`).
fn create(dir: &Path, seq: u64, fsync: FsyncPolicy) -> io::Result<File> {
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(file_path(dir, seq))?;
    if fsync != FsyncPolicy::Never {
        sync_dir(dir);
    }
    Ok(file)
}

/// The instance id kept in `dir/instance`, made and kept on first use.
fn kept_instance(dir: &Path, fsync: FsyncPolicy) -> io::Result<Uuid> {
    let path = dir.join("instance");
    match fs::read_to_string(&path) {
        Ok(text) => Uuid::try_parse(text.trim())
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            let instance = Uuid::new_v4();
            let temporary = dir.join("instance.new");
            let mut file = File::create(&temporary)?;
            file.write_all(instance.hyphenated().to_string().as_bytes())?;
            if fsync != FsyncPolicy::Never {
                file.sync_all()?;
            }
            fs::rename(&temporary, &path)?;
            if fsync != FsyncPolicy::Never {
                sync_dir(dir);
            }
            Ok(instance)
        }
        Err(error) => Err(error),
    }
}

/// Syncs a directory's entries (Unix; a no-op elsewhere).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|dir| dir.sync_all()) {
        tracing::warn!(%error, "amberflo: cannot sync the aggregation journal directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use amberflo_types::EpochMillis;

    use super::*;

    const T0: i64 = 1_704_067_200_000;

    fn record(customer: &str, value: f64, time: i64) -> MeterRecord {
        MeterRecord::builder("ApiCalls", value, customer)
            .meter_time(EpochMillis::new(time))
            .build()
            .unwrap()
    }

    fn open(dir: &Path) -> (Journal, Replayed) {
        let (journal, replayed, _) = Journal::open(dir, FsyncPolicy::Never, None).unwrap();
        (journal, replayed)
    }

    /// Appends `records` and returns each one's file.
    fn append(journal: &mut Journal, records: &[MeterRecord]) -> FileCounts {
        let mut files = FileCounts::new();
        for record in records {
            let file = journal
                .append_record(record, AggregateFunction::Sum, 60_000)
                .unwrap();
            *files.entry(file).or_default() += 1;
        }
        files
    }

    fn totals(cells: &[ReplayedCell]) -> Vec<(String, i64, f64)> {
        let mut totals: Vec<_> = cells
            .iter()
            .map(|cell| (cell.customer.clone(), cell.window_start_ms, cell.value))
            .collect();
        totals.sort_by(|a, b| a.partial_cmp(b).unwrap());
        totals
    }

    #[test]
    fn a_replay_rebuilds_unacknowledged_rounds_and_open_cells_and_keeps_the_instance() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, replayed, instance) =
            Journal::open(dir.path(), FsyncPolicy::Never, None).unwrap();
        assert!(replayed.rounds.is_empty() && replayed.open.is_empty());
        let first = [
            record("a", 1.0, T0),
            record("a", 2.0, T0 + 1),
            record("b", 4.0, T0),
        ];
        let members = append(&mut journal, &first);
        let round = journal
            .close(&[("ApiCalls", T0)], members, Uuid::from_u128(9))
            .unwrap();
        // Later records of the same window: a new cell, not part of the closed round.
        append(
            &mut journal,
            &[record("a", 8.0, T0 + 2), record("a", 16.0, T0 + 60_000)],
        );
        drop(journal); // a crash: nothing acknowledged

        let (_, replayed, again) = Journal::open(dir.path(), FsyncPolicy::Never, None).unwrap();
        assert_eq!(again, instance);
        assert_eq!(
            totals(&replayed.rounds[&round]),
            [("a".to_owned(), T0, 3.0), ("b".to_owned(), T0, 4.0)]
        );
        assert_eq!(
            totals(&replayed.open),
            [
                ("a".to_owned(), T0, 8.0),
                ("a".to_owned(), T0 + 60_000, 16.0)
            ]
        );
    }

    #[test]
    fn acknowledged_rounds_are_not_replayed_and_their_files_go() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = open(dir.path());
        let members = append(&mut journal, &[record("a", 1.0, T0)]);
        let round = journal
            .close(&[("ApiCalls", T0)], members, Uuid::from_u128(9))
            .unwrap();
        journal.acknowledge_through(round).unwrap();
        drop(journal);
        assert!(
            files(dir.path()).unwrap().is_empty(),
            "nothing left to deliver, no file"
        );
        let (journal, replayed) = open(dir.path());
        assert!(replayed.rounds.is_empty() && replayed.open.is_empty());
        assert_eq!(journal.next_round, 0, "no round left to number after");
    }

    #[test]
    fn records_across_files_are_counted_in_the_file_that_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = open(dir.path());
        let big = "x".repeat(900);
        let mut members = FileCounts::new();
        // About 11 MB: the journal moves to a second file on the way.
        for i in 0..12_000 {
            let record = MeterRecord::builder("ApiCalls", 1.0, "a")
                .meter_time(EpochMillis::new(T0))
                .dimension("blob", &big)
                .dimension("i", i.to_string())
                .build()
                .unwrap();
            let file = journal
                .append_record(&record, AggregateFunction::Sum, 60_000)
                .unwrap();
            *members.entry(file).or_default() += 1;
        }
        assert_eq!(members.len(), 2, "{members:?}");
        assert_eq!(journal.refs, members);
        let round = journal
            .close(&[("ApiCalls", T0)], members, Uuid::from_u128(9))
            .unwrap();
        drop(journal);
        let (mut journal, replayed) = open(dir.path());
        assert_eq!(replayed.rounds[&round].len(), 12_000);
        journal.acknowledge_through(round).unwrap();
        drop(journal);
        assert!(files(dir.path()).unwrap().is_empty());
    }

    /// A `kill -9`: nothing is tidied up.
    fn crash(journal: Journal) {
        std::mem::forget(journal);
    }

    #[test]
    fn a_round_number_is_never_used_again_below_an_acknowledgement() {
        let dir = tempfile::tempdir().unwrap();
        let instance = Uuid::from_u128(9);
        let (mut journal, _) = open(dir.path());
        let members = append(&mut journal, &[record("a", 1.0, T0)]);
        assert_eq!(
            journal
                .close(&[("ApiCalls", T0)], members, instance)
                .unwrap(),
            0
        );
        crash(journal);
        // Round 0 delivered again and acknowledged; its file goes. Then a record, and a crash.
        let (mut journal, replayed) = open(dir.path());
        assert_eq!(replayed.rounds.len(), 1);
        journal.acknowledge_through(0).unwrap();
        let members = append(&mut journal, &[record("b", 2.0, T0)]);
        crash(journal);
        // Only the acknowledgement says round 0 was taken: the next round is 1.
        let (mut journal, replayed) = open(dir.path());
        assert!(replayed.rounds.is_empty());
        assert_eq!(totals(&replayed.open), [("b".to_owned(), T0, 2.0)]);
        assert_eq!(
            journal
                .close(&[("ApiCalls", T0)], members, instance)
                .unwrap(),
            1
        );
        crash(journal);
        let (_, replayed) = open(dir.path());
        assert_eq!(totals(&replayed.rounds[&1]), [("b".to_owned(), T0, 2.0)]);
    }

    #[test]
    fn deleting_a_file_of_acknowledgements_brings_no_round_back() {
        let dir = tempfile::tempdir().unwrap();
        let instance = Uuid::from_u128(9);
        let (mut journal, _) = open(dir.path());
        // A record left open keeps the first file alive; another is closed in round 0.
        append(&mut journal, &[record("a", 1.0, T0)]);
        let members = append(&mut journal, &[record("b", 2.0, T0 + 60_000)]);
        journal
            .close(&[("ApiCalls", T0 + 60_000)], members, instance)
            .unwrap();
        crash(journal);
        // Round 0 acknowledged in a file of its own.
        let (mut journal, _) = open(dir.path());
        journal.acknowledge_through(0).unwrap();
        crash(journal);
        // That file holds nothing to deliver: the next start deletes it.
        let (journal, replayed) = open(dir.path());
        assert!(replayed.rounds.is_empty());
        crash(journal);
        let (_, replayed) = open(dir.path());
        assert!(
            replayed.rounds.is_empty(),
            "round 0 came back: {replayed:?}"
        );
        assert_eq!(totals(&replayed.open), [("a".to_owned(), T0, 1.0)]);
    }

    #[test]
    fn a_replayed_round_keeps_the_instance_it_was_closed_with() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _, _) =
            Journal::open(dir.path(), FsyncPolicy::Never, Some(Uuid::from_u128(1))).unwrap();
        let members = append(&mut journal, &[record("a", 1.0, T0)]);
        journal
            .close(&[("ApiCalls", T0)], members, Uuid::from_u128(1))
            .unwrap();
        crash(journal);
        let (_, replayed, instance) =
            Journal::open(dir.path(), FsyncPolicy::Never, Some(Uuid::from_u128(2))).unwrap();
        assert_eq!(instance, Uuid::from_u128(2));
        assert_eq!(replayed.rounds[&0][0].instance, Some(Uuid::from_u128(1)));
    }

    #[test]
    fn a_torn_last_frame_is_skipped_and_the_rest_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = open(dir.path());
        append(&mut journal, &[record("a", 1.0, T0), record("a", 2.0, T0)]);
        let path = file_path(dir.path(), journal.seq);
        drop(journal);
        let length = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(length - 3)
            .unwrap();
        let (_, replayed) = open(dir.path());
        assert_eq!(totals(&replayed.open), [("a".to_owned(), T0, 1.0)]);
    }
}
