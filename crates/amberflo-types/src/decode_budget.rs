//! A bound on what decoding an answer may allocate, shared by everything that decodes it on
//! one thread: `amberflo-transport` charges what its JSON deserializer hands out, and fields
//! this crate parses out of text (a signal's `webhookHeaders`) charge what they build, so
//! neither can take more than the budget between them.
//!
//! Outside [`scoped`], nothing is counted and [`charge`] always succeeds.
//!
//! ```
//! use amberflo_types::decode_budget;
//!
//! let over = decode_budget::scoped(100, || {
//!     decode_budget::charge(60)?;
//!     decode_budget::charge(60)
//! });
//! assert_eq!(over.unwrap_err().limit, 100);
//! assert!(decode_budget::charge(1 << 40).is_ok(), "no scope, no bound");
//! ```

use std::cell::Cell;

thread_local! {
    /// The limit and what is left of it, inside [`scoped`].
    static BUDGET: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// Charging went over the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "the answer would take more than {limit} bytes of memory decoded (the decode budget, \
     `max_decoded_bytes`: twice the response cap unless set); refused"
)]
#[non_exhaustive]
pub struct BudgetExceeded {
    /// The budget, in bytes.
    pub limit: usize,
}

/// Runs `decode` with `limit` bytes to charge on this thread (the scope it is nested in, if
/// any, is restored after).
pub fn scoped<R>(limit: usize, decode: impl FnOnce() -> R) -> R {
    struct Restore(Option<(usize, usize)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            BUDGET.with(|budget| budget.set(self.0));
        }
    }
    let _restore = Restore(BUDGET.with(|budget| budget.replace(Some((limit, limit)))));
    decode()
}

/// Charges `bytes` to the budget of this thread's [`scoped`] decode.
///
/// # Errors
///
/// [`BudgetExceeded`] when less than `bytes` is left.
pub fn charge(bytes: usize) -> Result<(), BudgetExceeded> {
    BUDGET.with(|budget| match budget.get() {
        None => Ok(()),
        Some((limit, left)) => match left.checked_sub(bytes) {
            Some(left) => {
                budget.set(Some((limit, left)));
                Ok(())
            }
            None => Err(BudgetExceeded { limit }),
        },
    })
}
