//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::type_complexity)]

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use amberflo_batcher::{DeliveryError, ShutdownError, Sleeper};

/// Generous bound for "this eventually happens" checks; never hit when things work.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// Polls `condition` until it holds or `timeout` elapses; returns whether it held.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A gate sink calls can block on until the test opens it.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn open(&self) {
        *self.0.0.lock().unwrap() = true;
        self.0.1.notify_all();
    }

    /// Blocks until the gate is open.
    pub fn pass(&self) {
        let mut open = self.0.0.lock().unwrap();
        while !*open {
            open = self.0.1.wait(open).unwrap();
        }
    }
}

/// Opens the gate when dropped, so a failing test never leaves worker threads blocked.
pub struct OpenOnDrop(pub Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// What the sink delivered and what the error callback received.
#[derive(Clone, Default)]
pub struct Record<T> {
    pub delivered: Arc<Mutex<Vec<Vec<T>>>>,
    pub failed: Arc<Mutex<Vec<(String, bool, Vec<T>)>>>,
}

impl<T: Clone + Send + 'static> Record<T> {
    pub fn deliver(&self, batch: &[T]) {
        self.delivered.lock().unwrap().push(batch.to_vec());
    }

    /// An error callback that records (error text, is_shutdown, batch).
    pub fn on_error(&self) -> impl Fn(DeliveryError, Vec<T>) + Send + Sync + 'static {
        let failed = Arc::clone(&self.failed);
        move |error, batch| {
            failed
                .lock()
                .unwrap()
                .push((error.to_string(), error.is_shutdown(), batch));
        }
    }

    pub fn delivered_items(&self) -> Vec<T> {
        self.delivered
            .lock()
            .unwrap()
            .iter()
            .flatten()
            .cloned()
            .collect()
    }

    pub fn failed_items(&self) -> Vec<T> {
        self.failed
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, _, batch)| batch.iter().cloned())
            .collect()
    }
}

/// A virtual-time sleeper: records each requested wait and returns at once.
#[derive(Clone, Default)]
pub struct RecordingSleeper(pub Arc<Mutex<Vec<Duration>>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) {
        self.0.lock().unwrap().push(duration);
    }
}

impl RecordingSleeper {
    pub fn waits(&self) -> Vec<Duration> {
        self.0.lock().unwrap().clone()
    }
}

/// The timeout, `in_flight` and `abandoned` counts of an `Incomplete` shutdown without a
/// spool, after checking that the time it reports spent is within its deadline (plus the
/// cancelled calls' grace) and that nothing was left queued.
pub fn incomplete(error: &ShutdownError) -> (Duration, u64, u64) {
    let ShutdownError::Incomplete {
        elapsed,
        timeout,
        in_flight,
        in_queue,
        abandoned,
        left_on_spool,
        ..
    } = *error
    else {
        panic!("not Incomplete: {error:?}");
    };
    assert!(elapsed <= timeout + Duration::from_secs(2), "{error}");
    assert!(
        error
            .to_string()
            .contains(&format!("{elapsed:.1?} of its {timeout:.1?}"))
    );
    assert_eq!((in_queue, left_on_spool), (0, 0), "{error}");
    (timeout, in_flight, abandoned)
}
