//! Position embeddings of the HF wav2vec2-conformer: rotary (released MuQ) and relative
//! (Transformer-XL). Mirror `Wav2Vec2ConformerRotaryPositionalEmbedding` and
//! `Wav2Vec2ConformerRelPositionalEmbedding` in huggingface/transformers v4.47.1
//! `src/transformers/models/wav2vec2_conformer/modeling_wav2vec2_conformer.py`.

use candle_core::{Device, Result, Tensor};
use candle_nn::VarBuilder;

use super::config::{MuqConfig, PositionEmbeddings};

/// Rotary tables for one sequence length: `cos`, `sin` of shape (T, hd).
#[derive(Debug, Clone)]
pub struct RotaryTables {
    pub cos: Tensor,
    pub sin: Tensor,
}

/// Relative tables: `pe` of shape (1, 2T − 1, D); row r is distance (T − 1) − r.
#[derive(Debug, Clone)]
pub struct RelativeTable {
    pub pe: Tensor,
}

/// What `embed_positions` returns for a sequence of length T.
#[derive(Debug, Clone)]
pub enum PositionTables {
    Rotary(RotaryTables),
    Relative(RelativeTable),
    None,
}

/// `conformer.embed_positions`.
#[derive(Debug, Clone)]
pub enum PositionEmbedding {
    /// `inv_freq` (hd/2,) — the checkpoint buffer.
    Rotary {
        inv_freq: Vec<f32>,
    },
    /// Sinusoid table width D.
    Relative {
        dim: usize,
    },
    None,
}

impl PositionEmbedding {
    /// `vb` at `model.conformer.embed_positions`. The rotary `inv_freq` buffer is read from
    /// the checkpoint when present, else computed as `1 / base^(2i/hd)` in f32 like HF.
    pub fn new(cfg: &MuqConfig, vb: VarBuilder) -> Result<Self> {
        let kind = cfg
            .position_embeddings()
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        Ok(match kind {
            PositionEmbeddings::Rotary => {
                let hd = cfg.head_dim();
                let inv_freq = if vb.contains_tensor("inv_freq") {
                    vb.get(hd / 2, "inv_freq")?.to_vec1::<f32>()?
                } else {
                    let base = cfg.w2v2_config.rotary_embedding_base as f32;
                    (0..hd / 2)
                        .map(|i| 1.0 / base.powf((2 * i) as f32 / hd as f32))
                        .collect()
                };
                PositionEmbedding::Rotary { inv_freq }
            }
            PositionEmbeddings::Relative => PositionEmbedding::Relative {
                dim: cfg.encoder_dim,
            },
            PositionEmbeddings::None => PositionEmbedding::None,
        })
    }

    /// Tables for `t` positions starting at 0 (positions restart at every call).
    pub fn tables(&self, t: usize, device: &Device) -> Result<PositionTables> {
        match self {
            PositionEmbedding::Rotary { inv_freq } => {
                let half = inv_freq.len();
                let hd = 2 * half;
                let mut cos = vec![0f32; t * hd];
                let mut sin = vec![0f32; t * hd];
                for pos in 0..t {
                    for (i, f) in inv_freq.iter().enumerate() {
                        let angle = pos as f32 * f;
                        let (s, c) = (angle.sin(), angle.cos());
                        cos[pos * hd + i] = c;
                        cos[pos * hd + half + i] = c;
                        sin[pos * hd + i] = s;
                        sin[pos * hd + half + i] = s;
                    }
                }
                Ok(PositionTables::Rotary(RotaryTables {
                    cos: Tensor::from_vec(cos, (t, hd), device)?,
                    sin: Tensor::from_vec(sin, (t, hd), device)?,
                }))
            }
            PositionEmbedding::Relative { dim } => {
                let dim = *dim;
                let div: Vec<f32> = (0..dim / 2)
                    .map(|i| ((2 * i) as f32 * (-(10000f64.ln() / dim as f64)) as f32).exp())
                    .collect();
                let rows = 2 * t.max(1) - 1;
                let mut pe = vec![0f32; rows * dim];
                for r in 0..rows {
                    let p = (t as isize - 1) - r as isize;
                    let row = &mut pe[r * dim..(r + 1) * dim];
                    for (i, w) in div.iter().enumerate() {
                        let angle = p.unsigned_abs() as f32 * w;
                        let s = angle.sin();
                        row[2 * i] = if p < 0 { -s } else { s };
                        row[2 * i + 1] = angle.cos();
                    }
                }
                Ok(PositionTables::Relative(RelativeTable {
                    pe: Tensor::from_vec(pe, (1, rows, dim), device)?,
                }))
            }
            PositionEmbedding::None => Ok(PositionTables::None),
        }
    }
}

impl PositionTables {
    /// The tensor the official `embed_positions` returns: rotary (2, T, 1, 1, hd),
    /// relative (1, 2T − 1, D). Used by the golden test's `debug.pos_emb`.
    pub fn as_official(&self) -> Result<Option<Tensor>> {
        match self {
            PositionTables::Rotary(r) => {
                let (t, hd) = r.cos.dims2()?;
                let s = Tensor::stack(&[&r.cos, &r.sin], 0)?;
                Ok(Some(s.reshape((2, t, 1, 1, hd))?))
            }
            PositionTables::Relative(r) => Ok(Some(r.pe.clone())),
            PositionTables::None => Ok(None),
        }
    }
}
