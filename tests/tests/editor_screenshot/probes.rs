//! The probe-heads state: two tiny heads trained here ([`super::heads`]) in a heads folder,
//! restored into the standalone plugin as its persisted `heads-dir` and `key-method`
//! (`probe:key`), music fed continuously. Saves `state_probes.png` (the probe-heads card) and
//! `state_probes_settings.png` (the settings section with the key source) and checks them
//! against the frame record: the card lists both heads with their own labels and is painted
//! in the probe colour, the key-method chooser offers the key head (and only it), and the key
//! source reads "probe head key".

use super::display::{Picture, count_near, start_xvfb, xdotool};
use super::heads::{KEY_LABELS, KEY_TASK, TIMBRE_LABELS, TIMBRE_TASK, train_heads};
use super::{cards, check_picture, floats, start_probe, text};
use anyhow::{Context, Result};
use muq_live_tests::target_dir;
use muq_live_tests::torture::golden_case;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// The probe-heads bars' colour (`palette::PROBE`).
const PROBE_COLOUR: [u8; 3] = [170, 130, 60];

/// The heads the probe card lists: `(task, labels)`.
fn card_heads(record: &Value) -> Vec<(String, Vec<String>)> {
    let strings = |value: &Value| -> Vec<String> {
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    record["probe_card"]["heads"]
        .as_array()
        .map(|heads| {
            heads
                .iter()
                .map(|head| (text(head, "task"), strings(&head["labels"])))
                .collect()
        })
        .unwrap_or_default()
}

/// Checks that the card lists `task` with `num_labels` labels, all of them the head's.
fn assert_head(heads: &[(String, Vec<String>)], task: &str, allowed: &[&str], num_labels: usize) {
    let Some((_, labels)) = heads.iter().find(|(t, _)| t == task) else {
        panic!("the probe card does not list {task}: {heads:?}");
    };
    assert_eq!(labels.len(), num_labels, "{task}: {labels:?}");
    for label in labels {
        assert!(
            allowed.contains(&label.as_str()),
            "{task} lists {label:?}, not one of its labels {allowed:?}"
        );
    }
}

#[test]
#[ignore = "needs Xvfb and ImageMagick: run scripts/test.sh"]
fn editor_state_probe_heads_and_probe_key() -> Result<()> {
    let shots_dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&shots_dir)?;
    let mulan = golden_case(|config| config.get("mulan").is_some())?;
    let heads_dir = std::env::temp_dir().join(format!("muq-probe-heads-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&heads_dir);
    let started = Instant::now();
    for head in train_heads(&mulan, &heads_dir)? {
        println!(
            "trained {}: {} windows, validation accuracy {:.2}",
            head.task, head.num_windows, head.val_accuracy
        );
    }
    println!("training took {:.1} s", started.elapsed().as_secs_f64());
    let result = probes_state(&shots_dir, &mulan, &heads_dir);
    let _ = std::fs::remove_dir_all(&heads_dir);
    result
}

fn probes_state(shots_dir: &Path, mulan: &Path, heads_dir: &Path) -> Result<()> {
    let (_xvfb, display) = start_xvfb()?;
    let dir_text = |path: &Path| path.display().to_string();
    let run = start_probe(
        &display,
        shots_dir,
        "probes",
        &[
            ("MUQ_PROBE_MODEL_DIR", dir_text(mulan)),
            ("MUQ_PROBE_HEADS_DIR", dir_text(heads_dir)),
            ("MUQ_PROBE_KEY_METHOD", format!("probe:{KEY_TASK}")),
            ("MUQ_PROBE_WINDOW_S", "2".to_owned()),
            ("MUQ_PROBE_HOP_S", "1".to_owned()),
            ("MUQ_PROBE_FEED_S", "inf".to_owned()),
            ("MUQ_PROBE_EDITOR_SIZE", "1000x760".to_owned()),
        ],
    )?;
    let record = run.wait_for("the probe-heads card with both heads", |r| {
        text(r, "phase_label") == "analysing" && card_heads(r).len() == 2
    })?;
    let shot = shots_dir.join("state_probes.png");
    let summary = check_picture(&display, &shot, &record)?;
    let heads = card_heads(&record);
    assert!(
        cards(&record).contains(&"PROBE HEADS".to_owned()),
        "{record}"
    );
    assert_head(&heads, TIMBRE_TASK, &TIMBRE_LABELS, TIMBRE_LABELS.len());
    assert_head(&heads, KEY_TASK, &KEY_LABELS, 3);

    // The card's bars are on screen in the probe colour, inside the card's rectangle.
    let picture = Picture::load(&shot)?;
    let ppp = record["pixels_per_point"].as_f64().unwrap_or(1.0);
    let [left, top, right, bottom] = floats::<4>(&record["probe_card"], "rect")?;
    let card_pixels = picture.region([
        (left * ppp).floor() as usize,
        (top * ppp).floor() as usize,
        (right * ppp).ceil() as usize,
        (bottom * ppp).ceil() as usize,
    ]);
    let num_probe = count_near(&card_pixels, PROBE_COLOUR);
    let num_probe_total = count_near(&picture.pixels, PROBE_COLOUR);
    let num_colours = card_pixels
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len();
    println!(
        "probes: {summary}\n  probe card {:.0}x{:.0} pt: {num_probe} probe-colour pixels \
         ({num_probe_total} in the whole picture), {num_colours} colours\n  {record}",
        right - left,
        bottom - top
    );
    assert!(
        card_pixels.len() > 10_000,
        "the probe card is tiny or off screen: {:?}",
        [left, top, right, bottom]
    );
    assert!(
        num_probe >= 200,
        "{num_probe} probe-colour pixels in the probe card: no bars drawn"
    );
    assert!(
        num_probe * 10 >= num_probe_total * 9,
        "probe-colour pixels outside the card's rectangle: {num_probe} of {num_probe_total}"
    );
    assert!(num_colours >= 16, "{num_colours} colours in the probe card");

    // The key-method chooser offers the key head, not the timbre head, and names the restored
    // method.
    let choices: Vec<String> = record["key_method_choices"]
        .as_array()
        .context("key_method_choices")?
        .iter()
        .filter_map(|c| c.as_str().map(str::to_owned))
        .collect();
    let key_choice = format!("probe head: {KEY_TASK}");
    assert!(choices.contains(&key_choice), "{choices:?}");
    assert!(
        !choices.iter().any(|c| c.contains(TIMBRE_TASK)),
        "{choices:?}"
    );
    assert_eq!(text(&record, "key_method"), key_choice);
    assert_eq!(text(&record, "key_source"), "", "settings closed: {record}");

    // Open the settings section; the key source reads "probe head key".
    let [left, top, right, bottom] = floats::<4>(&record, "settings_rect")?;
    let (x, y) = ((left + right) / 2.0 * ppp, (top + bottom) / 2.0 * ppp);
    xdotool(
        &display,
        &[
            "mousemove",
            &format!("{x:.0}"),
            &format!("{y:.0}"),
            "click",
            "1",
        ],
    )?;
    let opened = run.wait_for("the settings section with the key source", |r| {
        cards(r).contains(&"SETTINGS".to_owned()) && !text(r, "key_source").is_empty()
    })?;
    xdotool(
        &display,
        &["mousemove", "500", "380", "click", "--repeat", "8", "5"],
    )?;
    std::thread::sleep(Duration::from_millis(800));
    let summary = check_picture(
        &display,
        &shots_dir.join("state_probes_settings.png"),
        &opened,
    )?;
    let after = run.record().context("record")?;
    println!("probes, settings: {summary}\n  {after}");
    assert_eq!(
        text(&after, "key_source"),
        format!("probe head {KEY_TASK}"),
        "{after}"
    );
    Ok(())
}
