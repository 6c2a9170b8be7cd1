//! "Download model" in the model setup: says what will be fetched, where it goes and under
//! which licence, and starts only after the user confirms; then shows progress (bytes, rate,
//! time left) with a Cancel button, and the outcome. The download itself runs in the engine
//! (one per process, shared by all instances); this only draws its view from the snapshot.

use super::frame_record::DownloadCardRecord;
use super::{format, palette};
use muq_engine::download::{DownloadPhase, DownloadTarget, DownloadView, approx_total_bytes};
use muq_engine::models::mulan::hub::{MULAN_REPO, MUQ_REPO, XLMR_REPO, default_cache_dir};
use std::path::Path;

/// The weights' licence.
pub const LICENCE: &str = "CC BY-NC 4.0";
pub const LICENCE_URL: &str = "https://creativecommons.org/licenses/by-nc/4.0/";
/// The model's page on the hub.
pub const MODEL_URL: &str = "https://huggingface.co/OpenMuQ/MuQ-MuLan-large";

/// What the user asked for.
#[derive(Debug, PartialEq)]
pub enum DownloadAction {
    Start,
    Cancel,
}

/// Where a download goes: the model folder chosen in the panel, else the Hugging Face cache.
pub fn download_target(model_dir: Option<&Path>) -> DownloadTarget {
    match model_dir {
        Some(dir) => DownloadTarget::Folder(dir.to_path_buf()),
        None => DownloadTarget::HubCache(default_cache_dir()),
    }
}

/// `"1.20 GiB of 2.47 GiB · 11.8 MiB/s · 2:31.0 left"`, with what is known so far.
pub fn progress_text(view: &DownloadView) -> String {
    let mut text = if view.bytes_total > 0 {
        format!(
            "{} of {}",
            format::bytes(view.bytes_done),
            format::bytes(view.bytes_total)
        )
    } else {
        "asking the hub for the files".to_owned()
    };
    if view.bytes_per_s > 0.0 {
        text += &format!(" · {}/s", format::bytes(view.bytes_per_s as u64));
    }
    if let Some(seconds_left) = view.seconds_left {
        text += &format!(" · {} left", format::duration(seconds_left));
    }
    text
}

/// Draws the download part; `target` is where a new download would go. What was drawn goes to
/// `drawn` (the frame record).
pub fn show(
    ui: &mut egui::Ui,
    confirming: &mut bool,
    view: &DownloadView,
    target: &DownloadTarget,
    drawn: &mut DownloadCardRecord,
) -> Option<DownloadAction> {
    let mut action = None;
    if view.is_active() {
        *confirming = false;
        drawn.progress_text = progress_text(view);
        ui.label(format!("Downloading MuQ-MuLan-large into {}", view.target));
        if !view.file.is_empty() {
            ui.label(
                egui::RichText::new(&view.file)
                    .weak()
                    .monospace()
                    .size(10.5),
            );
        }
        ui.add(
            egui::ProgressBar::new(view.fraction())
                .text(drawn.progress_text.as_str())
                .desired_height(16.0),
        );
        let cancel = ui.button("Cancel download");
        drawn.button("Cancel download", &cancel);
        if cancel.clicked() {
            action = Some(DownloadAction::Cancel);
        }
        return action;
    }
    match view.phase {
        DownloadPhase::Done => {
            ui.colored_label(palette::GOOD, format!("Downloaded: {}", view.message));
        }
        DownloadPhase::Failed | DownloadPhase::Cancelled => {
            ui.colored_label(palette::BAD, &view.message);
        }
        _ => {}
    }
    drawn.confirming = *confirming;
    if *confirming {
        confirm(ui, confirming, target, &mut action, drawn);
    } else {
        let label = match view.phase {
            DownloadPhase::Failed | DownloadPhase::Cancelled => "Resume download…",
            _ => "Download model…",
        };
        let open = ui
            .button(label)
            .on_hover_text("fetch the weights from Hugging Face, with progress");
        drawn.button(label, &open);
        if open.clicked() {
            *confirming = true;
        }
    }
    action
}

fn confirm(
    ui: &mut egui::Ui,
    confirming: &mut bool,
    target: &DownloadTarget,
    action: &mut Option<DownloadAction>,
    drawn: &mut DownloadCardRecord,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(egui::RichText::new("Download the model?").strong());
        ui.label(format!(
            "{MULAN_REPO} (config and pytorch_model.bin), the config of {MUQ_REPO}, and the \
             tokenizer and config of {XLMR_REPO}: about {} in all.",
            format::bytes(approx_total_bytes())
        ));
        ui.label(format!("Into {}.", target.describe()));
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("The weights are licensed {LICENCE}: non-commercial use only."),
            );
            ui.hyperlink_to("licence", LICENCE_URL);
            ui.hyperlink_to("model page", MODEL_URL);
        });
        ui.horizontal(|ui| {
            let start = ui.button("Download");
            drawn.button("Download", &start);
            if start.clicked() {
                *confirming = false;
                *action = Some(DownloadAction::Start);
            }
            if ui.button("Not now").clicked() {
                *confirming = false;
            }
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_text_grows_with_what_is_known() {
        let mut view = DownloadView {
            phase: DownloadPhase::Checking,
            ..DownloadView::default()
        };
        assert_eq!(progress_text(&view), "asking the hub for the files");
        view.bytes_total = 2 * 1024 * 1024 * 1024;
        view.bytes_done = 512 * 1024 * 1024;
        assert_eq!(progress_text(&view), "512 MiB of 2.00 GiB");
        view.bytes_per_s = 10.0 * 1024.0 * 1024.0;
        view.seconds_left = Some(153.6);
        assert_eq!(
            progress_text(&view),
            "512 MiB of 2.00 GiB · 10.0 MiB/s · 2:33.6 left"
        );
    }

    #[test]
    fn downloads_go_to_the_chosen_folder_or_the_hub_cache() {
        let dir = Path::new("/music/models/mulan");
        assert_eq!(
            download_target(Some(dir)),
            DownloadTarget::Folder(dir.to_path_buf())
        );
        assert!(matches!(download_target(None), DownloadTarget::HubCache(_)));
    }
}
