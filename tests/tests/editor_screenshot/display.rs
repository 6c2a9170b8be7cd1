//! The X side of the editor screenshot test: a private Xvfb display, screenshots with
//! ImageMagick's `import`, synthetic mouse input with `xdotool`, and reading the PNGs back.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Kills and reaps a child process we started when dropped (also on test failure).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts Xvfb on a free display (it reports the number through `-displayfd`).
pub fn start_xvfb() -> Result<(KillOnDrop, String)> {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1024x768x24",
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

pub fn screenshot(display: &str, path: &Path) -> Result<()> {
    // `PNG24:` keeps the file 8-bit RGB even when the screen has few colours (a blank screen
    // would otherwise be written as 1-bit grayscale).
    let mut target = std::ffi::OsString::from("PNG24:");
    target.push(path);
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(target)
        .status()
        .context("cannot run ImageMagick's import (apt-get install imagemagick)")?;
    if !status.success() {
        bail!("import failed: {status}");
    }
    Ok(())
}

/// An 8-bit RGB(A) PNG as RGB pixels.
pub struct Picture {
    /// Pixels row by row.
    pub pixels: Vec<[u8; 3]>,
    /// Pixels per row.
    pub width: usize,
}

impl Picture {
    pub fn load(path: &Path) -> Result<Self> {
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
        Ok(Self {
            pixels,
            width: info.width as usize,
        })
    }

    pub fn height(&self) -> usize {
        self.pixels.len() / self.width.max(1)
    }

    /// The pixels of the rectangle `[left, top, right, bottom)` (clipped to the picture).
    pub fn region(&self, rect: [usize; 4]) -> Vec<[u8; 3]> {
        let [left, top, right, bottom] = rect;
        let (right, bottom) = (right.min(self.width), bottom.min(self.height()));
        (top.min(bottom)..bottom)
            .flat_map(|y| {
                let row = &self.pixels[y * self.width..(y + 1) * self.width];
                row[left.min(right)..right].iter().copied()
            })
            .collect()
    }
}

/// Pixels within 12 levels per channel of `colour`.
pub fn count_near(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
    pixels
        .iter()
        .filter(|p| p.iter().zip(colour).all(|(&a, b)| a.abs_diff(b) <= 12))
        .count()
}

/// Runs `xdotool` on `display` (synthetic mouse input).
pub fn xdotool(display: &str, args: &[&str]) -> Result<()> {
    let status = Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .status()
        .context("cannot run xdotool (apt-get install xdotool)")?;
    if !status.success() {
        bail!("xdotool {args:?} failed: {status}");
    }
    Ok(())
}
