//! The env's `PostgreSQL` database: where it is ([`DbTarget`]), and the dump, push, migrate and
//! clone work built from it as `Cmd` values.

pub mod clone;
pub mod dump;
mod error;
pub mod identity;
pub mod lock;
pub mod migrate;
pub mod props;
pub mod push;
mod quiet;
pub mod session;
pub mod sidecar;
pub mod sql;
pub mod stream;
mod target;

pub use error::{CountDiff, DbError};
pub use target::{DbTarget, Role};

use std::path::Path;

use crate::error::Result;
use crate::report::Reporter;
use crate::transport::Transport;

/// Push a local dump file: verify it (`pg_restore --list`, and the sidecar's checksum), upload
/// it unless the host holds the same bytes, then restore and swap. Under `-n` the file may not
/// exist yet (the dump of an earlier step of this run): the same calls are made, with nothing
/// read here and nothing sent. `base` is the project directory, that paths are shown from.
pub fn push_file(
    push: &push::Push,
    file: &Path,
    base: &Path,
    t: &mut dyn Transport,
    rep: &dyn Reporter,
) -> Result<()> {
    let made_later = t.recording() && !file.exists();
    let (sha256, payload) = if made_later {
        let counts = push::Counts::Pending;
        (String::new(), push::Payload { size: 0, counts })
    } else {
        checked(file, rep)?
    };
    let host = t.host().to_string();
    if push.host_has(t, &sha256, rep)? {
        rep.info(&format!(
            "[{host}] upload skipped: {} holds this dump (sha256 {})",
            push.remote,
            &sha256[..16]
        ));
    } else if t.recording() {
        // The recorder reads nothing (and the file may be an earlier step's, not made yet).
        push.upload(t, &mut std::io::empty(), rep)?;
        rep.info(&format!(
            "[{host}] would upload {} to {}",
            crate::fsutil::shown(file, base),
            push.remote
        ));
    } else {
        let started = std::time::Instant::now();
        let sent = push.upload(t, &mut fs_err::File::open(file)?, rep)?;
        rep.info(&format!(
            "[{host}] uploaded {} to {}",
            stream::rate(sent.bytes, started.elapsed().as_secs_f64()),
            push.remote
        ));
    }
    push.restore_and_swap(t, &payload, rep)
}

/// Verify a local dump and read its sha256, size and the counts of its sidecar.
fn checked(file: &Path, rep: &dyn Reporter) -> Result<(String, push::Payload)> {
    dump::verify(file, rep)?;
    let side = sidecar::Sidecar::read(file)?;
    let (sha256, size) = push::file_digest(file)?;
    let counts = match side {
        Some(s) if s.sha256 != sha256 => {
            return Err(DbError::NotTheSidecars {
                file: file.to_path_buf(),
                got: sha256,
                want: s.sha256,
            }
            .into())
        }
        Some(s) => push::Counts::Known(s.tables),
        None => push::Counts::Absent,
    };
    Ok((sha256, push::Payload { size, counts }))
}
