//! The benchmark's output: the comparison table (text and Markdown), the targets, and the
//! files `target/bench/report.json` and `target/bench/report.md`.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use super::options::{Options, SDK_BATCH_SIZE, SDK_WORKERS};
use super::{RunResult, Side, rate};

/// Which way a metric is better, for the ratio column.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
    /// Not comparable across runs of different sizes (counts, totals).
    None,
}

/// One row of the table: a name, how to read it from a run, and which way is better.
struct Metric {
    name: &'static str,
    better: Better,
    read: fn(&RunResult) -> Option<f64>,
    decimals: usize,
}

fn field(run: &RunResult, path: &[&str]) -> Option<f64> {
    let mut value = &run.result;
    for key in path {
        value = value.get(key)?;
    }
    value.as_f64()
}

fn per_record_us(total_s: Option<f64>, run: &RunResult) -> Option<f64> {
    let records = field(run, &["records"])?;
    Some(total_s? / records * 1e6)
}

/// The SDK process's CPU per record.
fn cpu_us(run: &RunResult) -> Option<f64> {
    per_record_us(field(run, &["cpu_s"]), run)
}

/// The SDK process's CPU per record over its floor (1.0 = nothing spent beyond the floor).
fn over_floor(run: &RunResult) -> Option<f64> {
    let floor = field(run, &["floor_us_per_record"]).filter(|floor| *floor > 0.0)?;
    Some(cpu_us(run)? / floor)
}

fn is_spooled(run: &RunResult) -> bool {
    run.result["spool"].as_bool().unwrap_or(false)
}

/// Whether a run of ours used the SDK's default batch size and workers.
fn at_defaults(run: &RunResult) -> bool {
    field(run, &["batch_size"]) == Some(SDK_BATCH_SIZE as f64)
        && field(run, &["workers"]) == Some(SDK_WORKERS as f64)
}

const METRICS: &[Metric] = &[
    Metric {
        name: "records metered",
        better: Better::None,
        read: |r| field(r, &["records"]),
        decimals: 0,
    },
    Metric {
        name: "wall time, first call to all delivered (s)",
        better: Better::None,
        read: |r| field(r, &["wall_s"]),
        decimals: 2,
    },
    Metric {
        name: "records/s delivered",
        better: Better::Higher,
        read: |r| field(r, &["records_per_s"]),
        decimals: 0,
    },
    Metric {
        name: "meter() p50 (ns)",
        better: Better::Lower,
        read: |r| field(r, &["meter_ns", "p50"]),
        decimals: 0,
    },
    Metric {
        name: "meter() p99 (ns)",
        better: Better::Lower,
        read: |r| field(r, &["meter_ns", "p99"]),
        decimals: 0,
    },
    Metric {
        name: "meter() p99.9 (ns)",
        better: Better::Lower,
        read: |r| field(r, &["meter_ns", "p999"]),
        decimals: 0,
    },
    Metric {
        name: "meter() max (ns)",
        better: Better::Lower,
        read: |r| field(r, &["meter_ns", "max"]),
        decimals: 0,
    },
    Metric {
        name: "meter() p50, accepted calls only (ns)",
        better: Better::Lower,
        read: |r| field(r, &["meter_accepted_ns", "p50"]),
        decimals: 0,
    },
    Metric {
        name: "meter() p99, accepted calls only (ns)",
        better: Better::Lower,
        read: |r| field(r, &["meter_accepted_ns", "p99"]),
        decimals: 0,
    },
    Metric {
        name: "build record p50 (ns)",
        better: Better::Lower,
        read: |r| field(r, &["build_ns", "p50"]),
        decimals: 0,
    },
    Metric {
        name: "full-queue refusals (retried)",
        better: Better::None,
        read: |r| field(r, &["full_rejections"]),
        decimals: 0,
    },
    Metric {
        name: "peak RSS of the SDK process (MiB)",
        better: Better::Lower,
        read: |r| field(r, &["peak_rss_kib"]).map(|kib| kib / 1024.0),
        decimals: 1,
    },
    Metric {
        name: "SDK process CPU (s)",
        better: Better::None,
        read: |r| field(r, &["cpu_s"]),
        decimals: 2,
    },
    Metric {
        name: "SDK process CPU per record (us)",
        better: Better::Lower,
        read: cpu_us,
        decimals: 2,
    },
    Metric {
        name: "floor: CPU per record without HTTP (us)",
        better: Better::None,
        read: |r| field(r, &["floor_us_per_record"]),
        decimals: 2,
    },
    Metric {
        name: "SDK CPU per record / floor (x)",
        better: Better::None,
        read: over_floor,
        decimals: 2,
    },
    Metric {
        name: "emulator CPU (s)",
        better: Better::None,
        read: |r| Some(r.emulator_cpu_s),
        decimals: 2,
    },
    Metric {
        name: "emulator CPU per record (us)",
        better: Better::Lower,
        read: |r| per_record_us(Some(r.emulator_cpu_s), r),
        decimals: 2,
    },
    Metric {
        name: "spool fsyncs per second",
        better: Better::None,
        read: |r| {
            let syncs = field(r, &["spool_syncs"]).filter(|_| is_spooled(r))?;
            Some(syncs / field(r, &["wall_s"])?.max(f64::EPSILON))
        },
        decimals: 0,
    },
    Metric {
        name: "records the server received",
        better: Better::None,
        read: |r| Some(r.emulator_records as f64),
        decimals: 0,
    },
    Metric {
        name: "ingest requests",
        better: Better::None,
        read: |r| Some(r.emulator_requests as f64),
        decimals: 0,
    },
    Metric {
        name: "timer overhead per timed call (ns)",
        better: Better::None,
        read: |r| field(r, &["timer_overhead_ns"]),
        decimals: 0,
    },
];

