//! The spool's public settings ([`SpoolConfig`], [`FsyncPolicy`]) and the item codec
//! ([`SpoolCodec`], [`CodecError`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::error::BoxError;

/// Default disk budget: 1 GiB.
pub const DEFAULT_MAX_DISK_BYTES: u64 = 1 << 30;
/// Default segment size: 16 MiB.
pub const DEFAULT_SEGMENT_BYTES: u64 = 16 << 20;
/// Smallest segment size accepted: 4 KiB.
pub const MIN_SEGMENT_BYTES: u64 = 4 << 10;
/// Most lanes a spool may have.
pub const MAX_LANES: usize = 16;
/// Fewest lanes the default picks (one per available CPU, at least this). On 2 cores with 8
/// metering threads, 4 lanes gave 5% more records/s than 2, and a `try_send` p99.9 of
/// 10-40 µs instead of 0.6-1.1 ms: fewer threads share a lane whose lock a refill holds.
const MIN_DEFAULT_LANES: usize = 4;

/// When the spool asks the OS to put written records on stable storage (`fdatasync`).
///
/// Whatever the policy, a record is handed to the OS (one `write` into the page cache) before
/// `try_send` returns `Ok`: it survives a crash or `kill -9` of the process. The policy only
/// decides what survives a power loss or kernel crash:
///
/// * [`Always`](Self::Always): every record is synced before `try_send` returns: nothing
///   accepted is lost, at the cost of waiting for a disk flush (tens of microseconds to
///   milliseconds, depending on the device). The flushes are shared (group commit): one
///   serves every record of a lane appended while the previous one ran, so concurrent
///   producers pay about one flush per lane at a time, not one each
///   ([`Stats::spool_syncs`](crate::Stats::spool_syncs) counts them). `try_send` blocks its
///   thread meanwhile; on an async runtime's thread use
///   [`try_send_async`](crate::Batcher::try_send_async), which leaves the sync to the
///   spool's sync thread and returns a future of it.
/// * [`Every(d)`](Self::Every) (default: 1 s): a background thread syncs at most every `d`;
///   a power loss loses at most the last `d` of records.
/// * [`Never`](Self::Never): the OS writes back when it likes (typically within 30 s on Linux);
///   a power loss may lose that much.
///
/// Acknowledgements are never synced: losing one only makes the next engine send its records
/// again, which the server's `uniqueId` deduplication absorbs.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsyncPolicy {
    /// Sync every record before `try_send` returns.
    Always,
    /// Sync at most this often, from a background thread.
    Every(Duration),
    /// Never sync; leave write-back to the OS.
    Never,
}

impl Default for FsyncPolicy {
    fn default() -> Self {
        FsyncPolicy::Every(Duration::from_secs(1))
    }
}

/// Where and how the engine spools items to disk; see
/// [`BatcherBuilder::spool`](crate::BatcherBuilder::spool) and the crate's *Spool* section.
///
/// ```
/// use amberflo_batcher::{FsyncPolicy, SpoolConfig};
/// use std::time::Duration;
///
/// let config = SpoolConfig::new("/var/spool/my-app")
///     .fsync(FsyncPolicy::Every(Duration::from_millis(200)))
///     .max_disk_bytes(256 << 20)
///     .segment_bytes(8 << 20)
///     .lanes(2);
/// assert_eq!(config.max_disk_bytes_limit(), 256 << 20);
/// assert_eq!(config.lane_count(), 2);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolConfig {
    pub(crate) dir: PathBuf,
    pub(crate) fsync: FsyncPolicy,
    pub(crate) max_disk_bytes: u64,
    pub(crate) segment_bytes: u64,
    pub(crate) lanes: usize,
    pub(crate) before_sync: Option<SyncHook>,
}

/// A test hook run before each `fdatasync` under [`FsyncPolicy::Always`]
/// ([`SpoolConfig::before_sync_for_tests`]).
#[derive(Clone)]
pub(crate) struct SyncHook(Arc<dyn Fn() + Send + Sync>);

impl SyncHook {
    pub(crate) fn run(&self) {
        (self.0)();
    }
}

impl fmt::Debug for SyncHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SyncHook")
    }
}

impl PartialEq for SyncHook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for SyncHook {}

