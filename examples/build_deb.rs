//! Builds the project in the first argument into the second: `cargo run --example build_deb -- DIR OUT [gzip|xz|zstd[:N]]`.

use std::path::PathBuf;
use std::process::ExitCode;

use dfab::deb::{build, BuildOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [project, out, rest @ ..] = args.as_slice() else {
        eprintln!("usage: build_deb PROJECT OUT [COMPRESSION]");
        return ExitCode::from(2);
    };
    let mut opts = BuildOptions {
        project_dir: PathBuf::from(project),
        out_dir: PathBuf::from(out),
        progress: std::env::var_os("DFAB_PROGRESS").is_some(),
        ..BuildOptions::default()
    };
    if let Some(c) = rest.first() {
        match c.parse() {
            Ok(c) => opts.compression = c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    match build(&opts) {
        Ok(built) => {
            for b in built {
                println!(
                    "{} {} {} {} files",
                    b.path.display(),
                    b.size,
                    b.sha256,
                    b.files
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
