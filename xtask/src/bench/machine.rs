//! What the benchmark ran on: cores, CPU model, memory, kernel, toolchain and the date.

use serde_json::{Value, json};

use super::process::output_of;

/// A description of this machine, for the report.
pub(crate) fn describe() -> Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key.trim() == "model name").then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory_kib = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let nproc = std::thread::available_parallelism().map_or(0, usize::from);
    json!({
        "nproc": nproc,
        "cpu_model": cpu_model,
        "memory_gib": (memory_kib as f64 / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        "kernel": output_of("uname", &["-sr"]).unwrap_or_default(),
        "rustc": output_of("rustc", &["--version"]).unwrap_or_default(),
        "date": output_of("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"]).unwrap_or_default(),
        "load_average_at_start": load_average(),
    })
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`): other work on a shared machine
/// shows here.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
