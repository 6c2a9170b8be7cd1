//! Checkpoint loading: `*.safetensors` and PyTorch `pytorch_model.bin` (zip + pickle,
//! read with candle's non-executing pickle reader after an allow-list check), Hugging Face cache
//! discovery, and `.bin` → safetensors conversion.

mod backend;
mod convert;
mod direct;
pub mod hf_cache;
pub mod identity;
pub mod layout;
mod pickle_guard;
pub mod pth_writer;
pub mod safetensors_writer;

#[cfg(test)]
pub(crate) mod test_pth;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_nn::var_builder::SimpleBackend;

pub use convert::{ConvertReport, convert_pth_to_safetensors};
pub use hf_cache::{MODEL_DIR_ENV, find_model_dir, find_model_dir_in, hub_cache_roots};

use crate::{Error, Result};

/// Name of the safetensors weights file in a Hugging Face model folder.
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// Name of the PyTorch weights file in a Hugging Face model folder.
pub const PYTORCH_BIN_FILE: &str = "pytorch_model.bin";

/// On-disk format of a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// `*.safetensors`, memory-mapped.
    Safetensors,
    /// PyTorch zip archive (`torch.save`), read through candle's pickle reader.
    PyTorchZip,
}

/// Name, shape and stored dtype of one tensor in a checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorMeta {
    /// State-dict key.
    pub name: String,
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// dtype as stored (loading through the `VarBuilder` converts floats to f32).
    pub dtype: DType,
}

/// An opened checkpoint: the file, its tensor list and an f32 `VarBuilder` over it whose errors
/// name the file, the key and the expected/found shapes.
pub struct Checkpoint {
    /// The weights file.
    path: PathBuf,
    /// Its format.
    format: CheckpointFormat,
    /// Every tensor in the file, sorted by name.
    tensors: Vec<TensorMeta>,
    /// f32 view of the weights on the requested device.
    vb: VarBuilder<'static>,
}

impl Checkpoint {
    /// Opens `path`: a `.safetensors` file, a PyTorch zip `.bin`/`.pt`/`.pth`, or a model folder containing
    /// `model.safetensors` or `pytorch_model.bin` (preferred in that order, as
    /// `PyTorchModelHubMixin` does). Floating tensors are converted to f32 when fetched. Each
    /// tensor is read from the file when fetched, straight into its own buffer (see
    /// [`direct`]): loading a model costs its weights plus one tensor.
    pub fn open(path: impl AsRef<Path>, device: &Device) -> Result<Self> {
        Self::open_cancellable(path, device, None)
    }

    /// [`Self::open`] whose tensor reads fail with "loading cancelled" once `cancel` is set.
    pub fn open_cancellable(
        path: impl AsRef<Path>,
        device: &Device,
        cancel: Option<CancelFlag>,
    ) -> Result<Self> {
        let path = resolve_weights_file(path.as_ref())?;
        let format = detect_format(&path)?;
        let (inner, mut tensors): (Box<dyn SimpleBackend>, Vec<TensorMeta>) = match format {
            CheckpointFormat::Safetensors => {
                let (located, metas) = direct::safetensors_locations(&path)
                    .map_err(|e| checkpoint_err(&path, format!("invalid safetensors file: {e}")))?;
                (
                    Box::new(direct::DirectBackend::new(&path, located, None)?),
                    metas,
                )
            }
            CheckpointFormat::PyTorchZip => {
                pickle_guard::check_pytorch_zip(&path)?;
                let pth = pickle_guard::read_pth_checked(&path)?;
                let metas = pth
                    .tensor_infos()
                    .values()
                    .map(|info| TensorMeta {
                        name: info.name.clone(),
                        shape: info.layout.dims().to_vec(),
                        dtype: info.dtype,
                    })
                    .collect();
                let located = direct::pth_locations(&path, &pth)
                    .map_err(|e| checkpoint_err(&path, format!("unreadable zip: {e}")))?;
                (
                    Box::new(direct::DirectBackend::new(
                        &path,
                        located,
                        Some(Box::new(pth)),
                    )?),
                    metas,
                )
            }
        };
        if tensors.is_empty() {
            return Err(checkpoint_err(&path, "the checkpoint contains no tensors"));
        }
        tensors.sort_by(|a, b| a.name.cmp(&b.name));
        let backend = backend::CheckedBackend {
            inner,
            path: path.clone(),
            cancel,
        };
        let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
        Ok(Self {
            path,
            format,
            tensors,
            vb,
        })
    }

