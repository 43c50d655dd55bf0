//! The disk spool with real files: ordering past the memory capacity, replay after an engine
//! left records behind, lanes (each thread's order kept, a directory with more lanes than
//! configured), the disk budget, the directory lock, and one test per kind of damage on a
//! hand-damaged segment (torn tail, flipped bit, zeroed length, garbage appended).
#![allow(clippy::unwrap_used)]

use std::fs;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amberflo_batcher::{
    Batcher, BuildError, CodecError, FsyncPolicy, Jitter, RetryPolicy, SendErrorKind, SinkError,
    SinkFn, SpoolCodec, SpoolConfig,
};

/// `u64` as 8 little-endian bytes: a frame is 21 + 8 = 29 bytes.
struct Le;

impl SpoolCodec<u64> for Le {
    fn encode(&self, item: &u64, out: &mut Vec<u8>) -> Result<(), CodecError> {
        out.extend_from_slice(&item.to_le_bytes());
        Ok(())
    }
    fn decode(&self, bytes: &[u8]) -> Result<u64, CodecError> {
        Ok(u64::from_le_bytes(
            bytes.try_into().map_err(CodecError::new)?,
        ))
    }
}

const FRAME: u64 = 29;
/// Segments of 4096 bytes hold 141 frames.
const PER_SEGMENT: u64 = 4096 / FRAME;

/// Two lanes; one thread appends to one lane, so the single-thread tests see one ordered log.
fn config(dir: &Path) -> SpoolConfig {
    SpoolConfig::new(dir)
        .segment_bytes(4096)
        .fsync(FsyncPolicy::Never)
        .lanes(2)
}

/// An engine of `capacity` with `spool` whose sink never succeeds and whose one retry waits
/// a minute: what it accepts stays spooled.
fn stuck(spool: SpoolConfig, capacity: usize) -> Batcher<u64> {
    Batcher::builder()
        .capacity(capacity)
        .workers(1)
        .retry_policy(RetryPolicy::new([Duration::from_secs(60)]).with_jitter(Jitter::None))
        .spool(spool, Le)
        .on_error(|_, _: Vec<u64>| {})
        .build(SinkFn::new(|_: &[u64]| Err(SinkError::retryable("down"))))
        .unwrap()
}

/// Spools `0..count` with a sink that never succeeds, then shuts down past the deadline: every
/// record stays on disk, unacknowledged.
fn leave_behind(dir: &Path, count: u64) {
    let batcher = stuck(config(dir), 16);
    for i in 0..count {
        batcher.try_send(i).unwrap();
    }
    assert!(batcher.shutdown(Duration::from_millis(200)).is_err());
    let stats = batcher.stats();
    assert_eq!(stats.spooled, count, "{stats:?}");
}

/// A new engine on `dir` delivering into a vector; returns what it delivered and its stats.
fn deliver(dir: &Path) -> (Vec<u64>, amberflo_batcher::Stats) {
    deliver_with(config(dir))
}

/// [`deliver`] with a given spool configuration.
fn deliver_with(spool: SpoolConfig) -> (Vec<u64>, amberflo_batcher::Stats) {
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&delivered);
    let batcher = Batcher::builder()
        .capacity(16)
        .workers(1)
        .spool(spool, Le)
        .build(SinkFn::new(move |batch: &[u64]| {
            sink.lock().unwrap().extend_from_slice(batch);
            Ok(())
        }))
        .unwrap();
    batcher.shutdown(Duration::from_secs(20)).unwrap();
    let stats = batcher.stats();
    assert_eq!(stats.enqueued, stats.delivered + stats.failed, "{stats:?}");
    assert_eq!(stats.enqueued, stats.replayed, "{stats:?}");
    assert_eq!(stats.spooled, 0, "{stats:?}");
    let items = delivered.lock().unwrap().clone();
    (items, stats)
}

/// The segment files of every lane, lane by lane, oldest first.
fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut lanes: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .collect();
    lanes.sort();
    let mut files = Vec::new();
    for lane in lanes {
        let mut segments: Vec<PathBuf> = fs::read_dir(lane)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "seg"))
            .collect();
        segments.sort();
        files.extend(segments);
    }
    files
}

