//! `cargo xtask bench`: the end-to-end ingest benchmark.
//!
//! In one invocation, with release builds:
//!
//! 1. the emulator (`amberflo-emulator --port 0`) runs as its own process on 127.0.0.1, so its
//!    CPU time is separable: `/proc/<pid>/stat` is read before and after every run;
//! 2. our SDK runs in another process (`examples/ingest_load/`): T producer threads meter N
//!    records, then `shutdown` delivers them; it prints one JSON line of results;
//!    after that, the same process measures the *floor* of its configuration: the same
//!    workload through a client whose transport answers in memory (with `--spool`, through a
//!    spool); the report divides the SDK's CPU per record by it;
//! 3. with `--spool`, our SDK runs once more with a disk spool (`target/bench/spool`);
//! 4. with `--peer python`, the official Python SDK runs the same workload
//!    (`xtask/bench/peer.py`, in a virtualenv under `target/bench/venv`);
//! 5. after each run the harness checks that the emulator holds exactly the records metered
//!    (`GET /_emulator/stats`) and clears it (`DELETE /_emulator/records`); at the end it
//!    prints a table and writes `target/bench/report.json` and `target/bench/report.md`.
//!
//! Every child is killed when its guard drops, on success, error or panic; a run that takes
//! longer than `--timeout-s` (default 10 minutes) is killed and fails the benchmark.

mod http;
mod machine;
mod options;
mod peer;
mod process;
mod report;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use self::options::{Options, Parsed, Peer};
use self::process::{Guarded, clock_ticks_per_second, collect_stdout, cpu_ticks, status_kib};

/// `--engines`: the engine beside its baseline (`amberflo-batcher`'s `engines` bench).
fn engines() -> Result<(), String> {
    process::run_checked(
        Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .current_dir(crate::ci::workspace_root())
            .args(["bench", "-p", "amberflo-batcher", "--bench", "engines"]),
        "the engines bench",
    )
}

/// How long the emulator may take to print its URL.
const EMULATOR_START_TIMEOUT: Duration = Duration::from_secs(20);

/// Which side of the comparison a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Ours,
    Peer,
}

/// The `--spool` run under `FsyncPolicy::Always` meters this fraction of `--records`: each
/// `meter()` waits for a disk sync there.
const ALWAYS_SHARE: u64 = 20;

/// One process to run against the emulator.
struct RunSpec {
    label: String,
    slug: &'static str,
    side: Side,
    records: u64,
    program: PathBuf,
    args: Vec<String>,
    /// A spool directory the harness empties before the run and removes after it.
    spool_dir: Option<PathBuf>,
    /// The SDK aggregates at the source: the server holds what the run says it sent
    /// (`aggregates_out`), not one record per record metered.
    aggregated: bool,
}

/// What a run measured: the process's own JSON line plus the harness's view of the emulator.
#[derive(Debug, Clone)]
pub(crate) struct RunResult {
    pub(crate) label: String,
    pub(crate) side: Side,
    pub(crate) command: String,
    pub(crate) result: Value,
    pub(crate) emulator_cpu_s: f64,
    pub(crate) emulator_requests: u64,
    pub(crate) emulator_records: u64,
    /// records/s of every repetition of this configuration, in run order.
    pub(crate) repeat_rates: Vec<f64>,
}

pub(crate) fn rate(run: &RunResult) -> f64 {
    run.result["records_per_s"].as_f64().unwrap_or(0.0)
}

/// The repetition with the median records/s (the lower middle one for an even count), which
/// keeps the rates of all of them.
fn median(mut repeats: Vec<RunResult>) -> Result<RunResult, String> {
    let rates: Vec<f64> = repeats.iter().map(rate).collect();
    repeats.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    let index = (repeats.len().saturating_sub(1)) / 2;
    let mut chosen = repeats.into_iter().nth(index).ok_or("no run to report")?;
    chosen.repeat_rates = rates;
    Ok(chosen)
}

/// The emulator process and where it listens.
struct Emulator {
    process: Guarded,
    url: String,
    addr: SocketAddr,
}

