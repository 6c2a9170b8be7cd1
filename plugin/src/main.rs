//! MuQ Live as a standalone application (no DAW): `muq-live-standalone --backend dummy` runs
//! it without audio hardware; see `--help` for JACK/ALSA options.

fn main() {
    nice_plug::prelude::nice_export_standalone::<muq_live::MuqLive>();
}
