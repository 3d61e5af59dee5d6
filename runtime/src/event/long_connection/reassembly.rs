//! Joins the parts of a message Feishu split over several frames (`sum` > 1), within
//! bounds: parts per message, bytes per message, messages pending, and time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long the parts of a message are kept waiting for the rest, as the Go SDK does.
pub(crate) const PART_TIMEOUT: Duration = Duration::from_secs(5);
/// The most parts a message may be split into.
pub(crate) const MAX_PARTS: usize = 64;
/// The most messages waiting for parts at once; the oldest is dropped beyond it.
pub(crate) const MAX_PENDING: usize = 32;

/// The bounds of a [`Reassembly`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max_parts: usize,
    pub(crate) max_bytes: usize,
    pub(crate) max_pending: usize,
    pub(crate) timeout: Duration,
}

/// Why a part was refused; the message it belongs to is dropped (Feishu, not having its
/// acknowledgement, delivers it again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PartError {
    #[error("a message split into {sum} parts, over the limit of {limit}")]
    TooManyParts { sum: usize, limit: usize },
    #[error("part {seq} of a message of {sum} parts")]
    BadSeq { seq: usize, sum: usize },
    #[error("a message over the limit of {limit} bytes")]
    TooLarge { limit: usize },
}

struct Partial {
    parts: Vec<Option<Vec<u8>>>,
    received: usize,
    bytes: usize,
    started: Instant,
}

/// The messages waiting for parts, by message id.
pub(crate) struct Reassembly {
    limits: Limits,
    pending: HashMap<String, Partial>,
}

impl Reassembly {
    pub(crate) fn new(limits: Limits) -> Self {
        Reassembly {
            limits,
            pending: HashMap::new(),
        }
    }

    /// Adds part `seq` of `sum` of message `id`: the whole message once every part is
    /// in, `None` while parts are missing. A part received twice replaces the first.
    pub(crate) fn add(
        &mut self,
        id: &str,
        sum: usize,
        seq: usize,
        part: Vec<u8>,
        now: Instant,
    ) -> Result<Option<Vec<u8>>, PartError> {
        let limits = self.limits;
        if sum > limits.max_parts {
            self.pending.remove(id);
            return Err(PartError::TooManyParts {
                sum,
                limit: limits.max_parts,
            });
        }
        if seq >= sum || self.pending.get(id).is_some_and(|p| p.parts.len() != sum) {
            self.pending.remove(id);
            return Err(PartError::BadSeq { seq, sum });
        }
        if !self.pending.contains_key(id) {
            self.make_room(now);
        }
        let partial = self
            .pending
            .entry(id.to_owned())
            .or_insert_with(|| Partial {
                parts: vec![None; sum],
                received: 0,
                bytes: 0,
                started: now,
            });
        let slot = &mut partial.parts[seq];
        if let Some(old) = slot.take() {
            partial.bytes -= old.len();
            partial.received -= 1;
        }
        partial.bytes += part.len();
        partial.received += 1;
        *slot = Some(part);
        if partial.bytes > limits.max_bytes {
            self.pending.remove(id);
            return Err(PartError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        if partial.received < sum {
            return Ok(None);
        }
        let Some(partial) = self.pending.remove(id) else {
            return Ok(None);
        };
        let mut whole = Vec::with_capacity(partial.bytes);
        for part in partial.parts.into_iter().flatten() {
            whole.extend(part);
        }
        Ok(Some(whole))
    }

    /// Drops the messages whose parts did not all come in time; how many.
    pub(crate) fn sweep(&mut self, now: Instant) -> usize {
        let before = self.pending.len();
        let timeout = self.limits.timeout;
        self.pending
            .retain(|_, partial| now.duration_since(partial.started) < timeout);
        before - self.pending.len()
    }

    /// How many messages wait for parts.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Drops expired messages, then the oldest while the pending ones are at the limit.
    fn make_room(&mut self, now: Instant) {
        self.sweep(now);
        while self.pending.len() >= self.limits.max_pending.max(1) {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, partial)| partial.started)
                .map(|(id, _)| id.clone());
            match oldest {
                Some(id) => {
                    tracing::warn!(message_id = %id, "too many split messages pending; dropped the oldest");
                    self.pending.remove(&id);
                }
                None => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_parts: 4,
            max_bytes: 10,
            max_pending: 2,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn joins_parts_in_seq_order_whatever_their_arrival() {
        let mut parts = Reassembly::new(limits());
        let now = Instant::now();
        assert_eq!(parts.add("m", 3, 2, b"c".to_vec(), now), Ok(None));
        assert_eq!(parts.add("m", 3, 0, b"a".to_vec(), now), Ok(None));
        // A part again replaces the first copy.
        assert_eq!(parts.add("m", 3, 0, b"A".to_vec(), now), Ok(None));
        assert_eq!(
            parts.add("m", 3, 1, b"b".to_vec(), now),
            Ok(Some(b"Abc".to_vec()))
        );
        assert_eq!(parts.pending(), 0);
    }

    #[test]
    fn refuses_what_breaks_the_bounds() {
        let mut parts = Reassembly::new(limits());
        let now = Instant::now();
        assert_eq!(
            parts.add("m", 5, 0, vec![1], now),
            Err(PartError::TooManyParts { sum: 5, limit: 4 })
        );
        assert_eq!(
            parts.add("m", 2, 2, vec![1], now),
            Err(PartError::BadSeq { seq: 2, sum: 2 })
        );
        assert_eq!(parts.add("m", 2, 0, vec![0; 6], now), Ok(None));
        assert_eq!(
            parts.add("m", 2, 1, vec![0; 6], now),
            Err(PartError::TooLarge { limit: 10 })
        );
        assert_eq!(parts.pending(), 0, "the message was dropped");
        // A part whose sum disagrees with the first's drops the message.
        assert_eq!(parts.add("n", 2, 0, vec![1], now), Ok(None));
        assert!(parts.add("n", 3, 1, vec![1], now).is_err());
        assert_eq!(parts.pending(), 0);
    }

    #[test]
    fn drops_incomplete_messages_after_the_timeout_and_the_oldest_beyond_the_cap() {
        let mut parts = Reassembly::new(limits());
        let start = Instant::now();
        parts.add("a", 2, 0, vec![1], start).unwrap();
        parts
            .add("b", 2, 0, vec![1], start + Duration::from_secs(1))
            .unwrap();
        // A third pending message evicts the oldest ("a").
        parts
            .add("c", 2, 0, vec![1], start + Duration::from_secs(2))
            .unwrap();
        assert_eq!(parts.pending(), 2);
        assert_eq!(
            parts.add("a", 2, 1, vec![2], start + Duration::from_secs(2)),
            Ok(None),
            "a's first part is gone"
        );
        assert_eq!(parts.sweep(start + Duration::from_secs(7)), 2);
        assert_eq!(parts.pending(), 0, "b's, c's and a's second part timed out");
    }
}
