//! The Python peer: a virtualenv under `target/bench/venv` holding the official SDK
//! (`amberflo-metering-python==3.3.1` from PyPI), created only when missing, and the command
//! that runs `xtask/bench/peer.py` in it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::process::run_checked_timeout;

/// How long creating the venv, or installing the SDK into it, may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(600);

/// The pinned peer SDK.
pub(crate) const PYTHON_SDK: &str = "amberflo-metering-python==3.3.1";

/// The venv's interpreter.
fn python(venv: &Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// Whether the venv can import the pinned SDK.
fn ready(venv: &Path) -> bool {
    Command::new(python(venv))
        .args([
            "-c",
            "import metering.version, metering.ingest, metering.session; \
             assert metering.version.VERSION == '3.3.1'",
        ])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Creates the venv and installs the SDK unless it is already there; returns its interpreter.
pub(crate) fn ensure_venv(venv: &Path) -> Result<PathBuf, String> {
    if ready(venv) {
        return Ok(python(venv));
    }
    println!("bench: creating {} with {PYTHON_SDK}", venv.display());
    if !python(venv).exists() {
        run_checked_timeout(
            Command::new("python3").arg("-m").arg("venv").arg(venv),
            "python3 -m venv",
            SETUP_TIMEOUT,
        )?;
    }
    run_checked_timeout(
        Command::new(python(venv)).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PYTHON_SDK,
        ]),
        "pip install",
        SETUP_TIMEOUT,
    )?;
    if ready(venv) {
        Ok(python(venv))
    } else {
        Err(format!(
            "{} cannot import {PYTHON_SDK} after installing it",
            venv.display()
        ))
    }
}

/// The version of the venv's interpreter (`3.11.7`), for the report.
pub(crate) fn python_version(python: &Path) -> String {
    Command::new(python)
        .args(["-c", "import sys; print(sys.version.split()[0])"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_default()
}
