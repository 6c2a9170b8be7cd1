//! Model ports (candle).

pub mod muq;
