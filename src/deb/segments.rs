//! The data tar cut into segments at entry boundaries, each compressed on its own into whole
//! gzip members, so that a rebuild reuses the compressed segments whose entries did not change
//! (see [`super::frame_cache`] and [`super::data_member`], which says why zstd is not cut). Where the cuts fall depends only on the entries
//! (content-defined), so one changed file changes one segment, not every one after it.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::digests::{DigestMap, Stat};
use super::plan::PackagePlan;
use super::tar::{self, Kind, TarWriter};
use super::tree::{Content, Node};
use super::{Compression, DebError};

/// No cut before a segment holds this many bytes of tar stream (1 MiB): smaller frames cost
/// compression ratio.
const MIN: u64 = 1 << 20;

/// The mean segment size the cut rule aims at (4 MiB of tar stream): an entry of `n` bytes
/// ends a segment with probability `n / TARGET`, so the mean does not depend on file sizes.
const TARGET: u64 = 4 << 20;

/// A segment is cut after the entry that takes it to this size (8 MiB), and a file bigger than
/// this is cut into pieces of this size at fixed offsets of the file, so no segment holds more
/// than about twice this in memory.
const MAX: u64 = 8 << 20;

/// Version of the segment layout and key, part of every key.
const FORMAT: &str = "dfab-segment/1";

/// A run of the tar stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece<'a> {
    /// Bytes laid out already: headers (with GNU long-name entries), in-memory contents,
    /// padding, the end blocks.
    Bytes(Vec<u8>),
    /// `len` bytes of the file `src` (which must still have `stat`) from `offset`.
    File {
        src: &'a Path,
        stat: &'a Stat,
        offset: u64,
        len: u64,
    },
}

/// Consecutive pieces of the tar stream, compressed as one unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Segment<'a> {
    pub(crate) pieces: Vec<Piece<'a>>,
    /// Bytes of tar stream.
    pub(crate) len: u64,
    /// Bytes of it read from files (for the progress bar).
    pub(crate) file_bytes: u64,
}

impl<'a> Segment<'a> {
    fn push(&mut self, piece: Piece<'a>) {
        match &piece {
            Piece::Bytes(b) if b.is_empty() => return,
            Piece::Bytes(b) => self.len += b.len() as u64,
            Piece::File { len, .. } => {
                self.len += len;
                self.file_bytes += len;
            }
        }
        // Adjacent laid-out bytes are kept as one piece.
        if let (Some(Piece::Bytes(last)), Piece::Bytes(b)) = (self.pieces.last_mut(), &piece) {
            last.extend_from_slice(b);
        } else {
            self.pieces.push(piece);
        }
    }
}

/// Mode of a data entry, normalised as `dh_fixperms` leaves it.
pub(crate) fn mode(node: &Node) -> u32 {
    match node {
        Node::Dir
        | Node::File {
            executable: true, ..
        } => 0o755,
        Node::File { .. } => 0o644,
        Node::Symlink(_) => 0o777,
    }
}

/// The header blocks of one entry.
fn header(name: &str, kind: Kind<'_>, mode: u32, mtime: u64) -> Vec<u8> {
    let mut tar = TarWriter::new(Vec::with_capacity(512));
    // Writing into a Vec cannot fail.
    let _ = tar.header(name, kind, mode, mtime);
    tar.into_inner()
}

