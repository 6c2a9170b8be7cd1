//! `cargo xtask`: nice-plug's bundler (`bundle`, `bundle-universal`, `known-packages`) plus
//! `install`, which copies the bundles into the user's CLAP and VST3 folders.

mod install;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    match args.next() {
        Some(command) if command == "install" => install::run(args),
        Some(command) => {
            nice_plug_xtask::main_with_args("cargo xtask", std::iter::once(command).chain(args))
        }
        None => {
            // Let the bundler print its usage, then ours.
            let result = nice_plug_xtask::main_with_args("cargo xtask", std::iter::empty());
            eprintln!("\n{}", install::USAGE);
            result
        }
    }
}
