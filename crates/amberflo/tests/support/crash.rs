//! What the crash tests (`spool_crash`, `aggregation_crash`) share. Each test binary is its
//! own child process: run with its child variable set, `main` meters instead of testing. The
//! child's producer threads each keep the number of their accepted calls in a file, written
//! after every call, which the test reads once it has killed the child with SIGKILL.

use std::fs::{self, File, OpenOptions};
use std::hash::BuildHasher;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// What the test tells its child: where to meter, the round's directory (the counts, and
/// the spool in `spool`), the round and how many producer threads.
pub struct ChildSpec {
    pub url: String,
    pub dir: PathBuf,
    pub round: u64,
    pub producers: u64,
}

impl ChildSpec {
    /// The spec of a round in a fresh directory `dir` (the spool in `dir/spool`), with every
    /// producer's count at 0.
    pub fn new(url: &str, dir: &Path, round: u64, producers: u64) -> Self {
        for thread in 0..producers {
            File::create(count_file(dir, thread))
                .unwrap()
                .write_all(&0u64.to_le_bytes())
                .unwrap();
        }
        ChildSpec {
            url: url.to_owned(),
            dir: dir.to_owned(),
            round,
            producers,
        }
    }

    /// The spool's directory.
    pub fn spool(&self) -> PathBuf {
        self.dir.join("spool")
    }

    /// The spec the test passed in the child variable `name`, in the child; `None` in the
    /// test itself.
    pub fn from_env(name: &str) -> Option<Self> {
        let spec = std::env::var(name).ok()?;
        let mut parts = spec.splitn(4, '|');
        let mut next = || parts.next().unwrap().to_owned();
        Some(ChildSpec {
            url: next(),
            dir: PathBuf::from(next()),
            round: next().parse().unwrap(),
            producers: next().parse().unwrap(),
        })
    }

    /// Starts this binary as the child, with the spec in the variable `name`.
    pub fn spawn(&self, name: &str) -> Child {
        let spec = format!(
            "{}|{}|{}|{}",
            self.url,
            self.dir.display(),
            self.round,
            self.producers
        );
        Command::new(std::env::current_exe().unwrap())
            .env(name, spec)
            .stdin(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// In the child: runs `meter(thread, i)` for `i` in `0..calls` on each producer thread,
    /// recording after each call that `i + 1` were accepted (`meter` panics on a refusal),
    /// then waits to be killed.
    pub fn produce(&self, calls: u64, meter: impl Fn(u64, u64) + Sync) -> ! {
        std::thread::scope(|scope| {
            for thread in 0..self.producers {
                let meter = &meter;
                scope.spawn(move || {
                    let mut count = self.counter(thread);
                    for i in 0..calls {
                        meter(thread, i);
                        count.set(i + 1);
                    }
                });
            }
        });
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }

    /// Producer `thread`'s count, to update after each accepted call.
    fn counter(&self, thread: u64) -> Counter {
        let file = OpenOptions::new()
            .write(true)
            .open(count_file(&self.dir, thread))
            .unwrap();
        Counter(file)
    }

    /// Each producer's accepted calls so far.
    pub fn accepted(&self) -> Vec<u64> {
        (0..self.producers)
            .map(|thread| {
                let bytes = fs::read(count_file(&self.dir, thread)).unwrap();
                u64::from_le_bytes(bytes[..8].try_into().unwrap())
            })
            .collect()
    }
}

/// A producer's count of accepted calls, on disk.
struct Counter(File);

impl Counter {
    /// Records that `accepted` calls were accepted.
    fn set(&mut self, accepted: u64) {
        self.0.seek(SeekFrom::Start(0)).unwrap();
        self.0.write_all(&accepted.to_le_bytes()).unwrap();
    }
}

/// The file where producer `thread` keeps its count.
fn count_file(dir: &Path, thread: u64) -> PathBuf {
    dir.join(format!("count-{thread}"))
}

/// A pseudo-random sequence for kill points, seeded from the clock (the seed is printed, so
/// that a failure can be replayed).
pub struct KillPoints {
    pub seed: u64,
    state: u64,
}

impl KillPoints {
    pub fn new() -> Self {
        let seed = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
        KillPoints { seed, state: seed }
    }

    /// The next number in `low..high`.
    pub fn next_in(&mut self, low: u64, high: u64) -> u64 {
        self.state = self
            .state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        low + (self.state >> 33) % (high - low)
    }
}