/// A rendered table: a header row and data rows of cells.
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Aligned plain text, for the terminal.
    pub(crate) fn text(&self) -> String {
        let columns = self.header.len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|row| row.get(c).map_or(0, |cell| cell.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        let mut line = |row: &[String]| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    if c == 0 {
                        format!("{cell:<width$}", width = widths[c])
                    } else {
                        format!("{cell:>width$}", width = widths[c])
                    }
                })
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        };
        line(&self.header);
        line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
        for row in &self.rows {
            line(row);
        }
        out
    }

    /// A GitHub Markdown table.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "| {} |", self.header.join(" | "));
        let align: Vec<&str> = (0..self.header.len())
            .map(|c| if c == 0 { "---" } else { "---:" })
            .collect();
        let _ = writeln!(out, "| {} |", align.join(" | "));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

fn format_number(value: Option<f64>, decimals: usize) -> String {
    let Some(value) = value else {
        return "-".to_owned();
    };
    let text = format!("{value:.decimals$}");
    // Thousands separators on the integer part.
    let (sign, digits) = text
        .strip_prefix('-')
        .map_or(("", text.as_str()), |d| ("-", d));
    let (integer, fraction) = digits
        .split_once('.')
        .map_or((digits, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, digit) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    match fraction {
        Some(fraction) => format!("{sign}{grouped}.{fraction}"),
        None => format!("{sign}{grouped}"),
    }
}

/// How many times better `ours` is than `peer` on a metric.
fn ratio(better: Better, ours: Option<f64>, peer: Option<f64>) -> Option<f64> {
    let (ours, peer) = (ours?, peer?);
    match better {
        Better::Higher if peer > 0.0 => Some(ours / peer),
        Better::Lower if ours > 0.0 => Some(peer / ours),
        _ => None,
    }
}

/// Everything the report shows.
pub(crate) struct Report<'a> {
    pub(crate) command: String,
    pub(crate) machine: Value,
    pub(crate) options: &'a Options,
    pub(crate) runs: &'a [RunResult],
    pub(crate) emulator_peak_rss_kib: Option<u64>,
}