/// Runs `cargo xtask bench ARGS`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|arg| arg == "--engines") {
        return engines();
    }
    let options = match Options::parse(args).map_err(|e| format!("{e}\n\n{}", options::USAGE))? {
        Parsed::Help => {
            print!("{}", options::USAGE);
            return Ok(());
        }
        Parsed::Run(options) => options,
    };
    let root = crate::ci::workspace_root();
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let command_line = std::iter::once("cargo xtask bench".to_owned())
        .chain(args.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut machine = machine::describe();

    let (emulator_bin, sdk_bin) = build(&root, &options)?;
    let python = match options.peer {
        Some(Peer::Python) => {
            let python = peer::ensure_venv(&out.join("venv"))?;
            machine["python"] = Value::from(peer::python_version(&python));
            Some(python)
        }
        None => None,
    };
    let specs = plan(&root, &out, &options, &sdk_bin, python.as_deref());

    let mut emulator = start_emulator(&emulator_bin, &out)?;
    println!(
        "bench: emulator at {} (pid {})",
        emulator.url,
        emulator.process.pid()
    );
    let ticks = clock_ticks_per_second();
    let mut runs = Vec::new();
    for spec in &specs {
        let mut repeats = Vec::new();
        for attempt in 1..=options.repeat {
            println!(
                "bench: {} meters {} records (run {attempt} of {}, load average {}) ...",
                spec.label,
                spec.records,
                options.repeat,
                machine::load_average()
            );
            let run = run_one(&mut emulator, spec, &options, &out, ticks)?;
            println!(
                "bench: {}: {:.0} records/s, meter() p50 {} ns, emulator CPU {:.2} s",
                run.label,
                rate(&run),
                run.result["meter_ns"]["p50"],
                run.emulator_cpu_s
            );
            repeats.push(run);
        }
        runs.push(median(repeats)?);
    }
    let emulator_peak_rss_kib = status_kib(emulator.process.pid(), "VmHWM");
    drop(emulator);

    let report = report::Report {
        command: command_line,
        machine,
        options: &options,
        runs: &runs,
        emulator_peak_rss_kib,
    };
    println!();
    println!("{}", report.table().text());
    report.write(&out)?;
    println!(
        "bench: wrote {} and {}",
        out.join("report.json").display(),
        out.join("report.md").display()
    );
    Ok(())
}

/// Builds the emulator and the load process (release); returns their paths.
fn build(root: &Path, options: &Options) -> Result<(PathBuf, PathBuf), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let release = root.join("target").join("release");
    let emulator_bin = match &options.emulator_bin {
        Some(path) => path.clone(),
        None => {
            println!("bench: building the emulator (release)");
            process::run_checked(
                Command::new(&cargo).current_dir(root).args([
                    "build",
                    "--release",
                    "-p",
                    "amberflo-emulator",
                    "--features",
                    "cli",
                ]),
                "cargo build -p amberflo-emulator",
            )?;
            release.join("amberflo-emulator")
        }
    };
    let sdk_bin = match &options.sdk_bin {
        Some(path) => path.clone(),
        None => {
            println!("bench: building examples/ingest_load/ (release)");
            process::run_checked(
                Command::new(&cargo).current_dir(root).args([
                    "build",
                    "--release",
                    "-p",
                    "amberflo-examples",
                    "--example",
                    "ingest_load",
                    "--features",
                    "hyper",
                ]),
                "cargo build --example ingest_load",
            )?;
            release.join("examples").join("ingest_load")
        }
    };
    for path in [&emulator_bin, &sdk_bin] {
        if !path.exists() {
            return Err(format!("no such program: {}", path.display()));
        }
    }
    Ok((emulator_bin, sdk_bin))
}

