//! Where an ingest of a file got to: how many of its records the spool holds, kept beside the
//! spool, one file per input (named by the input's identity), so a rerun after a crash or
//! `kill -9` goes on from there.
//!
//! A checkpoint is written after the records it counts were accepted by the spool (on disk),
//! and replaced atomically (written aside, then renamed), so it never counts a record the
//! spool does not hold. Records accepted after the last checkpoint are read and sent again
//! on the rerun, with the same derived unique ids: Amberflo drops the copies.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amberflo_types::Uuid;

/// How often a checkpoint is written while records are accepted.
const EVERY: Duration = Duration::from_millis(500);

/// One input's checkpoint.
pub(crate) struct Checkpoint {
    path: PathBuf,
    /// Records of the input the spool held at the last write.
    pub(crate) done: u64,
    /// Whether the whole input was read and accepted.
    pub(crate) complete: bool,
    /// The input's size, when known: a file that grew since is not complete any more.
    size: Option<u64>,
    written: Instant,
}

impl Checkpoint {
    /// The checkpoint of the input named `identity` (of `size` bytes, when known) under
    /// `spool`, as last written (nothing done when there is none, or when `resume` is off). A
    /// complete checkpoint of a file whose size changed since (an export appended to) is not
    /// complete: the rerun goes on after the records it counts.
    pub(crate) fn open(
        spool: &Path,
        identity: Uuid,
        size: Option<u64>,
        resume: bool,
    ) -> io::Result<Self> {
        let dir = spool.join("checkpoints");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{identity}.json"));
        let mut checkpoint = Checkpoint {
            path,
            done: 0,
            complete: false,
            size,
            written: Instant::now(),
        };
        if resume {
            match std::fs::read(&checkpoint.path) {
                Ok(bytes) => {
                    let saved: serde_json::Value = serde_json::from_slice(&bytes)
                        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
                    checkpoint.done = saved["records"].as_u64().unwrap_or(0);
                    checkpoint.complete = saved["complete"].as_bool().unwrap_or(false)
                        && saved["bytes"].as_u64() == size;
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(checkpoint)
    }

    /// Notes that the first `done` records are in the spool, writing it down at most every
    /// half second.
    pub(crate) fn advance(&mut self, done: u64) -> io::Result<()> {
        self.done = done;
        if self.written.elapsed() >= EVERY {
            self.write()?;
        }
        Ok(())
    }

    /// Notes that every record of the input is in the spool.
    pub(crate) fn finish(&mut self, done: u64) -> io::Result<()> {
        self.done = done;
        self.complete = true;
        self.write()
    }

    fn write(&mut self) -> io::Result<()> {
        let text = serde_json::json!({
            "records": self.done,
            "complete": self.complete,
            "bytes": self.size,
        });
        let aside = self.path.with_extension("json.tmp");
        std::fs::write(&aside, text.to_string())?;
        std::fs::rename(&aside, &self.path)?;
        self.written = Instant::now();
        Ok(())
    }
}