/// The `warn` events logged on this thread while `run` runs, as `field=value` text.
fn warnings<R>(run: impl FnOnce() -> R) -> (R, Vec<String>) {
    use tracing::field::{Field, Visit};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

    #[derive(Clone, Default)]
    struct Events(Arc<Mutex<Vec<String>>>);
    struct Text(String);
    impl Visit for Text {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!("{}={value:?} ", field.name()));
        }
    }
    impl<S: tracing::Subscriber> Layer<S> for Events {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            if *event.metadata().level() == tracing::Level::WARN {
                let mut text = Text(String::new());
                event.record(&mut text);
                self.0.lock().unwrap().push(text.0);
            }
        }
    }
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    let result = tracing::subscriber::with_default(subscriber, run);
    let logged = events.0.lock().unwrap().clone();
    (result, logged)
}

/// 400 records over three segments; `damage` edits the oldest one; the next engine delivers
/// `0..400` minus `lost`, in order, counts one damaged region of `skipped` bytes, and logs it
/// once at `warn` with the segment, its offset, its size and `records_lost_estimate`.
fn damaged_case(damage: impl FnOnce(&mut Vec<u8>), lost: &[u64], skipped: u64, estimate: u64) {
    let dir = tempfile::tempdir().unwrap();
    leave_behind(dir.path(), 400);
    let files = segments(dir.path());
    assert!(files.len() >= 3, "{files:?}");
    let mut bytes = fs::read(&files[0]).unwrap();
    assert_eq!(bytes.len() as u64, PER_SEGMENT * FRAME);
    damage(&mut bytes);
    fs::write(&files[0], &bytes).unwrap();

    let ((items, stats), warned) = warnings(|| deliver(dir.path()));
    let expected: Vec<u64> = (0..400).filter(|i| !lost.contains(i)).collect();
    assert_eq!(items, expected);
    assert_eq!(stats.spool_corrupt, 1, "{stats:?}");
    assert_eq!(stats.spool_corrupt_bytes, skipped, "{stats:?}");
    let damage: Vec<&String> = warned
        .iter()
        .filter(|text| text.contains("damaged spool region"))
        .collect();
    assert_eq!(damage.len(), 1, "{warned:?}");
    for field in [
        "segment=".to_owned(),
        format!("bytes_skipped={skipped} "),
        format!("records_lost_estimate={estimate} "),
    ] {
        assert!(damage[0].contains(&field), "{field} in {}", damage[0]);
    }
    assert_eq!(stats.replayed, expected.len() as u64);
    // Everything acknowledged, and the engine dropped: no segment is left.
    assert_eq!(segments(dir.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_torn_tail_is_skipped_and_the_later_segments_delivered() {
    damaged_case(
        |bytes| bytes.truncate(bytes.len() - 10),
        &[PER_SEGMENT - 1],
        FRAME - 10,
        1,
    );
}

#[test]
fn a_flipped_bit_loses_only_its_record() {
    damaged_case(
        |bytes| bytes[(50 * FRAME + 25) as usize] ^= 0x10,
        &[50],
        FRAME,
        1,
    );
}

#[test]
fn a_zeroed_length_loses_only_its_record() {
    damaged_case(
        |bytes| {
            let at = (30 * FRAME + 4) as usize;
            bytes[at..at + 4].fill(0);
        },
        &[30],
        FRAME,
        1,
    );
}

#[test]
fn garbage_appended_is_skipped() {
    damaged_case(
        |bytes| bytes.extend(b"not a frame at all, AFsp either ".repeat(8)),
        &[],
        8 * 32,
        (8 * 32_u64).div_ceil(FRAME),
    );
}

#[test]
fn records_past_the_memory_capacity_wait_on_disk_and_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&delivered);
    let batcher = Batcher::builder()
        .capacity(32)
        .max_batch_size(10)
        .workers(1)
        .linger(Duration::ZERO)
        .spool(config(dir.path()), Le)
        .build(SinkFn::new(move |batch: &[u64]| {
            sink.lock().unwrap().extend_from_slice(batch);
            Ok(())
        }))
        .unwrap();
    for i in 0..20_000 {
        batcher.try_send(i).unwrap();
    }
    batcher.flush(Duration::from_secs(30)).unwrap();
    let stats = batcher.stats();
    assert_eq!(stats.enqueued, 20_000);
    assert_eq!(stats.delivered, 20_000);
    assert_eq!(stats.attempted(), stats.enqueued + stats.rejected);
    assert_eq!(
        (stats.spooled, stats.replayed, stats.spool_corrupt),
        (0, 0, 0)
    );
    assert_eq!(
        *delivered.lock().unwrap(),
        (0..20_000).collect::<Vec<u64>>()
    );
    // Acknowledged segments are gone; each lane's active one stays.
    assert_eq!(segments(dir.path()).len(), 2);
    batcher.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn records_left_behind_are_replayed_in_order_before_new_ones() {
    let dir = tempfile::tempdir().unwrap();
    leave_behind(dir.path(), 500);
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&delivered);
    // One worker, so that delivery order is spool order (one thread: one lane).
    let batcher = Batcher::builder()
        .capacity(8)
        .workers(1)
        .max_batch_size(4)
        .spool(config(dir.path()), Le)
        .build(SinkFn::new(move |batch: &[u64]| {
            sink.lock().unwrap().extend_from_slice(batch);
            Ok(())
        }))
        .unwrap();
    assert_eq!(batcher.stats().replayed, 500);
    for i in 500..600 {
        batcher.try_send(i).unwrap();
    }
    batcher.shutdown(Duration::from_secs(20)).unwrap();
    let stats = batcher.stats();
    assert_eq!((stats.enqueued, stats.delivered), (600, 600));
    let items = delivered.lock().unwrap().clone();
    assert_eq!(items, (0..600).collect::<Vec<u64>>());
}

/// Item `i` of producer thread `thread`.
fn item(thread: u64, i: u64) -> u64 {
    (thread << 32) | i
}

/// Spools `per_thread` items from each of 4 threads (thread `t` sends
/// `item(first + t, 0..per_thread)`) with a sink that never succeeds, then shuts down past the
/// deadline: every item stays on disk.
fn leave_behind_from_threads(spool: SpoolConfig, first: u64, per_thread: u64) {
    let batcher = stuck(spool, 16);
    std::thread::scope(|scope| {
        for thread in first..first + 4 {
            let batcher = &batcher;
            scope.spawn(move || {
                for i in 0..per_thread {
                    batcher.try_send(item(thread, i)).unwrap();
                }
            });
        }
    });
    assert!(batcher.shutdown(Duration::from_millis(200)).is_err());
}

/// Every item of `threads` exactly once, each thread's in the order it sent them.
fn assert_each_thread_in_order(items: &[u64], threads: std::ops::Range<u64>, per_thread: u64) {
    let mut sorted = items.to_vec();
    sorted.sort_unstable();
    let expected: Vec<u64> = threads
        .clone()
        .flat_map(|thread| (0..per_thread).map(move |i| item(thread, i)))
        .collect();
    assert_eq!(sorted, expected);
    for thread in threads {
        let own: Vec<u64> = items
            .iter()
            .copied()
            .filter(|x| x >> 32 == thread)
            .collect();
        assert!(own.is_sorted(), "thread {thread} out of order");
    }
}

/// The lane directories holding segments with records.
fn lanes_used(dir: &Path) -> Vec<String> {
    let mut lanes: Vec<String> = segments(dir)
        .iter()
        .filter(|path| fs::metadata(path).unwrap().len() > 0)
        .map(|path| {
            let lane = path.parent().unwrap().file_name().unwrap();
            lane.to_string_lossy().into_owned()
        })
        .collect();
    lanes.dedup();
    lanes
}

#[test]
fn threads_spread_over_the_lanes_and_each_keeps_its_order_through_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    leave_behind_from_threads(config(dir.path()), 0, 2_000);
    assert_eq!(lanes_used(dir.path()), ["lane-0", "lane-1"]);
    let (items, stats) = deliver(dir.path());
    assert_eq!(stats.replayed, 8_000);
    assert_each_thread_in_order(&items, 0..4, 2_000);
    assert_eq!(segments(dir.path()), Vec::<PathBuf>::new());
}

