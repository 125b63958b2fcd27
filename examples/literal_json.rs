//! Print dfab's tagged JSON for an environments.py file, in the form
//! `environments.py-compat/oracle.py` prints, or the parse error and exit 1.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: literal_json FILE");
        return ExitCode::from(2);
    };
    let bytes = match fs_err::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match dfab::environments::literal::parse_module_bytes(&bytes) {
        Ok(module) => {
            println!("{}", dfab::environments::literal::tagged_module(&module));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
