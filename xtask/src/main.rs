//! `cargo xtask`: nice-plug's bundler (`bundle`, `bundle-universal`, `known-packages`) plus
//! `install`, which copies the bundles into the user's CLAP and VST3 folders.

mod install;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    if command.as_deref() == Some("install") {
        return install::run(args);
    }
    let result = nice_plug_xtask::main_with_args("cargo xtask", command.into_iter().chain(args));
    if result.is_err() {
        // The bundler's usage text does not know about `install`.
        eprintln!("\n{}\n", install::USAGE);
    }
    result
}
