//! `cargo xtask tidy`: every Rust source file under `crates/` starts with a `//!` module doc.

use std::fs;
use std::path::{Path, PathBuf};

/// Fails naming every `.rs` file under `crates/*/src` whose first line is not a `//!` doc.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let mut files = Vec::new();
    collect_rust_files(&root.join("crates"), &mut files)?;
    let undocumented: Vec<String> = files
        .iter()
        .filter(|path| path.components().any(|c| c.as_os_str() == "src"))
        .filter(|path| {
            fs::read_to_string(path)
                .map(|text| !text.trim_start().starts_with("//!"))
                .unwrap_or(true)
        })
        .map(|path| path.display().to_string())
        .collect();
    if undocumented.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "tidy: these files lack a leading `//!` module doc:\n  {}",
            undocumented.join("\n  ")
        ))
    }
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        fs::read_dir(dir).map_err(|e| format!("tidy: cannot read {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| format!("tidy: {e}"))?.path();
        if path.is_dir() {
            collect_rust_files(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path);
        }
    }
    Ok(())
}
