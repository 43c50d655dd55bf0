//! [`Durability`]: the future of an item's disk sync, for producers that must not wait for a
//! disk (an async task). The spool's sync thread (in the `spool` module) runs the sync on
//! demand and a lane's group commit wakes the futures (`Lane::sync_through`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::lane::Lane;

/// Whether an append waits for the sync its [`FsyncPolicy`](super::FsyncPolicy) asks for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SyncWait {
    /// `try_send` returns once the item is as durable as the policy promises.
    Wait,
    /// `try_send` returns once the item is written (it survives `kill -9`); a sync thread
    /// syncs it, and the returned [`Durability`] resolves then.
    Defer,
}

/// Resolves once an accepted item is as durable as the spool's
/// [`FsyncPolicy`](crate::FsyncPolicy) promises: on stable storage under
/// [`Always`](crate::FsyncPolicy::Always); at once otherwise, and without a spool (the item
/// is then in memory, or in the OS page cache, when `try_send_async` returns).
///
/// Returned by [`Batcher::try_send_async`](crate::Batcher::try_send_async). Dropping it
/// changes nothing: the item is accepted, and the sync happens anyway. It is `Send`, `Unpin`
/// and `'static`, and needs no particular runtime.
///
/// ```
/// use amberflo_batcher::{Batcher, SinkFn};
///
/// let batcher = Batcher::builder().build(SinkFn::new(|_: &[u32]| Ok(()))).unwrap();
/// let durable = batcher.try_send_async(7).unwrap();
/// amberflo_batcher::block_on(durable); // at once: no spool
/// ```
pub struct Durability {
    pending: Option<(Arc<[Lane]>, usize, u64)>,
}

impl Durability {
    /// Already durable: for an item that needs no disk sync (one kept in memory, or under a
    /// policy that does not wait).
    ///
    /// ```
    /// let durable = amberflo_batcher::Durability::ready();
    /// amberflo_batcher::block_on(durable);
    /// ```
    pub fn ready() -> Self {
        Durability { pending: None }
    }

    /// Durable once lane `lane` of `lanes` has synced its appends before id `written`.
    pub(super) fn after_sync(lanes: Arc<[Lane]>, lane: usize, written: u64) -> Self {
        Durability {
            pending: Some((lanes, lane, written)),
        }
    }
}

impl Future for Durability {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some((lanes, lane, written)) = &self.pending else {
            return Poll::Ready(());
        };
        if lanes[*lane].poll_synced(*written, cx.waker()) {
            self.pending = None;
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl fmt::Debug for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Durability")
            .field("pending", &self.pending.is_some())
            .finish()
    }
}
