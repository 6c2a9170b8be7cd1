//! The editor really renders its states. The standalone probe (`muq-live-editor-probe`: the
//! real `MuqLive` in nice-plug's standalone wrapper, `--backend dummy`, with synthesised music
//! fed into its `process()`) runs under Xvfb three times:
//! - no model: the model folder is an empty folder;
//! - listening: the tiny golden MuQ-MuLan, a 10 s window and only 2.5 s of music fed;
//! - analysing: the tiny golden MuQ-MuLan, a 2 s window, 0.5 s hop, music fed continuously;
//! - error: a copy of the tiny model whose weights file is cut short.
//!
//! Each state is saved as `target/screenshots/state_<name>.png`. The editor writes what it drew
//! in each frame to a record file (the phase label and its rectangle and colour, the detail
//! line, the status line, the cards); the test checks the picture against it: many colours and
//! mostly lit pixels inside the editor, the phase label's colour inside the phase label's
//! rectangle, the worker's "running" green, and the state's texts. It also checks that the
//! editor stops repainting when nothing changes and that a persisted window size is restored,
//! then opens the settings section with a click (`xdotool`) and saves `state_settings.png`.
//! `download.rs` clicks the model download through against a local fake hub and saves
//! `state_download_confirm.png` and `state_download.png`. A further test (`probes.rs`) trains two tiny probe heads, restores them into the plugin as
//! its heads folder with the key method `probe:key`, and saves `state_probes.png` and
//! `state_probes_settings.png`.
//!
//! Needs `Xvfb`, ImageMagick's `import` and `xdotool`: run through `scripts/test.sh`, or
//! `cargo test -p muq-live-tests --test editor_screenshot -- --ignored --nocapture`.

#[path = "editor_screenshot/display.rs"]
mod display;
#[path = "editor_screenshot/download.rs"]
mod download;
#[path = "editor_screenshot/heads.rs"]
mod heads;
#[path = "editor_screenshot/probes.rs"]
mod probes;

use anyhow::{Context, Result, bail};
use display::{KillOnDrop, Picture, count_near, screenshot, start_xvfb, xdotool};
use muq_live_tests::target_dir;
use muq_live_tests::torture::golden_case;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The "running" worker state's colour in the status line (`palette::GOOD`).
const RUNNING_GREEN: [u8; 3] = [80, 190, 110];
/// How long a state may take to appear (debug build, software GL, model load).
const STATE_TIMEOUT: Duration = Duration::from_secs(120);

/// One run of the probe under Xvfb.
struct ProbeRun {
    _app: KillOnDrop,
    record: PathBuf,
}

fn start_probe(display: &str, dir: &Path, name: &str, env: &[(&str, String)]) -> Result<ProbeRun> {
    let record = dir.join(format!("state_{name}.json"));
    let _ = std::fs::remove_file(&record);
    let log = std::fs::File::create(dir.join(format!("state_{name}.log")))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_muq-live-editor-probe"));
    command
        .args([
            "--backend",
            "dummy",
            "--sample-rate",
            "48000",
            "--period-size",
            "512",
        ])
        .env("DISPLAY", display)
        .env("MUQ_PROBE_RECORD", &record)
        .stdout(log.try_clone()?)
        .stderr(log);
    for (key, value) in env {
        command.env(key, value);
    }
    let app = command.spawn().context("cannot start the editor probe")?;
    Ok(ProbeRun {
        _app: KillOnDrop(app),
        record,
    })
}

impl ProbeRun {
    /// The editor's latest frame record, once it has drawn one.
    fn record(&self) -> Option<Value> {
        let text = std::fs::read_to_string(&self.record).ok()?;
        let value: Value = serde_json::from_str(&text).ok()?;
        (value["num_frames"].as_u64()? > 0).then_some(value)
    }

    /// Waits until `ready` holds for the frame record; fails after [`STATE_TIMEOUT`] with the
    /// last record.
    fn wait_for(&self, what: &str, ready: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + STATE_TIMEOUT;
        let mut last = None;
        while Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(250));
            if let Some(record) = self.record() {
                if ready(&record) {
                    return Ok(record);
                }
                last = Some(record);
            }
        }
        bail!("timed out waiting for {what}; last frame record: {last:?}")
    }
}