/// FNV-1a (64 bits) of `path`: a fixed hash, the same on every machine and build.
fn path_hash(path: &str) -> u64 {
    path.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Whether a segment of `len` bytes ends after the entry `path` of `entry_len` bytes.
fn cut_after(path: &str, entry_len: u64, len: u64) -> bool {
    len >= MAX || (len >= MIN && path_hash(path) % TARGET < entry_len)
}

/// The data tar of `plan` (directories and files in the tree's order, then the symlinks, as
/// dpkg-deb orders them), cut into segments; every timestamp clamped to `mtime`. The
/// concatenated segments are the very stream [`super::tar::TarWriter`] writes.
pub(crate) fn split(plan: &PackagePlan, mtime: u64) -> Vec<Segment<'_>> {
    let mut segments = Vec::new();
    let mut cur = Segment::default();
    let mut written = 0u64;
    cur.push(Piece::Bytes(header("./", Kind::Dir, 0o755, mtime)));
    for (path, node) in plan.tree.in_tar_order() {
        let name = format!("./{path}");
        let before = cur.len;
        match node {
            Node::Dir => cur.push(Piece::Bytes(header(
                &format!("{name}/"),
                Kind::Dir,
                mode(node),
                mtime,
            ))),
            Node::Symlink(target) => cur.push(Piece::Bytes(header(
                &name,
                Kind::Symlink { target },
                mode(node),
                mtime,
            ))),
            Node::File { content, size, .. } => {
                let entry_mtime = node.tar_mtime(mtime);
                let head = header(&name, Kind::File { size: *size }, mode(node), entry_mtime);
                match content {
                    Content::Bytes(bytes) => {
                        cur.push(Piece::Bytes(head));
                        cur.push(Piece::Bytes(bytes.clone()));
                    }
                    Content::Path(src, stat) if *size > MAX => {
                        // A big file gets segments of its own, cut at fixed offsets of it.
                        if cur.len > 0 {
                            written += cur.len;
                            segments.push(std::mem::take(&mut cur));
                        }
                        cur.push(Piece::Bytes(head));
                        let mut offset = 0;
                        while offset < *size {
                            let len = MAX.min(size - offset);
                            cur.push(Piece::File {
                                src,
                                stat,
                                offset,
                                len,
                            });
                            offset += len;
                            if offset < *size {
                                written += cur.len;
                                segments.push(std::mem::take(&mut cur));
                            }
                        }
                        cur.push(Piece::Bytes(vec![0; tar::padding(*size)]));
                        written += cur.len;
                        segments.push(std::mem::take(&mut cur));
                        continue;
                    }
                    Content::Path(src, stat) => {
                        cur.push(Piece::Bytes(head));
                        cur.push(Piece::File {
                            src,
                            stat,
                            offset: 0,
                            len: *size,
                        });
                    }
                }
                cur.push(Piece::Bytes(vec![0; tar::padding(*size)]));
            }
        }
        if cut_after(path, cur.len - before, cur.len) {
            written += cur.len;
            segments.push(std::mem::take(&mut cur));
        }
    }
    cur.push(Piece::Bytes(tar::trailer(written + cur.len)));
    segments.push(cur);
    segments
}

/// The cache key of `segment` compressed with `compression`: SHA-256 of the layout version, the
/// encoder ([`super::data_member::encoder_id`]: what makes its bytes), the laid-out bytes and each file piece's content digest (taken
/// from `digests`, else by reading the file), offset and length. Hex.
pub(crate) fn key(
    segment: &Segment<'_>,
    compression: Compression,
    digests: &DigestMap,
) -> Result<String, DebError> {
    let mut h = Sha256::new();
    h.update(
        format!(
            "{FORMAT}\0{}\0{}\0",
            env!("CARGO_PKG_VERSION"),
            super::data_member::encoder_id(compression)?
        )
        .as_bytes(),
    );
    for piece in &segment.pieces {
        match piece {
            Piece::Bytes(b) => {
                h.update(b"B");
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
            Piece::File {
                src,
                stat,
                offset,
                len,
            } => {
                let sha = if let Some(d) = digests.at(src, stat) {
                    d.sha256
                } else {
                    let mut file = open_unchanged(src, stat)?;
                    let mut sha = Sha256::new();
                    io::copy(&mut file, &mut sha)?;
                    sha.finalize().into()
                };
                h.update(b"F");
                h.update(sha);
                h.update(offset.to_le_bytes());
                h.update(len.to_le_bytes());
            }
        }
    }
    Ok(super::wheels::hex(&h.finalize()))
}

/// The tar bytes of `segment`, reading its files.
pub(crate) fn lay_out(segment: &Segment<'_>) -> Result<Vec<u8>, DebError> {
    let mut out = Vec::with_capacity(usize::try_from(segment.len).unwrap_or(0));
    for piece in &segment.pieces {
        match piece {
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::File {
                src,
                stat,
                offset,
                len,
            } => {
                let mut file = open_unchanged(src, stat)?;
                if *offset > 0 {
                    file.seek(SeekFrom::Start(*offset))?;
                }
                let read = file.take(*len).read_to_end(&mut out)? as u64;
                if read != *len {
                    return Err(DebError::Io(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{}: file shrank while being packaged", src.display()),
                    )));
                }
            }
        }
    }
    Ok(out)
}

