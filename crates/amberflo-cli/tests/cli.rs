//! The `amberflo` binary, run as a user runs it, against the emulator on 127.0.0.1: every
//! command, bad files, a failing server, and a `kill -9` in the middle of a resumable ingest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use amberflo_emulator::{Emulator, FailRequests};
use assert_cmd::Command;

const KEY: &str = "cli-test-key";
/// A time inside the emulator's accepted range (2025-12-06).
const T0: i64 = 1_765_000_000_000;

fn emulator() -> Emulator {
    Emulator::builder().api_key(KEY).start().unwrap()
}

/// `amberflo` talking to `emulator`, with no other environment.
fn amberflo(emulator: &Emulator) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amberflo"));
    command
        .env_clear()
        .env("AMBERFLO_API_KEY", KEY)
        .env("AMBERFLO_API_URL", emulator.url())
        .env("AMBERFLO_INGEST_URL", emulator.url())
        .timeout(Duration::from_secs(120));
    command
}

/// Runs `command`; its exit code, standard output and standard error.
fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn record(i: u64, customer: &str) -> String {
    format!(
        r#"{{"meterApiName":"ApiCalls","meterValue":{},"customerId":"{customer}","meterTimeInMillis":{}}}"#,
        i % 7 + 1,
        T0 + i as i64
    )
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn ndjson(count: u64, customer: &str) -> String {
    (0..count).map(|i| record(i, customer) + "\n").collect()
}

#[test]
fn ingest_reads_ndjson_json_arrays_csv_gzip_and_stdin() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let gz = write(
        dir.path(),
        "a.ndjson.gz",
        &gzip(ndjson(300, "gz").as_bytes()),
    );
    let array: Vec<String> = (0..200).map(|i| record(i, "array")).collect();
    let json = write(
        dir.path(),
        "b.json",
        format!("[{}]", array.join(",\n")).as_bytes(),
    );
    let csv = write(
        dir.path(),
        "c.csv",
        format!(
            "meterApiName,meterValue,meterTimeInMillis,customerId,region\n{}",
            (0..100)
                .map(|i| format!("ApiCalls,2,{},csv,us-west-{}\n", T0 + i, i % 2))
                .collect::<String>()
        )
        .as_bytes(),
    );
    let (code, out, err) = run(amberflo(&emulator)
        .args(["ingest", "--progress", "lines", "--progress-every", "0"])
        .args([&gz, &json, &csv]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("read 600 records from 3 files: 600 valid, 0 invalid"),
        "{out}"
    );
    assert!(out.contains("sent 600, delivered 600, failed 0"), "{out}");
    assert!(
        err.contains("records read"),
        "progress lines on a pipe: {err}"
    );
    let records = emulator.records();
    assert_eq!(records.len(), 600);
    let csv_records: Vec<_> = records
        .iter()
        .filter(|r| r.customer_id() == "csv")
        .collect();
    assert_eq!(csv_records.len(), 100);
    // Extra CSV columns are dimensions.
    assert!(
        csv_records
            .iter()
            .all(|r| r.dimensions().is_some_and(|d| d.get("region").is_some()))
    );

    let (code, out, err) = run(amberflo(&emulator)
        .args(["ingest", "-", "--progress", "none"])
        .write_stdin(ndjson(50, "stdin")));
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(emulator.record_count(), 650);
}

#[test]
fn rerunning_a_file_sends_the_same_records_which_amberflo_drops() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "usage.ndjson", ndjson(400, "c1").as_bytes());
    for _ in 0..2 {
        let (code, out, err) = run(amberflo(&emulator)
            .args(["ingest", "--progress", "none"])
            .arg(&file));
        assert_eq!(code, 0, "{out}{err}");
    }
    assert_eq!(emulator.record_count(), 400);
    assert_eq!(emulator.stats().duplicates_dropped, 400);
    // The same content under another name is the same file.
    let copy = write(dir.path(), "copy.ndjson", ndjson(400, "c1").as_bytes());
    run(amberflo(&emulator)
        .args(["ingest", "--progress", "none"])
        .arg(&copy));
    assert_eq!(emulator.record_count(), 400);
}

