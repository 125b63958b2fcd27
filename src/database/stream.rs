//! Piping a command's standard input from a reader and its standard output into a writer: the
//! one place the database tasks move dump bytes through a host, on the transport's streamed
//! `exec_io` (bounded memory).

use std::io::{Read, Write};

use crate::error::Result;
use crate::transport::cmd::Cmd;
use crate::transport::{Io, Output, Transport};

/// Run `cmd` on `t`: its stdin is `input` (after any secrets the command reads first), its
/// stdout goes to `out` (and is not kept in the returned [`Output`]), its stderr is captured.
pub fn exec_io<'a>(
    t: &mut dyn Transport,
    cmd: &Cmd,
    input: Option<&'a mut (dyn Read + Send)>,
    out: Option<&'a mut (dyn Write + Send)>,
) -> Result<Output> {
    let cmd = cmd.clone().without_sudo_if_root(t.login_user());
    t.exec_io(
        &cmd,
        Io {
            stdin: input,
            stdout: out,
        },
        None,
    )
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

/// A bounded in-memory pipe (a few chunks in flight): one thread writes a command's output, the
/// other reads it as the next command's input. Dropping the writer ends the reader's stream;
/// dropping the reader makes writes fail (`BrokenPipe`).
#[must_use]
pub fn pipe() -> (PipeReader, PipeWriter) {
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    (
        PipeReader {
            rx,
            buf: Vec::new(),
            pos: 0,
        },
        PipeWriter { tx },
    )
}

/// The reading end of [`pipe`].
pub struct PipeReader {
    rx: std::sync::mpsc::Receiver<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
}

/// The writing end of [`pipe`].
pub struct PipeWriter {
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl Read for PipeReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(chunk) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for PipeWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        self.tx
            .send(data.to_vec())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
