//! `cargo xtask install`: copy `target/bundled/*.clap` and `*.vst3` into the user's plugin folders.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Usage text for `cargo xtask install`.
pub const USAGE: &str = "\
Usage: cargo xtask install [--clap-dir DIR] [--vst3-dir DIR] [--bundled-dir DIR]

Copies every .clap and .vst3 bundle from target/bundled (run `cargo xtask bundle muq-live
--release` first) into the per-user plugin folders: ~/.clap and ~/.vst3 on Linux,
~/Library/Audio/Plug-Ins/{CLAP,VST3} on macOS, %LOCALAPPDATA%\\Programs\\Common\\{CLAP,VST3} on
Windows. Existing copies are replaced.";

struct Options {
    bundled_dir: PathBuf,
    clap_dir: PathBuf,
    vst3_dir: PathBuf,
}

/// Runs the subcommand with the arguments after `install`.
pub fn run(args: impl Iterator<Item = String>) -> Result<()> {
    nice_plug_xtask::chdir_workspace_root()?;
    let options = parse(args)?;
    let mut num_installed = 0;
    let entries = std::fs::read_dir(&options.bundled_dir).with_context(|| {
        format!(
            "cannot read {}: build the bundles first with `cargo xtask bundle muq-live --release`",
            options.bundled_dir.display()
        )
    })?;
    for entry in entries {
        let source = entry
            .with_context(|| format!("reading {}", options.bundled_dir.display()))?
            .path();
        let dest_dir = match source.extension().and_then(|ext| ext.to_str()) {
            Some("clap") => &options.clap_dir,
            Some("vst3") => &options.vst3_dir,
            _ => continue,
        };
        let Some(name) = source.file_name() else {
            continue;
        };
        std::fs::create_dir_all(dest_dir)
            .with_context(|| format!("cannot create {}", dest_dir.display()))?;
        let dest = dest_dir.join(name);
        replace_with_copy(&source, &dest)?;
        println!("installed {}", dest.display());
        num_installed += 1;
    }
    if num_installed == 0 {
        bail!(
            "no .clap or .vst3 bundles in {}: run `cargo xtask bundle muq-live --release` first",
            options.bundled_dir.display()
        );
    }
    Ok(())
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Options> {
    let (default_clap, default_vst3) = default_plugin_dirs()?;
    let mut options = Options {
        bundled_dir: PathBuf::from("target/bundled"),
        clap_dir: default_clap,
        vst3_dir: default_vst3,
    };
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--clap-dir" => &mut options.clap_dir,
            "--vst3-dir" => &mut options.vst3_dir,
            "--bundled-dir" => &mut options.bundled_dir,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument '{other}'\n\n{USAGE}"),
        };
        *slot = args
            .next()
            .map(PathBuf::from)
            .with_context(|| format!("{arg} needs a folder"))?;
    }
    Ok(options)
}

/// The per-user CLAP and VST3 folders of this OS.
fn default_plugin_dirs() -> Result<(PathBuf, PathBuf)> {
    if cfg!(windows) {
        let base = std::env::var_os("LOCALAPPDATA")
            .map(PathBuf::from)
            .context("LOCALAPPDATA is not set; pass --clap-dir and --vst3-dir")?;
        let common = base.join("Programs").join("Common");
        return Ok((common.join("CLAP"), common.join("VST3")));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set; pass --clap-dir and --vst3-dir")?;
    if cfg!(target_os = "macos") {
        let plugins = home.join("Library/Audio/Plug-Ins");
        Ok((plugins.join("CLAP"), plugins.join("VST3")))
    } else {
        Ok((home.join(".clap"), home.join(".vst3")))
    }
}

/// Copies a file or a bundle folder to `dest`, removing what was there.
fn replace_with_copy(source: &Path, dest: &Path) -> Result<()> {
    if dest.is_dir() {
        std::fs::remove_dir_all(dest)
            .with_context(|| format!("cannot remove {}", dest.display()))?;
    } else if dest.exists() {
        std::fs::remove_file(dest).with_context(|| format!("cannot remove {}", dest.display()))?;
    }
    copy_recursive(source, dest)
}

fn copy_recursive(source: &Path, dest: &Path) -> Result<()> {
    if source.is_dir() {
        std::fs::create_dir_all(dest)
            .with_context(|| format!("cannot create {}", dest.display()))?;
        for entry in
            std::fs::read_dir(source).with_context(|| format!("reading {}", source.display()))?
        {
            let entry = entry.with_context(|| format!("reading {}", source.display()))?;
            copy_recursive(&entry.path(), &dest.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(source, dest)
            .with_context(|| format!("cannot copy {} to {}", source.display(), dest.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_folder_replaces_the_installed_copy() -> Result<()> {
        let root = std::env::temp_dir().join(format!("muq-xtask-install-{}", std::process::id()));
        let source = root.join("bundled/muq-live.vst3/Contents/x86_64-linux");
        std::fs::create_dir_all(&source)?;
        std::fs::write(source.join("muq-live.so"), b"new")?;
        let dest = root.join("vst3/muq-live.vst3");
        std::fs::create_dir_all(dest.join("stale"))?;
        replace_with_copy(&root.join("bundled/muq-live.vst3"), &dest)?;
        let copied = std::fs::read(dest.join("Contents/x86_64-linux/muq-live.so"))?;
        let stale_left = dest.join("stale").exists();
        std::fs::remove_dir_all(&root)?;
        assert_eq!(copied, b"new");
        assert!(!stale_left, "the old install was not removed");
        Ok(())
    }

    #[test]
    fn folders_come_from_the_flags() -> Result<()> {
        let args = ["--clap-dir", "/c", "--vst3-dir", "/v", "--bundled-dir", "b"].map(String::from);
        let options = parse(args.into_iter())?;
        assert_eq!(options.clap_dir, PathBuf::from("/c"));
        assert_eq!(options.vst3_dir, PathBuf::from("/v"));
        assert_eq!(options.bundled_dir, PathBuf::from("b"));
        assert!(parse(["--clap-dir".to_string()].into_iter()).is_err());
        assert!(parse(["--bogus".to_string()].into_iter()).is_err());
        Ok(())
    }
}
