//! The command line of `cargo xtask bench`, parsed by hand (xtask keeps few dependencies).

use std::path::PathBuf;
use std::time::Duration;

/// The usage text, printed by `--help` and after a bad argument.
pub(crate) const USAGE: &str = "\
usage: cargo xtask bench [OPTIONS]

End-to-end ingest benchmark: release builds of the emulator and of examples/ingest_load/, each
in its own process on 127.0.0.1; optionally the official Python SDK on the same workload.
Writes target/bench/report.json and target/bench/report.md.

  cargo xtask bench --engines
                       instead: the batching engine beside the simplest engine with its
                       contract (a Mutex<VecDeque> and condition variables), in one process,
                       no HTTP (crates/amberflo-batcher/benches/engines.rs)

options:
  --records N          records the SDK meters (default 1000000)
  --threads N          producer threads, for both SDKs (default 8)
  --batch-size N       records per request of our SDK (default: the SDK's, 500)
  --workers N          worker threads of our SDK (default: the SDK's, 3)
  --queue-capacity N   queue capacity of our SDK (default: the SDK's, 100000)
  --linger-ms N        linger of our SDK (default: the SDK's, 500)
  --transport T        reqwest | hyper (default reqwest)
  --dimensions N       dimensions per record, 0 to 3 (default 3)
  --spool              also run our SDK with a disk spool (`ClientBuilder::spool`, in
                       target/bench/spool-*), at the first run's settings: under the default
                       fsync policy (every 1 s), under `never`, and under `always` (with
                       1/20 of the records: every meter() waits for a disk sync)
  --aggregate          also run our SDK aggregating at the source (`ClientBuilder::aggregate`,
                       sum over 60 s windows) at the first run's settings: meter() cost side
                       by side with plain ingest, and the records the server received
  --floor-records N    records of the in-process floor measurement of each run of ours
                       (default 300000; 0 skips it)
  --peer python        also run amberflo-metering-python 3.3.1 (in target/bench/venv)
  --peer-records N     records the peer meters (default 200000; it is ~100x slower)
  --full-sleep-us N    when the Python peer's queue refuses a record (full), its load process
                       retries it, yielding for the first 4 refusals in a row, then sleeping N us
                       (default 200); ours waits for room with `meter_record_timeout` instead
  --quick              smoke test: 50000 records, no peer (explicit options still apply)
  --no-defaults-run    when batch size or workers differ from the SDK defaults, skip the extra
                       run at the SDK defaults that is otherwise added for comparison
  --sdk-bin PATH       run this ingest_load binary instead of building it (A/B a patched SDK)
  --emulator-bin PATH  run this amberflo-emulator binary instead of building it
  --repeat N           run each configuration N times and keep the median run by records/s
                       (default 1; the machine may be shared, and the report shows the spread)
  --timeout-s N        fail a run whose process takes longer (default 600)
";

/// The SDK's default batch size and workers (`amberflo_batcher::defaults`; xtask does not
/// depend on the SDK).
pub(crate) const SDK_BATCH_SIZE: u64 = 500;
pub(crate) const SDK_WORKERS: u64 = 3;

/// Which peer SDK to compare with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Python,
}

/// Everything `cargo xtask bench` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) records: u64,
    pub(crate) threads: u64,
    pub(crate) batch_size: Option<u64>,
    pub(crate) workers: Option<u64>,
    pub(crate) queue_capacity: Option<u64>,
    pub(crate) linger_ms: Option<u64>,
    pub(crate) transport: String,
    pub(crate) dimensions: u64,
    pub(crate) full_sleep_us: u64,
    pub(crate) spool: bool,
    pub(crate) aggregate: bool,
    pub(crate) floor_records: u64,
    pub(crate) peer: Option<Peer>,
    pub(crate) peer_records: u64,
    pub(crate) quick: bool,
    pub(crate) defaults_run: bool,
    pub(crate) sdk_bin: Option<PathBuf>,
    pub(crate) emulator_bin: Option<PathBuf>,
    pub(crate) repeat: u64,
    pub(crate) timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            records: 1_000_000,
            threads: 8,
            batch_size: None,
            workers: None,
            queue_capacity: None,
            linger_ms: None,
            transport: "reqwest".to_owned(),
            dimensions: 3,
            full_sleep_us: 200,
            spool: false,
            aggregate: false,
            floor_records: 300_000,
            peer: None,
            peer_records: 200_000,
            quick: false,
            defaults_run: true,
            sdk_bin: None,
            emulator_bin: None,
            repeat: 1,
            timeout: Duration::from_secs(600),
        }
    }
}

/// What `parse` found: options to run with, or a request for the usage text.
pub(crate) enum Parsed {
    Run(Box<Options>),
    Help,
}

