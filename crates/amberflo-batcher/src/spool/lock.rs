//! The spool directory's lock: an exclusive, non-blocking `flock` on `dir/LOCK`, held for the
//! engine's life and released by the kernel when the process dies (even by `kill -9`), so a
//! crash never leaves a stale lock behind.
//!
//! `flock` locks belong to an open file description, so a second engine in the same process
//! is refused like one in another process. `std::fs::File::try_lock` does the same but needs
//! Rust 1.89, above the workspace's minimum supported version; `rustix` (already in the
//! dependency tree through `tempfile`) gives a safe `flock`. On non-Unix platforms no lock is
//! taken (a warning is logged).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Holds the lock until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

/// Why the lock was not taken.
pub(crate) enum LockError {
    /// Another engine holds it.
    Held,
    /// The lock file could not be opened or locked.
    Io(io::Error),
}

impl DirLock {
    /// Takes the lock of `dir` (which must exist).
    pub(crate) fn acquire(dir: &Path) -> Result<Self, LockError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join("LOCK"))
            .map_err(LockError::Io)?;
        lock_exclusive(&file)?;
        Ok(DirLock { _file: file })
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &File) -> Result<(), LockError> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(errno) if errno == rustix::io::Errno::WOULDBLOCK => Err(LockError::Held),
        Err(errno) => Err(LockError::Io(errno.into())),
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> Result<(), LockError> {
    tracing::warn!("amberflo-batcher: spool directory locking is only implemented on Unix");
    Ok(())
}
