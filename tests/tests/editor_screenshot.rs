//! The editor really renders: the standalone build (`--backend dummy`, no audio hardware) runs
//! under Xvfb, a screenshot of the screen is saved to `target/screenshots/editor.png`, and the
//! picture must contain the panel: many distinct colours (anti-aliased text), enough non-black
//! pixels inside the editor's rectangle, and the green of the "running" worker state.
//!
//! Needs `Xvfb` and ImageMagick's `import`: run through `scripts/test.sh`.

use anyhow::{Context, Result, bail};
use muq_live_tests::target_dir;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps a child process we started when dropped (also on test failure).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display (it reports the number through `-displayfd`).
fn start_xvfb() -> Result<(KillOnDrop, String)> {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "800x600x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start Xvfb (apt-get install xvfb, or run scripts/test.sh)")?;
    let mut stdout = child.stdout.take().context("no Xvfb stdout")?;
    let mut guard = KillOnDrop(child);
    let mut number = String::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
        number.push(byte[0] as char);
    }
    if number.trim().is_empty() {
        let status = guard.0.try_wait()?;
        bail!("Xvfb did not report a display number (status {status:?})");
    }
    Ok((guard, format!(":{}", number.trim())))
}

fn screenshot(display: &str, path: &Path) -> Result<()> {
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(path)
        .status()
        .context("cannot run ImageMagick's import (apt-get install imagemagick)")?;
    if !status.success() {
        bail!("import failed: {status}");
    }
    Ok(())
}

/// RGB pixels of an 8-bit RGB or RGBA PNG, with its width.
fn decode_png(path: &Path) -> Result<(Vec<[u8; 3]>, usize)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path)?));
    let mut reader = decoder.read_info()?;
    let size = reader.output_buffer_size().context("PNG too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf)?;
    let step = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        other => bail!("unexpected PNG format {other:?}"),
    };
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(step)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok((pixels, info.width as usize))
}

#[test]
#[ignore = "needs Xvfb and ImageMagick: run scripts/test.sh"]
fn standalone_editor_renders_the_status_panel() -> Result<()> {
    let (_xvfb, display) = start_xvfb()?;
    let shots_dir = target_dir().join("screenshots");
    std::fs::create_dir_all(&shots_dir)?;
    let shot: PathBuf = shots_dir.join("editor.png");
    let log = std::fs::File::create(shots_dir.join("editor-standalone.log"))?;
    let app = Command::new(env!("CARGO_BIN_EXE_muq-live-editor-probe"))
        .args([
            "--backend",
            "dummy",
            "--sample-rate",
            "48000",
            "--period-size",
            "512",
        ])
        .env("DISPLAY", &display)
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .context("cannot start the standalone editor")?;
    let mut app = KillOnDrop(app);

    // Poll until the panel is up (a debug build with a software GL renderer takes a few seconds).
    let deadline = Instant::now() + Duration::from_secs(60);
    let (pixels, width, num_colours, num_lit, num_running_green) = loop {
        std::thread::sleep(Duration::from_millis(1500));
        if let Some(status) = app.0.try_wait()? {
            bail!(
                "the standalone exited early with {status}; see {}",
                shots_dir.display()
            );
        }
        screenshot(&display, &shot)?;
        let (pixels, width) = decode_png(&shot)?;
        // Only the editor's rectangle (no window manager: the window sits at 0,0).
        let editor: Vec<[u8; 3]> = pixels
            .chunks_exact(width)
            .take(muq_live::editor::EDITOR_HEIGHT as usize)
            .flat_map(|row| {
                row[..muq_live::editor::EDITOR_WIDTH as usize]
                    .iter()
                    .copied()
            })
            .collect();
        let num_colours = editor.iter().collect::<HashSet<_>>().len();
        let num_lit = editor.iter().filter(|p| p.iter().any(|&c| c > 16)).count();
        // The "running" label is drawn in (80, 190, 110); anti-aliasing leaves its core pixels.
        let num_running_green = editor.iter().filter(|p| **p == [80, 190, 110]).count();
        if num_running_green > 0 || Instant::now() > deadline {
            break (pixels, width, num_colours, num_lit, num_running_green);
        }
    };
    let editor_area = (muq_live::editor::EDITOR_WIDTH * muq_live::editor::EDITOR_HEIGHT) as usize;
    println!(
        "screenshot {} ({} x {}): {num_colours} colours, {num_lit} lit pixels of {editor_area}, \
         {num_running_green} 'running' green pixels",
        shot.display(),
        width,
        pixels.len() / width
    );
    assert!(
        num_colours >= 32,
        "only {num_colours} distinct colours: nothing rendered?"
    );
    assert!(
        num_lit * 2 > editor_area,
        "only {num_lit} of {editor_area} pixels lit: no panel?"
    );
    assert!(
        num_running_green > 0,
        "no pixel in the 'running' colour: the worker state is missing"
    );
    Ok(())
}
