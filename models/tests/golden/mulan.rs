//! The `mulan` case: clip chopping and per-clip MuQ states, audio latents (long and short
//! audio), token ids (batched and single, exact), XLM-R states, batched and single text latents,
//! similarity.

use anyhow::{Context, Result};
use candle_core::{DType, Device, Tensor};
use muq_models::models::mulan::{MuqMulan, clips::plan_clips, similarity};

use super::common::{Case, Checker, read_wav_f32};

fn ids_tensor(rows: &[Vec<u32>], dev: &Device) -> Result<Tensor> {
    let s = rows.first().map_or(0, Vec::len);
    let flat: Vec<i64> = rows.iter().flatten().map(|&i| i as i64).collect();
    Ok(Tensor::from_vec(flat, (rows.len(), s), dev)?)
}

/// Runs the port on the case's audio and texts and compares every expected tensor; returns the
/// worst (tensor, err/tol).
pub fn check_mulan_case(case: &Case) -> Result<(String, f64)> {
    compare_mulan_case(case)?.finish()
}

/// Computes and compares every tensor of the case; the checker holds each tensor's err/tol.
pub fn compare_mulan_case(case: &Case) -> Result<Checker<'_>> {
    let dev = Device::Cpu;
    let model = MuqMulan::load(&case.dir, &dev).context("loading the MuQ-MuLan fixture")?;
    let mut chk = Checker::new(case);

    // Audio: per clip, then the public whole-recording path.
    let wav = read_wav_f32(&case.dir.join("input.wav"))?;
    let plans = plan_clips(wav.len(), model.clip_samples());
    let (mut pooled, mut latents) = (Vec::new(), Vec::new());
    for (i, plan) in plans.iter().enumerate() {
        let (hidden, latent) = model.audio_clip(&plan.gather(&wav))?;
        chk.check(
            &format!("audio_clip.{i}.muq_last_hidden"),
            &hidden.muq_hidden.squeeze(0)?,
        )?;
        pooled.push(hidden.pooled);
        latents.push(latent);
    }
    chk.check("audio_clip_pooled", &Tensor::cat(&pooled, 0)?)?;
    chk.check("audio_latent_per_clip", &Tensor::cat(&latents, 0)?)?;
    let audio = model.audio_latent(&wav)?;
    chk.check("audio_latent", &audio.latent)?;
    let short = read_wav_f32(&case.dir.join("input_short.wav"))?;
    chk.check("audio_latent_short", &model.audio_latent(&short)?.latent)?;

    // Text: the official padded batch, then each text alone.
    let texts: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(case.dir.join("texts.json"))?)
            .context("texts.json")?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let batch = model.text_latents_batched(&refs)?;
    chk.check("text_input_ids", &ids_tensor(&batch.batch.ids, &dev)?)?;
    chk.check(
        "text_attention_mask",
        &ids_tensor(&batch.batch.attention_mask, &dev)?,
    )?;
    chk.check("text_xlmr_last_hidden", &batch.encoder_hidden)?;
    chk.check("text_latent", &batch.latents)?;
    for (i, text) in refs.iter().enumerate() {
        let single = model.text_latent(text)?;
        chk.check(
            &format!("text_input_ids_single.{i}"),
            &ids_tensor(std::slice::from_ref(&single.ids), &dev)?,
        )?;
        chk.check(&format!("text_latent_single.{i}"), &single.latent)?;
    }
    chk.check(
        "similarity",
        &similarity(&audio.latent, &batch.latents)?.to_dtype(DType::F32)?,
    )?;
    Ok(chk)
}
