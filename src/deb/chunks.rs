//! A byte stream cut into buffers and handed from the thread that reads the package's files to
//! the one that compresses them, so reading and compressing overlap; buffers come back for reuse.

use std::io::{self, Read, Write};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

use super::tar::Fill;

/// Bytes per buffer.
pub(crate) const CHUNK: usize = 1 << 20;

/// Full buffers allowed in flight between the threads (bounds memory at about this many
/// [`CHUNK`]s plus the two being filled and drained).
const IN_FLIGHT: usize = 4;

/// The writing end: fills a buffer, sends it when full.
pub(crate) struct ChunkSender {
    buf: Vec<u8>,
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
}

/// The reading end: full buffers in order, and the way to give each back once used.
pub(crate) struct ChunkReceiver {
    full: Receiver<Vec<u8>>,
    empty: Sender<Vec<u8>>,
}

/// A connected pair.
pub(crate) fn pair() -> (ChunkSender, ChunkReceiver) {
    let (full_tx, full_rx) = sync_channel(IN_FLIGHT);
    let (empty_tx, empty_rx) = channel();
    (
        ChunkSender {
            buf: Vec::with_capacity(CHUNK),
            full: full_tx,
            empty: empty_rx,
        },
        ChunkReceiver {
            full: full_rx,
            empty: empty_tx,
        },
    )
}

impl ChunkSender {
    fn send(&mut self) -> io::Result<()> {
        let next = self
            .empty
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.buf, next);
        self.full
            .send(full)
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the compressor stopped"))
    }

    /// Sends what is left.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

impl Fill for ChunkSender {
    /// Reads straight into the buffers (no intermediate copy).
    fn fill_from<R: Read>(&mut self, from: &mut R, size: u64) -> io::Result<u64> {
        let mut left = size;
        while left > 0 {
            if self.buf.len() == CHUNK {
                self.send()?;
            }
            let room = (CHUNK - self.buf.len()) as u64;
            // `read_to_end` reads into the spare capacity without zeroing it; `take` keeps it
            // within this buffer.
            let n = from.take(room.min(left)).read_to_end(&mut self.buf)? as u64;
            if n == 0 {
                break;
            }
            left -= n;
        }
        Ok(size - left)
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChunkReceiver {
    /// Hands every buffer, in order, to `each`, until the sender is finished or dropped.
    pub(crate) fn drain(self, mut each: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        for mut buf in self.full {
            each(&buf)?;
            buf.clear();
            // The sender may be gone already; then the buffer is simply freed.
            let _ = self.empty.send(buf);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_across_buffers() {
        let data: Vec<u8> = (0..(CHUNK * 3 + 77))
            .map(|i| u8::try_from(i % 253).unwrap())
            .collect();
        let (mut tx, rx) = pair();
        let got = std::thread::scope(|s| {
            s.spawn(|| {
                tx.write_all(&data[..10]).unwrap();
                assert_eq!(
                    tx.fill_from(&mut &data[10..], (data.len() - 10) as u64 + 5)
                        .unwrap(),
                    (data.len() - 10) as u64
                );
                tx.finish().unwrap();
            });
            let mut got = Vec::new();
            rx.drain(|b| {
                got.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
            got
        });
        assert_eq!(got, data);
    }

    #[test]
    fn a_stopped_receiver_is_an_error_for_the_sender() {
        let (mut tx, rx) = pair();
        drop(rx);
        let err = tx.fill_from(&mut &vec![0u8; CHUNK * 2][..], (CHUNK * 2) as u64);
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    }
}
