//! Log-once memory: a device that misbehaves retries every few seconds, and an installer needs
//! its id in the log once, not a line per retry (the counters count every occurrence).

use crate::model::DeviceId;
use std::collections::HashSet;
use std::sync::Mutex;

/// Most ids remembered; past it the memory starts over (and those ids are logged again), so
/// a flood of made-up ids cannot grow it without bound.
const MAX_REMEMBERED: usize = 100_000;

/// Which devices were already logged for one kind of event.
#[derive(Default)]
pub struct LogOnce {
    seen: Mutex<HashSet<DeviceId>>,
}

impl LogOnce {
    /// True the first time `id` is seen (log it then).
    pub fn first(&self, id: &DeviceId) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_REMEMBERED && !seen.contains(id) {
            seen.clear();
        }
        seen.insert(id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_id_is_first_once() {
        let l = LogOnce::default();
        let a = DeviceId::new("a").unwrap();
        let b = DeviceId::new("b").unwrap();
        assert!(l.first(&a));
        assert!(!l.first(&a));
        assert!(l.first(&b));
    }
}
