//! The `muq_*` cases: mel, normalised mel, conv stem, conformer and every debug tensor.

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use muq_models::models::muq::{Muq, MuqConfig};

use super::common::{Case, Checker, read_wav_f32};

/// Runs the port on the case's input and compares every expected tensor.
pub fn check_muq_case(case: &Case) -> Result<(String, f64)> {
    let dev = Device::Cpu;
    let cfg = MuqConfig::from_json_str(&case.config_text).context("config.json")?;
    let weights = case.dir.join("model.safetensors");
    // SAFETY: the fixture file is not modified while mapped.
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &dev)? };
    let model = Muq::new(&cfg, vb).context("building MuQ from model.safetensors")?;
    let wav = read_wav_f32(&case.dir.join("input.wav"))?;
    let mut chk = Checker::new(case);

    let mel_db = model.mel_db(&wav)?;
    chk.check("mel_db", &mel_db)?;
    let mel_norm = model.normalize_mel(&mel_db)?;
    chk.check("mel_norm", &mel_norm)?;
    if chk.has("frontend.mel_fb") || chk.has("frontend.window") {
        let mel = muq_models::mel::MelSpectrogram::new(muq_models::mel::MelConfig::muq());
        let fb = mel.filterbank().to_vec();
        let n_mels = 128;
        chk.check(
            "frontend.mel_fb",
            &Tensor::from_vec(fb.clone(), (fb.len() / n_mels, n_mels), &dev)?,
        )?;
        let win = mel.window().to_vec();
        chk.check(
            "frontend.window",
            &Tensor::from_vec(win.clone(), win.len(), &dev)?,
        )?;
    }

    let (blocks, enc) = model.forward_mel_debug(&mel_norm)?;
    if chk.has("debug.conv_block1_out") {
        chk.check("debug.conv_block1_out", &blocks)?;
    }
    chk.check("conv_out", &enc.hidden_states[0])?;
    for (i, h) in enc.hidden_states.iter().enumerate() {
        chk.check(&format!("hidden_states.{i}"), h)?;
    }
    if let Some(pos) = enc
        .pos
        .as_ref()
        .map(|p| p.as_official())
        .transpose()?
        .flatten()
    {
        chk.check("debug.pos_emb", &pos)?;
    }
    if let Some(l0) = &enc.layer0 {
        chk.check("debug.layer0.ffn1_out", &l0.ffn1_out)?;
        chk.check("debug.layer0.self_attn_out", &l0.self_attn_out)?;
        chk.check("debug.layer0.conv_module_out", &l0.conv_module_out)?;
        chk.check("debug.layer0.ffn2_out", &l0.ffn2_out)?;
    }
    if let Some(last) = &enc.last_layer_out_before_ln {
        chk.check("debug.last_layer_out_before_encoder_ln", last)?;
    }
    // The public forward must agree with the debug path on the last state.
    let out = model.forward(&Tensor::from_slice(&wav, (1, wav.len()), &dev)?)?;
    let last_idx = out.hidden_states.len() - 1;
    chk.check(
        &format!("hidden_states.{last_idx}"),
        out.last_hidden_state(),
    )?;
    chk.finish()
}
