//! The compressed data member of a gzip package, written segment by segment
//! ([`super::segments`]): each segment is taken from the frame cache when its key is there, else
//! laid out from its files and compressed into gzip members on one of the worker threads, and
//! stored; the segments are written in order. The bytes depend on the tree and the level only,
//! never on the cache, the number of threads or the order they finish.
//!
//! zstd is not written this way: dpkg reads a `data.tar.zst` only up to the end of its first
//! frame (`filter_unzstd_code` in dpkg's `lib/dpkg/compress.c` ends the stream when
//! `ZSTD_decompressStream` returns 0; with dpkg 1.21.22, Debian 12's, `dpkg-deb -c` of a
//! two-frame member lists the first frame's entries and fails with exit 2), so a zstd member
//! stays one frame and is compressed whole every build.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

use indicatif::ProgressBar;
use sha2::Digest as _;

use super::digests::DigestMap;
use super::frame_cache::FrameCache;
use super::gzip_parallel;
use super::segments::{self, Segment};
use super::{Compression, DebError};

/// Segments compressed ahead of the one being written, per worker (bounds memory to about
/// this many segments per worker, each at most about 16 MiB laid out).
const AHEAD: usize = 2;

/// Whether `compression` is written as segments: gzip only (every reader of a `.deb`, dpkg
/// included, reads concatenated gzip members as one stream; see the module's note on zstd).
pub(crate) fn segmented(compression: Compression) -> bool {
    matches!(compression, Compression::Gzip(_))
}

/// The next segment to take and the next to write, shared by the workers and the writer.
struct Turn {
    next: usize,
    written: usize,
    stop: bool,
}

/// Writes the compressed `segments` into `out`, in order, on `threads` workers; returns the
/// compressed size. `cache` supplies and keeps compressed segments (none: compress them all).
pub(crate) fn write<W: Write>(
    segments: &[Segment<'_>],
    compression: Compression,
    digests: &DigestMap,
    cache: Option<&FrameCache>,
    threads: usize,
    out: &mut W,
    progress: Option<&ProgressBar>,
) -> Result<u64, DebError> {
    let threads = threads.max(1);
    let turn = Mutex::new(Turn {
        next: 0,
        written: 0,
        stop: false,
    });
    let moved = Condvar::new();
    let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Vec<u8>, DebError>)>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let done = done_tx.clone();
            let (turn, moved) = (&turn, &moved);
            s.spawn(move || {
                let _stops = StopOnPanic(turn, moved);
                loop {
                    let index = {
                        let Ok(mut t) = turn.lock() else { return };
                        while !t.stop
                            && t.next < segments.len()
                            && t.next >= t.written + AHEAD * threads
                        {
                            let Ok(waited) = moved.wait(t) else { return };
                            t = waited;
                        }
                        if t.stop || t.next >= segments.len() {
                            return;
                        }
                        t.next += 1;
                        t.next - 1
                    };
                    let frame = compressed(&segments[index], compression, digests, cache);
                    if done.send((index, frame)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(done_tx);
        let result = write_in_order(segments, &done_rx, &turn, &moved, out, progress);
        if result.is_err() {
            if let Ok(mut t) = turn.lock() {
                t.stop = true;
            }
            moved.notify_all();
        }
        result
    })
}

/// Stops every worker when the one holding it panics, so none waits for a turn that will not
/// come (the panic is carried on when the threads are joined).
struct StopOnPanic<'a>(&'a Mutex<Turn>, &'a Condvar);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(mut t) = self.0.lock() {
                t.stop = true;
            }
            self.1.notify_all();
        }
    }
}

