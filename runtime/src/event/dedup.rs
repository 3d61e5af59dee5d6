//! The memory of event ids already handled, so that an event Feishu delivers again runs its
//! handler once. Feishu delivers at least once: it retries when the answer is late or not
//! 200, and its own pipeline may repeat an event that was answered.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// What one remembered id is taken to cost besides its bytes: its map entry, its place in
/// the order and the allocation's header.
const ENTRY_OVERHEAD: usize = 64;

/// The ids whose handlers succeeded, at most `capacity` of them and `max_bytes` in all; the
/// oldest is forgotten first. Ids whose handlers still run are remembered apart and never
/// forgotten while they run: a redelivery must not run a handler a second time beside the
/// first. (They are as many as the handlers running, each holding its own event.)
#[derive(Debug)]
pub(crate) struct Seen {
    capacity: usize,
    max_bytes: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Each id remembered, and whether its handler has finished.
    ids: HashMap<Arc<str>, Status>,
    /// The finished ids, oldest first: the ones that may be forgotten.
    done: VecDeque<Arc<str>>,
    /// What the finished ids cost, by [`cost`].
    done_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Running,
    Done,
}

/// What became of a claim on an id.
#[derive(Debug)]
pub(crate) enum Claimed {
    /// The id is new (or its earlier handling failed): run the handler, holding the claim.
    New(Claim),
    /// The id's handler already succeeded.
    Done,
    /// The id's handler is running.
    InProgress,
}

/// The right to handle one event. [`Claim::succeeded`] keeps the id remembered; dropping
/// the claim otherwise (the handler failed, panicked or was never run) forgets it, so that
/// Feishu's next delivery runs the handler again.
#[derive(Debug)]
pub(crate) struct Claim {
    /// `None` when deduplication is off or the event has no id.
    held: Option<(Arc<Seen>, Arc<str>)>,
}

impl Seen {
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Arc<Self> {
        Arc::new(Seen {
            capacity,
            max_bytes,
            state: Mutex::new(State::default()),
        })
    }

    /// Claims `id` for handling.
    pub(crate) fn claim(self: &Arc<Self>, id: &str) -> Claimed {
        if self.capacity == 0 || self.max_bytes == 0 || id.is_empty() {
            return Claimed::New(Claim { held: None });
        }
        let mut state = self.lock();
        match state.ids.get(id) {
            Some(Status::Done) => return Claimed::Done,
            Some(Status::Running) => return Claimed::InProgress,
            None => {}
        }
        let id: Arc<str> = Arc::from(id);
        state.ids.insert(id.clone(), Status::Running);
        Claimed::New(Claim {
            held: Some((self.clone(), id)),
        })
    }

    fn settle(&self, id: Arc<str>, succeeded: bool) {
        let mut state = self.lock();
        if !succeeded {
            state.ids.remove(&id);
            return;
        }
        state.ids.insert(id.clone(), Status::Done);
        state.done_bytes += cost(&id);
        state.done.push_back(id);
        // Forgets the oldest finished ids beyond the bounds.
        while state.done.len() > self.capacity || state.done_bytes > self.max_bytes {
            let Some(oldest) = state.done.pop_front() else {
                break;
            };
            state.done_bytes -= cost(&oldest);
            state.ids.remove(&oldest);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements, so a panic elsewhere while the lock
        // was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ids remembered, the finished ones, and what those cost.
    #[cfg(test)]
    fn len(&self) -> (usize, usize, usize) {
        let state = self.lock();
        (state.ids.len(), state.done.len(), state.done_bytes)
    }
}

/// What remembering `id` is taken to cost, in bytes.
fn cost(id: &str) -> usize {
    id.len() + ENTRY_OVERHEAD
}

impl Claim {
    /// The handler succeeded: the id stays remembered and later deliveries are duplicates.
    pub(crate) fn succeeded(mut self) {
        if let Some((seen, id)) = self.held.take() {
            seen.settle(id, true);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some((seen, id)) = self.held.take() {
            seen.settle(id, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOMY: usize = 1 << 20;

    fn new(claimed: Claimed) -> Claim {
        match claimed {
            Claimed::New(claim) => claim,
            other => panic!("not new: {other:?}"),
        }
    }

    #[test]
    fn an_id_handled_is_a_duplicate_and_one_running_is_in_progress() {
        let seen = Seen::new(10, ROOMY);
        let claim = new(seen.claim("e-1"));
        assert!(matches!(seen.claim("e-1"), Claimed::InProgress));
        claim.succeeded();
        assert!(matches!(seen.claim("e-1"), Claimed::Done));
        assert!(matches!(seen.claim("e-2"), Claimed::New(_)));
    }

    #[test]
    fn a_failed_claim_is_forgotten_so_the_retry_runs() {
        let seen = Seen::new(10, ROOMY);
        drop(new(seen.claim("e-1")));
        new(seen.claim("e-1")).succeeded();
        assert!(matches!(seen.claim("e-1"), Claimed::Done));
    }

    #[test]
    fn the_oldest_ids_are_forgotten_beyond_the_capacity() {
        let seen = Seen::new(3, ROOMY);
        for id in ["a", "b", "c", "d"] {
            new(seen.claim(id)).succeeded();
        }
        assert_eq!(seen.len().0, 3);
        assert!(matches!(seen.claim("d"), Claimed::Done));
        // "a" was forgotten: it runs again (and "b" is forgotten in turn).
        new(seen.claim("a")).succeeded();
        assert!(matches!(seen.claim("b"), Claimed::New(_)));
    }

    #[test]
    fn the_oldest_ids_are_forgotten_beyond_the_bytes() {
        let id = |n: usize| format!("{n:0>1000}");
        let max_bytes = 3 * cost(&id(0));
        let seen = Seen::new(1000, max_bytes);
        for n in 0..100 {
            new(seen.claim(&id(n))).succeeded();
        }
        let (ids, done, bytes) = seen.len();
        assert_eq!((ids, done), (3, 3));
        assert!(bytes <= max_bytes, "{bytes}");
        assert!(matches!(seen.claim(&id(99)), Claimed::Done));
        assert!(matches!(seen.claim(&id(96)), Claimed::New(_)));
    }

    #[test]
    fn failed_claims_do_not_pile_up() {
        let seen = Seen::new(3, ROOMY);
        for _ in 0..100 {
            drop(new(seen.claim("flaky")));
        }
        assert_eq!(seen.len(), (0, 0, 0));
    }

    #[test]
    fn an_event_still_running_is_never_forgotten() {
        let seen = Seen::new(3, ROOMY);
        let running = new(seen.claim("slow"));
        for n in 0..100 {
            new(seen.claim(&n.to_string())).succeeded();
        }
        // Its redelivery must not run the handler a second time beside the first.
        assert!(matches!(seen.claim("slow"), Claimed::InProgress));
        running.succeeded();
        assert!(matches!(seen.claim("slow"), Claimed::Done));
        assert_eq!(seen.len().0, 3);
    }

    #[test]
    fn capacity_zero_or_no_id_turns_it_off() {
        let seen = Seen::new(0, ROOMY);
        new(seen.claim("e-1")).succeeded();
        assert!(matches!(seen.claim("e-1"), Claimed::New(_)));
        let seen = Seen::new(10, ROOMY);
        new(seen.claim("")).succeeded();
        assert!(matches!(seen.claim(""), Claimed::New(_)));
    }
}
