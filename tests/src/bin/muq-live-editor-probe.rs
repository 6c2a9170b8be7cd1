//! The standalone MuQ Live (nice-plug's `standalone` wrapper) as a fixture for the editor
//! screenshot test; the same as the plugin crate's `muq-live-standalone`, but built by this
//! crate so that its tests find it through `CARGO_BIN_EXE_muq-live-editor-probe`.

fn main() {
    nice_plug::prelude::nice_export_standalone::<muq_live::MuqLive>();
}