/// Opens `path`, failing when it is no longer the file the plan saw.
pub(crate) fn open_unchanged(path: &Path, stat: &Stat) -> Result<fs_err::File, DebError> {
    let file = fs_err::File::open(path)?;
    if !Stat::of(&file.metadata()?).same_content_as(stat) {
        return Err(DebError::Changed {
            path: path.to_owned(),
            during: "being packaged",
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::tree::Tree;

    fn plan_of(files: &[(String, Vec<u8>)]) -> PackagePlan {
        let mut tree = Tree::default();
        for (path, bytes) in files {
            tree.add_bytes(path, bytes.clone(), false);
        }
        PackagePlan::of_tree(tree)
    }

    fn joined(segments: &[Segment<'_>]) -> Vec<u8> {
        segments.iter().flat_map(|s| lay_out(s).unwrap()).collect()
    }

    fn files(n: usize, size: usize) -> Vec<(String, Vec<u8>)> {
        (0..n)
            .map(|i| {
                let bytes = format!("file {i}\n").repeat(size / 8);
                (format!("usr/share/p/f{i:05}"), bytes.into_bytes())
            })
            .collect()
    }

    #[test]
    fn segments_join_into_the_tar_writer_stream() {
        let plan = plan_of(&files(3000, 3000));
        let segments = split(&plan, 7);
        assert!(segments.len() > 1, "{}", segments.len());
        for s in &segments[..segments.len() - 1] {
            assert!(s.len >= MIN && s.len <= MAX + 8192, "{}", s.len);
        }
        // The oracle: the tar crate reads it back whole.
        let bytes = joined(&segments);
        assert_eq!(bytes.len() % 10_240, 0);
        let mut archive = ::tar::Archive::new(&bytes[..]);
        let names = archive.entries().unwrap().count();
        assert_eq!(names, 3000 + 4);
    }

    #[test]
    fn one_changed_file_changes_one_segment() {
        let mut f = files(3000, 3000);
        let plan = plan_of(&f);
        let before: Vec<Vec<u8>> = split(&plan, 7)
            .iter()
            .map(|s| lay_out(s).unwrap())
            .collect();
        f[1500].1.extend_from_slice(b"one more line\n");
        let plan = plan_of(&f);
        let after: Vec<Vec<u8>> = split(&plan, 7)
            .iter()
            .map(|s| lay_out(s).unwrap())
            .collect();
        assert_eq!(before.len(), after.len());
        let differ = before.iter().zip(&after).filter(|(a, b)| a != b).count();
        // The changed segment, and the last one (its record padding follows the total length).
        assert!(differ <= 2, "{differ} of {} segments differ", before.len());
    }

    #[test]
    fn a_big_file_is_cut_at_fixed_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big");
        let size = MAX * 2 + 100;
        let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        fs_err::write(&big, &data).unwrap();
        let mut tree = Tree::default();
        crate::deb::install::add_path(&mut tree, &big, "usr/big").unwrap();
        let plan = PackagePlan::of_tree(tree);
        let segments = split(&plan, 7);
        assert!(segments.iter().all(|s| s.len <= MAX + 2048));
        let bytes = joined(&segments);
        let mut archive = ::tar::Archive::new(&bytes[..]);
        let mut back = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().ends_with("big") {
                e.read_to_end(&mut back).unwrap();
            }
        }
        assert_eq!(back, data);
    }
}