fn text(record: &Value, key: &str) -> String {
    record[key].as_str().unwrap_or_default().to_owned()
}

fn cards(record: &Value) -> Vec<String> {
    record["cards"]
        .as_array()
        .map(|cards| {
            cards
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn floats<const N: usize>(record: &Value, key: &str) -> Result<[f64; N]> {
    let values: Vec<f64> = record[key]
        .as_array()
        .with_context(|| format!("{key} missing in {record}"))?
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    values
        .try_into()
        .map_err(|v| anyhow::anyhow!("{key} has {v:?}"))
}

/// Screenshots taken before a picture counts as not drawn: a loaded machine (two cores, three
/// editors under software GL) can present a frame well after the editor recorded it.
const SCREENSHOT_ATTEMPTS: usize = 20;

/// Screenshots the editor in the state `record` describes and checks the picture against it,
/// taking the screenshot again (every 250 ms, up to [`SCREENSHOT_ATTEMPTS`]) while it does not
/// show the panel yet.
fn check_picture(display: &str, shot: &Path, record: &Value) -> Result<String> {
    let mut outcome = measure_picture(display, shot, record);
    for _ in 1..SCREENSHOT_ATTEMPTS {
        if outcome.as_ref().is_ok_and(|(_, drawn)| *drawn) {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        outcome = measure_picture(display, shot, record);
    }
    let (summary, drawn) = outcome?;
    if !drawn {
        bail!(
            "{summary}: the panel never appeared in {SCREENSHOT_ATTEMPTS} screenshots (too few \
             colours, mostly unlit, or no 'running' green)"
        );
    }
    Ok(summary)
}

/// One screenshot and its checks: the summary, and whether the panel looks drawn. Asserts
/// only when it looks drawn (a blank or partial picture is taken again by the caller).
fn measure_picture(display: &str, shot: &Path, record: &Value) -> Result<(String, bool)> {
    screenshot(display, shot)?;
    let picture = Picture::load(shot)?;
    let ppp = record["pixels_per_point"].as_f64().unwrap_or(1.0);
    let [width, height] = floats::<2>(record, "screen_size")?;
    let editor = picture.region([0, 0, (width * ppp) as usize, (height * ppp) as usize]);
    let num_colours = editor.iter().collect::<HashSet<_>>().len();
    let num_lit = editor.iter().filter(|p| p.iter().any(|&c| c > 16)).count();
    let num_green = count_near(&editor, RUNNING_GREEN);
    let [left, top, right, bottom] = floats::<4>(record, "phase_rect")?;
    let phase_pixels = picture.region([
        (left * ppp).floor() as usize,
        (top * ppp).floor() as usize,
        (right * ppp).ceil() as usize,
        (bottom * ppp).ceil() as usize,
    ]);
    let colour: Vec<u8> = record["phase_colour"]
        .as_array()
        .context("phase_colour")?
        .iter()
        .filter_map(|c| c.as_u64().map(|c| c as u8))
        .collect();
    let colour: [u8; 3] = colour
        .try_into()
        .map_err(|c| anyhow::anyhow!("phase_colour {c:?}"))?;
    let num_phase = count_near(&phase_pixels, colour);
    let summary = format!(
        "{} ({}x{} screen, editor {width}x{height} pt): {num_colours} colours, {num_lit} of {} \
         editor pixels lit, {num_green} running-green pixels, {num_phase} of {} pixels in the \
         phase label's rectangle in its colour {colour:?}",
        shot.display(),
        picture.width,
        picture.height(),
        editor.len(),
        phase_pixels.len()
    );
    let drawn = num_colours >= 32 && num_lit * 2 > editor.len() && num_green > 0;
    if !drawn {
        return Ok((summary, false));
    }
    assert!(
        num_colours >= 32,
        "{summary}: too few colours, nothing rendered?"
    );
    assert!(num_lit * 2 > editor.len(), "{summary}: no panel?");
    assert!(
        num_green > 0,
        "{summary}: the 'running' worker state is missing"
    );
    assert!(
        !phase_pixels.is_empty() && num_phase >= 10,
        "{summary}: the phase label is not drawn where the editor says"
    );
    Ok((summary, true))
}

/// Frames drawn during `seconds` (the record's frame counter).
fn frames_during(run: &ProbeRun, seconds: u64) -> Result<u64> {
    let before = run.record().context("no frame record")?["num_frames"]
        .as_u64()
        .unwrap_or(0);
    std::thread::sleep(Duration::from_secs(seconds));
    let after = run.record().context("no frame record")?["num_frames"]
        .as_u64()
        .unwrap_or(0);
    Ok(after.saturating_sub(before))
}

#[test]
#[ignore = "needs Xvfb and ImageMagick: run scripts/test.sh"]
fn editor_states_no_model_listening_analysing_error() -> Result<()> {
    let (_xvfb, display) = start_xvfb()?;
    let shots_dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&shots_dir)?;
    let mulan = golden_case(|config| config.get("mulan").is_some())?;
    let empty = std::env::temp_dir().join(format!("muq-empty-model-{}", std::process::id()));
    std::fs::create_dir_all(&empty)?;
    let dir_text = |path: &Path| path.display().to_string();

    // 1. No model: the folder is empty; the key still runs on the music.
    {
        let run = start_probe(
            &display,
            &shots_dir,
            "no_model",
            &[
                ("MUQ_PROBE_MODEL_DIR", dir_text(&empty)),
                ("MUQ_PROBE_FEED_S", "inf".to_owned()),
            ],
        )?;
        let record = run.wait_for("the no-model state", |r| {
            text(r, "phase_label") == "key only (no model)"
        })?;
        let summary = check_picture(&display, &shots_dir.join("state_no_model.png"), &record)?;
        let after = run.record().context("record")?;
        println!("no model: {summary}\n  {after}");
        assert_eq!(text(&after, "phase_label"), "key only (no model)");
        assert!(cards(&after).contains(&"MODEL SETUP".to_owned()), "{after}");
        assert!(
            text(&after, "status_line").contains("| no model |"),
            "{after}"
        );
    }
    let _ = std::fs::remove_dir(&empty);

    // 2. Listening: a 10 s window and 2.5 s of music (below the 5 s provisional point).
    {
        let run = start_probe(
            &display,
            &shots_dir,
            "listening",
            &[
                ("MUQ_PROBE_MODEL_DIR", dir_text(&mulan)),
                ("MUQ_PROBE_WINDOW_S", "10".to_owned()),
                ("MUQ_PROBE_FEED_S", "2.5".to_owned()),
            ],
        )?;
        let record = run.wait_for("the listening state after the feed stopped", |r| {
            text(r, "phase_label") == "listening" && text(r, "phase_detail").contains("7.5 s more")
        })?;
        let summary = check_picture(&display, &shots_dir.join("state_listening.png"), &record)?;
        // Nothing changes any more: the editor must not keep redrawing.
        let idle_frames = frames_during(&run, 3)?;
        let after = run.record().context("record")?;
        println!("listening: {summary}\n  {idle_frames} frames in 3 s idle\n  {after}");
        assert_eq!(text(&after, "phase_label"), "listening");
        assert!(
            text(&after, "phase_detail")
                .starts_with("listening: 7.5 s more audio before the first analysis"),
            "{after}"
        );
        assert!(
            !cards(&after).contains(&"MODEL SETUP".to_owned()),
            "{after}"
        );
        assert!(
            idle_frames <= 6,
            "{idle_frames} frames in 3 s without any change: the editor repaints needlessly"
        );
    }

    // 3. Analysing: 2 s windows every 0.5 s; the persisted window size is restored.
    {
        let run = start_probe(
            &display,
            &shots_dir,
            "analysing",
            &[
                ("MUQ_PROBE_MODEL_DIR", dir_text(&mulan)),
                ("MUQ_PROBE_WINDOW_S", "2".to_owned()),
                ("MUQ_PROBE_HOP_S", "0.5".to_owned()),
                ("MUQ_PROBE_FEED_S", "inf".to_owned()),
                ("MUQ_PROBE_EDITOR_SIZE", "800x600".to_owned()),
            ],
        )?;
        let record = run.wait_for("analysed windows with readouts", |r| {
            text(r, "phase_label") == "analysing"
                && text(r, "status_line").contains("ms / window · RTF")
        })?;
        let summary = check_picture(&display, &shots_dir.join("state_analysing.png"), &record)?;
        let busy_frames = frames_during(&run, 2)?;
        let after = run.record().context("record")?;
        println!("analysing: {summary}\n  {busy_frames} frames in 2 s\n  {after}");
        assert_eq!(text(&after, "phase_label"), "analysing");
        let status = text(&after, "status_line");
        assert!(status.contains("| model "), "no model name: {status}");
        assert!(status.contains("ms / window · RTF"), "{status}");
        let drawn = cards(&after);
        for card in ["KEY", "INSTRUMENTS", "GENRE", "TEXT QUERIES"] {
            assert!(
                drawn.contains(&card.to_owned()),
                "{card} missing: {drawn:?}"
            );
        }
        assert!(
            busy_frames >= 2,
            "only {busy_frames} frames in 2 s of 0.5 s hops: snapshots do not wake the editor"
        );
        assert_eq!(
            floats::<2>(&after, "screen_size")?,
            [800.0, 600.0],
            "the persisted editor size was not restored"
        );

        // 4. The settings section (key method, vocabulary and heads folders), opened by a click
        // on its header and scrolled into view.
        let [left, top, right, bottom] = floats::<4>(&after, "settings_rect")?;
        let ppp = after["pixels_per_point"].as_f64().unwrap_or(1.0);
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
        let opened = run.wait_for("the settings section to open", |r| {
            cards(r).contains(&"SETTINGS".to_owned())
        })?;
        xdotool(
            &display,
            &["mousemove", "400", "300", "click", "--repeat", "8", "5"],
        )?;
        std::thread::sleep(Duration::from_millis(800));
        let summary = check_picture(&display, &shots_dir.join("state_settings.png"), &opened)?;
        let scrolled = run.record().context("record")?;
        println!("settings: {summary}\n  {scrolled}");
        assert!(
            cards(&scrolled).contains(&"SETTINGS".to_owned()),
            "{scrolled}"
        );
        let [_, scrolled_top, _, _] = floats::<4>(&scrolled, "settings_rect")?;
        assert!(
            scrolled_top < top,
            "the panel did not scroll to the settings ({scrolled_top} vs {top})"
        );
    }

    // 5. Error: the golden model's folder with its weights cut short.
    {
        let broken = std::env::temp_dir().join(format!("muq-broken-model-{}", std::process::id()));
        broken_model_copy(&mulan, &broken)?;
        let run = start_probe(
            &display,
            &shots_dir,
            "error",
            &[
                ("MUQ_PROBE_MODEL_DIR", dir_text(&broken)),
                ("MUQ_PROBE_WINDOW_S", "2".to_owned()),
                ("MUQ_PROBE_FEED_S", "inf".to_owned()),
            ],
        )?;
        let record = run.wait_for("the error state", |r| text(r, "phase_label") == "error")?;
        let summary = check_picture(&display, &shots_dir.join("state_error.png"), &record)?;
        let after = run.record().context("record")?;
        println!("error: {summary}\n  {after}");
        let _ = std::fs::remove_dir_all(&broken);
        assert_eq!(text(&after, "phase_label"), "error");
        let status = text(&after, "status_line");
        assert!(status.starts_with("error: "), "{status}");
        assert!(status.contains(" | to fix: "), "{status}");
        assert!(cards(&after).contains(&"MODEL SETUP".to_owned()), "{after}");
    }
    Ok(())
}

/// Copies the model folder `from` to `to` with the main weights file truncated to 200 bytes.
fn broken_model_copy(from: &Path, to: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(to);
    for entry in walk(from)? {
        let relative = entry.strip_prefix(from)?;
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let bytes = std::fs::read(&entry)?;
        let keep = if relative == Path::new("model.safetensors") {
            &bytes[..200.min(bytes.len())]
        } else {
            &bytes[..]
        };
        std::fs::write(&target, keep)?;
    }
    Ok(())
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(walk(&path)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}
