//! Untrusted side files, seeded: PyTorch pickles that import or call `os.system` and friends
//! (GLOBAL, protocol-4 STACK_GLOBAL and INST forms, hidden inside a state dict) must be refused
//! by `load::open_checkpoint` and never run; a tokenizer.json of another model (vocabulary off by
//! a few tokens) must be a clear error from `TextTokenizer::check_vocab_size` and from
//! `MuqMulan::load_files`; damaged tokenizer files must never panic.

use anyhow::{Context, Result, bail};
use candle_core::Device;
use muq_engine::load::open_checkpoint;
use muq_engine::models::mulan::{MulanFiles, MuqMulan};
use muq_engine::tokenize::TextTokenizer;
use muq_live_tests::torture::{SplitMix64, golden_case, no_panic};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

const SEED: u64 = 0x7EA5_F00D_0008;

/// Minimal pickle writer: GLOBAL (`c`), STACK_GLOBAL (protocol 4) and INST call forms.
fn hostile_pickle(module: &str, name: &str, arg: &str, form: usize) -> Vec<u8> {
    let unicode = |p: &mut Vec<u8>, s: &str| {
        p.push(b'X');
        p.extend_from_slice(&(s.len() as u32).to_le_bytes());
        p.extend_from_slice(s.as_bytes());
    };
    let mut p = vec![0x80, if form == 1 { 4 } else { 2 }];
    // A dict {"w": <call>} so the call is hidden inside a plausible state dict.
    p.push(b'}');
    unicode(&mut p, "w");
    match form {
        0 => {
            p.extend_from_slice(format!("c{module}\n{name}\n").as_bytes());
            p.push(b'(');
            unicode(&mut p, arg);
            p.extend_from_slice(b"tR");
        }
        1 => {
            unicode(&mut p, module);
            unicode(&mut p, name);
            p.push(0x93); // STACK_GLOBAL
            p.push(b'(');
            unicode(&mut p, arg);
            p.extend_from_slice(b"tR");
        }
        _ => {
            p.push(b'(');
            unicode(&mut p, arg);
            p.extend_from_slice(format!("i{module}\n{name}\n").as_bytes()); // INST
        }
    }
    p.extend_from_slice(b"s.");
    p
}

fn write_pth_zip(path: &Path, pickle: &[u8]) -> Result<()> {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path)?);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", options)?;
    zip.write_all(pickle)?;
    zip.start_file("archive/version", options)?;
    zip.write_all(b"3\n")?;
    zip.finish()?;
    Ok(())
}

#[test]
fn pickles_that_import_or_call_are_refused_never_run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let marker = dir.path().join("pwned");
    let globals = [
        ("os", "system"),
        ("posix", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("subprocess", "check_output"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "__import__"),
        ("__builtin__", "getattr"),
        ("importlib", "import_module"),
        ("runpy", "run_path"),
        ("shutil", "rmtree"),
    ];
    let mut rng = SplitMix64::new(SEED ^ 0x9C);
    let mut num_refused = 0;
    for case_idx in 0..120 {
        let (module, name) = *rng.pick(&globals);
        let form = case_idx % 3;
        let arg = format!("touch {}", marker.display());
        let path = dir.path().join(format!("evil_{case_idx}.bin"));
        write_pth_zip(&path, &hostile_pickle(module, name, &arg, form))?;
        let what = format!("pickle case {case_idx}: {module}.{name}, form {form}");
        let result = no_panic(&what, || open_checkpoint(&path, &Device::Cpu))?;
        let Err(err) = result else {
            bail!("{what} was accepted")
        };
        let msg = err.to_string();
        // Every form (GLOBAL, STACK_GLOBAL, INST) is refused by the global's full name.
        let names_it = msg.contains(&format!("`{module}.{name}`"));
        assert!(
            names_it && msg.contains(&format!("evil_{case_idx}.bin")),
            "{what}: unclear refusal: {msg}"
        );
        if case_idx < 3 {
            println!("form {form}: {msg}");
        }
        assert!(!marker.exists(), "{what} ran");
        num_refused += 1;
    }
    println!("{num_refused} hostile pickles refused (GLOBAL, STACK_GLOBAL, INST), none ran");
    Ok(())
}

#[test]
fn tokenizer_of_another_model_is_a_clear_error() -> Result<()> {
    let case_dir =
        golden_case(|c| c.get("audio_model").is_some() || c.get("text_model").is_some())?;
    let xlmr: Value = serde_json::from_str(&std::fs::read_to_string(
        case_dir.join("xlm-roberta-tiny").join("config.json"),
    )?)?;
    let model_vocab_size = xlmr["vocab_size"].as_u64().context("vocab_size")? as usize;
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir.join("tokenizer.json"))?)?;
    let dir = tempfile::tempdir()?;
    let mut num_cases = 0;
    for delta in [-7_i64, -1, 1, 40] {
        let mut wrong = good.clone();
        let vocab = wrong["model"]["vocab"]
            .as_array_mut()
            .context("Unigram vocab")?;
        if delta < 0 {
            // Drop ordinary pieces from the middle: specials at the ends keep their ids.
            let mid = vocab.len() / 2;
            vocab.drain(mid..mid + delta.unsigned_abs() as usize);
        } else {
            for piece_idx in 0..delta {
                vocab.push(json!([format!("▁extra{piece_idx}"), -20.0]));
            }
        }
        let path = dir.path().join(format!("tokenizer_{delta}.json"));
        std::fs::write(&path, serde_json::to_vec(&wrong)?)?;
        let tokenizer = TextTokenizer::from_file(&path)?;
        let Err(err) = tokenizer.check_vocab_size(model_vocab_size) else {
            bail!("a vocabulary {delta:+} tokens off was accepted")
        };
        assert!(err.to_string().contains("does not belong"), "{err}");
        // The whole model refuses it too, naming the tokenizer file.
        let mut files = MulanFiles::locate(&case_dir)?;
        files.tokenizer = path.clone();
        let what = format!("MuQ-MuLan with a tokenizer {delta:+} tokens off");
        let Err(err) = no_panic(&what, || MuqMulan::load_files(&files, &Device::Cpu))? else {
            bail!("{what} loaded")
        };
        assert!(
            err.to_string().contains(&format!("tokenizer_{delta}.json")),
            "{err}"
        );
        num_cases += 1;
    }
    // Damaged tokenizer files: truncated or a different model type.
    let text = serde_json::to_string(&good)?;
    let mut rng = SplitMix64::new(SEED ^ 0x70);
    for case_idx in 0..60 {
        let path = dir.path().join(format!("damaged_{case_idx}.json"));
        let damaged = if case_idx % 2 == 0 {
            text[..text.floor_char_boundary(rng.below(text.len()))].to_string()
        } else {
            let mut value = good.clone();
            value["model"]["type"] = json!(*rng.pick(&["BPE", "WordPiece", "WordLevel", "?"]));
            value.to_string()
        };
        std::fs::write(&path, damaged)?;
        let what = format!("damaged tokenizer case {case_idx}");
        if let Err(err) = no_panic(&what, || TextTokenizer::from_file(&path))? {
            assert!(!err.to_string().trim().is_empty());
        }
        num_cases += 1;
    }
    println!("{num_cases} wrong or damaged tokenizer.json cases, all clear errors, 0 panics");
    Ok(())
}
