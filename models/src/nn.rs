//! Layers shared by the model ports, written once.

pub mod batch_norm;
pub mod conv2d;
pub mod depthwise_conv1d;
pub mod linear_t;
pub mod random_init;
#[cfg(test)]
pub(crate) mod test_support;
pub mod winograd;

pub use batch_norm::BatchNormEval;
pub use conv2d::Conv2d3x3;
pub use depthwise_conv1d::DepthwiseConv1d;
pub use linear_t::LinearT;