impl Options {
    /// Parses `--flag value` and `--flag=value` arguments.
    pub(crate) fn parse(args: &[String]) -> Result<Parsed, String> {
        let mut options = Options::default();
        let mut records_given = false;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) => (flag, Some(value.to_owned())),
                None => (arg.as_str(), None),
            };
            let mut value = || {
                inline
                    .clone()
                    .or_else(|| args.next().cloned())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "-h" | "--help" => return Ok(Parsed::Help),
                "--records" => {
                    options.records = number(flag, &value()?)?;
                    records_given = true;
                }
                "--threads" => options.threads = number(flag, &value()?)?.max(1),
                "--batch-size" => options.batch_size = Some(number(flag, &value()?)?),
                "--workers" => options.workers = Some(number(flag, &value()?)?),
                "--queue-capacity" => options.queue_capacity = Some(number(flag, &value()?)?),
                "--linger-ms" => options.linger_ms = Some(number(flag, &value()?)?),
                "--dimensions" => {
                    let dimensions = number(flag, &value()?)?;
                    if dimensions > 3 {
                        return Err("--dimensions is 0 to 3".to_owned());
                    }
                    options.dimensions = dimensions;
                }
                "--transport" => {
                    let transport = value()?;
                    if transport != "reqwest" && transport != "hyper" {
                        return Err(format!(
                            "--transport is reqwest or hyper, not {transport:?}"
                        ));
                    }
                    options.transport = transport;
                }
                "--peer" => {
                    let peer = value()?;
                    if peer != "python" {
                        return Err(format!("--peer knows only python, not {peer:?}"));
                    }
                    options.peer = Some(Peer::Python);
                }
                "--spool" => options.spool = true,
                "--aggregate" => options.aggregate = true,
                "--floor-records" => options.floor_records = number(flag, &value()?)?,
                "--full-sleep-us" => options.full_sleep_us = number(flag, &value()?)?,
                "--peer-records" => options.peer_records = number(flag, &value()?)?,
                "--quick" => options.quick = true,
                "--no-defaults-run" => options.defaults_run = false,
                "--sdk-bin" => options.sdk_bin = Some(PathBuf::from(value()?)),
                "--emulator-bin" => options.emulator_bin = Some(PathBuf::from(value()?)),
                "--repeat" => options.repeat = number(flag, &value()?)?.clamp(1, 99),
                "--timeout-s" => {
                    options.timeout = Duration::from_secs(number(flag, &value()?)?.max(1));
                }
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if options.quick {
            if !records_given {
                options.records = 50_000;
            }
            options.peer = None;
            options.defaults_run = false;
        }
        if options.records == 0 {
            return Err("--records must be at least 1".to_owned());
        }
        Ok(Parsed::Run(Box::new(options)))
    }

    /// Whether the configuration differs from the SDK defaults in batch size or workers.
    pub(crate) fn is_tuned(&self) -> bool {
        self.batch_size.is_some_and(|size| size != SDK_BATCH_SIZE)
            || self.workers.is_some_and(|workers| workers != SDK_WORKERS)
    }
}

fn number(flag: &str, text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("{flag} takes a number, not {text:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Options {
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        match Options::parse(&args) {
            Ok(Parsed::Run(options)) => *options,
            Ok(Parsed::Help) => panic!("help"),
            Err(error) => panic!("{error}"),
        }
    }

    #[test]
    fn defaults_and_flags() {
        let options = parse(&[]);
        assert_eq!(options.records, 1_000_000);
        assert_eq!(options.threads, 8);
        assert!(options.peer.is_none());
        let options = parse(&[
            "--records=2_000",
            "--threads",
            "4",
            "--peer",
            "python",
            "--batch-size",
            "1000",
            "--spool",
            "--floor-records=0",
        ]);
        assert!(options.spool);
        assert_eq!(options.floor_records, 0);
        assert_eq!(options.records, 2_000);
        assert_eq!(options.threads, 4);
        assert_eq!(options.peer, Some(Peer::Python));
        assert!(options.is_tuned());
        // The SDK's own defaults are not a tuning.
        assert!(!parse(&["--batch-size", "500", "--workers", "3"]).is_tuned());
    }

    #[test]
    fn quick_drops_the_peer_but_keeps_explicit_records() {
        let options = parse(&["--peer", "python", "--quick"]);
        assert_eq!(options.records, 50_000);
        assert!(options.peer.is_none());
        assert_eq!(parse(&["--quick", "--records", "10"]).records, 10);
    }

    #[test]
    fn bad_arguments_are_named() {
        let bad = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
            Options::parse(&args).err().unwrap_or_default()
        };
        assert!(bad(&["--transport", "curl"]).contains("reqwest or hyper"));
        assert!(bad(&["--records", "x"]).contains("--records"));
        assert!(bad(&["--records"]).contains("needs a value"));
        assert!(bad(&["--frobnicate"]).contains("unknown option"));
    }
}
