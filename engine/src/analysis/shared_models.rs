//! One loaded model per process, shared by every plugin instance (and CLI session) that asks
//! for the same weights on the same device.
//!
//! [`acquire`] returns an `Arc` of the loaded model. Instances whose model folder resolves to
//! the same weights file (canonical path, size and modification time) get the same `Arc`; a
//! caller that asks while another loads those weights waits for that load instead of starting
//! a second one; the registry holds only a `Weak`, so the model is freed when its last user
//! drops it. Loads are cancellable: a caller's cancel flag stops its own load within one tensor
//! (callers waiting for it then load themselves) and ends its own wait.
//!
//! Per-instance state (the streaming stem cache, windows, queries, key state) never lives
//! here: [`super::model::MulanWindowModel`] wraps a shared model with its own streaming encoder.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use candle_core::Device;

use crate::load::identity::ModelIdentity;
use crate::load::{CANCELLED_MSG, CancelFlag};
use crate::models::mulan::{MulanFiles, MuqMulan};
use crate::{Error, Result};

/// A MuQ-MuLan model loaded once for the whole process.
pub struct SharedMulan {
    /// The model (its text tower is built on demand and released after use).
    pub mulan: MuqMulan,
    /// `"<canonical weights path>|<bytes>|<mtime s>"`: the text-cache key.
    pub identity: String,
    /// What probe heads must have been trained on.
    pub probe_identity: ModelIdentity,
    /// The weights file.
    pub weights: PathBuf,
}

type Key = (String, String);

enum Slot {
    /// A caller is loading these weights.
    Loading,
    /// Loaded; alive while any user holds it.
    Ready(Weak<SharedMulan>),
}

#[derive(Default)]
struct Registry {
    slots: Mutex<HashMap<Key, Slot>>,
    changed: Condvar,
    num_loads_started: AtomicU64,
    /// Loads started per weights identity.
    loads_by_identity: Mutex<HashMap<String, u64>>,
}

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

fn lock_slots(reg: &Registry) -> MutexGuard<'_, HashMap<Key, Slot>> {
    reg.slots
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How often a waiting caller re-checks its own cancel flag.
const WAIT_POLL_MS: u64 = 20;

/// `"<canonical path>|<bytes>|<mtime s>"` of a weights file.
pub fn weights_identity(weights: &Path) -> Result<String> {
    let meta = std::fs::metadata(weights).map_err(|e| Error::io(weights, e))?;
    let mtime_s = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    let path = std::fs::canonicalize(weights).unwrap_or_else(|_| PathBuf::from(weights));
    Ok(format!("{}|{}|{mtime_s}", path.display(), meta.len()))
}

fn cancelled() -> Error {
    Error::Other(CANCELLED_MSG.into())
}

/// Removes the `Loading` mark if the load it stands for ends without a model (error, panic).
struct LoadingMark<'a> {
    key: Option<Key>,
    reg: &'a Registry,
}

impl Drop for LoadingMark<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock_slots(self.reg).remove(&key);
            self.reg.changed.notify_all();
        }
    }
}

/// The shared model of the MuQ-MuLan folder `dir` on `device`: the already loaded one, the one another caller is loading (waited for), or a new
/// load. Returns "loading cancelled" once `cancel` is set.
pub fn acquire(dir: &Path, device: &Device, cancel: &CancelFlag) -> Result<Arc<SharedMulan>> {
    let files = MulanFiles::locate(dir)?;
    let identity = weights_identity(&files.weights)?;
    let key: Key = (identity.clone(), format!("{:?}", device.location()));
    let reg = registry();
    let mut slots = lock_slots(reg);
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        match slots.get(&key) {
            Some(Slot::Ready(weak)) => match weak.upgrade() {
                Some(model) => return Ok(model),
                None => {
                    slots.remove(&key);
                }
            },
            Some(Slot::Loading) => {
                slots = reg
                    .changed
                    .wait_timeout(slots, Duration::from_millis(WAIT_POLL_MS))
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0;
                continue;
            }
            None => {}
        }
        break;
    }
    slots.insert(key.clone(), Slot::Loading);
    drop(slots);
    let mut mark = LoadingMark {
        key: Some(key.clone()),
        reg,
    };
    reg.num_loads_started.fetch_add(1, Ordering::Relaxed);
    *reg.loads_by_identity
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .entry(identity.clone())
        .or_default() += 1;
    let mulan = MuqMulan::load_files_cancellable(&files, device, Some(Arc::clone(cancel)))?;
    let probe_identity = ModelIdentity::of_dir(dir, mulan.muq())?;
    let model = Arc::new(SharedMulan {
        mulan,
        identity,
        probe_identity,
        weights: files.weights,
    });
    mark.key = None;
    lock_slots(reg).insert(key, Slot::Ready(Arc::downgrade(&model)));
    reg.changed.notify_all();
    Ok(model)
}

/// Models currently alive in the process (held by at least one user).
pub fn num_live_models() -> usize {
    lock_slots(registry())
        .values()
        .filter(|s| matches!(s, Slot::Ready(w) if w.strong_count() > 0))
        .count()
}

/// Loads started since the process began (a shared or waited-for model does not count).
pub fn num_loads_started() -> u64 {
    registry().num_loads_started.load(Ordering::Relaxed)
}

/// Loads started of the weights file `weights` (any device).
pub fn num_loads_of(weights: &Path) -> u64 {
    let Ok(identity) = weights_identity(weights) else {
        return 0;
    };
    registry()
        .loads_by_identity
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&identity)
        .copied()
        .unwrap_or(0)
}

/// Users holding the model of the weights file `weights` (any device); 0 when none is loaded.
pub fn num_users_of(weights: &Path) -> usize {
    let Ok(identity) = weights_identity(weights) else {
        return 0;
    };
    lock_slots(registry())
        .iter()
        .filter(|((id, _), _)| *id == identity)
        .map(|(_, slot)| match slot {
            Slot::Ready(weak) => weak.strong_count(),
            Slot::Loading => 0,
        })
        .sum()
}
