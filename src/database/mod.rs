//! The env's `PostgreSQL` database: where it is ([`DbTarget`]), and the dump, push, migrate and
//! clone work built from it as `Cmd` values.

pub mod clone;
pub mod dump;
pub mod migrate;
pub mod push;
pub mod sidecar;
pub mod sql;
pub mod stream;
mod target;

pub use target::DbTarget;

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::Reporter;
use crate::transport::Transport;

/// Push a local dump file: verify it (`pg_restore --list`, and the sidecar's checksum), upload
/// it unless the host holds the same bytes, then restore and swap.
pub fn push_file(
    push: &push::Push,
    file: &Path,
    t: &mut dyn Transport,
    rep: &dyn Reporter,
) -> Result<()> {
    if t.recording() && !file.exists() {
        // `-n`, with the dump made by an earlier step of this run.
        rep.command(
            t.host(),
            "put",
            &crate::transport::cmd::Cmd::new(
                "put",
                [file.display().to_string(), push.remote.clone()],
            ),
        );
        let none = push::Payload {
            sha256: String::new(),
            size: 0,
            sidecar: None,
        };
        return push.restore_and_swap(t, &none, rep);
    }
    dump::verify(file)?;
    let side = sidecar::Sidecar::read(file)?;
    let (sha256, size) = push::file_digest(file)?;
    if let Some(s) = side.as_ref().filter(|s| s.sha256 != sha256) {
        return Err(Error::other(
            format!(
                "{} does not match its sidecar: sha256 {sha256}, the sidecar says {}",
                file.display(),
                s.sha256
            ),
            Some("the file changed or is damaged since it was dumped; dump again".into()),
        ));
    }
    if push.host_has(t, &sha256)? {
        rep.info(&format!(
            "[{}] {} already holds this dump (sha256 {}): upload skipped",
            t.host(),
            push.remote,
            &sha256[..16]
        ));
    } else {
        let mut f = fs_err::File::open(file)?;
        push.upload(t, &mut f, rep)?;
    }
    push.restore_and_swap(
        t,
        &push::Payload {
            sha256,
            size,
            sidecar: side,
        },
        rep,
    )
}
