//! The spool directory's layout: `LOCK` and one directory per lane, `lane-{n}`.
//!
//! Spools written before lanes existed kept their segments in the directory itself; opening
//! one moves those files into `lane-0` (a rename each), so they are replayed like any lane's.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::MAX_LANES;

/// The name of lane `index`'s directory.
fn lane_name(index: u8) -> String {
    format!("lane-{index}")
}

/// The directory of lane `index`.
pub(super) fn lane_dir(dir: &Path, index: u8) -> PathBuf {
    dir.join(lane_name(index))
}

/// How many lanes the directory holds (one more than the largest lane number found).
pub(super) fn lanes_found(dir: &Path) -> io::Result<usize> {
    let mut count = 0;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(index) = name
            .to_str()
            .and_then(|name| name.strip_prefix("lane-"))
            .and_then(|index| index.parse::<u8>().ok())
            // Only the names `lane_name` makes (no `lane-03`, no `lane-+1`).
            .filter(|&index| name.to_str() == Some(lane_name(index).as_str()))
        else {
            continue;
        };
        if usize::from(index) < MAX_LANES {
            count = count.max(usize::from(index) + 1);
        } else {
            tracing::warn!(path = %entry.path().display(), "amberflo-batcher: ignoring a spool lane beyond the lane limit");
        }
    }
    Ok(count)
}

/// Moves segments and acknowledgement logs left in `dir` itself (the layout before lanes) into
/// `lane-0`.
pub(super) fn adopt_unlaned(dir: &Path) -> io::Result<()> {
    let lane = lane_dir(dir, 0);
    let mut moved = 0;
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let is_log = path
            .extension()
            .is_some_and(|extension| extension == "seg" || extension == "ack");
        let Some(name) = path.file_name().filter(|_| is_log && path.is_file()) else {
            continue;
        };
        if moved == 0 {
            fs::create_dir_all(&lane)?;
        }
        let target = lane.join(name);
        if target.exists() {
            tracing::warn!(path = %path.display(), "amberflo-batcher: a spool file outside the lanes has a namesake in lane-0; left where it is");
            continue;
        }
        fs::rename(&path, &target)?;
        moved += 1;
    }
    if moved > 0 {
        tracing::info!(dir = %dir.display(), files = moved, "amberflo-batcher: moved a spool written before lanes into lane-0");
    }
    Ok(())
}
