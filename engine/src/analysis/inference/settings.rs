//! Settings of a loaded session changed at run time (vocabulary folder, heads folder, key
//! head), applied on the inference thread, and what the snapshot shows about the session.

use std::path::PathBuf;

use super::super::session::{ModelOptions, Session};

/// What the loaded session says about itself, for the snapshot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SessionInfo {
    /// Folder name of the model (empty until loaded).
    pub model_name: String,
    /// Size of its weights file in bytes.
    pub model_size_bytes: u64,
    /// Task of the probe head giving the key, when one is active.
    pub active_key_head: Option<String>,
    /// Problems with the heads folder, vocabulary folder or key head, one per entry.
    pub settings_messages: Vec<String>,
    /// Instances (users) in the process sharing these weights.
    pub num_sharing: usize,
}

/// Settings changes taken from the slot in one go.
pub struct SettingsChanges {
    /// New vocabulary folder.
    pub labels_dir: Option<Option<PathBuf>>,
    /// New heads folder.
    pub heads_dir: Option<Option<PathBuf>>,
    /// New key head task.
    pub key_head: Option<Option<String>>,
}

impl SettingsChanges {
    /// Whether anything changes.
    pub fn any(&self) -> bool {
        self.labels_dir.is_some() || self.heads_dir.is_some() || self.key_head.is_some()
    }
}

/// Applies settings changes to a loaded session (a vocabulary folder that fails keeps the
/// old one, also for later reloads).
pub fn apply_changes(
    session: &mut Session,
    options: &mut ModelOptions,
    changes: &SettingsChanges,
    key_head: &Option<String>,
) {
    if let Some(dir) = &changes.labels_dir
        && session.set_labels_dir(dir.as_deref())
    {
        options.labels_dir.clone_from(dir);
    }
    if let Some(dir) = &changes.heads_dir {
        options.heads_dir.clone_from(dir);
        session.set_heads_dir(dir.clone());
    }
    if changes.key_head.is_some() {
        session.set_key_head(key_head.as_deref());
    }
}

/// What the snapshot shows about `session`.
pub fn session_info(session: &Session) -> SessionInfo {
    SessionInfo {
        model_name: session.model_name().to_string(),
        model_size_bytes: session.model_size_bytes(),
        active_key_head: session.active_key_head().map(str::to_owned),
        settings_messages: session.settings_messages(),
        num_sharing: session.num_sharing(),
    }
}