/// The runs of this invocation, in order: ours, ours at the SDK defaults (when tuned), the peer.
fn plan(
    root: &Path,
    out: &Path,
    options: &Options,
    sdk_bin: &Path,
    python: Option<&Path>,
) -> Vec<RunSpec> {
    let ours_sized = |label: String,
                      slug,
                      batch_size: Option<u64>,
                      workers: Option<u64>,
                      (records, floor_records): (u64, u64)| {
        let mut args = vec![
            "--floor-records".to_owned(),
            floor_records.to_string(),
            "--records".to_owned(),
            records.to_string(),
            "--threads".to_owned(),
            options.threads.to_string(),
            "--transport".to_owned(),
            options.transport.clone(),
            "--dimensions".to_owned(),
            options.dimensions.to_string(),
        ];
        let optional = [
            ("--batch-size", batch_size),
            ("--workers", workers),
            ("--queue-capacity", options.queue_capacity),
            ("--linger-ms", options.linger_ms),
        ];
        for (flag, value) in optional {
            if let Some(value) = value {
                args.push(flag.to_owned());
                args.push(value.to_string());
            }
        }
        RunSpec {
            label,
            slug,
            side: Side::Ours,
            records,
            program: sdk_bin.to_path_buf(),
            args,
            spool_dir: None,
            aggregated: false,
        }
    };
    let ours = |label, slug, batch_size, workers| {
        ours_sized(
            label,
            slug,
            batch_size,
            workers,
            (options.records, options.floor_records),
        )
    };
    let describe = |batch: Option<u64>, workers: Option<u64>| {
        format!(
            "amberflo-rs (batch {}, {} workers, {})",
            batch.unwrap_or(options::SDK_BATCH_SIZE),
            workers.unwrap_or(options::SDK_WORKERS),
            options.transport
        )
    };
    let mut specs = vec![ours(
        describe(options.batch_size, options.workers),
        "ours",
        options.batch_size,
        options.workers,
    )];
    if options.spool {
        let dir = out.join("spool");
        let mut spooled = ours(
            format!("{} + spool", describe(options.batch_size, options.workers)),
            "ours-spool",
            options.batch_size,
            options.workers,
        );
        spooled.args.push("--spool".to_owned());
        spooled.args.push(dir.display().to_string());
        spooled.spool_dir = Some(dir);
        specs.push(spooled);
        // The other fsync policies, without the floor measurement; under `Always` every
        // `meter()` waits for a disk sync, so its run is smaller.
        for (policy, slug, records) in [
            ("never", "ours-spool-never", options.records),
            (
                "always",
                "ours-spool-always",
                (options.records / ALWAYS_SHARE).max(1),
            ),
        ] {
            let dir = out.join(format!("spool-{policy}"));
            let mut run = ours_sized(
                format!(
                    "{} + spool, fsync {policy}",
                    describe(options.batch_size, options.workers)
                ),
                slug,
                options.batch_size,
                options.workers,
                (records, 0),
            );
            run.args.extend([
                "--spool".to_owned(),
                dir.display().to_string(),
                "--fsync".to_owned(),
                policy.to_owned(),
            ]);
            run.spool_dir = Some(dir);
            specs.push(run);
        }
    }
    if options.aggregate {
        let mut aggregated = ours(
            format!(
                "{} + aggregate (sum, 60 s)",
                describe(options.batch_size, options.workers)
            ),
            "ours-aggregate",
            options.batch_size,
            options.workers,
        );
        aggregated
            .args
            .extend(["--aggregate-window-s".to_owned(), "60".to_owned()]);
        aggregated.aggregated = true;
        specs.push(aggregated);
    }
    if options.is_tuned() && options.defaults_run {
        specs.push(ours(
            format!("{} [SDK defaults]", describe(None, None)),
            "ours-defaults",
            None,
            None,
        ));
    }
    if let Some(python) = python {
        let script = root.join("xtask").join("bench").join("peer.py");
        specs.push(RunSpec {
            label: "python 3.3.1 (batch 100, 2 workers)".to_owned(),
            slug: "peer-python",
            side: Side::Peer,
            records: options.peer_records,
            program: python.to_path_buf(),
            args: vec![
                script.display().to_string(),
                "--records".to_owned(),
                options.peer_records.to_string(),
                "--threads".to_owned(),
                options.threads.to_string(),
                "--dimensions".to_owned(),
                options.dimensions.to_string(),
                "--full-sleep-us".to_owned(),
                options.full_sleep_us.to_string(),
            ],
            spool_dir: None,
            aggregated: false,
        });
    }
    specs
}

