//! MuQ encoder (arXiv 2501.01108), ported from tencent-ailab/MuQ `src/muq/muq/`.
