//! Model ports (candle).

pub mod mulan;
pub mod muq;
pub mod xlm_roberta;
