//! Idle timeouts for file transfers. A file may take longer to move than any one timeout,
//! so an upload or a download is not cut off after a fixed time; it fails when nothing
//! moves for the client's timeout. The runtime keeps this clock itself, so it holds for a
//! user's own `reqwest::Client` too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::time::{Instant, Sleep};

/// When a transfer last moved, shared by the streams that move its bytes and the watch
/// that waits for it to stall.
#[derive(Clone)]
pub(crate) struct Progress {
    origin: Instant,
    /// Milliseconds from `origin` to the last move.
    last: Arc<AtomicU64>,
}

impl Progress {
    /// A transfer that moves now.
    pub(crate) fn start() -> Self {
        Progress {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Records that some bytes moved.
    pub(crate) fn moved(&self) {
        let since = self.origin.elapsed().as_millis();
        self.last
            .fetch_max(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Resolves once nothing has moved for `idle`; never, if `idle` is beyond the clock.
    pub(crate) async fn stalled(&self, idle: Duration) {
        loop {
            let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
            let Some(due) = self
                .origin
                .checked_add(last)
                .and_then(|last| last.checked_add(idle))
            else {
                return std::future::pending().await;
            };
            if Instant::now() >= due {
                return;
            }
            tokio::time::sleep_until(due).await;
        }
    }

    /// `stream`, recording a move for each chunk it yields.
    pub(crate) fn counting<S: Stream>(&self, stream: S) -> Counted<S> {
        Counted {
            inner: stream,
            progress: self.clone(),
        }
    }
}

/// A stream whose chunks count as progress.
pub(crate) struct Counted<S> {
    inner: S,
    progress: Progress,
}

impl<S: Stream + Unpin> Stream for Counted<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(_)) = next {
            self.progress.moved();
        }
        next
    }
}

/// The wait for a stream's next chunk, which fails once it has lasted `idle`.
pub(crate) struct IdleTimer {
    idle: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
}

impl IdleTimer {
    /// A timer of `idle`; `None` waits forever.
    pub(crate) fn new(idle: Option<Duration>) -> Self {
        IdleTimer { idle, timer: None }
    }

    /// Polls `next` (the stream's next chunk): its result, or `Err(idle)` once the wait has
    /// lasted `idle` with nothing arriving. A chunk restarts the clock.
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        next: Poll<T>,
    ) -> Poll<Result<T, Duration>> {
        if let Poll::Ready(next) = next {
            self.timer = None;
            return Poll::Ready(Ok(next));
        }
        // Outside a Tokio runtime there is no clock to wait on: the wait is not bounded.
        let Some(idle) = self
            .idle
            .filter(|_| tokio::runtime::Handle::try_current().is_ok())
        else {
            return Poll::Pending;
        };
        let Some(due) = Instant::now().checked_add(idle) else {
            return Poll::Pending;
        };
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(due)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.timer = None;
                Poll::Ready(Err(idle))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_transfer_stalls_only_after_a_whole_idle_period_without_moving() {
        let progress = Progress::start();
        let idle = Duration::from_secs(10);
        for _ in 0..5 {
            tokio::time::advance(Duration::from_secs(6)).await;
            progress.moved();
        }
        // 30 s have passed, never 10 s without a move.
        let started = Instant::now();
        progress.stalled(idle).await;
        assert_eq!(started.elapsed(), idle);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_period_beyond_the_clock_never_stalls() {
        let progress = Progress::start();
        let stalled = progress.stalled(Duration::MAX);
        let waited = tokio::time::timeout(Duration::from_secs(3600), stalled).await;
        assert!(waited.is_err());
    }
}
