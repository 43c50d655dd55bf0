//! `cargo xtask ci`: the steps CI runs, in order, failing fast.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Library crates that must also build with `--no-default-features` (the facade is covered
/// by [`FACADE_FEATURE_MATRIX`]).
const LIBRARY_CRATES: &[&str] = &[
    "amberflo-types",
    "amberflo-transport",
    "amberflo-batcher",
    "amberflo-emulator",
    "amberflo-tower",
];

/// Transport features built alone, so none of them leans on another by accident.
const SINGLE_FEATURE_BUILDS: &[(&str, &str)] = &[
    ("amberflo-transport", "reqwest"),
    ("amberflo-transport", "hyper"),
    ("amberflo-transport", "mock"),
];

/// Feature combinations of the facade (beside its defaults and `--all-features`, tested in
/// full) under which `tests/features.rs` must build and pass: features are additive, so each
/// builds, and `build()` picks the documented default and delivers (or, with no transport,
/// returns `Error::NoTransport`).
const FACADE_FEATURE_MATRIX: &[&str] = &[
    "",
    "mock,blocking",
    "reqwest",
    "hyper,rustls",
    "hyper,native-tls",
    "reqwest,hyper,rustls",
    "reqwest,rustls,native-tls",
    "s3,mock",
];

/// Examples run against their embedded emulator (no API key, no network).
const EXAMPLE_RUNS: &[(&str, &[&str])] = &[
    (
        "simulator",
        &[
            "--meter-value",
            "2",
            "--customer-id",
            "ci-customer",
            "--dimensions",
            r#"{"Name": "region", "Value": "us-east-1"}"#,
        ],
    ),
    ("simulator", &["--count", "20000", "--threads", "4"]),
    ("usage", &[]),
    ("billing", &[]),
    ("async_api", &[]),
    (
        "customer",
        &["--product-plan-id", "plan-ci", "--create-in-stripe"],
    ),
    ("axum_metering", &[]),
];

/// One CI step: a name for the summary line and the cargo arguments.
struct Step {
    name: String,
    args: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
    env_removed: Vec<&'static str>,
}

impl Step {
    fn cargo(name: impl Into<String>, args: &[&'static str]) -> Self {
        Step {
            name: name.into(),
            args: args.to_vec(),
            env: Vec::new(),
            env_removed: Vec::new(),
        }
    }

    fn with_env(mut self, key: &'static str, value: &'static str) -> Self {
        self.env.push((key, value));
        self
    }
}

/// The workspace root (the parent of this crate's manifest directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn steps() -> Vec<Step> {
    let mut steps = vec![
        Step::cargo("fmt", &["fmt", "--all", "--check"]),
        Step::cargo(
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ],
        ),
        // `--all-targets` also runs each criterion bench once, untimed; doctests run apart.
        Step::cargo(
            "test",
            &["test", "--workspace", "--all-features", "--all-targets"],
        ),
        Step::cargo(
            "doctest",
            &["test", "--workspace", "--all-features", "--doc"],
        ),
        // The batcher's protocols model-checked with loom (`models` test modules, under
        // `--cfg amberflo_loom`), in a target directory of their own (the cfg rebuilds every
        // crate), at most 3 preemptions per execution: about a minute of build, seconds of
        // checking.
        Step::cargo(
            "loom models",
            &[
                "test",
                "--package",
                "amberflo-batcher",
                "--release",
                "--lib",
                "models::",
            ],
        )
        .with_env("RUSTFLAGS", "--cfg amberflo_loom")
        .with_env("CARGO_TARGET_DIR", "target/loom")
        .with_env("LOOM_MAX_PREEMPTIONS", "3"),
        // What most users build: the facade with its default features, every test and
        // doc-test (the README's snippets included).
        Step::cargo(
            "test amberflo (default features)",
            &["test", "--package", "amberflo"],
        ),
        // The metering layer without its `axum` feature: routes are paths, not templates.
        Step::cargo(
            "test amberflo-tower --no-default-features",
            &[
                "test",
                "--package",
                "amberflo-tower",
                "--no-default-features",
            ],
        ),
    ];
    for features in FACADE_FEATURE_MATRIX {
        steps.push(Step::cargo(
            format!("test amberflo --features \"{features}\""),
            &[
                "test",
                "--package",
                "amberflo",
                "--no-default-features",
                "--features",
                features,
                "--test",
                "features",
            ],
        ));
    }
    for (example, args) in EXAMPLE_RUNS {
        let mut cargo_args = vec![
            "run",
            "--quiet",
            "--package",
            "amberflo-examples",
            "--example",
            example,
            "--",
        ];
        cargo_args.extend_from_slice(args);
        let mut step = Step::cargo(format!("example {example}"), &cargo_args);
        // Against the embedded emulator only: never a real account from the caller's env.
        step.env_removed = vec![
            "AMBERFLO_API_KEY",
            "AMBERFLO_API_URL",
            "AMBERFLO_INGEST_URL",
        ];
        steps.push(step);
    }
    for krate in LIBRARY_CRATES {
        steps.push(Step::cargo(
            format!("build {krate} --no-default-features"),
            &["build", "--package", krate, "--no-default-features"],
        ));
    }
    for (krate, features) in SINGLE_FEATURE_BUILDS {
        steps.push(Step::cargo(
            format!("build {krate} --features {features}"),
            &[
                "build",
                "--package",
                krate,
                "--no-default-features",
                "--features",
                features,
            ],
        ));
    }
    steps.push(
        Step::cargo(
            "doc",
            &["doc", "--workspace", "--no-deps", "--all-features"],
        )
        .with_env("RUSTDOCFLAGS", "-D warnings"),
    );
    // What docs.rs users of the default build see: no link to an item a feature gates.
    steps.push(
        Step::cargo(
            "doc amberflo (default features)",
            &["doc", "--package", "amberflo", "--no-deps"],
        )
        .with_env("RUSTDOCFLAGS", "-D warnings"),
    );
    steps
}

