//! A `VarBuilder` backend wrapper whose errors name the checkpoint file, the key and both shapes.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

/// Wraps candle's safetensors / pickle backends. `get` reports a missing key or a shape mismatch
/// as `checkpoint <file>: tensor '<key>' ...` with the expected and the found shape.
pub(crate) struct CheckedBackend {
    /// The backend that reads the file.
    pub inner: Box<dyn SimpleBackend>,
    /// The file, for error messages.
    pub path: PathBuf,
    /// When set (by another thread), every further read fails with [`CANCELLED_MSG`]: a load
    /// stops within one tensor.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// Message of the error a cancelled load fails with.
pub const CANCELLED_MSG: &str = "loading cancelled";

impl CheckedBackend {
    fn check_cancel(&self) -> candle_core::Result<()> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            candle_core::bail!("{CANCELLED_MSG}");
        }
        Ok(())
    }
}

impl SimpleBackend for CheckedBackend {
    fn get(
        &self,
        expected: Shape,
        name: &str,
        _init: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        self.check_cancel()?;
        if !self.inner.contains_tensor(name) {
            candle_core::bail!(
                "checkpoint {}: missing tensor '{name}' (expected shape {:?})",
                self.path.display(),
                expected.dims()
            );
        }
        let tensor = self.inner.get_unchecked(name, dtype, dev).map_err(|e| {
            candle_core::Error::Msg(format!(
                "checkpoint {}: tensor '{name}': {e}",
                self.path.display()
            ))
        })?;
        if tensor.shape() != &expected {
            candle_core::bail!(
                "checkpoint {}: tensor '{name}' has shape {:?}, expected {:?}",
                self.path.display(),
                tensor.dims(),
                expected.dims()
            );
        }
        Ok(tensor)
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.check_cancel()?;
        if !self.inner.contains_tensor(name) {
            candle_core::bail!(
                "checkpoint {}: missing tensor '{name}'",
                self.path.display()
            );
        }
        self.inner.get_unchecked(name, dtype, dev).map_err(|e| {
            candle_core::Error::Msg(format!(
                "checkpoint {}: tensor '{name}': {e}",
                self.path.display()
            ))
        })
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.inner.contains_tensor(name)
    }
}
