//! The spool directory's lock: an exclusive, non-blocking `flock` on the read-write file
//! `dir/LOCK` and, where the file system allows it, on the directory itself, both held for
//! the engine's life and released by the kernel when the process dies (even by `kill -9`), so
//! a crash never leaves a stale lock behind.
//!
//! The file lock is what every version of this engine takes, and what works on network file
//! systems (an NFS client emulates `flock` with `fcntl` locks, which need a file open for
//! writing). The directory lock makes it robust where it is available (local file systems):
//! deleting or replacing `LOCK` under a running engine cannot let a second one in, since the
//! directory's own inode stays locked. A directory that cannot be locked that way leaves the
//! file lock alone in charge (logged at `debug`).
//!
//! `flock` locks belong to an open file description, so a second engine in the same process
//! is refused like one in another process. `rustix` (already in the dependency tree through
//! `tempfile`) gives a safe `flock`; `std::fs::File::try_lock` would need Rust 1.89, above the
//! workspace's minimum supported version. On non-Unix platforms no lock is taken (a warning
//! is logged).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// Holds the locks until dropped.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
    _dir: Option<File>,
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
        let dir = lock_directory(dir)?;
        Ok(DirLock {
            _file: file,
            _dir: dir,
        })
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

/// Locks the directory itself when the file system allows it: `Held` when another engine
/// holds it, `None` when it cannot be locked (the file lock alone then decides).
#[cfg(unix)]
fn lock_directory(dir: &Path) -> Result<Option<File>, LockError> {
    // A directory opens read-only on Unix, which is all a local `flock` needs.
    let handle = match File::open(dir) {
        Ok(handle) => handle,
        Err(error) => {
            tracing::debug!(%error, "amberflo-batcher: the spool directory cannot be opened to lock; the LOCK file alone guards it");
            return Ok(None);
        }
    };
    match lock_exclusive(&handle) {
        Ok(()) => Ok(Some(handle)),
        Err(LockError::Held) => Err(LockError::Held),
        Err(LockError::Io(error)) => {
            tracing::debug!(%error, "amberflo-batcher: the spool directory cannot be locked; the LOCK file alone guards it");
            Ok(None)
        }
    }
}

#[cfg(not(unix))]
fn lock_exclusive(_file: &File) -> Result<(), LockError> {
    tracing::warn!("amberflo-batcher: spool directory locking is only implemented on Unix");
    Ok(())
}

#[cfg(not(unix))]
fn lock_directory(_dir: &Path) -> Result<Option<File>, LockError> {
    Ok(None)
}
