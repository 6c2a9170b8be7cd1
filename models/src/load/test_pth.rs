//! Test helper: minimal `torch.save(state_dict)` archives built with [`super::pth_writer`], so
//! the `.bin` path is tested without PyTorch.

use std::io::Write;
use std::path::Path;

use super::pth_writer::{PthEntry, PthZipWriter, push_global, push_unicode};

/// One tensor: name, shape, storage class (`FloatStorage`, `HalfStorage`, `LongStorage`, ...)
/// and its little-endian bytes.
pub(crate) struct PthTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub storage_class: &'static str,
    pub bytes: Vec<u8>,
}

/// The `data.pkl` of an OrderedDict state dict; storage `i` is entry `data/i`.
pub(crate) fn state_dict_pickle(tensors: &[PthTensor], element_sizes: &[usize]) -> Vec<u8> {
    let entries: Vec<PthEntry> = tensors
        .iter()
        .zip(element_sizes)
        .map(|(t, &elem)| PthEntry {
            name: &t.name,
            shape: &t.shape,
            storage_class: t.storage_class,
            num_elements: t.bytes.len() / elem,
        })
        .collect();
    super::pth_writer::state_dict_pickle(&entries)
}

/// A pickle that would run `os.system("touch <marker>")` if executed by Python's `pickle`.
pub(crate) fn malicious_pickle(marker: &Path) -> Vec<u8> {
    let mut p = vec![0x80, 2];
    push_global(&mut p, "os", "system");
    p.push(b'(');
    push_unicode(&mut p, &format!("touch {}", marker.display()));
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
    let mut writer = PthZipWriter::start(file, pickle)?;
    for t in tensors {
        writer.tensor_data()?.write_all(&t.bytes)?;
    }
    writer.finish()?;
    Ok(())
}
