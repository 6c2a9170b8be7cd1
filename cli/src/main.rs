//! `muq`: MuQ / MuQ-MuLan command-line tools (the subcommands are in the `muq_cli` library).

fn main() -> std::process::ExitCode {
    muq_cli::main_entry()
}