impl Report<'_> {
    fn peer(&self) -> Option<&RunResult> {
        self.runs.iter().find(|run| run.side == Side::Peer)
    }

    fn ours(&self) -> impl Iterator<Item = &RunResult> {
        self.runs.iter().filter(|run| run.side == Side::Ours)
    }

    /// One column per run, then one ratio column per run of ours against the peer.
    pub(crate) fn table(&self) -> Table {
        let peer = self.peer();
        let mut header = vec!["metric".to_owned()];
        header.extend(self.runs.iter().map(|run| run.label.clone()));
        if peer.is_some() {
            let ours = self.ours().count();
            header.extend(self.ours().enumerate().map(|(i, _)| {
                if ours == 1 {
                    "ratio (x better)".to_owned()
                } else {
                    format!("ratio #{} (x better)", i + 1)
                }
            }));
        }
        let rows = METRICS
            .iter()
            .map(|metric| {
                let mut row = vec![metric.name.to_owned()];
                row.extend(
                    self.runs
                        .iter()
                        .map(|run| format_number((metric.read)(run), metric.decimals)),
                );
                if let Some(peer) = peer {
                    for run in self.ours() {
                        row.push(
                            ratio(metric.better, (metric.read)(run), (metric.read)(peer))
                                .map_or_else(String::new, |r| {
                                    if r < 1.0 {
                                        format!("{r:.2}x")
                                    } else {
                                        format!("{r:.1}x")
                                    }
                                }),
                        );
                    }
                }
                row
            })
            .collect();
        Table { header, rows }
    }

    /// The efficiency targets: CPU per record against the floor at the SDK defaults, tuned and
    /// with the spool, the defaults' gap to the tuned records/s, the ratio to the peer, and
    /// `meter()` latency and memory at the defaults.
    fn targets(&self) -> Vec<(String, String, bool)> {
        let in_memory = || self.ours().filter(|run| !is_spooled(run));
        let defaults = in_memory().find(|run| at_defaults(run));
        let tuned = in_memory().find(|run| !at_defaults(run));
        let spooled = self.ours().find(|run| is_spooled(run));
        let mut targets = Vec::new();
        let mut floor_target = |name: &str, run: Option<&RunResult>, max: f64| {
            if let Some(times) = run.and_then(over_floor) {
                targets.push((
                    format!("{name}: SDK CPU per record <= {max}x the floor"),
                    format!("{times:.2}x"),
                    times <= max,
                ));
            }
        };
        floor_target("defaults", defaults, 1.3);
        floor_target("tuned", tuned, 1.2);
        floor_target("spool", spooled, 1.3);
        if let (Some(defaults), Some(tuned)) = (defaults, tuned) {
            let (slow, fast) = (rate(defaults), rate(tuned));
            let gap = if fast > 0.0 {
                (fast - slow) / fast
            } else {
                1.0
            };
            targets.push((
                "defaults: records/s within 15% of tuned".to_owned(),
                if gap >= 0.0 {
                    format!("{:.1}% below", gap * 100.0)
                } else {
                    format!("{:.1}% above", -gap * 100.0)
                },
                gap <= 0.15,
            ));
        }
        if let (Some(defaults), Some(peer)) = (defaults, self.peer()) {
            let times = ratio(Better::Lower, cpu_us(defaults), cpu_us(peer)).unwrap_or(0.0);
            targets.push((
                "defaults: >= 30x less CPU per record than the Python SDK".to_owned(),
                format!("{times:.1}x"),
                times >= 30.0,
            ));
        }
        if let Some(defaults) = defaults {
            let get = |path: &[&str]| field(defaults, path).unwrap_or(f64::NAN);
            let p50 = get(&["meter_ns", "p50"]);
            targets.push((
                "defaults: meter() p50 <= 150 ns".to_owned(),
                format!("{p50:.0} ns"),
                p50 <= 150.0,
            ));
            let p99 = get(&["meter_ns", "p99"]);
            targets.push((
                "defaults: meter() p99 <= 1 us".to_owned(),
                format!("{p99:.0} ns"),
                p99 <= 1000.0,
            ));
            let rss = get(&["peak_rss_kib"]) / 1024.0;
            targets.push((
                "defaults: peak RSS <= 64 MiB".to_owned(),
                format!("{rss:.1} MiB"),
                rss <= 64.0,
            ));
        }
        if let Some(spooled) = spooled {
            let p50 = field(spooled, &["meter_ns", "p50"]).unwrap_or(f64::NAN);
            targets.push((
                "spool: meter() p50 <= 2 us".to_owned(),
                format!("{p50:.0} ns"),
                p50 <= 2000.0,
            ));
            if let Some(first) = self.ours().next().filter(|run| !is_spooled(run)) {
                let share = rate(spooled) / rate(first).max(f64::EPSILON);
                targets.push((
                    "spool: records/s >= half of the same settings in memory".to_owned(),
                    format!("{:.0}%", share * 100.0),
                    share >= 0.5,
                ));
            }
        }
        targets
    }

    fn json(&self) -> Value {
        let runs: Vec<Value> = self
            .runs
            .iter()
            .map(|run| {
                json!({
                    "label": run.label,
                    "side": match run.side { Side::Ours => "ours", Side::Peer => "peer" },
                    "command": run.command,
                    "result": run.result,
                    "records_per_s_of_each_repeat": run.repeat_rates,
                    "emulator": {
                        "cpu_s": run.emulator_cpu_s,
                        "ingest_requests": run.emulator_requests,
                        "records_checked": run.emulator_records,
                    },
                })
            })
            .collect();
        let targets: Vec<Value> = self
            .targets()
            .into_iter()
            .map(|(target, measured, met)| {
                json!({"target": target, "measured": measured, "met": met})
            })
            .collect();
        json!({
            "command": self.command,
            "machine": self.machine,
            "options": {
                "records": self.options.records,
                "threads": self.options.threads,
                "batch_size": self.options.batch_size,
                "workers": self.options.workers,
                "queue_capacity": self.options.queue_capacity,
                "linger_ms": self.options.linger_ms,
                "transport": self.options.transport,
                "dimensions": self.options.dimensions,
                "spool": self.options.spool,
                "floor_records": self.options.floor_records,
                "full_sleep_us": self.options.full_sleep_us,
                "peer_records": self.options.peer_records,
                "quick": self.options.quick,
            },
            "runs": runs,
            "targets": targets,
            "emulator_peak_rss_kib": self.emulator_peak_rss_kib,
        })
    }

    fn markdown(&self) -> String {
        let machine = &self.machine;
        let text = |key: &str| {
            machine[key]
                .as_str()
                .map_or_else(|| machine[key].to_string(), str::to_owned)
        };
        let mut out = String::new();
        let _ = writeln!(out, "# amberflo-rs end-to-end ingest benchmark\n");
        let _ = writeln!(out, "- command: `{}`", self.command);
        let _ = writeln!(out, "- date: {}", text("date"));
        let _ = writeln!(
            out,
            "- machine: {} cores (`nproc`), {}, {} GiB memory, {}",
            text("nproc"),
            text("cpu_model"),
            text("memory_gib"),
            text("kernel")
        );
        let _ = writeln!(out, "- toolchain: {}", text("rustc"));
        let _ = writeln!(
            out,
            "- load average at start (1, 5, 15 min): {}",
            text("load_average_at_start")
        );
        if machine.get("python").is_some() {
            let _ = writeln!(
                out,
                "- peer: amberflo-metering-python 3.3.1 on Python {}",
                text("python")
            );
        }
        let _ = writeln!(out, "\n## Results\n");
        let _ = writeln!(out, "{}", self.table().markdown());
        let _ = writeln!(
            out,
            "Ratios say how many times better the Rust SDK is than the peer (records/s: ours ÷ \
             peer; latencies, memory and CPU per record: peer ÷ ours). Runs of different sizes \
             are compared on rates and per-record figures only."
        );
        let targets = self.targets();
        if !targets.is_empty() {
            let _ = writeln!(out, "\n## Targets\n");
            let _ = writeln!(out, "| target | measured | met |\n| --- | ---: | --- |");
            for (target, measured, met) in targets {
                let _ = writeln!(
                    out,
                    "| {target} | {measured} | {} |",
                    if met { "yes" } else { "**no**" }
                );
            }
        }
        let _ = writeln!(out, "\n## Runs\n");
        for run in self.runs {
            let _ = writeln!(out, "- **{}**: `{}`", run.label, run.command);
            if run.repeat_rates.len() > 1 {
                let rates: Vec<String> = run
                    .repeat_rates
                    .iter()
                    .map(|rate| format_number(Some(*rate), 0))
                    .collect();
                let _ = writeln!(
                    out,
                    "  - records/s of the {} repetitions (the median one is reported): {}",
                    rates.len(),
                    rates.join(", ")
                );
            }
        }
        if let Some(kib) = self.emulator_peak_rss_kib {
            let _ = writeln!(
                out,
                "\nEmulator peak RSS over the whole invocation: {:.0} MiB.",
                kib as f64 / 1024.0
            );
        }
        let _ = writeln!(out, "\n## Method\n");
        let _ = writeln!(out, "{METHOD}");
        out
    }

    /// Writes `report.json` and `report.md` into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(&self.json()).map_err(|e| e.to_string())?;
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
        };
        write("report.json", &(json + "\n"))?;
        write("report.md", &self.markdown())
    }
}

