//! `pytorch_model.bin` → `model.safetensors`, one tensor at a time.

use std::path::Path;

use candle_core::DType;

use super::safetensors_writer::{HeaderEntry, SafetensorsWriter};
use super::{Checkpoint, CheckpointFormat, checkpoint_err};
use crate::Result;

/// Summary of a conversion.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertReport {
    /// Tensors written.
    pub num_tensors: usize,
    /// Of those, floating tensors converted to f32 from another float type.
    pub num_converted_to_f32: usize,
    /// Bytes of tensor data written.
    pub num_data_bytes: u64,
}

/// Output dtype: floats become f32, integer tensors (e.g. `num_batches_tracked`) keep their type.
fn output_dtype(dtype: DType) -> DType {
    if dtype.is_float() { DType::F32 } else { dtype }
}

fn safetensors_dtype_name(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "F32",
        DType::I64 => "I64",
        DType::U8 => "U8",
        DType::U32 => "U32",
        _ => return None,
    })
}

/// Converts a PyTorch zip checkpoint to safetensors (f32 floats, integer tensors as-is).
///
/// Streamed through [`SafetensorsWriter`]: memory stays at about one tensor, and the output
/// appears only when complete.
/// The pickle is checked against the allow-list first (see [`Checkpoint::open`]).
pub fn convert_pth_to_safetensors(input: &Path, output: &Path) -> Result<ConvertReport> {
    let ckpt = Checkpoint::open(input, &candle_core::Device::Cpu)?;
    if ckpt.format() != CheckpointFormat::PyTorchZip {
        return Err(checkpoint_err(
            input,
            "not a PyTorch zip checkpoint (already safetensors?)",
        ));
    }
    let mut entries = Vec::new();
    let mut num_converted_to_f32 = 0;
    for meta in ckpt.tensors() {
        let dtype = output_dtype(meta.dtype);
        let Some(dtype_name) = safetensors_dtype_name(dtype) else {
            return Err(checkpoint_err(
                input,
                format!("tensor '{}': unsupported dtype {:?}", meta.name, meta.dtype),
            ));
        };
        if dtype != meta.dtype {
            num_converted_to_f32 += 1;
        }
        entries.push(HeaderEntry {
            name: meta.name.clone(),
            dtype: dtype_name,
            element_bytes: dtype.size_in_bytes(),
            shape: meta.shape.clone(),
        });
    }
    let mut writer = SafetensorsWriter::create(output, entries)?;
    for meta in ckpt.tensors() {
        let dtype = output_dtype(meta.dtype);
        let tensor = ckpt
            .var_builder()
            .get_unchecked_dtype(&meta.name, dtype)?
            .flatten_all()?;
        let expected = meta.shape.iter().product::<usize>();
        if tensor.elem_count() != expected {
            return Err(checkpoint_err(
                input,
                format!(
                    "tensor '{}': read {} values, expected {expected}",
                    meta.name,
                    tensor.elem_count()
                ),
            ));
        }
        match dtype {
            DType::F32 => writer.write_f32(&tensor.to_vec1::<f32>()?)?,
            DType::I64 => {
                writer.write_tensor(&le_bytes(&tensor.to_vec1::<i64>()?, i64::to_le_bytes))?
            }
            DType::U32 => {
                writer.write_tensor(&le_bytes(&tensor.to_vec1::<u32>()?, u32::to_le_bytes))?
            }
            _ => writer.write_tensor(&tensor.to_vec1::<u8>()?)?,
        }
    }
    let offset = writer.finish()?;
    Ok(ConvertReport {
        num_tensors: ckpt.tensors().len(),
        num_converted_to_f32,
        num_data_bytes: offset,
    })
}

fn le_bytes<T: Copy, const N: usize>(values: &[T], to_bytes: fn(T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(|&v| to_bytes(v)).collect()
}
