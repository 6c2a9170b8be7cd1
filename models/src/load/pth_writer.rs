//! Writing `torch.save(state_dict)` archives: a zip whose entries are stored uncompressed and
//! aligned to 64 bytes (`archive/data.pkl`, `archive/data/<i>`, `archive/byteorder`,
//! `archive/version`), with a protocol-2 pickle of an `OrderedDict` of
//! `torch._utils._rebuild_tensor_v2` calls, as torch emits. Used by `muq fixture` (real-size
//! checkpoints in the released format) and the loader's tests. Tensor data is streamed one
//! tensor at a time, so memory stays at the largest tensor.

use std::io::{Seek, Write};

/// One tensor entry of the pickle.
#[derive(Debug, Clone)]
pub struct PthEntry<'a> {
    /// State-dict key.
    pub name: &'a str,
    /// Shape (contiguous, row-major strides are written).
    pub shape: &'a [usize],
    /// Storage class: `FloatStorage`, `LongStorage`, `HalfStorage`, ...
    pub storage_class: &'static str,
    /// Elements in the storage.
    pub num_elements: usize,
}

fn unicode(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// `GLOBAL` opcode (also used by tests that build hostile pickles).
pub fn push_global(out: &mut Vec<u8>, module: &str, name: &str) {
    out.push(b'c');
    out.extend_from_slice(module.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
}

/// `BINUNICODE` opcode.
pub fn push_unicode(out: &mut Vec<u8>, s: &str) {
    unicode(out, s);
}

fn int(out: &mut Vec<u8>, v: usize) {
    // BININT (4 bytes) when it fits, else LONG1 with 8 bytes.
    if let Ok(small) = i32::try_from(v) {
        out.push(b'J');
        out.extend_from_slice(&small.to_le_bytes());
    } else {
        out.extend_from_slice(&[0x8a, 8]);
        out.extend_from_slice(&(v as u64).to_le_bytes());
    }
}

fn int_tuple(out: &mut Vec<u8>, values: &[usize]) {
    out.push(b'(');
    for &v in values {
        int(out, v);
    }
    out.push(b't');
}

/// The `data.pkl` of an `OrderedDict` state dict; entry `i`'s storage is `archive/data/<i>`.
pub fn state_dict_pickle(entries: &[PthEntry]) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    push_global(&mut p, "collections", "OrderedDict");
    p.extend_from_slice(b")R(");
    for (idx, t) in entries.iter().enumerate() {
        unicode(&mut p, t.name);
        push_global(&mut p, "torch._utils", "_rebuild_tensor_v2");
        p.push(b'(');
        // persistent id: ("storage", torch.XStorage, key, "cpu", numel)
        p.push(b'(');
        unicode(&mut p, "storage");
        push_global(&mut p, "torch", t.storage_class);
        unicode(&mut p, &idx.to_string());
        unicode(&mut p, "cpu");
        int(&mut p, t.num_elements);
        p.extend_from_slice(b"tQ");
        int(&mut p, 0); // storage offset
        int_tuple(&mut p, t.shape);
        let mut strides = vec![1; t.shape.len()];
        for d in (0..t.shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * t.shape[d + 1];
        }
        int_tuple(&mut p, &strides);
        p.push(0x89); // requires_grad = False
        push_global(&mut p, "collections", "OrderedDict");
        p.extend_from_slice(b")R"); // backward hooks
        p.extend_from_slice(b"tR");
    }
    p.extend_from_slice(b"u.");
    p
}

/// Streams a torch zip archive: [`Self::start`] writes the pickle, then one
/// [`Self::tensor_data`] call per entry in order, then [`Self::finish`].
pub struct PthZipWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    next_idx: usize,
}

fn options() -> zip::write::SimpleFileOptions {
    zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .with_alignment(64)
        .large_file(true)
}

fn to_io(e: zip::result::ZipError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

impl<W: Write + Seek> PthZipWriter<W> {
    /// Writes `archive/data.pkl` and `archive/byteorder`.
    pub fn start(out: W, pickle: &[u8]) -> std::io::Result<Self> {
        let mut zip = zip::ZipWriter::new(out);
        zip.start_file("archive/data.pkl", options())
            .map_err(to_io)?;
        zip.write_all(pickle)?;
        zip.start_file("archive/byteorder", options())
            .map_err(to_io)?;
        zip.write_all(b"little")?;
        Ok(Self { zip, next_idx: 0 })
    }

    /// Starts the next storage entry and returns a writer for its bytes.
    pub fn tensor_data(&mut self) -> std::io::Result<&mut impl Write> {
        self.zip
            .start_file(format!("archive/data/{}", self.next_idx), options())
            .map_err(to_io)?;
        self.next_idx += 1;
        Ok(&mut self.zip)
    }

    /// Writes `archive/version` and the central directory.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.zip
            .start_file("archive/version", options())
            .map_err(to_io)?;
        self.zip.write_all(b"3\n")?;
        self.zip.finish().map_err(to_io)
    }
}
