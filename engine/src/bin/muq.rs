//! `muq`: MuQ / MuQ-MuLan command-line tools (see `muq_engine::cli`).

fn main() -> std::process::ExitCode {
    muq_engine::cli::main_entry()
}