impl SpoolConfig {
    /// A spool in `dir` (created if missing), with the default fsync policy (every second),
    /// disk budget ([`DEFAULT_MAX_DISK_BYTES`]), segment size ([`DEFAULT_SEGMENT_BYTES`]) and
    /// lanes (one per available CPU, at least 4).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        SpoolConfig {
            dir: dir.into(),
            fsync: FsyncPolicy::default(),
            max_disk_bytes: DEFAULT_MAX_DISK_BYTES,
            segment_bytes: DEFAULT_SEGMENT_BYTES,
            lanes: cpus.clamp(MIN_DEFAULT_LANES, MAX_LANES),
            before_sync: None,
        }
    }

    /// The fsync policy (see [`FsyncPolicy`] for what each level survives).
    #[must_use]
    pub fn fsync(mut self, policy: FsyncPolicy) -> Self {
        self.fsync = policy;
        self
    }

    /// The disk budget in bytes (segment files): once reached, items are refused
    /// ([`SendErrorKind::Full`](crate::SendErrorKind::Full)) until acknowledged segments are
    /// deleted. Must be at least the segment size. The lanes share it; each checks the others'
    /// use as they last reported it, in steps of 64 KiB, so with several lanes the spool may
    /// go over by less than 64 KiB per lane.
    #[must_use]
    pub fn max_disk_bytes(mut self, bytes: u64) -> Self {
        self.max_disk_bytes = bytes;
        self
    }

    /// The size at which a segment file is closed and a new one started (at least
    /// [`MIN_SEGMENT_BYTES`]). A segment is deleted once all its records are acknowledged and
    /// it is no longer the one written to, so smaller segments free disk space sooner.
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes;
        self
    }

    /// How many lanes the spool writes (1 to [`MAX_LANES`]; default: one per available CPU, at
    /// least 4).
    ///
    /// A lane is an ordered log of its own (segment files under `dir/lane-{n}`). Each thread
    /// appends to one lane, its own for the engine's life, so threads on different lanes never
    /// wait for each other's writes: with the spool, each `try_send` makes one `write` system
    /// call, and lanes let as many run at once as there are lanes. Within a lane, records are
    /// delivered and replayed in the order they were appended, so one thread's records keep
    /// their order; records of different lanes interleave. `lanes(1)` makes the whole spool
    /// one ordered log.
    ///
    /// A directory left with more lanes than configured is opened with all of them: the extra
    /// ones are drained (nothing new goes into them) and removed once empty, so a spool can
    /// go back to fewer lanes.
    #[must_use]
    pub fn lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes;
        self
    }

    /// Runs `hook` on the syncing thread before each `fdatasync` under [`FsyncPolicy::Always`]:
    /// a way for tests to make the disk slow (block in the hook). Not for production use.
    #[doc(hidden)]
    #[must_use]
    pub fn before_sync_for_tests(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.before_sync = Some(SyncHook(Arc::new(hook)));
        self
    }

    /// Replaces the directory (keeping the other settings).
    #[must_use]
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = dir.into();
        self
    }

    /// The spool directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The fsync policy.
    pub fn fsync_policy(&self) -> FsyncPolicy {
        self.fsync
    }

    /// The disk budget in bytes.
    pub fn max_disk_bytes_limit(&self) -> u64 {
        self.max_disk_bytes
    }

    /// The segment size in bytes.
    pub fn segment_bytes_limit(&self) -> u64 {
        self.segment_bytes
    }

    /// The number of lanes.
    pub fn lane_count(&self) -> usize {
        self.lanes
    }

    /// The first invalid setting, as `(field, reason)`.
    pub(crate) fn invalid(&self) -> Option<(&'static str, &'static str)> {
        if self.segment_bytes < MIN_SEGMENT_BYTES {
            return Some(("spool.segment_bytes", "must be at least 4096"));
        }
        if self.lanes == 0 || self.lanes > MAX_LANES {
            return Some(("spool.lanes", "must be between 1 and 16"));
        }
        if self.max_disk_bytes < self.segment_bytes {
            return Some((
                "spool.max_disk_bytes",
                "must be at least spool.segment_bytes",
            ));
        }
        if self.fsync == FsyncPolicy::Every(Duration::ZERO) {
            return Some((
                "spool.fsync",
                "Every needs a non-zero interval (or use Always)",
            ));
        }
        None
    }
}

/// An item that could not be encoded for, or decoded from, the spool.
///
/// ```
/// use amberflo_batcher::CodecError;
///
/// let error = CodecError::new("not UTF-8");
/// assert_eq!(error.to_string(), "spool codec: not UTF-8");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("spool codec: {0}")]
pub struct CodecError(BoxError);

impl CodecError {
    /// Wraps the codec's own error.
    pub fn new(source: impl Into<BoxError>) -> Self {
        CodecError(source.into())
    }

    /// The codec's own error.
    pub fn into_inner(self) -> BoxError {
        self.0
    }
}

/// Turns items into bytes for the spool and back.
///
/// `decode(encode(x))` must give back an item equal to `x`. It runs on the `try_send` path
/// (encode) and on the worker threads (decode), so keep it cheap.
///
/// ```
/// use amberflo_batcher::{CodecError, SpoolCodec};
///
/// struct Utf8;
///
/// impl SpoolCodec<String> for Utf8 {
///     fn encode(&self, item: &String, out: &mut Vec<u8>) -> Result<(), CodecError> {
///         out.extend_from_slice(item.as_bytes());
///         Ok(())
///     }
///     fn decode(&self, bytes: &[u8]) -> Result<String, CodecError> {
///         String::from_utf8(bytes.to_vec()).map_err(CodecError::new)
///     }
/// }
///
/// let mut bytes = Vec::new();
/// Utf8.encode(&"hello".to_owned(), &mut bytes).unwrap();
/// assert_eq!(Utf8.decode(&bytes).unwrap(), "hello");
/// ```
pub trait SpoolCodec<T>: Send + Sync {
    /// Appends the encoding of `item` to `out` (which may already hold other bytes).
    ///
    /// # Errors
    ///
    /// A [`CodecError`] when the item cannot be encoded; `try_send` then refuses it.
    fn encode(&self, item: &T, out: &mut Vec<u8>) -> Result<(), CodecError>;

    /// The item encoded in `bytes`.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] when the bytes are not a valid encoding; the record is counted in
    /// [`Stats::spool_corrupt`](crate::Stats::spool_corrupt) and
    /// [`Stats::failed`](crate::Stats::failed), and logged.
    fn decode(&self, bytes: &[u8]) -> Result<T, CodecError>;
}

impl<T> fmt::Debug for dyn SpoolCodec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SpoolCodec")
    }
}
