//! The model download from the panel, clicked through as a user does: the standalone plugin
//! with an empty model folder, `HF_ENDPOINT` pointing at a hub on the loopback address
//! (`muq_live_tests::fake_hub`, serving the tiny golden MuQ-MuLan slowly). A click on
//! "Download model…" opens the confirmation (what, where, the CC BY-NC licence), saved as
//! `state_download_confirm.png`; a click on "Download" starts it, and the card with its
//! progress bar is saved as `state_download.png`; then the plugin must find the model by itself
//! and analyse.

use super::display::{start_xvfb, xdotool};
use super::{check_picture, floats, start_probe, text};
use anyhow::Result;
use muq_live_tests::fake_hub::{FakeHub, Faults};
use muq_live_tests::golden_hub::golden_mulan_hub_files;
use muq_live_tests::target_dir;
use serde_json::Value;

/// Clicks the middle of the download card's recorded button.
fn click_download_button(display: &str, record: &Value) -> Result<()> {
    let [left, top, right, bottom] = floats::<4>(&record["download_card"], "button_rect")?;
    let ppp = record["pixels_per_point"].as_f64().unwrap_or(1.0);
    let (x, y) = ((left + right) / 2.0 * ppp, (top + bottom) / 2.0 * ppp);
    xdotool(
        display,
        &[
            "mousemove",
            &format!("{x:.0}"),
            &format!("{y:.0}"),
            "click",
            "1",
        ],
    )
}

fn button(record: &Value) -> String {
    text(&record["download_card"], "button_label")
}

#[test]
#[ignore = "needs Xvfb, ImageMagick and xdotool: run scripts/test.sh"]
fn editor_state_model_download_from_the_panel() -> Result<()> {
    let (_xvfb, display) = start_xvfb()?;
    let shots_dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&shots_dir)?;
    let hub = FakeHub::start(golden_mulan_hub_files()?)?;
    // About 8 s for the checkpoint: long enough to see the progress, short for a test.
    hub.set_faults(Faults {
        lfs_bytes_per_s: Some(70_000),
        ..Faults::default()
    });
    let model_dir = tempfile::tempdir()?;
    let run = start_probe(
        &display,
        &shots_dir,
        "download",
        &[
            (
                "MUQ_PROBE_MODEL_DIR",
                model_dir.path().display().to_string(),
            ),
            ("MUQ_PROBE_FEED_S", "inf".to_owned()),
            ("MUQ_PROBE_WINDOW_S", "2".to_owned()),
            ("MUQ_PROBE_HOP_S", "0.5".to_owned()),
            ("HF_ENDPOINT", hub.endpoint()),
        ],
    )?;
    let record = run.wait_for("the no-model state with a download button", |r| {
        text(r, "phase_label") == "key only (no model)" && button(r) == "Download model…"
    })?;
    click_download_button(&display, &record)?;
    let confirm = run.wait_for("the download confirmation", |r| {
        r["download_card"]["confirming"] == true && button(r) == "Download"
    })?;
    let summary = check_picture(
        &display,
        &shots_dir.join("state_download_confirm.png"),
        &confirm,
    )?;
    println!("download confirmation: {summary}");
    click_download_button(&display, &confirm)?;
    let downloading = run.wait_for("the download's progress", |r| {
        let progress = text(&r["download_card"], "progress_text");
        button(r) == "Cancel download" && progress.contains(" of ") && progress.contains("/s")
    })?;
    let summary = check_picture(
        &display,
        &shots_dir.join("state_download.png"),
        &downloading,
    )?;
    println!(
        "downloading: {summary}\n  {}",
        text(&downloading["download_card"], "progress_text")
    );
    assert_eq!(hub.num_lfs_gets(), 1);
    let analysing = run.wait_for("the downloaded model analysing", |r| {
        text(r, "phase_label") == "analysing"
    })?;
    println!("after the download: {}", text(&analysing, "status_line"));
    assert!(model_dir.path().join("pytorch_model.bin").is_file());
    Ok(())
}