#[test]
fn bad_records_are_reported_with_file_line_field_and_reason() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(record(0, "c1").as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(
        record(1, "c1")
            .replace(r#""meterValue":2"#, r#""meterValue":"2""#)
            .as_bytes(),
    );
    bytes.push(b'\n');
    bytes.extend_from_slice(b"{\"meterApiName\":\"ApiCalls\",\"customerId\":\"c\xff\xfe\"}\n");
    bytes.extend_from_slice(record(3, " ").as_bytes());
    bytes.push(b'\n');
    let file = write(dir.path(), "bad.ndjson", &bytes);
    let csv = write(
        dir.path(),
        "bad.csv",
        format!("meterApiName,meterValue,meterTimeInMillis,customerId\nApiCalls,x,{T0},c1\nApiCalls,1,{T0},c1\n").as_bytes(),
    );
    let (code, out, err) = run(amberflo(&emulator).arg("validate").args([&file, &csv]));
    assert_eq!(code, 1, "{out}{err}");
    let name = file.display().to_string();
    assert!(
        out.contains(&format!("{name}:2: meter_value must be a number")),
        "{out}"
    );
    assert!(out.contains(&format!("{name}:3: ")), "{out}");
    assert!(
        out.contains(&format!("{name}:4: customer_id must not be blank")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{}:2: meter_value must be a number",
            csv.display()
        )),
        "{out}"
    );
    assert!(out.contains("2 valid, 4 invalid"), "{out}");
    assert_eq!(err.trim(), "amberflo: 4 invalid records");

    // Ingest sends the good ones and exits 1.
    let (code, out, _) = run(amberflo(&emulator)
        .args(["ingest", "--progress", "none"])
        .args([&file, &csv]));
    assert_eq!(code, 1);
    assert!(out.contains("2 valid, 4 invalid"), "{out}");
    assert_eq!(emulator.record_count(), 2);

    // With --require-unique-ids, records without one are invalid.
    let (code, out, _) = run(amberflo(&emulator)
        .args(["validate", "--require-unique-ids"])
        .arg(&file));
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("{name}:1: unique_id must be set")),
        "{out}"
    );
}

#[test]
fn an_unreadable_input_is_one_line_naming_it() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let whole = gzip(ndjson(5000, "c1").as_bytes());
    let truncated = write(dir.path(), "cut.ndjson.gz", &whole[..whole.len() / 2]);
    let (code, out, err) = run(amberflo(&emulator).args(["validate"]).arg(&truncated));
    assert_eq!(code, 5, "{out}{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!("amberflo: cannot read {}", truncated.display())),
        "{err}"
    );
    let (code, _, err) = run(amberflo(&emulator).args(["ingest", "no-such-file.ndjson"]));
    assert_eq!(code, 5);
    assert!(err.contains("no-such-file.ndjson"), "{err}");
}

