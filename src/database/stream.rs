//! Piping a command's standard input from a reader and its standard output into a writer: the
//! one place the database tasks move dump bytes through a host.
//!
//! Until `Transport::exec_io` lands this buffers the bytes in memory (correct, not yet bounded);
//! every caller goes through [`exec_io`], so switching is one function.

use std::io::{Read, Write};

use crate::error::Result;
use crate::transport::cmd::Cmd;
use crate::transport::{Output, Transport};

/// Run `cmd` on `t`: its stdin is `input` (after any secrets the command reads first), its
/// stdout goes to `out` (and is not kept in the returned [`Output`]), its stderr is captured.
pub fn exec_io(
    t: &mut dyn Transport,
    cmd: &Cmd,
    input: Option<&mut (dyn Read + Send)>,
    out: Option<&mut (dyn Write + Send)>,
) -> Result<Output> {
    let mut cmd = cmd.clone().without_sudo_if_root(t.login_user());
    if let Some(r) = input {
        let mut data = cmd.stdin.take().unwrap_or_default();
        r.read_to_end(&mut data)?;
        cmd = cmd.stdin(data);
    }
    let mut o = t.exec(&cmd, None)?;
    if let Some(w) = out {
        w.write_all(&o.stdout)?;
        w.flush()?;
        o.stdout = Vec::new();
    }
    Ok(o)
}

/// A writer that hashes and counts what passes through it.
pub struct Hashing<W> {
    pub inner: W,
    pub sha: sha2::Sha256,
    pub bytes: u64,
}

impl<W> Hashing<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            sha: sha2::Digest::new(),
            bytes: 0,
        }
    }

    /// The lowercase hex SHA-256 of everything written.
    pub fn hex(&self) -> String {
        crate::transport::hex(&sha2::Digest::finalize(self.sha.clone()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        sha2::Digest::update(&mut self.sha, &buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `N bytes in T s (R MB/s)`.
#[must_use]
pub fn rate(bytes: u64, secs: f64) -> String {
    #[allow(clippy::cast_precision_loss)] // a display figure
    let mb = bytes as f64 / 1e6;
    format!(
        "{bytes} bytes in {secs:.1} s ({:.1} MB/s)",
        mb / secs.max(1e-3)
    )
}