/// Runs every CI step, printing a one-line summary per step with its time.
pub(crate) fn run() -> Result<(), String> {
    let root = workspace_root();
    let started = Instant::now();
    crate::tidy::check(&root)?;
    println!("ci: tidy ok");
    // Regenerated in memory and compared with the committed `schemas/*.json`.
    crate::schema::check(&root)?;
    println!("ci: schemas up to date");
    let mut tally = TestTally::default();
    for step in steps() {
        let step_started = Instant::now();
        println!("ci: {} ...", step.name);
        let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        command
            .args(&step.args)
            .envs(step.env.iter().copied())
            .current_dir(&root);
        for name in &step.env_removed {
            command.env_remove(name);
        }
        let status = run_counting_tests(&mut command, &mut tally)
            .map_err(|error| format!("step `{}` could not start: {error}", step.name))?;
        let seconds = step_started.elapsed().as_secs_f64();
        if !status.success() {
            return Err(format!(
                "step `{}` failed after {seconds:.1}s ({status})",
                step.name
            ));
        }
        println!("ci: {} ok in {seconds:.1}s", step.name);
    }
    println!(
        "ci: all steps passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    // The plain closing line CI reads: the sum of every `test result:` line above.
    println!("ci: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// Tests counted from cargo's `test result: ok. N passed; M failed; ...` lines.
#[derive(Debug, Default)]
struct TestTally {
    passed: u64,
    failed: u64,
}

impl TestTally {
    fn add_line(&mut self, line: &str) {
        let Some(summary) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in summary.split([';', '.']) {
            let mut words = part.split_whitespace();
            match (
                words.next().and_then(|n| n.parse::<u64>().ok()),
                words.next(),
            ) {
                (Some(count), Some("passed")) => self.passed += count,
                (Some(count), Some("failed")) => self.failed += count,
                _ => {}
            }
        }
    }
}

/// Runs `command`, echoing its stdout line by line and counting test results in it.
fn run_counting_tests(
    command: &mut Command,
    tally: &mut TestTally,
) -> std::io::Result<std::process::ExitStatus> {
    let mut child = command.stdout(Stdio::piped()).spawn()?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            tally.add_line(&line);
        }
    }
    child.wait()
}

#[cfg(test)]
mod tests {
    use super::TestTally;

    #[test]
    fn counts_passed_and_failed_from_cargo_summaries() {
        let mut tally = TestTally::default();
        tally.add_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        tally.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        tally.add_line("running 5 tests");
        assert_eq!((tally.passed, tally.failed), (15, 2));
    }
}