/// The segment files of `lane` with their sizes.
fn lane_files(dir: &Path, lane: &str) -> Vec<(PathBuf, u64)> {
    let mut files: Vec<(PathBuf, u64)> = fs::read_dir(dir.join(lane))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let len = fs::metadata(&path).unwrap().len();
            (path, len)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn lanes_beyond_the_configured_number_are_drained_then_removed() {
    let dir = tempfile::tempdir().unwrap();
    leave_behind_from_threads(config(dir.path()).lanes(4), 0, 1_000);
    assert_eq!(
        lanes_used(dir.path()),
        ["lane-0", "lane-1", "lane-2", "lane-3"]
    );
    let other_lanes = || ["lane-1", "lane-2", "lane-3"].map(|lane| lane_files(dir.path(), lane));
    let before = other_lanes();
    // An engine configured with one lane appends to lane 0 only, and leaves the others as
    // they were.
    leave_behind_from_threads(config(dir.path()).lanes(1), 4, 1_000);
    assert_eq!(before, other_lanes());

    let (items, stats) = deliver_with(config(dir.path()).lanes(1));
    assert_eq!(stats.replayed, 8_000);
    assert_each_thread_in_order(&items, 0..8, 1_000);
    let mut left: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["LOCK", "lane-0"]);
}

