//! [`Deadline`]: what is left of a timeout split between steps.

use std::time::{Duration, Instant};

/// The moment a timeout from now ends; one too far to represent (`Duration::MAX`) never does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// `timeout` from now.
    pub(crate) fn after(timeout: Duration) -> Self {
        Deadline(Instant::now().checked_add(timeout))
    }

    /// What is left of it (zero once it passed).
    pub(crate) fn left(self) -> Duration {
        self.0.map_or(Duration::MAX, |at| {
            at.saturating_duration_since(Instant::now())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unbounded_deadline_never_passes_and_a_bounded_one_does() {
        assert_eq!(Deadline::after(Duration::MAX).left(), Duration::MAX);
        assert!(Deadline::after(Duration::from_secs(60)).left() > Duration::from_secs(59));
        assert_eq!(Deadline::after(Duration::ZERO).left(), Duration::ZERO);
    }
}
