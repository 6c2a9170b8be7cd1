//! Real-size MuQ-MuLan-large without a download: writes a checkpoint of the released shapes
//! (filler values) and a 250 002-piece tokenizer, loads it through `MuqMulan::load` and checks
//! resident memory against the weight bytes (issue target: ≤ 1.15×). Slow and ~2.7 GB on disk,
//! so ignored by default:
//! `cargo test -p muq-cli --test mulan_real_size -- --ignored --nocapture`.

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::{DType, Device, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};
use muq_models::models::mulan::{MulanConfig, MulanFiles, MuqMulan};
use muq_models::models::muq::MuqConfig;
use muq_models::models::xlm_roberta::XlmRobertaConfig;
use muq_models::tokenize::TextTokenizer;

/// Hands out cheap filler tensors and remembers every one, to be saved as a checkpoint.
struct Recorder(Mutex<HashMap<String, Tensor>>);

impl SimpleBackend for Recorder {
    fn get(
        &self,
        s: Shape,
        name: &str,
        _: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let n = s.elem_count();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 2001) as f32 * 1e-5 - 0.01)
            .collect();
        let t = Tensor::from_vec(v, s, dev)?.to_dtype(dtype)?;
        self.0
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned".into()))?
            .insert(name.to_string(), t.clone());
        Ok(t)
    }
    fn get_unchecked(&self, name: &str, _: DType, _: &Device) -> candle_core::Result<Tensor> {
        candle_core::bail!("no shape for {name}")
    }
    fn contains_tensor(&self, name: &str) -> bool {
        !name.ends_with("inv_freq")
    }
}

fn vm_kb(field: &str) -> f64 {
    muq_cli::proc_stats::status_kib(field).expect("/proc/self/status") as f64
}

const CONFIG: &str = r#"{"mulan": {"sr": 24000, "clip_secs": 10, "dim_latent": 512},
  "audio_model": {"name": "OpenMuQ/MuQ-large-msd-iter", "model_dim": 1024, "use_layer_idx": -1},
  "text_model": {"name": "xlm-roberta-base", "model_dim": null, "use_layer_idx": -1},
  "audio_transformer": {"dim": 768, "tf_depth": 0, "heads": 8, "dim_head": 64, "ff_mult": 4},
  "text_transformer": {"dim": 768, "tf_depth": 8, "max_seq_len": 1024, "dim_head": 64, "heads": 8, "ff_mult": 4}}"#;

/// The fixture tokenizer with its vocabulary widened to xlm-roberta-base's 250 002 pieces.
fn big_tokenizer() -> serde_json::Value {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/golden/mulan/tokenizer.json");
    let mut tok: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).unwrap()).unwrap();
    let vocab = tok["model"]["vocab"].as_array_mut().unwrap();
    // `<mask>` is an added token with the last id (250 001), as in xlm-roberta-base.
    while vocab.len() < 250_001 {
        let i = vocab.len();
        vocab.push(serde_json::json!([format!("▁piece{i}"), -30.0]));
    }
    for t in tok["added_tokens"].as_array_mut().unwrap() {
        if t["content"] == "<mask>" {
            t["id"] = serde_json::json!(250_001);
        }
    }
    tok
}

#[test]
#[ignore = "writes a 2.7 GB checkpoint; run by hand"]
fn real_size_model_loads_within_memory_target() {
    let dev = Device::Cpu;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), CONFIG).unwrap();
    std::fs::write(
        dir.path().join("tokenizer.json"),
        big_tokenizer().to_string(),
    )
    .unwrap();
    let weight_bytes: u64 = {
        let cfg = MulanConfig::from_json_str(CONFIG, dir.path()).unwrap();
        let rec = std::sync::Arc::new(Recorder(Mutex::new(HashMap::new())));
        struct Shared(std::sync::Arc<Recorder>);
        impl SimpleBackend for Shared {
            fn get(
                &self,
                s: Shape,
                n: &str,
                h: Init,
                d: DType,
                dev: &Device,
            ) -> candle_core::Result<Tensor> {
                self.0.get(s, n, h, d, dev)
            }
            fn get_unchecked(
                &self,
                n: &str,
                d: DType,
                dev: &Device,
            ) -> candle_core::Result<Tensor> {
                self.0.get_unchecked(n, d, dev)
            }
            fn contains_tensor(&self, n: &str) -> bool {
                self.0.contains_tensor(n)
            }
        }
        let vb = VarBuilder::from_backend(Box::new(Shared(rec.clone())), DType::F32, dev.clone());
        let tok = TextTokenizer::from_file(&dir.path().join("tokenizer.json")).unwrap();
        let model = MuqMulan::new(
            cfg,
            &MuqConfig::muq_large_msd_iter(),
            &XlmRobertaConfig::xlm_roberta_base(),
            tok,
            vb,
        );
        drop(model.unwrap());
        let map = std::mem::take(&mut *rec.0.lock().unwrap());
        candle_core::safetensors::save(&map, dir.path().join("model.safetensors")).unwrap();
        map.values().map(|t| t.elem_count() as u64 * 4).sum()
    };
    let rss_before_kb = vm_kb("VmRSS");
    let files = MulanFiles::locate_with_caches(dir.path(), &[]).unwrap();
    assert!(
        files.muq_config.is_none() && files.xlmr_config.is_none(),
        "built-in configs expected"
    );
    let t0 = std::time::Instant::now();
    let model = MuqMulan::load_files(&files, &dev).unwrap();
    let load_s = t0.elapsed().as_secs_f64();
    let rss_kb = vm_kb("VmRSS");
    let latent = model
        .text_latent("calm piano with soft strings")
        .unwrap()
        .latent;
    assert_eq!(latent.dims(), &[1, 512]);
    let added_mb = (rss_kb - rss_before_kb) / 1024.0;
    let weights_mb = weight_bytes as f64 / (1024.0 * 1024.0);
    println!(
        "real-size MuQ-MuLan: weights {weights_mb:.0} MiB, RSS {:.0} MiB (+{added_mb:.0} MiB for the model, ratio {:.3}), \
         peak {:.0} MiB, load {load_s:.1} s",
        rss_kb / 1024.0,
        rss_kb / 1024.0 / weights_mb,
        vm_kb("VmHWM") / 1024.0
    );
    assert!(
        rss_kb / 1024.0 <= 1.15 * weights_mb,
        "resident memory over 1.15x the weights"
    );
}
