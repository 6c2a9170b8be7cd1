//! `pytorch_model.bin` → `model.safetensors`, one tensor at a time.

use std::io::{BufWriter, Write};
use std::path::Path;

use candle_core::DType;

use super::{Checkpoint, CheckpointFormat, checkpoint_err};
use crate::{Error, Result};

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
/// The header is written first from the tensor list, then each tensor's data in turn, so memory
/// stays at about one tensor. The output is written to `<out>.partial` and renamed at the end.
/// The pickle is checked against the allow-list first (see [`Checkpoint::open`]).
pub fn convert_pth_to_safetensors(input: &Path, output: &Path) -> Result<ConvertReport> {
    let ckpt = Checkpoint::open(input, &candle_core::Device::Cpu)?;
    if ckpt.format() != CheckpointFormat::PyTorchZip {
        return Err(checkpoint_err(
            input,
            "not a PyTorch zip checkpoint (already safetensors?)",
        ));
    }
    // Header: sorted keys (safetensors' own order), offsets in file order.
    let mut header = serde_json::Map::new();
    header.insert("__metadata__".into(), serde_json::json!({ "format": "pt" }));
    let mut offset = 0_u64;
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
        let num_bytes = meta.shape.iter().product::<usize>() as u64 * dtype.size_in_bytes() as u64;
        header.insert(
            meta.name.clone(),
            serde_json::json!({ "dtype": dtype_name, "shape": meta.shape, "data_offsets": [offset, offset + num_bytes] }),
        );
        offset += num_bytes;
    }
    let mut header_bytes =
        serde_json::to_vec(&header).map_err(|e| Error::Other(format!("header: {e}")))?;
    while header_bytes.len() % 8 != 0 {
        header_bytes.push(b' ');
    }

    let partial = output.with_extension("safetensors.partial");
    let file = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let write_err = |e: std::io::Error| Error::io(&partial, e);
    writer
        .write_all(&(header_bytes.len() as u64).to_le_bytes())
        .map_err(write_err)?;
    writer.write_all(&header_bytes).map_err(write_err)?;
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
            DType::F32 => write_values(&mut writer, &tensor.to_vec1::<f32>()?, f32::to_le_bytes),
            DType::I64 => write_values(&mut writer, &tensor.to_vec1::<i64>()?, i64::to_le_bytes),
            DType::U32 => write_values(&mut writer, &tensor.to_vec1::<u32>()?, u32::to_le_bytes),
            DType::U8 => writer.write_all(&tensor.to_vec1::<u8>()?),
            _ => Ok(()),
        }
        .map_err(write_err)?;
    }
    writer.flush().map_err(write_err)?;
    drop(writer);
    std::fs::rename(&partial, output).map_err(|e| Error::io(output, e))?;
    Ok(ConvertReport {
        num_tensors: ckpt.tensors().len(),
        num_converted_to_f32,
        num_data_bytes: offset,
    })
}

fn write_values<T: Copy, const N: usize>(
    writer: &mut impl Write,
    values: &[T],
    to_bytes: fn(T) -> [u8; N],
) -> std::io::Result<()> {
    let mut chunk = Vec::with_capacity(N * 4096);
    for block in values.chunks(4096) {
        chunk.clear();
        for &v in block {
            chunk.extend_from_slice(&to_bytes(v));
        }
        writer.write_all(&chunk)?;
    }
    Ok(())
}
