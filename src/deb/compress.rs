//! Compression of the tar members: gzip (parallel members), xz and zstd (multithreaded
//! encoders). Output depends on the data and level only, never on the thread count.

use std::io::{self, Write};

use xz2::stream::{Check, MtStreamBuilder};
use xz2::write::XzEncoder;

use super::gzip_parallel::ParallelGzip;
use super::Compression;

/// Worker threads to use: all cores.
#[must_use]
pub(crate) fn threads() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
}

/// A compressing writer of any supported kind.
pub(crate) enum Compressor<W: Write> {
    Gzip(ParallelGzip<W>),
    Xz(XzEncoder<W>),
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write + Send + 'static> Compressor<W> {
    /// A compressor using every core.
    pub(crate) fn new(out: W, compression: Compression) -> io::Result<Self> {
        Self::with_threads(out, compression, threads())
    }

    /// A compressor using `threads` workers; the output does not depend on their number.
    pub(crate) fn with_threads(out: W, compression: Compression, threads: u32) -> io::Result<Self> {
        Ok(match compression {
            Compression::Gzip(level) => Self::Gzip(ParallelGzip::new(out, level, threads as usize)),
            Compression::Xz(level) => {
                // Fixed block size (liblzma's default of 3 × dictionary) keeps the output
                // independent of the thread count.
                let stream = MtStreamBuilder::new()
                    .threads(threads)
                    .preset(level)
                    .block_size(0)
                    .check(Check::Crc64)
                    .encoder()
                    .map_err(io::Error::other)?;
                Self::Xz(XzEncoder::new_stream(out, stream))
            }
            Compression::Zstd(level) => {
                let mut enc = zstd::stream::write::Encoder::new(out, level)?;
                // Streaming multithreaded zstd gives the same bytes for any number of workers
                // (facebook/zstd#2238); only the single-threaded mode (0 workers) differs.
                // One worker per core and libzstd's own job size (8 MiB at level 3, 4 × the
                // window) and overlap, as dpkg-deb (1.21, libzstd) sets them. Measured on the
                // bench tree: 32 MiB jobs cost about 10 % more CPU (1.4 % smaller), 4 MiB jobs or
                // a smaller overlap no less CPU (1.5 to 2 % bigger).
                enc.multithread(threads.max(1))?;
                enc.include_checksum(true)?;
                Self::Zstd(enc)
            }
        })
    }
}

impl<W: Write> Compressor<W> {
    /// Flushes the compressed stream's end and returns the inner writer.
    pub(crate) fn finish(self) -> io::Result<W> {
        match self {
            Self::Gzip(g) => g.finish(),
            Self::Xz(x) => x.finish(),
            Self::Zstd(z) => z.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::Gzip(g) => g.write(buf),
            Self::Xz(x) => x.write(buf),
            Self::Zstd(z) => z.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::Gzip(g) => g.flush(),
            Self::Xz(x) => x.flush(),
            Self::Zstd(z) => z.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_does_not_depend_on_thread_count() {
        let data: Vec<u8> = (0..3_000_000u32)
            .flat_map(|i| (i / 7).to_le_bytes())
            .collect();
        for c in [
            Compression::Gzip(6),
            Compression::Xz(1),
            Compression::Zstd(3),
        ] {
            let outputs: Vec<Vec<u8>> = [1, 3]
                .into_iter()
                .map(|t| {
                    let mut w = Compressor::with_threads(Vec::new(), c, t).unwrap();
                    w.write_all(&data).unwrap();
                    w.finish().unwrap()
                })
                .collect();
            assert_eq!(outputs[0], outputs[1], "{c}");
        }
    }
}
