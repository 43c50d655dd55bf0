//! `cargo xtask schema`: writes the JSON Schemas of `amberflo-types` to `schemas/*.json`; CI
//! regenerates them in memory and fails when the committed files drift from the code.

use std::fs;
use std::path::Path;

/// The directory, under the workspace root, that holds the committed schemas.
pub(crate) const SCHEMA_DIR: &str = "schemas";

/// What `schemas/` must hold: `(file name, contents)` for every schema, in order.
fn expected() -> Vec<(&'static str, String)> {
    amberflo_types::schema::all()
        .into_iter()
        .map(|file| (file.file_name, file.to_json()))
        .collect()
}

/// Writes every schema under `root/schemas/` and removes `.json` files no model produces.
pub(crate) fn write(root: &Path) -> Result<(), String> {
    let dir = root.join(SCHEMA_DIR);
    fs::create_dir_all(&dir)
        .map_err(|e| format!("schema: cannot create {}: {e}", dir.display()))?;
    let files = expected();
    for name in stale_files(&dir, &files)? {
        let path = dir.join(&name);
        fs::remove_file(&path)
            .map_err(|e| format!("schema: cannot remove {}: {e}", path.display()))?;
        println!("schema: removed {SCHEMA_DIR}/{name}");
    }
    for (name, text) in &files {
        let path = dir.join(name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(&path, text)
                .map_err(|e| format!("schema: cannot write {}: {e}", path.display()))?;
            println!("schema: wrote {SCHEMA_DIR}/{name}");
        }
    }
    println!("schema: {} files up to date in {SCHEMA_DIR}/", files.len());
    Ok(())
}

/// Fails naming every file under `root/schemas/` that differs from the code (changed,
/// missing or stale), with the command that fixes it.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let dir = root.join(SCHEMA_DIR);
    let files = expected();
    let mut problems = Vec::new();
    for (name, text) in &files {
        match fs::read_to_string(dir.join(name)) {
            Ok(committed) if committed == *text => {}
            Ok(committed) => problems.push(format!(
                "{SCHEMA_DIR}/{name} differs from the code ({})",
                first_difference(&committed, text)
            )),
            Err(_) => problems.push(format!("{SCHEMA_DIR}/{name} is missing")),
        }
    }
    if dir.is_dir() {
        for name in stale_files(&dir, &files)? {
            problems.push(format!("{SCHEMA_DIR}/{name} is produced by no model"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "schemas drifted from the code:\n  {}\nfix: run `cargo xtask schema` and commit {SCHEMA_DIR}/",
            problems.join("\n  ")
        ))
    }
}

/// `.json` files in `dir` that are not among `files`, sorted.
fn stale_files(dir: &Path, files: &[(&str, String)]) -> Result<Vec<String>, String> {
    let entries =
        fs::read_dir(dir).map_err(|e| format!("schema: cannot read {}: {e}", dir.display()))?;
    let mut stale = Vec::new();
    for entry in entries {
        let name = entry
            .map_err(|e| format!("schema: {e}"))?
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".json") && !files.iter().any(|(known, _)| *known == name) {
            stale.push(name);
        }
    }
    stale.sort();
    Ok(stale)
}

/// "line N: `committed`" for the first line where the texts differ.
fn first_difference(committed: &str, generated: &str) -> String {
    let mut committed_lines = committed.lines();
    let mut generated_lines = generated.lines();
    let mut number = 1;
    loop {
        match (committed_lines.next(), generated_lines.next()) {
            (Some(a), Some(b)) if a == b => number += 1,
            (a, b) => {
                return format!(
                    "first at line {number}: committed `{}`, generated `{}`",
                    a.unwrap_or("<end of file>").trim(),
                    b.unwrap_or("<end of file>").trim()
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_schemas_match_the_code() {
        let root = crate::ci::workspace_root();
        if let Err(message) = check(&root) {
            panic!("{message}");
        }
    }

    #[test]
    fn check_names_a_changed_missing_or_stale_file() {
        let dir = std::env::temp_dir().join(format!("xtask-schema-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        write(&dir).unwrap();
        assert!(check(&dir).is_ok());
        let record = dir.join(SCHEMA_DIR).join("meter_record.json");
        fs::write(&record, "{}\n").unwrap();
        fs::write(dir.join(SCHEMA_DIR).join("old.json"), "{}").unwrap();
        fs::remove_file(dir.join(SCHEMA_DIR).join("customer.json")).unwrap();
        let message = check(&dir).unwrap_err();
        assert!(
            message.contains("schemas/meter_record.json differs"),
            "{message}"
        );
        assert!(
            message.contains("schemas/customer.json is missing"),
            "{message}"
        );
        assert!(
            message.contains("schemas/old.json is produced by no model"),
            "{message}"
        );
        assert!(message.contains("cargo xtask schema"), "{message}");
        write(&dir).unwrap();
        assert!(check(&dir).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
