//! Streaming safetensors writer: the header from the tensor list first, then each tensor's
//! bytes in the same order, so memory stays at one tensor. Writes `<out>.partial` and renames
//! it at the end, so a crash or a full disk never leaves a file that looks complete.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// One header entry: name, safetensors dtype name (`F32`, `I64`, ...) and shape.
#[derive(Debug, Clone)]
pub struct HeaderEntry {
    /// Tensor name.
    pub name: String,
    /// safetensors dtype name.
    pub dtype: &'static str,
    /// Bytes per element.
    pub element_bytes: usize,
    /// Shape.
    pub shape: Vec<usize>,
}

impl HeaderEntry {
    fn num_bytes(&self) -> u64 {
        self.shape.iter().product::<usize>() as u64 * self.element_bytes as u64
    }
}

/// A safetensors file being written; tensors must be written in header order.
pub struct SafetensorsWriter {
    writer: BufWriter<std::fs::File>,
    partial: PathBuf,
    output: PathBuf,
    entries: Vec<HeaderEntry>,
    next_idx: usize,
    num_data_bytes: u64,
}

impl SafetensorsWriter {
    /// Creates `<output>.partial` and writes the header for `entries` (data in that order).
    pub fn create(output: &Path, entries: Vec<HeaderEntry>) -> Result<Self> {
        let mut header = serde_json::Map::new();
        header.insert("__metadata__".into(), serde_json::json!({ "format": "pt" }));
        let mut offset = 0_u64;
        for e in &entries {
            let end = offset + e.num_bytes();
            header.insert(
                e.name.clone(),
                serde_json::json!({ "dtype": e.dtype, "shape": e.shape, "data_offsets": [offset, end] }),
            );
            offset = end;
        }
        let mut header_bytes =
            serde_json::to_vec(&header).map_err(|e| Error::Other(format!("header: {e}")))?;
        while header_bytes.len() % 8 != 0 {
            header_bytes.push(b' ');
        }
        let partial = output.with_extension("safetensors.partial");
        let file = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        writer
            .write_all(&(header_bytes.len() as u64).to_le_bytes())
            .and_then(|()| writer.write_all(&header_bytes))
            .map_err(|e| Error::io(&partial, e))?;
        Ok(Self {
            writer,
            partial,
            output: output.to_path_buf(),
            entries,
            next_idx: 0,
            num_data_bytes: offset,
        })
    }

    /// Writes the next tensor's little-endian bytes; errors if the size does not match.
    pub fn write_tensor(&mut self, bytes: &[u8]) -> Result<()> {
        self.check_next(bytes.len())?;
        self.writer
            .write_all(bytes)
            .map_err(|e| Error::io(&self.partial, e))?;
        self.next_idx += 1;
        Ok(())
    }

    /// Writes the next tensor from f32 values (converted in small chunks).
    pub fn write_f32(&mut self, values: &[f32]) -> Result<()> {
        self.check_next(values.len() * 4)?;
        write_f32_le(&mut self.writer, values).map_err(|e| Error::io(&self.partial, e))?;
        self.next_idx += 1;
        Ok(())
    }

    fn check_next(&self, num_bytes: usize) -> Result<()> {
        let Some(entry) = self.entries.get(self.next_idx) else {
            return Err(Error::Other("more tensors written than declared".into()));
        };
        if num_bytes as u64 != entry.num_bytes() {
            return Err(Error::Other(format!(
                "tensor '{}': {num_bytes} bytes given, {} declared",
                entry.name,
                entry.num_bytes()
            )));
        }
        Ok(())
    }

    /// Flushes, checks every tensor was written and renames the file into place. Returns the
    /// bytes of tensor data.
    pub fn finish(mut self) -> Result<u64> {
        if self.next_idx != self.entries.len() {
            return Err(Error::Other(format!(
                "{} of {} tensors written",
                self.next_idx,
                self.entries.len()
            )));
        }
        self.writer
            .flush()
            .map_err(|e| Error::io(&self.partial, e))?;
        drop(self.writer);
        std::fs::rename(&self.partial, &self.output).map_err(|e| Error::io(&self.output, e))?;
        Ok(self.num_data_bytes)
    }
}

/// Writes f32 values as little-endian bytes, 64 KiB at a time.
pub fn write_f32_le(out: &mut impl Write, values: &[f32]) -> std::io::Result<()> {
    let mut chunk = Vec::with_capacity(1 << 16);
    for block in values.chunks((1 << 16) / 4) {
        chunk.clear();
        for v in block {
            chunk.extend_from_slice(&v.to_le_bytes());
        }
        out.write_all(&chunk)?;
    }
    Ok(())
}
