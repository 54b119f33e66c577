//! In-memory twins of the ports, for handler unit tests. They keep AWS's semantics
//! where handlers depend on them (conditional writes, idempotent starts, 25-item batches)
//! and can be told to fail, so error paths are tested too.

mod items;
mod objects;
mod recorders;

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use super::PortResult;
use crate::error::PortError;

pub use items::MemoryItemStore;
pub use objects::MemoryObjectStore;
pub use recorders::{MemoryWorkflowStarter, RecordingEmailSender, RecordingPushSender, SentPush, StartedExecution};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock already failed; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Queued failures: each call of a port takes the next one, if any.
#[derive(Default)]
pub struct Failures(Mutex<VecDeque<PortError>>);

impl Failures {
    pub fn push(&self, err: PortError) {
        lock(&self.0).push_back(err);
    }

    fn take(&self) -> PortResult<()> {
        match lock(&self.0).pop_front() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}
