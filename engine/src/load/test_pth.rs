//! Test helper: writes a minimal `torch.save(state_dict)` zip archive by hand (pickle protocol 2,
//! the opcodes torch emits), so the `.bin` path is tested without PyTorch.

use std::io::Write;
use std::path::Path;

/// One tensor: name, shape, storage class (`FloatStorage`, `HalfStorage`, `LongStorage`, ...)
/// and its little-endian bytes.
pub(crate) struct PthTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub storage_class: &'static str,
    pub bytes: Vec<u8>,
}

fn unicode(out: &mut Vec<u8>, s: &str) {
    out.push(b'X');
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn global(out: &mut Vec<u8>, module: &str, name: &str) {
    out.push(b'c');
    out.extend_from_slice(module.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(name.as_bytes());
    out.push(b'\n');
}

fn int(out: &mut Vec<u8>, v: usize) {
    out.push(b'J');
    out.extend_from_slice(&(v as i32).to_le_bytes());
}

fn int_tuple(out: &mut Vec<u8>, values: &[usize]) {
    out.push(b'(');
    for &v in values {
        int(out, v);
    }
    out.push(b't');
}

/// The `data.pkl` of an OrderedDict state dict; storage `i` is entry `data/i`.
pub(crate) fn state_dict_pickle(tensors: &[PthTensor], element_sizes: &[usize]) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    global(&mut p, "collections", "OrderedDict");
    p.extend_from_slice(b")R(");
    for (idx, (t, &elem)) in tensors.iter().zip(element_sizes).enumerate() {
        unicode(&mut p, &t.name);
        global(&mut p, "torch._utils", "_rebuild_tensor_v2");
        p.push(b'(');
        // persistent id: ("storage", torch.XStorage, key, "cpu", numel)
        p.push(b'(');
        unicode(&mut p, "storage");
        global(&mut p, "torch", t.storage_class);
        unicode(&mut p, &idx.to_string());
        unicode(&mut p, "cpu");
        int(&mut p, t.bytes.len() / elem);
        p.extend_from_slice(b"tQ");
        int(&mut p, 0); // storage offset
        int_tuple(&mut p, &t.shape);
        let mut strides = vec![1; t.shape.len()];
        for d in (0..t.shape.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * t.shape[d + 1];
        }
        int_tuple(&mut p, &strides);
        p.push(0x89); // requires_grad = False
        global(&mut p, "collections", "OrderedDict");
        p.extend_from_slice(b")R"); // backward hooks
        p.extend_from_slice(b"tR");
    }
    p.extend_from_slice(b"u.");
    p
}

/// A pickle that would run `os.system("touch <marker>")` if executed by Python's `pickle`.
pub(crate) fn malicious_pickle(marker: &Path) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    global(&mut p, "os", "system");
    p.push(b'(');
    unicode(&mut p, &format!("touch {}", marker.display()));
    p.extend_from_slice(b"tR.");
    p
}

/// Writes `archive/data.pkl` + `archive/data/<i>` (stored, like torch does) to `path`.
pub(crate) fn write_pth_zip(
    path: &Path,
    pickle: &[u8],
    tensors: &[PthTensor],
) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let to_io = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    zip.start_file("archive/data.pkl", options).map_err(to_io)?;
    zip.write_all(pickle)?;
    for (idx, t) in tensors.iter().enumerate() {
        zip.start_file(format!("archive/data/{idx}"), options)
            .map_err(to_io)?;
        zip.write_all(&t.bytes)?;
    }
    zip.start_file("archive/version", options).map_err(to_io)?;
    zip.write_all(b"3\n")?;
    zip.finish().map_err(to_io)?;
    Ok(())
}