#[test]
fn records_the_server_refuses_are_counted_as_failed() {
    let emulator = emulator();
    emulator
        .faults()
        .fail_next(FailRequests::new(1000, 503).message("storm"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "u.ndjson", ndjson(100, "c1").as_bytes());
    let (code, out, err) = run(amberflo(&emulator)
        .args(["ingest", "--retries", "0", "--progress", "none"])
        .arg(&file));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("delivered 0, failed 100"), "{out}");
    assert!(
        err.contains("100 records not delivered") && err.contains("503"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn usage_cost_customers_meters_and_invoices() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let lines: String = (0..10)
        .map(|i| {
            format!(
                r#"{{"meterApiName":"ApiCalls","meterValue":3,"customerId":"acme","meterTimeInMillis":{},"dimensions":{{"region":"r{}"}}}}"#,
                now - 60_000 - i,
                i % 2
            ) + "\n"
        })
        .collect();
    let file = write(dir.path(), "now.ndjson", lines.as_bytes());
    assert_eq!(
        run(amberflo(&emulator)
            .args(["ingest", "--progress", "none"])
            .arg(&file))
        .0,
        0
    );

    let (code, out, err) = run(amberflo(&emulator).args([
        "usage",
        "ApiCalls",
        "--since",
        "2h",
        "--group-by",
        "region",
        "--format",
        "csv",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("group,time,value\n"), "{out}");
    let total: f64 = out
        .lines()
        .skip(1)
        .map(|line| line.rsplit(',').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert_eq!(total, 30.0, "{out}");
    assert!(
        out.contains("region=r0") && out.contains("region=r1"),
        "{out}"
    );
    let (code, out, err) = run(amberflo(&emulator).args([
        "usage",
        "ApiCalls",
        "--since",
        "2h",
        "--filter",
        "region=r1",
        "--format",
        "json",
    ]));
    assert_eq!(code, 0, "{err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["clientMeters"][0]["groupValue"], 15.0, "{out}");

    let (code, out, err) =
        run(amberflo(&emulator).args(["cost", "--since", "1d", "--format", "json"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        serde_json::from_str::<serde_json::Value>(&out).is_ok(),
        "{out}"
    );

    let (code, out, err) = run(amberflo(&emulator).args([
        "customers",
        "create",
        "acme-2",
        "--name",
        "Acme Two",
        "--email",
        "ops@acme.example",
        "--trait",
        "tier=gold",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("acme-2") && out.contains("Acme Two"), "{out}");
    let (_, out, _) = run(amberflo(&emulator).args(["customers", "list", "--format", "csv"]));
    assert!(
        out.starts_with("id,name,email,enabled,created\n")
            && out.contains("acme-2,Acme Two,ops@acme.example"),
        "{out}"
    );
    let (code, out, _) =
        run(amberflo(&emulator).args(["customers", "get", "acme-2", "--format", "json"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["traits"]["tier"],
        "gold"
    );
    assert_eq!(
        run(amberflo(&emulator).args(["customers", "delete", "acme-2"])).0,
        0
    );
    let (code, _, err) = run(amberflo(&emulator).args(["customers", "get", "acme-2"]));
    assert_eq!((code, err.trim()), (4, "amberflo: no customer \"acme-2\""));

    let (code, out, err) = run(amberflo(&emulator).args([
        "meters",
        "create",
        "Tokens",
        "--label",
        "LLM tokens",
        "--type",
        "max",
        "--dimension",
        "model",
    ]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Tokens") && out.contains("LLM tokens") && out.contains("max"),
        "{out}"
    );
    let (_, out, _) = run(amberflo(&emulator).args(["meters", "list"]));
    assert!(out.lines().any(|line| line.starts_with("Tokens ")), "{out}");
    let (code, out, _) =
        run(amberflo(&emulator).args(["meters", "get", "Tokens", "--format", "json"]));
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["dimensions"][0],
        "model"
    );
    // A second create is refused by the API: exit 4, one line.
    let (code, _, err) = run(amberflo(&emulator).args(["meters", "create", "Tokens"]));
    assert_eq!(code, 4, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");

    // No plan, no invoice: exit 4. With a plan, the open invoice of this month.
    let (code, _, err) = run(amberflo(&emulator).args(["invoices", "latest", "acme"]));
    assert_eq!(
        (code, err.trim()),
        (4, "amberflo: no invoice for customer \"acme\"")
    );
    let client = amberflo::Client::builder()
        .api_key(KEY)
        .endpoint(emulator.url())
        .build()
        .unwrap();
    let plan = amberflo::types::CustomerProductPlanPayload::builder("acme")
        .product_plan_id("plan-gold")
        .start_time(amberflo::types::EpochSeconds::new(1_700_000_000))
        .build()
        .unwrap();
    client.blocking().product_plans().assign(&plan).unwrap();
    let (code, out, err) =
        run(amberflo(&emulator).args(["invoices", "latest", "acme", "--format", "csv"]));
    assert_eq!(code, 0, "{err}");
    let row = out.lines().nth(1).unwrap_or_default();
    assert!(
        row.starts_with("acme,") && row.ends_with(",PENDING"),
        "{out}"
    );
}

#[test]
fn configuration_errors_are_one_line_with_exit_3() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_amberflo"));
    let (code, out, err) = run(command.env_clear().args(["customers", "list"]));
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(
        err.trim(),
        "amberflo: no API key: pass --api-key or set AMBERFLO_API_KEY (or use --emulator)"
    );
    let (code, _, err) = run(Command::new(env!("CARGO_BIN_EXE_amberflo"))
        .env_clear()
        .args([
            "--api-key",
            "k",
            "--api-url",
            "http://example.com",
            "customers",
            "list",
        ]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("api_url"), "{err}");
    let (code, _, err) = run(Command::new(env!("CARGO_BIN_EXE_amberflo"))
        .env_clear()
        .args(["--emulator", "usage", "ApiCalls", "--since", "yesterday"]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("--since \"yesterday\""), "{err}");
    let (code, _, _) = run(Command::new(env!("CARGO_BIN_EXE_amberflo")).arg("no-such-command"));
    assert_eq!(code, 2);
}

#[test]
fn the_embedded_emulator_serves_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "u.ndjson", ndjson(20, "c1").as_bytes());
    let (code, out, err) = run(Command::new(env!("CARGO_BIN_EXE_amberflo"))
        .env_clear()
        .args(["--emulator", "ingest", "--progress", "none"])
        .arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("delivered 20"), "{out}");
    let (code, out, _) = run(Command::new(env!("CARGO_BIN_EXE_amberflo"))
        .env_clear()
        .args(["--emulator", "customers", "list"]));
    assert_eq!((code, out.trim()), (0, "id  name  email  enabled  created"));
}

#[test]
fn dry_run_validates_and_sends_nothing() {
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "u.ndjson", ndjson(30, "c1").as_bytes());
    let (code, out, err) = run(amberflo(&emulator)
        .args(["ingest", "--dry-run", "--progress", "none"])
        .arg(&file));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("read 30 records from 1 file: 30 valid") && out.contains("dry run"),
        "{out}"
    );
    assert_eq!(emulator.record_count(), 0);
}

#[test]
fn completions_and_help_for_every_command() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, out, _) =
            run(Command::new(env!("CARGO_BIN_EXE_amberflo")).args(["completions", shell]));
        assert_eq!(code, 0);
        assert!(
            out.contains("amberflo") && out.contains("ingest"),
            "{shell}"
        );
    }
    let (_, help, _) = run(Command::new(env!("CARGO_BIN_EXE_amberflo")).arg("--help"));
    assert!(help.contains("Exit codes:"), "{help}");
    for command in [
        "ingest",
        "validate",
        "usage",
        "cost",
        "customers",
        "meters",
        "invoices",
        "completions",
    ] {
        let (code, help, _) =
            run(Command::new(env!("CARGO_BIN_EXE_amberflo")).args([command, "--help"]));
        assert_eq!(code, 0, "{command}");
        assert!(help.len() > 100, "{command}: {help}");
    }
}

#[test]
fn resume_needs_a_spool() {
    let emulator = emulator();
    let (code, _, err) = run(amberflo(&emulator).args(["ingest", "--resume", "x.ndjson"]));
    assert_eq!(code, 3);
    assert!(err.contains("--resume needs --spool"), "{err}");
}

/// A 1,000,000-line ingest through a spool, killed with SIGKILL midway and run again:
/// the emulator ends with every record exactly once.
#[test]
fn kill_9_midway_and_rerun_delivers_every_record_once() {
    const LINES: u64 = 1_000_000;
    let emulator = emulator();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::with_capacity(LINES as usize * 120);
    for i in 0..LINES {
        text.push_str(&record(i, &format!("c{}", i % 100)));
        text.push('\n');
    }
    let file = write(dir.path(), "big.ndjson", text.as_bytes());
    drop(text);
    let spool = dir.path().join("spool");
    let ingest = |emulator: &Emulator| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_amberflo"));
        command
            .env_clear()
            .env("AMBERFLO_API_KEY", KEY)
            .env("AMBERFLO_API_URL", emulator.url())
            .env("AMBERFLO_INGEST_URL", emulator.url())
            .args(["ingest", "--progress", "none", "--spool"])
            .arg(&spool)
            .arg(&file);
        command
    };
    let mut child = ingest(&emulator)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(300);
    while emulator.record_count() < 150_000 {
        assert!(
            Instant::now() < deadline,
            "no progress: {}",
            emulator.record_count()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = emulator.record_count();
    assert!(before < LINES as usize, "killed after the end");

    let output = ingest(&emulator).output().unwrap();
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{err}");
    assert!(err.contains("resuming after record"), "{err}");
    assert_eq!(
        emulator.record_count(),
        LINES as usize,
        "before the rerun: {before}"
    );
}
