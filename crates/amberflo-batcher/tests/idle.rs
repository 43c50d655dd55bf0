//! An idle engine uses no CPU: its workers block instead of polling (Linux: counts the
//! workers' context switches while idle).
// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]
#![cfg(target_os = "linux")]

use std::fs;
use std::thread;
use std::time::Duration;

use amberflo_batcher::{Batcher, SinkFn};

/// Sum of voluntary + involuntary context switches of this process's threads named
/// `prefix-<index>` (the workers).
fn context_switches(prefix: &str) -> (usize, u64) {
    let mut threads = 0;
    let mut switches = 0;
    for task in fs::read_dir("/proc/self/task").unwrap() {
        let path = task.unwrap().path();
        let Ok(name) = fs::read_to_string(path.join("comm")) else {
            continue;
        };
        // Workers are `prefix-<index>`; the test binary's own thread is `idle-<hash>`, which
        // may start like a prefix.
        let is_worker = name
            .trim_end()
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|index| index.parse::<usize>().is_ok());
        if !is_worker {
            continue;
        }
        let Ok(status) = fs::read_to_string(path.join("status")) else {
            continue;
        };
        threads += 1;
        for line in status.lines() {
            if let Some(value) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                switches += value.trim().parse::<u64>().unwrap();
            }
        }
    }
    (threads, switches)
}

fn assert_workers_stay_asleep(prefix: &str) {
    // Let the workers reach their wait.
    thread::sleep(Duration::from_millis(50));
    let (threads, before) = context_switches(prefix);
    assert_eq!(threads, 2, "both workers found");
    thread::sleep(Duration::from_millis(150));
    let (_, after) = context_switches(prefix);
    // A 1 ms poll would show ~150 switches per worker here; a blocked worker shows none.
    assert!(
        after - before <= 2,
        "idle workers woke {} times",
        after - before
    );
}

#[test]
fn idle_workers_block() {
    let batcher = Batcher::builder()
        .workers(2)
        .thread_name("idle-a")
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap();
    batcher.try_send(1).unwrap();
    batcher.flush(Duration::from_secs(10)).unwrap();
    assert_workers_stay_asleep("idle-a");
}

#[test]
fn a_lingering_worker_blocks_until_its_deadline() {
    let batcher = Batcher::builder()
        .workers(2)
        .linger(Duration::from_secs(3600))
        .thread_name("idle-b")
        .build(SinkFn::new(|_batch: &[u64]| Ok(())))
        .unwrap();
    // One worker holds a partial batch for an hour; producers keep adding below the batch size.
    for i in 0..10 {
        batcher.try_send(i).unwrap();
    }
    assert_workers_stay_asleep("idle-b");
    batcher.flush(Duration::from_secs(10)).unwrap();
    assert_eq!(batcher.stats().delivered, 10);
}
