//! The `dfab` binary: a thin shell over the library.

fn main() -> std::process::ExitCode {
    dfab::main_entry(std::env::args_os())
}