/// Starts the emulator on a free loopback port and reads its URL.
fn start_emulator(program: &Path, out: &Path) -> Result<Emulator, String> {
    let mut process = Guarded::spawn(
        "amberflo-emulator",
        Command::new(program)
            .args(["--bind", "127.0.0.1", "--port", "0"])
            .env("RUST_LOG", "warn")
            .env_remove("AMBERFLO_EMULATOR_API_KEY"),
        &out.join("emulator.stderr.log"),
    )?;
    let url = process::first_line(process.take_stdout()?, EMULATOR_START_TIMEOUT)
        .map_err(|e| format!("amberflo-emulator did not start: {e}"))?;
    let addr = http::loopback_addr(&url)?;
    Ok(Emulator { process, url, addr })
}

/// Creates `dir` empty, removing what an earlier run left there.
fn empty_dir(dir: &Path) -> Result<(), String> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot remove {}: {error}", dir.display())),
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Empties the emulator's record store.
fn clear(emulator: &Emulator) -> Result<(), String> {
    let (status, body) = http::request(emulator.addr, "DELETE", "/_emulator/records")?;
    if status == 200 {
        Ok(())
    } else {
        Err(format!(
            "DELETE /_emulator/records: status {status}: {body}"
        ))
    }
}

fn stat(stats: &Value, name: &str) -> Result<u64, String> {
    stats[name]
        .as_u64()
        .ok_or_else(|| format!("/_emulator/stats has no `{name}`: {stats}"))
}

/// Runs one process against the emulator, checks what arrived, and clears the emulator.
fn run_one(
    emulator: &mut Emulator,
    spec: &RunSpec,
    options: &Options,
    out: &Path,
    ticks: f64,
) -> Result<RunResult, String> {
    if !emulator.process.is_running() {
        return Err("the emulator is no longer running".to_owned());
    }
    clear(emulator)?;
    let stats_before = http::get_json(emulator.addr, "/_emulator/stats")?;
    let cpu_before = cpu_ticks(emulator.process.pid())?;

    if let Some(dir) = &spec.spool_dir {
        empty_dir(dir)?;
    }
    let log = out.join(format!("{}.stderr.log", spec.slug));
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .args(["--endpoint", &emulator.url])
        .env_remove("AMBERFLO_API_KEY")
        .env_remove("AMBERFLO_API_URL")
        .env_remove("AMBERFLO_INGEST_URL");
    let shown = std::iter::once(spec.program.display().to_string())
        .chain(spec.args.iter().cloned())
        .chain(["--endpoint".to_owned(), "URL".to_owned()])
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Guarded::spawn(&spec.label, &mut command, &log)?;
    let stdout = collect_stdout(child.take_stdout()?);
    let status = child.wait_timeout(options.timeout)?;
    let text = stdout
        .join()
        .map_err(|_| "the stdout reader panicked".to_owned())?;
    if !status.success() {
        return Err(format!(
            "{} failed ({status}); see {}",
            spec.label,
            log.display()
        ));
    }
    let line = text
        .lines()
        .rev()
        .find(|line| line.trim_start().starts_with('{'))
        .ok_or_else(|| format!("{} printed no JSON line: {text:?}", spec.label))?;
    let result: Value = serde_json::from_str(line)
        .map_err(|e| format!("{} printed bad JSON ({e}): {line}", spec.label))?;

    let cpu_after = cpu_ticks(emulator.process.pid())?;
    let stats = http::get_json(emulator.addr, "/_emulator/stats")?;
    let stored = stat(&stats, "records")?;
    let expected = match spec.aggregated {
        true => result
            .get("aggregates_out")
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("{} reported no aggregates_out", spec.label))?,
        false => spec.records,
    };
    if stored != expected {
        return Err(format!(
            "{}: the emulator holds {stored} records, expected exactly {expected}",
            spec.label
        ));
    }
    let requests =
        stat(&stats, "ingestBatches")?.saturating_sub(stat(&stats_before, "ingestBatches")?);
    clear(emulator)?;
    if let Some(dir) = &spec.spool_dir {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("cannot remove {}: {e}", dir.display()))?;
    }
    Ok(RunResult {
        label: spec.label.clone(),
        side: spec.side,
        command: shown,
        result,
        emulator_cpu_s: cpu_after.saturating_sub(cpu_before) as f64 / ticks,
        emulator_requests: requests,
        emulator_records: stored,
        repeat_rates: Vec::new(),
    })
}
