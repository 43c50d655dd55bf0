//! A runtime-free timer future: a helper thread sleeps, then wakes the task.
//!
//! `MockTransport` uses it for scripted delays so the mock works under any executor (Tokio,
//! async-std, `futures::executor`, a hand-rolled `block_on`) and needs no reactor.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Completes once `duration` has passed since it was created.
#[derive(Debug)]
pub(crate) struct Delay {
    deadline: Instant,
    shared: Option<Arc<Mutex<State>>>,
}

#[derive(Debug, Default)]
struct State {
    done: bool,
    waker: Option<Waker>,
}

impl Delay {
    pub(crate) fn new(duration: Duration) -> Self {
        Self {
            deadline: Instant::now() + duration,
            shared: None,
        }
    }
}

impl Future for Delay {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        if let Some(shared) = &self.shared {
            let mut state = shared.lock().unwrap_or_else(PoisonError::into_inner);
            if state.done {
                return Poll::Ready(());
            }
            state.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let shared = Arc::new(Mutex::new(State {
            done: false,
            waker: Some(cx.waker().clone()),
        }));
        let for_thread = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("amberflo-mock-delay".to_owned())
            .spawn(move || {
                let now = Instant::now();
                if deadline > now {
                    std::thread::sleep(deadline - now);
                }
                let waker = {
                    let mut state = for_thread.lock().unwrap_or_else(PoisonError::into_inner);
                    state.done = true;
                    state.waker.take()
                };
                if let Some(waker) = waker {
                    waker.wake();
                }
            });
        if let Err(error) = spawned {
            // No thread to wait on: block this poll instead of never waking.
            tracing::warn!(%error, "mock delay: could not spawn a timer thread; sleeping inline");
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            return Poll::Ready(());
        }
        self.shared = Some(shared);
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_under_a_runtime_free_executor() {
        let started = Instant::now();
        crate::mock::block_on_for_tests(Delay::new(Duration::from_millis(30)));
        assert!(started.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn zero_delay_is_ready_at_once() {
        crate::mock::block_on_for_tests(Delay::new(Duration::ZERO));
    }
}