#[test]
fn a_spool_written_before_lanes_is_moved_into_lane_0_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    leave_behind(dir.path(), 400);
    // The layout before lanes: the segments in the directory itself.
    let lane = dir.path().join("lane-0");
    for entry in fs::read_dir(&lane).unwrap() {
        let path = entry.unwrap().path();
        fs::rename(&path, dir.path().join(path.file_name().unwrap())).unwrap();
    }
    fs::remove_dir_all(dir.path().join("lane-1")).ok();
    fs::remove_dir(&lane).unwrap();

    let (items, stats) = deliver(dir.path());
    assert_eq!(items, (0..400).collect::<Vec<u64>>());
    assert_eq!((stats.replayed, stats.spool_corrupt), (400, 0));
    assert_eq!(segments(dir.path()), Vec::<PathBuf>::new());
    let files_at_top = fs::read_dir(dir.path())
        .unwrap()
        .filter(|entry| entry.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(files_at_top, 1, "only LOCK is left at the top");
}

#[test]
fn the_disk_budget_refuses_like_a_full_queue() {
    let dir = tempfile::tempdir().unwrap();
    let batcher = stuck(config(dir.path()).max_disk_bytes(4096), 4);
    let mut accepted = 0;
    let refused = loop {
        match batcher.try_send(accepted) {
            Ok(()) => accepted += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(refused.kind(), SendErrorKind::Full);
    assert_eq!(refused.into_inner(), accepted);
    assert_eq!(accepted, PER_SEGMENT);
    let stats = batcher.stats();
    assert_eq!((stats.enqueued, stats.rejected), (accepted, 1));
    assert_eq!(stats.spooled_bytes, accepted * FRAME);
    let _ = batcher.shutdown(Duration::from_millis(100));
}

#[test]
fn lanes_share_the_disk_budget_within_one_reporting_step_per_lane() {
    const BUDGET: u64 = 256 << 10;
    /// How far a lane's use moves before the others see it (the spool's reporting step).
    const STEP: u64 = 64 << 10;
    let dir = tempfile::tempdir().unwrap();
    let batcher = stuck(config(dir.path()).max_disk_bytes(BUDGET), 16);
    std::thread::scope(|scope| {
        for thread in 0..4 {
            let batcher = &batcher;
            scope.spawn(move || {
                for i in 0.. {
                    if let Err(error) = batcher.try_send(item(thread, i)) {
                        assert_eq!(error.kind(), SendErrorKind::Full);
                        break;
                    }
                }
            });
        }
    });
    assert_eq!(lanes_used(dir.path()), ["lane-0", "lane-1"]);
    let stats = batcher.stats();
    assert!(
        stats.spooled_bytes > BUDGET - FRAME && stats.spooled_bytes <= BUDGET + STEP,
        "{stats:?}"
    );
    assert_eq!(stats.spooled_bytes, stats.spooled * FRAME);
    let _ = batcher.shutdown(Duration::from_millis(100));
}

#[test]
fn a_second_engine_on_the_directory_gets_the_lock_error() {
    let dir = tempfile::tempdir().unwrap();
    let build = || {
        Batcher::builder()
            .spool(config(dir.path()), Le)
            .build(SinkFn::new(|_: &[u64]| Ok(())))
    };
    let first = build().unwrap();
    let error = build().unwrap_err();
    assert!(
        matches!(&error, BuildError::SpoolLocked { dir: locked } if locked == dir.path()),
        "{error}"
    );
    assert!(
        error.to_string().contains("in use by another engine"),
        "{error}"
    );
    // The directory itself is locked too: deleting or replacing `LOCK` does not let a second
    // engine in (with the file lock alone, it did).
    let lock_file = dir.path().join("LOCK");
    std::fs::remove_file(&lock_file).unwrap();
    let held = |error: BuildError| matches!(error, BuildError::SpoolLocked { .. });
    assert!(held(build().unwrap_err()));
    std::fs::write(&lock_file, b"").unwrap();
    assert!(held(build().unwrap_err()));
    drop(first);
    // Released with the engine.
    build().unwrap();
}

#[test]
fn invalid_spool_settings_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let error = Batcher::builder()
        .spool(SpoolConfig::new(dir.path()).segment_bytes(10), Le)
        .build(SinkFn::new(|_: &[u64]| Ok(())))
        .unwrap_err();
    assert!(matches!(
        error,
        BuildError::InvalidConfig {
            field: "spool.segment_bytes",
            ..
        }
    ));
    let error = Batcher::builder()
        .spool(
            SpoolConfig::new(dir.path())
                .segment_bytes(1 << 20)
                .max_disk_bytes(1 << 10),
            Le,
        )
        .build(SinkFn::new(|_: &[u64]| Ok(())))
        .unwrap_err();
    assert!(matches!(
        error,
        BuildError::InvalidConfig {
            field: "spool.max_disk_bytes",
            ..
        }
    ));
    for lanes in [0, 17] {
        let error = Batcher::builder()
            .spool(SpoolConfig::new(dir.path()).lanes(lanes), Le)
            .build(SinkFn::new(|_: &[u64]| Ok(())))
            .unwrap_err();
        assert!(
            matches!(
                error,
                BuildError::InvalidConfig {
                    field: "spool.lanes",
                    ..
                }
            ),
            "{lanes}: {error}"
        );
    }
}

#[test]
fn every_fsync_policy_delivers() {
    for policy in [
        FsyncPolicy::Always,
        FsyncPolicy::Every(Duration::from_millis(5)),
        FsyncPolicy::Never,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let batcher = Batcher::builder()
            .capacity(8)
            .spool(config(dir.path()).fsync(policy), Le)
            .build(SinkFn::new(|_: &[u64]| Ok(())))
            .unwrap();
        for i in 0..300 {
            batcher.try_send(i).unwrap();
        }
        batcher.shutdown(Duration::from_secs(10)).unwrap();
        let stats = batcher.stats();
        assert_eq!(stats.delivered, 300, "{policy:?}");
        match policy {
            // One producer: each append leads its own sync (nothing to group with), and each
            // rotation syncs the segment it seals (300 frames of 29 bytes fill 2).
            FsyncPolicy::Always => assert_eq!(stats.spool_syncs, 302, "{stats:?}"),
            FsyncPolicy::Never => assert_eq!(stats.spool_syncs, 0, "{stats:?}"),
            _ => {}
        }
    }
}

/// Records of the error callback.
type Failed = Arc<Mutex<Vec<u64>>>;

/// A sink whose calls never complete and are never woken: like HTTP requests to a server that
/// accepted the connection and went silent.
struct Silent;

#[async_trait::async_trait]
impl amberflo_batcher::Sink<u64> for Silent {
    async fn send(&self, _: &[u64]) -> Result<(), SinkError> {
        std::future::pending().await
    }
}

/// Spools `0..count` into an engine over `sink` that never delivers, shuts it down past its
/// deadline, and checks that every record was left on the spool (none reached the error
/// callback, none counted failed, the error says so and nothing else), then that the next
/// engine delivers each exactly once.
fn shutdown_leaves_everything_on_the_spool(sink: impl amberflo_batcher::Sink<u64>, count: u64) {
    let dir = tempfile::tempdir().unwrap();
    let failed = Failed::default();
    let on_error = Arc::clone(&failed);
    let batcher = Batcher::builder()
        .capacity(16)
        .max_batch_size(7)
        .workers(2)
        .retry_policy(RetryPolicy::new([Duration::from_secs(60)]).with_jitter(Jitter::None))
        .spool(config(dir.path()), Le)
        .on_error(move |_, batch: Vec<u64>| on_error.lock().unwrap().extend(batch))
        .build(sink)
        .unwrap();
    for i in 0..count {
        batcher.try_send(i).unwrap();
    }
    let error = batcher.shutdown(Duration::from_millis(300)).unwrap_err();
    let stats = batcher.stats();
    assert_eq!(*failed.lock().unwrap(), Vec::<u64>::new());
    assert_eq!(
        (
            stats.enqueued,
            stats.delivered,
            stats.failed,
            stats.left_on_spool
        ),
        (count, 0, 0, count),
        "{stats:?}"
    );
    assert_eq!((stats.in_queue, stats.in_flight), (0, 0), "{stats:?}");
    assert_eq!(stats.spooled, count, "{stats:?}");
    let amberflo_batcher::ShutdownError::Incomplete {
        abandoned,
        left_on_spool,
        in_queue,
        in_flight,
        ..
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        (abandoned, left_on_spool, in_queue, in_flight),
        (0, count, 0, 0)
    );
    let message = error.to_string();
    assert!(
        message.ends_with(&format!(
            "without delivering everything: {count} record(s) left on the spool for the next engine"
        )),
        "{message}"
    );
    drop(batcher);

    let (items, stats) = deliver(dir.path());
    assert_eq!(items, (0..count).collect::<Vec<u64>>());
    assert_eq!((stats.replayed, stats.failed), (count, 0));
}

#[test]
fn a_shutdown_past_its_deadline_leaves_retried_and_queued_records_on_the_spool() {
    shutdown_leaves_everything_on_the_spool(
        SinkFn::new(|_: &[u64]| Err(SinkError::retryable("down"))),
        3_000,
    );
}

#[test]
fn a_shutdown_past_its_deadline_leaves_cancelled_calls_records_on_the_spool() {
    shutdown_leaves_everything_on_the_spool(Silent, 3_000);
}

/// A disk whose `fdatasync` (under `Always`) blocks until the test lets it go: the hook says
/// when a sync starts, then waits for the gate.
struct SlowDisk {
    started: std::sync::mpsc::Receiver<()>,
    gate: std::sync::mpsc::SyncSender<()>,
}

fn slow_disk(spool: SpoolConfig) -> (SpoolConfig, SlowDisk) {
    let (started_tx, started) = std::sync::mpsc::channel();
    let (gate, gate_rx) = std::sync::mpsc::sync_channel::<()>(0);
    let gate_rx = Mutex::new(gate_rx);
    let spool = spool.before_sync_for_tests(move || {
        let _ = started_tx.send(());
        let _ = gate_rx.lock().unwrap().recv();
    });
    (spool, SlowDisk { started, gate })
}

#[test]
fn try_send_async_returns_during_a_slow_sync_and_its_durability_resolves_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, disk) = slow_disk(config(dir.path()).fsync(FsyncPolicy::Always));
    let batcher = Arc::new(
        Batcher::builder()
            .spool(spool, Le)
            .build(SinkFn::new(|_: &[u64]| Ok(())))
            .unwrap(),
    );
    // The sync thread takes the first item's sync and blocks in it.
    let mut first = batcher.try_send_async(1).unwrap();
    disk.started.recv_timeout(Duration::from_secs(10)).unwrap();
    // While it is blocked, more items are accepted at once (a deadlock guard, not a timing
    // bound: `try_send` would wait for the gate, which only this thread opens).
    let (sent_tx, sent) = std::sync::mpsc::channel();
    let sender = Arc::clone(&batcher);
    std::thread::spawn(move || {
        let durable = sender.try_send_async(2).unwrap();
        sent_tx.send(durable).unwrap();
    });
    let mut second = sent.recv_timeout(Duration::from_secs(10)).unwrap();
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(std::pin::Pin::new(&mut first).poll(&mut cx).is_pending());
    assert!(std::pin::Pin::new(&mut second).poll(&mut cx).is_pending());
    // The disk finishes: the first sync, then one for the item that came during it.
    disk.gate.send(()).unwrap();
    disk.started.recv_timeout(Duration::from_secs(10)).unwrap();
    disk.gate.send(()).unwrap();
    amberflo_batcher::block_on(first);
    amberflo_batcher::block_on(second);
    drop(disk);
    batcher.shutdown(Duration::from_secs(10)).unwrap();
    let stats = batcher.stats();
    assert_eq!((stats.delivered, stats.spool_syncs), (2, 2), "{stats:?}");
}
