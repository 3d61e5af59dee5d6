//! What the im core keeps of one kind (messages, chats): JSON objects by id, in the order
//! made, bounded so a long-running emulator does not grow without end.

use std::collections::{BTreeMap, VecDeque};

use serde_json::Value;

/// How many objects of one kind are kept; past it the oldest are forgotten.
pub(crate) const MAX_KEPT: usize = 10_000;

#[derive(Default)]
pub(crate) struct Kept {
    by_id: BTreeMap<String, Value>,
    order: VecDeque<String>,
}

impl Kept {
    /// Keeps `object` under `id`, forgetting the oldest past [`MAX_KEPT`].
    pub(crate) fn insert(&mut self, id: String, object: Value) {
        if self.order.len() >= MAX_KEPT
            && let Some(oldest) = self.order.pop_front()
        {
            self.by_id.remove(&oldest);
        }
        self.by_id.insert(id.clone(), object);
        self.order.push_back(id);
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Value> {
        self.by_id.get(id)
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Value> {
        self.by_id.get_mut(id)
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if self.by_id.remove(id).is_some() {
            self.order.retain(|kept| kept != id);
        }
    }

    /// The objects kept, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Value> {
        self.order.iter().filter_map(|id| self.by_id.get(id))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_oldest_are_forgotten_past_the_bound() {
        let mut kept = Kept::default();
        for n in 0..=MAX_KEPT {
            kept.insert(format!("id{n}"), json!(n));
        }
        assert!(kept.get("id0").is_none());
        assert_eq!(kept.iter().next(), Some(&json!(1)));
        assert_eq!(kept.iter().count(), MAX_KEPT);
        kept.remove("id1");
        assert_eq!(kept.iter().next(), Some(&json!(2)));
    }
}
