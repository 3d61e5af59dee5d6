//! The memory of event ids already handled, so that an event Feishu delivers again runs its
//! handler once. Feishu delivers at least once: it retries when the answer is late or not
//! 200, and its own pipeline may repeat an event that was answered.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

/// The ids seen, at most `capacity` of them; the oldest is forgotten first.
#[derive(Debug)]
pub(crate) struct Seen {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Each id remembered, with the generation it was claimed in and whether its handler
    /// has finished.
    ids: HashMap<String, Entry>,
    /// Claims in order, oldest first. An id claimed again after a failure is here twice;
    /// only the entry of its current generation counts.
    order: VecDeque<(u64, String)>,
    next_generation: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    generation: u64,
    done: bool,
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
    held: Option<(Arc<Seen>, String, u64)>,
}

impl Seen {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Seen {
            capacity,
            state: Mutex::new(State::default()),
        })
    }

    /// Claims `id` for handling.
    pub(crate) fn claim(self: &Arc<Self>, id: &str) -> Claimed {
        if self.capacity == 0 || id.is_empty() {
            return Claimed::New(Claim { held: None });
        }
        let mut state = self.lock();
        match state.ids.get(id) {
            Some(Entry { done: true, .. }) => return Claimed::Done,
            Some(Entry { done: false, .. }) => return Claimed::InProgress,
            None => {}
        }
        let generation = state.next_generation;
        state.next_generation += 1;
        state.ids.insert(
            id.to_owned(),
            Entry {
                generation,
                done: false,
            },
        );
        state.order.push_back((generation, id.to_owned()));
        self.evict(&mut state);
        Claimed::New(Claim {
            held: Some((self.clone(), id.to_owned(), generation)),
        })
    }

    /// Forgets the oldest claims beyond the capacity. Bounding `order` (and not only
    /// `ids`) keeps the stale entries of failed claims from piling up.
    fn evict(&self, state: &mut State) {
        while state.order.len() > self.capacity {
            let Some((generation, id)) = state.order.pop_front() else {
                break;
            };
            if state
                .ids
                .get(&id)
                .is_some_and(|e| e.generation == generation)
            {
                state.ids.remove(&id);
            }
        }
    }

    fn settle(&self, id: &str, generation: u64, succeeded: bool) {
        let mut state = self.lock();
        let Some(entry) = state.ids.get_mut(id) else {
            return;
        };
        // An entry evicted and claimed again since belongs to the newer claim.
        if entry.generation != generation {
            return;
        }
        if succeeded {
            entry.done = true;
        } else {
            state.ids.remove(id);
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements, so a panic elsewhere while the lock
        // was held leaves nothing half-done.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[cfg(test)]
    fn len(&self) -> (usize, usize) {
        let state = self.lock();
        (state.ids.len(), state.order.len())
    }
}

impl Claim {
    /// The handler succeeded: the id stays remembered and later deliveries are duplicates.
    pub(crate) fn succeeded(mut self) {
        if let Some((seen, id, generation)) = self.held.take() {
            seen.settle(&id, generation, true);
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some((seen, id, generation)) = self.held.take() {
            seen.settle(&id, generation, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(claimed: Claimed) -> Claim {
        match claimed {
            Claimed::New(claim) => claim,
            other => panic!("not new: {other:?}"),
        }
    }

    #[test]
    fn an_id_handled_is_a_duplicate_and_one_running_is_in_progress() {
        let seen = Seen::new(10);
        let claim = new(seen.claim("e-1"));
        assert!(matches!(seen.claim("e-1"), Claimed::InProgress));
        claim.succeeded();
        assert!(matches!(seen.claim("e-1"), Claimed::Done));
        assert!(matches!(seen.claim("e-2"), Claimed::New(_)));
    }

    #[test]
    fn a_failed_claim_is_forgotten_so_the_retry_runs() {
        let seen = Seen::new(10);
        drop(new(seen.claim("e-1")));
        new(seen.claim("e-1")).succeeded();
        assert!(matches!(seen.claim("e-1"), Claimed::Done));
    }

    #[test]
    fn the_oldest_ids_are_forgotten_beyond_the_capacity() {
        let seen = Seen::new(3);
        for id in ["a", "b", "c", "d"] {
            new(seen.claim(id)).succeeded();
        }
        assert_eq!(seen.len(), (3, 3));
        assert!(matches!(seen.claim("d"), Claimed::Done));
        // "a" was forgotten: it runs again (and "b" is forgotten in turn).
        new(seen.claim("a")).succeeded();
        assert!(matches!(seen.claim("b"), Claimed::New(_)));
    }

    #[test]
    fn failed_claims_do_not_pile_up() {
        let seen = Seen::new(3);
        for _ in 0..100 {
            drop(new(seen.claim("flaky")));
        }
        assert!(seen.len().1 <= 3);
        // A claim evicted while running and claimed again is settled by the newer claim.
        let old = new(seen.claim("x"));
        for id in ["p", "q", "r"] {
            new(seen.claim(id)).succeeded();
        }
        let newer = new(seen.claim("x"));
        drop(old);
        assert!(matches!(seen.claim("x"), Claimed::InProgress));
        newer.succeeded();
        assert!(matches!(seen.claim("x"), Claimed::Done));
    }

    #[test]
    fn capacity_zero_or_no_id_turns_it_off() {
        let seen = Seen::new(0);
        new(seen.claim("e-1")).succeeded();
        assert!(matches!(seen.claim("e-1"), Claimed::New(_)));
        let seen = Seen::new(10);
        new(seen.claim("")).succeeded();
        assert!(matches!(seen.claim(""), Claimed::New(_)));
    }
}