    /// The weights file actually opened.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Its format.
    pub fn format(&self) -> CheckpointFormat {
        self.format
    }

    /// Every tensor in the file, sorted by name.
    pub fn tensors(&self) -> &[TensorMeta] {
        &self.tensors
    }

    /// The f32 `VarBuilder` (cheap to clone).
    pub fn var_builder(&self) -> VarBuilder<'static> {
        self.vb.clone()
    }

    /// Fetches `key` as f32, checking its shape. The error names the file, the key and the
    /// expected and found shapes.
    pub fn require(&self, key: &str, expected_shape: &[usize]) -> Result<Tensor> {
        let Some(meta) = self.tensors.iter().find(|t| t.name == key) else {
            return Err(checkpoint_err(
                &self.path,
                format!("missing tensor '{key}' (expected shape {expected_shape:?})"),
            ));
        };
        if meta.shape != expected_shape {
            return Err(checkpoint_err(
                &self.path,
                format!(
                    "tensor '{key}' has shape {:?}, expected {expected_shape:?}",
                    meta.shape
                ),
            ));
        }
        Ok(self.vb.get(expected_shape, key)?)
    }
}

/// Size and modification time of a file: tells whether it changed since it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Bytes.
    pub num_bytes: u64,
    /// Modification time, if the OS gives one.
    pub modified: Option<std::time::SystemTime>,
}

impl FileStamp {
    /// The stamp of `path`; `None` if it cannot be read.
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self {
            num_bytes: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// Set from another thread to stop a load between two tensors.
pub type CancelFlag = std::sync::Arc<std::sync::atomic::AtomicBool>;

pub use backend::CANCELLED_MSG;

/// Opens a checkpoint (see [`Checkpoint::open`]) and returns its f32 `VarBuilder`.
pub fn open_checkpoint(path: impl AsRef<Path>, device: &Device) -> Result<VarBuilder<'static>> {
    Ok(Checkpoint::open(path, device)?.var_builder())
}

/// A folder → its `model.safetensors` or `pytorch_model.bin`; a file → itself.
fn resolve_weights_file(path: &Path) -> Result<PathBuf> {
    if path.is_dir() {
        for name in [SAFETENSORS_FILE, PYTORCH_BIN_FILE] {
            let candidate = path.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
        return Err(checkpoint_err(
            path,
            format!("the folder has neither {SAFETENSORS_FILE} nor {PYTORCH_BIN_FILE}"),
        ));
    }
    if !path.exists() {
        return Err(checkpoint_err(path, "no such file"));
    }
    Ok(path.to_path_buf())
}

/// By content: a zip local-file header means PyTorch; otherwise safetensors (whose own parser
/// then validates the header).
fn detect_format(path: &Path) -> Result<CheckpointFormat> {
    use std::io::Read;
    let mut magic = [0_u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let num_read = file.read(&mut magic).map_err(|e| Error::io(path, e))?;
    if num_read == 0 {
        return Err(checkpoint_err(path, "the file is empty"));
    }
    if num_read == 4 && &magic == b"PK\x03\x04" {
        return Ok(CheckpointFormat::PyTorchZip);
    }
    let is_bin = path
        .extension()
        .is_some_and(|e| e == "bin" || e == "pt" || e == "pth");
    if is_bin {
        return Err(checkpoint_err(
            path,
            "not a PyTorch zip checkpoint (no zip header); legacy (torch < 1.6) files are not supported",
        ));
    }
    Ok(CheckpointFormat::Safetensors)
}

fn checkpoint_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}
