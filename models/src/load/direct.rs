//! Reading tensors straight from their bytes in the file, one tensor at a time.
//!
//! Both weight formats keep each tensor as one contiguous run of little-endian bytes: a
//! safetensors file after its JSON header, a `torch.save` zip in its stored (uncompressed)
//! `archive/data/<i>` entries. [`DirectBackend`] records each tensor's absolute file offset when
//! the checkpoint is opened and reads it with a positioned read straight into the buffer the
//! tensor then owns: no memory map whose touched pages would count on top of the weights, no
//! intermediate byte vector. Loading therefore costs the loaded weights plus at most one
//! tensor in flight. A tensor stored otherwise (a compressed entry, a Fortran-ordered layout)
//! is read through the fallback backend.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;

use super::TensorMeta;
use crate::{Error, Result};

/// Where one tensor's bytes are.
#[derive(Debug, Clone)]
pub(crate) struct TensorLocation {
    /// Absolute offset of the first byte in the file.
    pub offset: u64,
    /// Stored dtype.
    pub dtype: DType,
    /// Shape (row-major, contiguous).
    pub shape: Vec<usize>,
}

/// Positioned reads of located tensors; anything not located goes to `fallback`.
pub(crate) struct DirectBackend {
    file: File,
    path: PathBuf,
    located: HashMap<String, TensorLocation>,
    fallback: Option<Box<dyn SimpleBackend>>,
}

/// Reads exactly `buf.len()` bytes at `offset`.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            let n = std::os::windows::fs::FileExt::seek_read(
                file,
                &mut buf[done..],
                offset + done as u64,
            )?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// A zeroed vector of `n` values of `T` read in place from `offset`.
fn read_values<T: Copy + Default>(file: &File, n: usize, offset: u64) -> std::io::Result<Vec<T>> {
    let mut values = vec![T::default(); n];
    // SAFETY: `T` is a plain number type (f32, f64, i64, u8, u32, ...) for which every bit
    // pattern is valid; the byte view covers exactly the vector's initialised elements.
    let bytes = unsafe {
        std::slice::from_raw_parts_mut(
            values.as_mut_ptr().cast::<u8>(),
            n * std::mem::size_of::<T>(),
        )
    };
    read_at(file, bytes, offset)?;
    Ok(values)
}

impl DirectBackend {
    /// A backend over `path` with the given locations.
    pub fn new(
        path: &Path,
        located: HashMap<String, TensorLocation>,
        fallback: Option<Box<dyn SimpleBackend>>,
    ) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
            located,
            fallback,
        })
    }

    fn read(
        &self,
        loc: &TensorLocation,
        dev: &Device,
    ) -> std::io::Result<candle_core::Result<Tensor>> {
        let n: usize = loc.shape.iter().product();
        let shape = Shape::from(loc.shape.clone());
        Ok(match loc.dtype {
            DType::F32 => {
                let mut v: Vec<f32> = read_values(&self.file, n, loc.offset)?;
                if cfg!(target_endian = "big") {
                    v.iter_mut()
                        .for_each(|x| *x = f32::from_bits(u32::from_le(x.to_bits())));
                }
                Tensor::from_vec(v, shape, dev)
            }
            DType::I64 => Tensor::from_vec(
                read_values::<i64>(&self.file, n, loc.offset)?
                    .into_iter()
                    .map(i64::from_le)
                    .collect::<Vec<_>>(),
                shape,
                dev,
            ),
            other => {
                let bytes: Vec<u8> =
                    read_values(&self.file, n * other.size_in_bytes(), loc.offset)?;
                Tensor::from_raw_buffer(&bytes, other, &loc.shape, dev)
            }
        })
    }
}

impl SimpleBackend for DirectBackend {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let tensor = self.get_unchecked(name, dtype, dev);
        match tensor {
            Ok(t) if t.shape() != &s => candle_core::bail!(
                "tensor '{name}' has shape {:?}, expected {:?}",
                t.dims(),
                s.dims()
            ),
            Err(_) if !self.contains_tensor(name) => match &self.fallback {
                Some(f) => f.get(s, name, h, dtype, dev),
                None => candle_core::bail!("missing tensor '{name}'"),
            },
            other => other,
        }
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let Some(loc) = self.located.get(name) else {
            return match &self.fallback {
                Some(f) => f.get_unchecked(name, dtype, dev),
                None => candle_core::bail!("missing tensor '{name}'"),
            };
        };
        let tensor = self.read(loc, &Device::Cpu).map_err(|e| {
            candle_core::Error::Msg(format!(
                "reading {} at byte {}: {e} (was the file changed or truncated?)",
                self.path.display(),
                loc.offset
            ))
        })??;
        let tensor = if tensor.dtype() == dtype {
            tensor
        } else {
            tensor.to_dtype(dtype)?
        };
        if dev.is_cpu() {
            Ok(tensor)
        } else {
            tensor.to_device(dev)
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.located.contains_key(name)
            || self
                .fallback
                .as_ref()
                .is_some_and(|f| f.contains_tensor(name))
    }
}

