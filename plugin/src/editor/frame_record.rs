//! What the editor drew in its latest frame, kept for tests and diagnostics: a screenshot test
//! checks the picture against it (the phase text, where its label sits, in which colour).

use parking_lot::{Mutex, MutexGuard};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};

/// The shared [`FrameRecord`] and whether anyone reads it. The editor fills the record only once
/// [`FrameRecorder::enable`] was called (by `MuqLive::frame_record()`: tests, the screenshot
/// probe), so in a DAW a frame takes no lock and copies nothing for it.
#[derive(Debug, Default)]
pub struct FrameRecorder {
    record: Mutex<FrameRecord>,
    enabled: AtomicBool,
}

impl FrameRecorder {
    /// Starts recording frames (from the next frame on).
    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// The latest frame's record (the default until a frame was recorded).
    pub fn lock(&self) -> MutexGuard<'_, FrameRecord> {
        self.record.lock()
    }
}

/// The latest frame's visible state. Written by the editor at the end of every frame it draws
/// (GUI thread), read by whoever holds the plugin's `frame_record()`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FrameRecord {
    /// Frames drawn since the plugin instance was created (counts repaints).
    pub num_frames: u64,
    /// The phase label in the header, e.g. `"analysing"`.
    pub phase_label: String,
    /// The detail line under the header.
    pub phase_detail: String,
    /// The phase label's text colour, RGB.
    pub phase_colour: [u8; 3],
    /// The phase label's rectangle in logical points: left, top, right, bottom.
    pub phase_rect: [f32; 4],
    /// The Settings header's rectangle in logical points (tests click it open).
    pub settings_rect: [f32; 4],
    /// Physical pixels per logical point in this frame.
    pub pixels_per_point: f32,
    /// The editor's size in logical points.
    pub screen_size: [f32; 2],
    /// The status line's items, joined by `" | "`.
    pub status_line: String,
    /// Titles of the cards drawn, top to bottom and left to right, and `"SETTINGS"` when that
    /// section is open.
    pub cards: Vec<String>,
    /// The probe-heads card as drawn (no heads and an empty rectangle when it is not).
    pub probe_card: ProbeCardRecord,
    /// The key source text of the settings section (`"probe head key"`, `"built-in (…)"`);
    /// empty while that section is closed.
    pub key_source: String,
    /// The persisted key method as the key-method chooser names it (`"probe head: key"`).
    pub key_method: String,
    /// Every method the key-method chooser offers this frame, in its order.
    pub key_method_choices: Vec<String>,
    /// The model-download part of the model setup as drawn (default when it is not).
    pub download_card: DownloadCardRecord,
}

/// What the model-download part of the model setup drew.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DownloadCardRecord {
    /// The button the user presses next: "Download model…", "Resume download…", "Download"
    /// (in the confirmation) or "Cancel download"; empty when none is drawn.
    pub button_label: String,
    /// That button's rectangle in logical points: left, top, right, bottom.
    pub button_rect: [f32; 4],
    /// Whether the confirmation (what, where, licence) is open.
    pub confirming: bool,
    /// The progress bar's text while downloading.
    pub progress_text: String,
}

impl DownloadCardRecord {
    /// Records `response` as the next button, labelled `label`.
    pub fn button(&mut self, label: &str, response: &egui::Response) {
        let rect = response.rect;
        self.button_label = label.to_owned();
        self.button_rect = [rect.left(), rect.top(), rect.right(), rect.bottom()];
    }
}

/// What the probe-heads card drew.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProbeCardRecord {
    /// The card's contents rectangle in logical points: left, top, right, bottom.
    pub rect: [f32; 4],
    /// Each head listed, top to bottom.
    pub heads: Vec<ProbeHeadRecord>,
}

/// One head in the probe-heads card.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ProbeHeadRecord {
    /// The head's task, the card's caption for it.
    pub task: String,
    /// The labels listed with bars, best first.
    pub labels: Vec<String>,
}

impl FrameRecord {
    /// The record as one line of JSON (`{}` should serialisation ever fail).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}
