//! The spool directory's lock: an exclusive, non-blocking `flock` on the directory itself,
//! held for the engine's life and released by the kernel when the process dies (even by
//! `kill -9`), so a crash never leaves a stale lock behind.
//!
//! The lock is on the directory's own inode, not on a file inside it: deleting or replacing a
//! file cannot unlock it (an earlier `dir/LOCK` file could be deleted under a running engine,
//! letting a second one lock a fresh file and replay the first one's records). `flock` locks
//! belong to an open file description, so a second engine in the same process is refused like
//! one in another process. `rustix` (already in the dependency tree through `tempfile`) gives a
//! safe `flock`; `std::fs::File::try_lock` would need Rust 1.89, above the workspace's minimum
//! supported version. On non-Unix platforms no lock is taken (a warning is logged).

use std::io;
use std::path::Path;

/// Holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    #[cfg(unix)]
    _dir: std::fs::File,
}

/// Why the lock was not taken.
pub(crate) enum LockError {
    /// Another engine holds it.
    Held,
    /// The directory could not be opened or locked.
    Io(io::Error),
}

impl DirLock {
    /// Takes the lock of `dir` (which must exist).
    #[cfg(unix)]
    pub(crate) fn acquire(dir: &Path) -> Result<Self, LockError> {
        use rustix::fs::{FlockOperation, flock};
        // A directory opens read-only on Unix, which is all `flock` needs.
        let handle = std::fs::File::open(dir).map_err(LockError::Io)?;
        match flock(&handle, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(DirLock { _dir: handle }),
            Err(errno) if errno == rustix::io::Errno::WOULDBLOCK => Err(LockError::Held),
            Err(errno) => Err(LockError::Io(errno.into())),
        }
    }

    /// Takes no lock: only implemented on Unix.
    #[cfg(not(unix))]
    pub(crate) fn acquire(_dir: &Path) -> Result<Self, LockError> {
        tracing::warn!("amberflo-batcher: spool directory locking is only implemented on Unix");
        Ok(DirLock {})
    }
}
