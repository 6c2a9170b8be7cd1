//! The files a MuQ-MuLan-large model needs, and where each goes in a plain model folder.

use crate::models::mulan::hub::{HubFile, MULAN_REPO, MUQ_REPO, XLMR_REPO};

/// One file to download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelFile {
    /// Repository and file name on the hub.
    pub hub: HubFile,
    /// Where it goes in a plain model folder (the layout `MulanFiles::locate` reads): the
    /// MuQ-MuLan files at the top, the inner models' configs in a sub-folder named after their
    /// repository.
    pub folder_path: &'static str,
    /// Roughly how large it is, for the confirmation before anything is asked of the network.
    pub approx_bytes: u64,
}

/// Everything the plugin and the CLI need for MuQ-MuLan-large, in download order (the small
/// files first, so a wrong address or an offline machine fails before the large one).
pub const MODEL_FILES: [ModelFile; 5] = [
    ModelFile {
        hub: HubFile {
            repo: MULAN_REPO,
            file: "config.json",
        },
        folder_path: "config.json",
        approx_bytes: 1_000,
    },
    ModelFile {
        hub: HubFile {
            repo: MUQ_REPO,
            file: "config.json",
        },
        folder_path: "OpenMuQ/MuQ-large-msd-iter/config.json",
        approx_bytes: 3_000,
    },
    ModelFile {
        hub: HubFile {
            repo: XLMR_REPO,
            file: "config.json",
        },
        folder_path: "xlm-roberta-base/config.json",
        approx_bytes: 1_000,
    },
    ModelFile {
        hub: HubFile {
            repo: XLMR_REPO,
            file: "tokenizer.json",
        },
        folder_path: "tokenizer.json",
        approx_bytes: 9_100_000,
    },
    ModelFile {
        hub: HubFile {
            repo: MULAN_REPO,
            file: "pytorch_model.bin",
        },
        folder_path: "pytorch_model.bin",
        approx_bytes: 2_650_000_000,
    },
];

/// The approximate size of all files together.
pub fn approx_total_bytes() -> u64 {
    MODEL_FILES.iter().map(|f| f.approx_bytes).sum()
}
