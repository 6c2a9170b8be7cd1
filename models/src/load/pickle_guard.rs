//! Safety check of a PyTorch zip checkpoint's pickle before candle reads it.
//!
//! candle's pickle reader (`candle_core::pickle`) never executes anything: a `GLOBAL` opcode only
//! records the module and class name as `Object::Class`, and `REDUCE`/`BUILD` only record the
//! call. We still refuse files whose pickle names any global outside the small set a plain
//! `torch.save(state_dict)` uses, so that a hostile file is rejected loudly instead of being
//! half-interpreted. The check walks the pickle with candle's own parser one opcode at a time
//! and inspects every class object the moment it is pushed (every `GLOBAL` pushes one).

mod scan;

use std::io::{BufReader, Cursor, Read};
use std::path::Path;

use candle_core::pickle::{Object, Stack};

use crate::{Error, Result};

/// Refuse pickles larger than this (a 1.3 GB MuQ `.bin` has a pickle of a few tens of kB).
const MAX_PICKLE_BYTES: u64 = 256 << 20;

/// The globals a `torch.save(state_dict)` pickle may reference.
fn is_allowed_global(module_name: &str, class_name: &str) -> bool {
    match module_name {
        "collections" => class_name == "OrderedDict",
        "torch._utils" => matches!(
            class_name,
            "_rebuild_tensor"
                | "_rebuild_tensor_v2"
                | "_rebuild_parameter"
                | "_rebuild_parameter_with_state"
        ),
        "torch._tensor" => class_name == "_rebuild_from_type_v2",
        "torch.nn.parameter" => class_name == "Parameter",
        "torch" => {
            class_name == "Tensor"
                || matches!(
                    class_name,
                    "FloatStorage"
                        | "DoubleStorage"
                        | "HalfStorage"
                        | "BFloat16Storage"
                        | "LongStorage"
                        | "IntStorage"
                        | "ShortStorage"
                        | "CharStorage"
                        | "ByteStorage"
                        | "BoolStorage"
                )
        }
        _ => false,
    }
}

fn checkpoint_err(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

/// Opens the zip, finds every `*.pkl` entry and checks its globals. Errors name the offending
/// global, or say why the file is not a PyTorch zip checkpoint.
pub(crate) fn check_pytorch_zip(path: &Path) -> Result<()> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| {
        checkpoint_err(
            path,
            format!(
                "not a PyTorch zip checkpoint ({e}); files saved by torch < 1.6 (legacy tar/pickle \
                 format) are not supported: re-save them with a recent torch"
            ),
        )
    })?;
    let pickle_names: Vec<String> = zip
        .file_names()
        .collect::<zip::result::ZipResult<Vec<_>>>()
        .map_err(|e| checkpoint_err(path, format!("unreadable zip directory: {e}")))?
        .into_iter()
        .filter(|n| n.ends_with(".pkl"))
        .map(|n| n.into_owned())
        .collect();
    if !pickle_names.iter().any(|n| n.ends_with("data.pkl")) {
        return Err(checkpoint_err(
            path,
            "no data.pkl in the archive: not a torch.save checkpoint",
        ));
    }
    for name in pickle_names {
        let entry = zip
            .by_name(&name)
            .map_err(|e| checkpoint_err(path, format!("{name}: {e}")))?;
        if entry.size() > MAX_PICKLE_BYTES {
            return Err(checkpoint_err(
                path,
                format!("{name} is implausibly large ({} bytes)", entry.size()),
            ));
        }
        let mut bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .take(MAX_PICKLE_BYTES)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                checkpoint_err(path, format!("cannot read {name} (truncated file?): {e}"))
            })?;
        let checked = std::panic::catch_unwind(|| check_pickle_globals(&bytes))
            .unwrap_or_else(|_| Err("malformed pickle".to_owned()));
        checked.map_err(|msg| checkpoint_err(path, format!("{name}: {msg}")))?;
    }
    Ok(())
}

fn refusal(module_name: &str, class_name: &str) -> String {
    format!(
        "refusing pickle global `{module_name}.{class_name}`: only torch tensor/storage rebuild \
         classes and collections.OrderedDict are allowed in a weights file"
    )
}

/// Parses `bytes` opcode by opcode with candle's reader and rejects any class object outside
/// the allow-list. Returns a message naming the offending global.
pub(crate) fn check_pickle_globals(bytes: &[u8]) -> std::result::Result<(), String> {
    // Our own walk first: it names globals imported by any opcode (GLOBAL, INST, STACK_GLOBAL),
    // where candle's reader only knows GLOBAL and calls the others "unknown op-code".
    scan::for_each_global(bytes, |module_name, class_name| {
        if is_allowed_global(module_name, class_name) {
            Ok(())
        } else {
            Err(refusal(module_name, class_name))
        }
    })?;
    let mut reader = Cursor::new(bytes);
    let mut stack = Stack::empty();
    loop {
        let done = stack
            .read(&mut reader)
            .map_err(|e| format!("malformed pickle: {e}"))?;
        if let Some(Object::Class {
            module_name,
            class_name,
        }) = stack.stack().last()
            && !is_allowed_global(module_name, class_name)
        {
            return Err(refusal(module_name, class_name));
        }
        if done {
            return Ok(());
        }
    }
}

/// Parses the tensor list with candle (inside `catch_unwind`: candle indexes the pickle's tuples
/// without bounds checks, so a malformed pickle could otherwise panic) and checks that every
/// tensor's data lies inside its zip entry, so that a lying header can neither make the loader
/// allocate more than the file holds nor read past the data.
pub(crate) fn read_pth_checked(path: &Path) -> Result<candle_core::pickle::PthTensors> {
    let parsed = std::panic::catch_unwind(|| candle_core::pickle::PthTensors::new(path, None));
    let pth = match parsed {
        Ok(Ok(pth)) => pth,
        Ok(Err(e)) => {
            return Err(checkpoint_err(
                path,
                format!("invalid PyTorch checkpoint: {e}"),
            ));
        }
        Err(_) => {
            return Err(checkpoint_err(
                path,
                "malformed PyTorch pickle (unexpected structure)",
            ));
        }
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|e| checkpoint_err(path, format!("unreadable zip: {e}")))?;
    for info in pth.tensor_infos().values() {
        let layout = &info.layout;
        if !layout.is_contiguous() && !layout.is_fortran_contiguous() {
            return Err(checkpoint_err(
                path,
                format!("tensor '{}' is not contiguous", info.name),
            ));
        }
        let needed = layout
            .shape()
            .elem_count()
            .checked_mul(info.dtype.size_in_bytes())
            .and_then(|n| n.checked_add(layout.start_offset()));
        let available = zip
            .by_name(&info.path)
            .map(|entry| entry.size())
            .map_err(|e| {
                checkpoint_err(
                    path,
                    format!(
                        "tensor '{}': data entry {} missing: {e}",
                        info.name, info.path
                    ),
                )
            })?;
        if needed.is_none_or(|n| n as u64 > available) {
            return Err(checkpoint_err(
                path,
                format!(
                    "tensor '{}' ({:?}, {:?}) needs more data than its entry {} holds ({available} \
                     bytes): truncated or corrupt file",
                    info.name,
                    layout.dims(),
                    info.dtype,
                    info.path
                ),
            ));
        }
    }
    Ok(pth)
}
