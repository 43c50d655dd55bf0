//! A workspace member that depends on `amberflo-types` alone (no default features, plus
//! `schemars`), the way schema work and file validation use it. Its test,
//! `tests/no_http.rs`, runs `cargo tree` and fails if HTTP, an async runtime or TLS shows up
//! in the types crate's normal dependencies.
//!
//! ```
//! let files = types_only_check::schema_file_names();
//! assert!(files.contains(&"meter_record.json"));
//! ```

/// The schema files the types crate generates, reached through this crate's only dependency.
pub fn schema_file_names() -> Vec<&'static str> {
    amberflo_types::schema::all()
        .into_iter()
        .map(|file| file.file_name)
        .collect()
}
