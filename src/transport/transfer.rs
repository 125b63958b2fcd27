//! Hashing adapters for streamed transfers: sha256 on the stream, never a whole file in memory.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use crate::report::Meter;

/// Reads the inner reader to its end while hashing it, then yields one more line: the lower-case
/// hex sha256 of everything before it and a newline (`put`'s protocol with the host).
pub(crate) struct HashThenSum<R> {
    inner: R,
    hash: Option<Sha256>,
    tail: Vec<u8>,
    pos: usize,
}

impl<R: Read> HashThenSum<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashThenSum {
            inner,
            hash: Some(Sha256::new()),
            tail: Vec::new(),
            pos: 0,
        }
    }
}

impl<R> HashThenSum<R> {
    /// The inner reader.
    pub(crate) fn inner_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

impl<R: Read> Read for HashThenSum<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(h) = self.hash.as_mut() {
            let n = self.inner.read(buf)?;
            if n > 0 {
                h.update(&buf[..n]);
                return Ok(n);
            }
            let sum = self.hash.take().expect("checked above").finalize();
            self.tail = format!("{}\n", super::hex(&sum)).into_bytes();
        }
        let n = (self.tail.len() - self.pos).min(buf.len());
        buf[..n].copy_from_slice(&self.tail[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Writes through to the inner writer while hashing what passes.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hash: Sha256::new(),
        }
    }

    /// The inner writer.
    pub(crate) fn inner_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The hex sha256 of everything written, and the inner writer.
    pub(crate) fn finish(self) -> (String, W) {
        (super::hex(&self.hash.finalize()), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Tells a [`Meter`] of every byte that passes through it, either way.
pub(crate) struct Metered<T> {
    pub(crate) inner: T,
    pub(crate) meter: Box<dyn Meter>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }
}

impl<W: Write> Write for Metered<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.meter.add(n as u64);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sum_line_follows_the_data() {
        let mut r = HashThenSum::new(&b"hello"[..]);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        // sha256("hello"), as sha256sum prints it.
        assert_eq!(
            out,
            "hello2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\n"
        );
    }

    #[test]
    fn the_writer_hashes_what_passes() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello").unwrap();
        let (sum, inner) = w.finish();
        assert_eq!(inner, b"hello");
        assert!(sum.starts_with("2cf24dba"));
    }
}
