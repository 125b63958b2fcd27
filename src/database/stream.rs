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

/// Bytes in a MiB.
const MIB: f64 = 1_048_576.0;

/// A size as people read it, in the binary units transfers use: `3955 bytes`, `3.9 KiB`,
/// `3.8 MiB`, `1.2 GiB`.
#[must_use]
pub fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // a display figure
    let b = bytes as f64;
    if bytes < 1 << 10 {
        format!("{bytes} bytes")
    } else if bytes < 1 << 20 {
        format!("{:.1} KiB", b / 1024.0)
    } else if bytes < 1 << 30 {
        format!("{:.1} MiB", b / MIB)
    } else {
        format!("{:.1} GiB", b / MIB / 1024.0)
    }
}

/// `3.8 MiB in 1.2 s (3.2 MiB/s)`, as transfers say it; the size alone under 1 MiB or 0.1 s,
/// where a rate says nothing.
#[must_use]
pub fn rate(bytes: u64, secs: f64) -> String {
    if bytes < 1 << 20 || secs < 0.1 {
        return size(bytes);
    }
    #[allow(clippy::cast_precision_loss)] // a display figure
    let mib = bytes as f64 / MIB;
    format!("{} in {secs:.1} s ({:.1} MiB/s)", size(bytes), mib / secs)
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

#[cfg(test)]
mod tests {
    use super::{rate, size};

    // The dumps' rates read `(0.0 MB/s)` for a few KB, and in MB/s where transfers say MiB/s.
    #[test]
    fn rates_are_in_mib_and_only_for_a_mib_over_a_tenth_of_a_second() {
        assert_eq!(size(3955), "3.9 KiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(size(3 << 30), "3.0 GiB");
        assert_eq!(rate(3955, 2.0), "3.9 KiB");
        assert_eq!(rate(8 << 20, 0.05), "8.0 MiB");
        assert_eq!(rate(8 << 20, 2.0), "8.0 MiB in 2.0 s (4.0 MiB/s)");
    }
}
