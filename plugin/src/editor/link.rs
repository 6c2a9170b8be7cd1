//! The editor's connection to whichever worker is running.

use muq_engine::bridge::{Command, EngineSnapshot};
use muq_engine::worker::EngineLink;
use parking_lot::Mutex;

/// Holds the [`EngineLink`] of the current worker. The plugin replaces it on every activation
/// (`activate()`, main thread); the editor reads it every frame (GUI thread). The mutex is only
/// ever taken by those two non-real-time threads, briefly.
#[derive(Default)]
pub struct EditorLink {
    /// `None` until the first activation.
    current: Mutex<Option<EngineLink>>,
}

impl EditorLink {
    /// Installs the link to a newly started worker.
    pub fn replace(&self, link: EngineLink) {
        *self.current.lock() = Some(link);
    }

    /// Copies the newest snapshot into `out` (reusing its allocations); leaves `out` unchanged
    /// when no worker was ever started.
    pub fn copy_latest(&self, out: &mut EngineSnapshot) {
        if let Some(link) = self.current.lock().as_mut() {
            out.clone_from(link.latest());
        }
    }

    /// Sends a command to the current worker; `Err` hands it back when there is no worker or
    /// its queue is full.
    pub fn send(&self, command: Command) -> Result<(), Command> {
        match self.current.lock().as_mut() {
            Some(link) => link.send(command),
            None => Err(command),
        }
    }
}