const METHOD: &str = "\
- The emulator (`amberflo-emulator --port 0`, release) runs as its own process on 127.0.0.1; its \
CPU per run is the change of utime + stime in `/proc/<pid>/stat` around the run. Both SDKs share \
the machine's cores with it.
- Each run is a fresh process. T producer threads start together on a barrier; each builds its \
records (meter `ApiCalls`, value 1, one of 100 customers, dimensions `region`, `service`, `tier`, \
the time now, a fresh UUID v4) and meters them; then `shutdown` delivers everything. Wall time \
runs from the first call to `shutdown` returning; records/s = records delivered ÷ wall time. \
After each run the harness checks that the emulator holds exactly the records metered, then \
clears it.
- `meter()` latency: `Instant::now()` (Rust) or `time.perf_counter_ns()` (Python) on each side of \
every enqueue call: `Client::meter_record` (validation + enqueue) and `ThreadedProducer.send`. \
Refused calls (queue full) are included; the \"accepted calls only\" rows leave them out. \
Building the record (`MeterRecord::builder(..).build()`, `create_ingest_payload(..)`) is timed \
apart. Figures include the timer's own overhead (the \"timer overhead\" row: the median of an \
empty timed region). Rust percentiles come from an HDR histogram (3 significant digits, exact \
max); Python's are exact (nearest rank).
- Full queue: both SDKs refuse a record at once when their 100,000-record queue is full \
(`MeterError::Rejected` / `send` returning False); every refusal is counted and timed. The load \
processes then deliver the same record: ours hands it to `Client::meter_record_timeout`, which \
parks the thread until the workers make room; the Python SDK has no such call, so its load \
process retries `send` (yielding for the first 4 refusals in a row, then sleeping \
`--full-sleep-us`, default 200 µs, between tries). That waiting is back-pressure and is not \
timed. Exactly N records are delivered.
- Floor: after metering (its client dropped), each run of ours meters `--floor-records` \
(default 300,000) more records in the same process, from the same producers with the same \
instrumentation, through a client with the same settings (with `--spool`, a spool in a fresh \
directory) whose transport answers every request at once, in memory: building, validating, \
enqueueing, batching, encoding and gzip count, the network does not. Its CPU per record is the \
\"floor\" row; the SDK's CPU per record (`CLOCK_PROCESS_CPUTIME_ID`, from building the client to \
the end of `shutdown`) is divided by it, so the ratio is what talking HTTP costs on top.
- `meter()` max is dominated by preemption: T producers, the SDK's workers and I/O threads and \
the emulator share few cores, and a thread descheduled between its two clock reads reports the \
whole time slice it waited.
- Peak RSS: `VmHWM` of `/proc/self/status` (Rust), `ru_maxrss` (Python), read right after \
`shutdown`. It includes the instrumentation: 24 HDR histograms of `u32` counts (~2.5 MiB) in \
Rust, int64 arrays of every latency sample (8 bytes a sample) in Python.
- The machine may be shared: the load average at the start of each run is printed, and \
`--repeat N` reports the median of N runs with the spread in the \"Runs\" section.";
