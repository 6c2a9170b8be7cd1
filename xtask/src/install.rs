//! `cargo xtask install`: copy `target/bundled/*.clap` and `*.vst3` into the user's plugin folders,
//! and the `muq` command-line tool (when built) into the user's command folder.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

/// Usage text for `cargo xtask install`.
pub const USAGE: &str = "\
Usage: cargo xtask install [--clap-dir DIR] [--vst3-dir DIR] [--bin-dir DIR] [--bundled-dir DIR]

Copies every .clap and .vst3 bundle from target/bundled (run `cargo xtask bundle muq-live
--release` first) into the per-user plugin folders: ~/.clap and ~/.vst3 on Linux,
~/Library/Audio/Plug-Ins/{CLAP,VST3} on macOS, %LOCALAPPDATA%\\Programs\\Common\\{CLAP,VST3} on
Windows. Then copies the `muq` command-line tool from target/release (built by
`cargo build --release -p muq-cli --bin muq`; skipped with a note when absent) into
--bin-dir: ~/.local/bin on Linux and macOS, %LOCALAPPDATA%\\Programs\\muq on Windows.
Existing copies are replaced.";

struct Options {
    bundled_dir: PathBuf,
    clap_dir: PathBuf,
    vst3_dir: PathBuf,
    bin_dir: PathBuf,
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
    install_cli(Path::new("target/release"), &options.bin_dir)
}

/// Copies `muq` from `release_dir` into `bin_dir`, or says how to build it.
fn install_cli(release_dir: &Path, bin_dir: &Path) -> Result<()> {
    let name = format!("muq{}", std::env::consts::EXE_SUFFIX);
    let source = release_dir.join(&name);
    if !source.is_file() {
        println!(
            "muq (the command-line tool) is not built; `cargo build --release -p muq-cli \
             --bin muq` builds it (scripts/install.sh does)"
        );
        return Ok(());
    }
    std::fs::create_dir_all(bin_dir)
        .with_context(|| format!("cannot create {}", bin_dir.display()))?;
    let dest = bin_dir.join(&name);
    replace_with_copy(&source, &dest)?;
    println!("installed {}", dest.display());
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir == bin_dir));
    if !on_path {
        println!(
            "note: {} is not on your PATH; add it (e.g. in ~/.profile) to run `muq` by name",
            bin_dir.display()
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
        bin_dir: default_bin_dir()?,
    };
    while let Some(arg) = args.next() {
        let slot = match arg.as_str() {
            "--clap-dir" => &mut options.clap_dir,
            "--vst3-dir" => &mut options.vst3_dir,
            "--bin-dir" => &mut options.bin_dir,
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

/// The per-user folder for commands.
fn default_bin_dir() -> Result<PathBuf> {
    if cfg!(windows) {
        let base = std::env::var_os("LOCALAPPDATA")
            .map(PathBuf::from)
            .context("LOCALAPPDATA is not set; pass --bin-dir")?;
        return Ok(base.join("Programs").join("muq"));
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .context("HOME is not set; pass --bin-dir")?;
    Ok(home.join(".local").join("bin"))
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
    fn the_cli_is_copied_when_built() -> Result<()> {
        let root = std::env::temp_dir().join(format!("muq-xtask-cli-{}", std::process::id()));
        let release = root.join("release");
        std::fs::create_dir_all(&release)?;
        let bin_dir = root.join("bin");
        install_cli(&release, &bin_dir)?;
        let name = format!("muq{}", std::env::consts::EXE_SUFFIX);
        let skipped = !bin_dir.join(&name).exists();
        std::fs::write(release.join(&name), b"cli")?;
        install_cli(&release, &bin_dir)?;
        let copied = std::fs::read(bin_dir.join(&name))?;
        std::fs::remove_dir_all(&root)?;
        assert!(skipped, "nothing to copy before the build");
        assert_eq!(copied, b"cli");
        Ok(())
    }

    #[test]
    fn folders_come_from_the_flags() -> Result<()> {
        let args = [
            "--clap-dir",
            "/c",
            "--vst3-dir",
            "/v",
            "--bundled-dir",
            "b",
            "--bin-dir",
            "/bin-here",
        ]
        .map(String::from);
        let options = parse(args.into_iter())?;
        assert_eq!(options.bin_dir, PathBuf::from("/bin-here"));
        assert_eq!(options.clap_dir, PathBuf::from("/c"));
        assert_eq!(options.vst3_dir, PathBuf::from("/v"));
        assert_eq!(options.bundled_dir, PathBuf::from("b"));
        assert!(parse(["--clap-dir".to_string()].into_iter()).is_err());
        assert!(parse(["--bogus".to_string()].into_iter()).is_err());
        Ok(())
    }
}