/// Parses a safetensors header: each tensor's absolute data offset, checked against the file.
pub(crate) fn safetensors_locations(
    path: &Path,
) -> std::result::Result<(HashMap<String, TensorLocation>, Vec<TensorMeta>), String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut len_bytes = [0u8; 8];
    read_at(&file, &mut len_bytes, 0).map_err(|e| format!("no header ({e})"))?;
    let header_len = u64::from_le_bytes(len_bytes);
    if header_len > 100 << 20 || 8 + header_len > file_len {
        return Err(format!(
            "header length {header_len} does not fit the file ({file_len} bytes)"
        ));
    }
    let mut header = vec![0u8; header_len as usize];
    read_at(&file, &mut header, 8).map_err(|e| e.to_string())?;
    let json: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| format!("header is not JSON: {e}"))?;
    let data_start = 8 + header_len;
    let mut located = HashMap::new();
    let mut metas = Vec::new();
    for (name, info) in json {
        if name == "__metadata__" {
            continue;
        }
        let dtype = match info.get("dtype").and_then(|d| d.as_str()) {
            Some("F32") => DType::F32,
            Some("F16") => DType::F16,
            Some("BF16") => DType::BF16,
            Some("F64") => DType::F64,
            Some("I64") => DType::I64,
            Some("U32") => DType::U32,
            Some("U8") => DType::U8,
            other => return Err(format!("tensor '{name}': unsupported dtype {other:?}")),
        };
        let shape: Vec<usize> = info
            .get("shape")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .ok_or_else(|| format!("tensor '{name}': bad shape"))?;
        let offsets: [u64; 2] = info
            .get("data_offsets")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .ok_or_else(|| format!("tensor '{name}': bad data_offsets"))?;
        let num_bytes = shape
            .iter()
            .try_fold(dtype.size_in_bytes() as u64, |acc, &d| {
                acc.checked_mul(d as u64)
            });
        if num_bytes != Some(offsets[1].wrapping_sub(offsets[0]))
            || offsets[1] < offsets[0]
            || data_start + offsets[1] > file_len
        {
            return Err(format!(
                "tensor '{name}' ({shape:?}, {dtype:?}) at bytes {offsets:?} does not fit the file \
                 ({file_len} bytes): truncated or corrupt"
            ));
        }
        metas.push(TensorMeta {
            name: name.clone(),
            shape: shape.clone(),
            dtype,
        });
        located.insert(
            name,
            TensorLocation {
                offset: data_start + offsets[0],
                dtype,
                shape,
            },
        );
    }
    Ok((located, metas))
}

/// Absolute offsets of the tensors of a checked `torch.save` zip whose data entries are stored
/// uncompressed and C-contiguous (the others are left to the fallback reader).
pub(crate) fn pth_locations(
    path: &Path,
    pth: &candle_core::pickle::PthTensors,
) -> std::result::Result<HashMap<String, TensorLocation>, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| e.to_string())?;
    let mut entry_starts: HashMap<String, Option<u64>> = HashMap::new();
    let mut located = HashMap::new();
    for info in pth.tensor_infos().values() {
        if !info.layout.is_contiguous() {
            continue;
        }
        let start = match entry_starts.get(&info.path) {
            Some(start) => *start,
            None => {
                let entry = zip
                    .by_name(&info.path)
                    .map_err(|e| format!("{}: {e}", info.path))?;
                let start = (entry.compression() == zip::CompressionMethod::Stored)
                    .then(|| entry.data_start())
                    .flatten();
                entry_starts.insert(info.path.clone(), start);
                start
            }
        };
        let Some(start) = start else { continue };
        // candle's layout offset of a pickled tensor is already in bytes.
        let offset = start + info.layout.start_offset() as u64;
        located.insert(
            info.name.clone(),
            TensorLocation {
                offset,
                dtype: info.dtype,
                shape: info.layout.dims().to_vec(),
            },
        );
    }
    Ok(located)
}