/// The writer's side: each segment's bytes as soon as it and every one before it are done.
fn write_in_order<W: Write>(
    segments: &[Segment<'_>],
    done: &mpsc::Receiver<(usize, Result<Vec<u8>, DebError>)>,
    turn: &Mutex<Turn>,
    moved: &Condvar,
    out: &mut W,
    progress: Option<&ProgressBar>,
) -> Result<u64, DebError> {
    let mut pending = BTreeMap::new();
    let mut size = 0u64;
    for (index, segment) in segments.iter().enumerate() {
        let frame = loop {
            if let Some(frame) = pending.remove(&index) {
                break frame;
            }
            let (i, frame) = done.recv().map_err(|_| {
                DebError::Io(io::Error::other("a compressing thread stopped early"))
            })?;
            pending.insert(i, frame);
        };
        let frame = frame?;
        out.write_all(&frame)?;
        size += frame.len() as u64;
        if let Some(bar) = progress {
            bar.inc(segment.file_bytes);
        }
        if let Ok(mut t) = turn.lock() {
            t.written = index + 1;
        }
        moved.notify_all();
    }
    Ok(size)
}

/// One segment compressed: from the cache, else laid out, compressed and stored.
fn compressed(
    segment: &Segment<'_>,
    compression: Compression,
    digests: &DigestMap,
    cache: Option<&FrameCache>,
) -> Result<Vec<u8>, DebError> {
    let key = match cache {
        Some(cache) => {
            let key = segments::key(segment, compression, digests)?;
            if let Some(frame) = cache.get(&key) {
                return Ok(frame);
            }
            Some((cache, key))
        }
        None => None,
    };
    let tar = segments::lay_out(segment)?;
    let frame = compress(&tar, compression)?;
    if let Some((cache, key)) = key {
        cache.put(&key, &frame);
    }
    Ok(frame)
}

/// What makes `compression`'s bytes, for the segment cache's key: the member size
/// ([`gzip_parallel::CHUNK`]), the level, and the SHA-256 of a fixed 256 KiB probe (text and
/// pseudo-random bytes) compressed by [`compress`]. A cached segment was compressed by an
/// encoder with the same id, so a new libdeflate (a `cargo update`) or a new member size makes
/// every key new instead of mixing its members with the old encoder's: the bytes of a package
/// never depend on the cache. Computed once per compression and process (about 5 ms). Hex.
pub(crate) fn encoder_id(compression: Compression) -> Result<String, DebError> {
    static IDS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let name = compression.to_string();
    if let Some(id) = IDS.lock().expect("encoder ids").get(&name) {
        return Ok(id.clone());
    }
    let mut probe = Vec::with_capacity(256 << 10);
    let mut x: u32 = 0x2545_f491;
    while probe.len() < 256 << 10 {
        probe.extend_from_slice(
            b"def handle(request, *args): return render(request, 'page.html')\n",
        );
        for _ in 0..64 {
            // xorshift32: the same bytes on every machine.
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            probe.push(x.to_le_bytes()[0]);
        }
    }
    let digest = sha2::Sha256::digest(compress(&probe, compression)?);
    let id = format!(
        "{name} members of {} B, probe {digest:x}",
        gzip_parallel::CHUNK
    );
    IDS.lock().expect("encoder ids").insert(name, id.clone());
    Ok(id)
}

/// `data` as gzip members of at most [`gzip_parallel::CHUNK`] bytes of input each (only gzip is
/// written in segments: see the module's note).
fn compress(data: &[u8], compression: Compression) -> Result<Vec<u8>, DebError> {
    let Compression::Gzip(level) = compression else {
        return Err(DebError::Io(io::Error::other(format!(
            "{compression} is not written in segments"
        ))));
    };
    let mut out = Vec::with_capacity(data.len() / 3);
    for chunk in data.chunks(gzip_parallel::CHUNK) {
        out.extend_from_slice(&gzip_parallel::member(chunk, level)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;
    use crate::deb::plan::PackagePlan;
    use crate::deb::tree::Tree;

    fn plan() -> PackagePlan {
        let mut tree = Tree::default();
        for i in 0..5000 {
            let text = format!("line {i} of a file that compresses\n").repeat(100 + i % 50);
            tree.add_bytes(
                &format!("usr/share/p/d{}/f{i}", i % 7),
                text.into_bytes(),
                false,
            );
        }
        tree.add(
            "usr/bin/p",
            crate::deb::tree::Node::Symlink("../share/p".into()),
        );
        PackagePlan::of_tree(tree)
    }

    fn written(plan: &PackagePlan, cache: Option<&FrameCache>, threads: usize) -> Vec<u8> {
        let segments = segments::split(plan, 5);
        let mut out = Vec::new();
        let size = write(
            &segments,
            Compression::Gzip(6),
            &DigestMap::default(),
            cache,
            threads,
            &mut out,
            None,
        )
        .unwrap();
        assert_eq!(size, out.len() as u64);
        out
    }

    #[test]
    fn the_bytes_depend_on_neither_threads_nor_cache_and_decode_to_the_tar_stream() {
        let plan = plan();
        assert!(segments::split(&plan, 5).len() > 3);
        let one = written(&plan, None, 1);
        assert_eq!(written(&plan, None, 3), one);
        let dir = tempfile::tempdir().unwrap();
        let cold = FrameCache::new(dir.path().join("frames"));
        assert_eq!(written(&plan, Some(&cold), 2), one, "cold cache");
        let warm = FrameCache::new(dir.path().join("frames"));
        assert_eq!(written(&plan, Some(&warm), 2), one, "warm cache");
        // The oracle: the same tree through the one-stream tar writer, as xz and zstd get it.
        let mut back = Vec::new();
        flate2::read::MultiGzDecoder::new(&one[..])
            .read_to_end(&mut back)
            .unwrap();
        let (tx, rx) = crate::deb::chunks::pair();
        let mut stream = Vec::new();
        std::thread::scope(|s| {
            s.spawn(|| crate::deb::assemble::tar_stream(&plan, 5, tx, None).unwrap());
            rx.drain(|b| {
                stream.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        });
        assert_eq!(back, stream);
    }

    #[test]
    fn the_encoder_id_names_the_member_size_and_tells_levels_apart() {
        let six = encoder_id(Compression::Gzip(6)).unwrap();
        assert_eq!(encoder_id(Compression::Gzip(6)).unwrap(), six, "stable");
        assert!(
            six.contains(&format!("{} B", gzip_parallel::CHUNK)),
            "{six}"
        );
        assert_ne!(encoder_id(Compression::Gzip(5)).unwrap(), six);
        assert!(
            encoder_id(Compression::Zstd(3)).is_err(),
            "zstd is not segmented"
        );
    }

    #[test]
    fn a_failing_segment_is_the_error_and_nothing_hangs() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gone");
        fs_err::write(&file, vec![b'x'; 3 << 20]).unwrap();
        let mut tree = Tree::default();
        for i in 0..8 {
            tree.add_bytes(&format!("a/f{i}"), vec![b'y'; 1 << 20], false);
        }
        crate::deb::install::add_path(&mut tree, &file, "z/gone").unwrap();
        fs_err::remove_file(&file).unwrap();
        let plan = PackagePlan::of_tree(tree);
        let segments = segments::split(&plan, 5);
        let err = write(
            &segments,
            Compression::Gzip(6),
            &DigestMap::default(),
            None,
            2,
            &mut Vec::new(),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("gone"), "{err}");
    }
}
