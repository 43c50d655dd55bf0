//! `amberflo-types` with `--no-default-features --features schemars` depends on no HTTP
//! client or server, async runtime or TLS crate, checked on `cargo tree`'s normal edges.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

/// Crates that would mean the types crate does IO over the network.
const FORBIDDEN: [&str; 7] = [
    "tokio",
    "hyper",
    "reqwest",
    "rustls",
    "native-tls",
    "openssl",
    "http",
];

/// The crate names in `cargo tree -e normal` of `package` with `args`, one per package.
fn dependency_names(package: &str, args: &[&str]) -> BTreeSet<String> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .arg("tree")
        .arg("--manifest-path")
        .arg(&manifest)
        .args([
            "--package",
            package,
            "--edges",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .args(args)
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_tree(&String::from_utf8_lossy(&output.stdout))
}

/// Each line of `--prefix none --format {p}` is `name vX.Y.Z [(path)] [(*)]`: keep the name.
fn parse_tree(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn assert_no_network_crates(names: &BTreeSet<String>) {
    let found: Vec<&str> = FORBIDDEN
        .iter()
        .copied()
        .filter(|forbidden| names.contains(*forbidden))
        .collect();
    assert!(
        found.is_empty(),
        "network crates in the graph: {found:?} (all: {names:?})"
    );
}

#[test]
fn the_types_crate_pulls_no_http_runtime_or_tls() {
    let names = dependency_names(
        "amberflo-types",
        &["--no-default-features", "--features", "schemars"],
    );
    // The graph was really read: the crate itself, serde and schemars are in it.
    for expected in ["amberflo-types", "serde", "serde_json", "schemars"] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_no_network_crates(&names);
}

#[test]
fn this_crate_depends_on_the_types_crate_alone() {
    let names = dependency_names("types-only-check", &[]);
    assert!(names.contains("amberflo-types"), "{names:?}");
    assert!(
        !names.contains("amberflo"),
        "the facade must not be here: {names:?}"
    );
    assert_no_network_crates(&names);
}

#[test]
fn the_parser_reads_names_not_substrings() {
    let names = parse_tree(
        "amberflo-types v0.1.0 (/w/crates/amberflo-types)\nhttparse v1.10.1\nhttp-body v1.0.0 (*)\n",
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["amberflo-types", "http-body", "httparse"]
    );
    let with_http = parse_tree("http v1.5.0\n");
    assert!(std::panic::catch_unwind(|| assert_no_network_crates(&with_http)).is_err());
}
