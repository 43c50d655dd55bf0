//! Child processes of the benchmark: always killed when their guard drops (on every path,
//! errors and panics included), run with a deadline, and measured through `/proc`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a waiting harness polls its child.
const POLL: Duration = Duration::from_millis(20);

/// A running child that is killed (and reaped) when this guard drops.
pub(crate) struct Guarded {
    child: Child,
    name: String,
}

impl Guarded {
    /// Starts `command` with stdout piped and stderr appended to `stderr_log`.
    pub(crate) fn spawn(
        name: &str,
        command: &mut Command,
        stderr_log: &Path,
    ) -> Result<Self, String> {
        let log = File::create(stderr_log)
            .map_err(|e| format!("cannot create {}: {e}", stderr_log.display()))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(Guarded {
            child,
            name: name.to_owned(),
        })
    }

    /// The child's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Takes the child's stdout (once).
    pub(crate) fn take_stdout(&mut self) -> Result<ChildStdout, String> {
        self.child
            .stdout
            .take()
            .ok_or_else(|| format!("{}: stdout already taken", self.name))
    }

    /// Whether the child is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the child to exit, killing it after `timeout`.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Result<ExitStatus, String> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() >= deadline => {
                    self.kill();
                    return Err(format!(
                        "{} did not finish within {} s and was killed",
                        self.name,
                        timeout.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(POLL),
                Err(error) => return Err(format!("waiting for {}: {error}", self.name)),
            }
        }
    }

    fn kill(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads a child's whole stdout on a thread, so that a chatty child never blocks on a full pipe.
pub(crate) fn collect_stdout(stdout: ChildStdout) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stdout).read_to_string(&mut text);
        text
    })
}

/// Reads the first line of a child's stdout within `timeout`; the rest is drained and dropped.
pub(crate) fn first_line(stdout: ChildStdout, timeout: Duration) -> Result<String, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line).map(|_| line);
        let _ = sender.send(read);
        // Keep draining until the child exits.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    match receiver.recv_timeout(timeout) {
        Ok(Ok(line)) if !line.trim().is_empty() => Ok(line.trim().to_owned()),
        Ok(Ok(_)) => Err("the process closed its stdout without printing".to_owned()),
        Ok(Err(error)) => Err(format!("reading stdout: {error}")),
        Err(_) => Err(format!("nothing on stdout within {} s", timeout.as_secs())),
    }
}

/// Runs a command to completion (inheriting stdio), failing on a non-zero exit.
pub(crate) fn run_checked(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command
        .status()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} failed ({status})"))
    }
}

/// Runs a command to completion (inheriting stdout and stderr), killing it after `timeout`.
pub(crate) fn run_checked_timeout(
    command: &mut Command,
    what: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut child = command
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => return Err(format!("{what} failed ({status})")),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} did not finish within {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(error) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("waiting for {what}: {error}"));
            }
        }
    }
}

/// Runs a command and returns its trimmed stdout, or `None` if it cannot run or fails.
pub(crate) fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`, else Linux's 100).
pub(crate) fn clock_ticks_per_second() -> f64 {
    output_of("getconf", &["CLK_TCK"])
        .and_then(|text| text.parse::<f64>().ok())
        .filter(|ticks| *ticks > 0.0)
        .unwrap_or(100.0)
}

/// User + system CPU time of a running process, in clock ticks (`/proc/<pid>/stat`).
pub(crate) fn cpu_ticks(pid: u32) -> Result<u64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read /proc/{pid}/stat: {e}"))?;
    // The command name is parenthesised and may contain spaces: split after its last `)`.
    // What follows starts with field 3 (state); utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| {
        fields
            .get(n - 3)
            .and_then(|value| value.parse::<u64>().ok())
            .ok_or_else(|| format!("/proc/{pid}/stat has no field {n}"))
    };
    Ok(field(14)? + field(15)?)
}

/// A `kB` field (`VmHWM`, `VmRSS`) of `/proc/<pid>/status`, in KiB.
pub(crate) fn status_kib(pid: u32, name: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_cpu_and_memory() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_ok());
        assert!(status_kib(pid, "VmHWM").is_some_and(|kib| kib > 0));
    }

    #[test]
    fn a_child_that_overstays_is_killed() {
        let log = std::env::temp_dir().join(format!("xtask-bench-test-{}.log", std::process::id()));
        let mut child =
            Guarded::spawn("sleep", Command::new("sleep").arg("30"), &log).expect("sleep starts");
        let error = child
            .wait_timeout(Duration::from_millis(100))
            .expect_err("times out");
        assert!(error.contains("killed"), "{error}");
        assert!(!child.is_running());
        let _ = std::fs::remove_file(log);
    }
}
