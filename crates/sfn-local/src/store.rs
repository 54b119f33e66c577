//! The executions the service remembers: every running one, and the most recently
//! finished ones up to a cap (the oldest finished is forgotten first; a running one
//! never is). Each gets a start sequence number, the position paging tokens name.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};

use crate::engine::{Execution, lock};

pub struct ExecutionStore {
    inner: Mutex<Inner>,
    max_finished: usize,
}

#[derive(Default)]
struct Inner {
    by_seq: BTreeMap<u64, Arc<Execution>>,
    seq_of: HashMap<String, u64>,
    /// Sequence numbers of finished executions, in the order they finished.
    finished: VecDeque<u64>,
    next_seq: u64,
}

/// A page of executions, newest first, and whether older ones remain.
pub struct Listed {
    pub executions: Vec<(u64, Arc<Execution>)>,
    pub more: bool,
}

impl ExecutionStore {
    pub fn new(max_finished: usize) -> Arc<Self> {
        Arc::new(Self { inner: Mutex::new(Inner::default()), max_finished })
    }

    pub fn get(&self, arn: &str) -> Option<Arc<Execution>> {
        let inner = lock(&self.inner);
        inner.seq_of.get(arn).and_then(|seq| inner.by_seq.get(seq)).cloned()
    }

    /// Adds the execution `create` makes, unless one with its ARN is kept already:
    /// then answers that one as the error. The check and the insertion are one step.
    pub fn insert(
        self: &Arc<Self>,
        arn: &str,
        create: impl FnOnce() -> Arc<Execution>,
    ) -> Result<Arc<Execution>, Arc<Execution>> {
        let (seq, execution) = {
            let mut inner = lock(&self.inner);
            if let Some(existing) = inner.seq_of.get(arn).and_then(|seq| inner.by_seq.get(seq)) {
                return Err(Arc::clone(existing));
            }
            let seq = inner.next_seq;
            inner.next_seq += 1;
            let execution = create();
            inner.by_seq.insert(seq, Arc::clone(&execution));
            inner.seq_of.insert(arn.to_owned(), seq);
            (seq, execution)
        };
        // Outside the lock: the hook runs at once if the execution has already closed.
        let store: Weak<Self> = Arc::downgrade(self);
        execution.on_close(move || {
            if let Some(store) = store.upgrade() {
                store.closed(seq);
            }
        });
        Ok(execution)
    }

    fn closed(&self, seq: u64) {
        let mut inner = lock(&self.inner);
        inner.finished.push_back(seq);
        while inner.finished.len() > self.max_finished {
            let Some(oldest) = inner.finished.pop_front() else { break };
            if let Some(gone) = inner.by_seq.remove(&oldest) {
                inner.seq_of.remove(&gone.arn);
            }
        }
    }

    /// Up to `size` executions that `keep` accepts, newest first, started before the
    /// one numbered `before` (from the newest when `None`).
    pub fn newest_first(&self, before: Option<u64>, size: usize, keep: impl Fn(&Execution) -> bool) -> Listed {
        let inner = lock(&self.inner);
        let mut executions: Vec<(u64, Arc<Execution>)> = inner
            .by_seq
            .range(..before.unwrap_or(u64::MAX))
            .rev()
            .filter(|(_, e)| keep(e))
            .take(size.saturating_add(1))
            .map(|(seq, e)| (*seq, Arc::clone(e)))
            .collect();
        let more = executions.len() > size;
        executions.truncate(size);
        Listed { executions, more }
    }

    /// How many executions are kept, and how many of those have finished.
    pub fn counts(&self) -> (usize, usize) {
        let inner = lock(&self.inner);
        (inner.by_seq.len(), inner.finished.len())
    }
}
