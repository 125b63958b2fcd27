//! Writing a planned package as a `.deb`: the data tar (hashing files for `md5sums` on the way),
//! the control tar, and the ar archive around them.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use indicatif::ProgressBar;
use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::compress::Compressor;
use super::digests::DigestMap;
use super::plan::PackagePlan;
use super::prefetch::{self, Piece};
use super::tar::{Kind, TarWriter};
use super::tree::{Content, Node};
use super::wheels::hex;
use super::{ar, Compression, DebError};

/// The finished package, still in its temporary file.
#[derive(Debug)]
pub(crate) struct Written {
    pub(crate) file: tempfile::NamedTempFile,
    pub sha256: String,
    pub(crate) size: u64,
    pub(crate) entries: usize,
}

/// Writes `plan` as a `.deb` into a temporary file in `out_dir`, every timestamp clamped to
/// `mtime`. The file is not fsynced (dpkg-deb does not either): the rename into place is atomic,
/// and a crash only loses a package that can be rebuilt.
pub(crate) fn write_deb(
    plan: &PackagePlan,
    mtime: u64,
    compression: Compression,
    out_dir: &Path,
    digests: &DigestMap,
    progress: Option<&ProgressBar>,
) -> Result<Written, DebError> {
    let io_err = |e: io::Error| {
        DebError::Io(io::Error::new(
            e.kind(),
            format!("{}: {e}", out_dir.display()),
        ))
    };
    let data_file = tempfile::tempfile_in(out_dir).map_err(io_err)?;
    let (mut data_file, md5sums) =
        write_data(plan, mtime, compression, data_file, digests, progress)?;
    let data_size = data_file.seek(SeekFrom::End(0))?;
    data_file.seek(SeekFrom::Start(0))?;
    let control = control_tar(plan, &md5sums, mtime, compression)?;

    let file = tempfile::Builder::new()
        .prefix(".dfab-deb.")
        .tempfile_in(out_dir)
        .map_err(io_err)?;
    let mut out = HashingWriter::new(BufWriter::new(file));
    let ext = compression.extension();
    ar::start(&mut out)?;
    ar::member(&mut out, "debian-binary", mtime, 4, &mut &b"2.0\n"[..])?;
    ar::member(
        &mut out,
        &format!("control.tar.{ext}"),
        mtime,
        control.len() as u64,
        &mut &control[..],
    )?;
    ar::member(
        &mut out,
        &format!("data.tar.{ext}"),
        mtime,
        data_size,
        &mut data_file,
    )?;
    let (writer, sha256, size) = out.finish();
    let file = writer
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    Ok(Written {
        file,
        sha256,
        size,
        entries: plan.tree.len() + 1,
    })
}

/// Mode of a data entry, normalised as `dh_fixperms` leaves it.
fn mode(node: &Node) -> u32 {
    match node {
        Node::Dir
        | Node::File {
            executable: true, ..
        } => 0o755,
        Node::File { .. } => 0o644,
        Node::Symlink(_) => 0o777,
    }
}

/// Writes the compressed data tar to `file`; returns it with the `md5sums` text.
fn write_data(
    plan: &PackagePlan,
    mtime: u64,
    compression: Compression,
    file: std::fs::File,
    digests: &DigestMap,
    progress: Option<&ProgressBar>,
) -> Result<(std::fs::File, String), DebError> {
    // Large writes into the compressor: tar headers and small files come in pieces of 512 bytes.
    let compressor = Compressor::new(BufWriter::with_capacity(1 << 20, file), compression)?;
    let mut tar = TarWriter::new(BufWriter::with_capacity(1 << 20, compressor));
    let mut md5sums = String::new();
    tar.header("./", Kind::Dir, 0o755, mtime)?;
    // dpkg-deb puts symlinks after everything else, so that their targets are unpacked first.
    let entries: Vec<(&String, &Node)> = plan
        .tree
        .iter()
        .filter(|(_, n)| !matches!(n, Node::Symlink(_)))
        .chain(
            plan.tree
                .iter()
                .filter(|(_, n)| matches!(n, Node::Symlink(_))),
        )
        .collect();
    let files: Vec<(&Path, u64)> = entries
        .iter()
        .filter_map(|(_, n)| match n {
            Node::File {
                content: Content::Path(src),
                size,
                ..
            } => Some((src.as_path(), *size)),
            _ => None,
        })
        .collect();
    std::thread::scope(|scope| -> Result<(), DebError> {
        let pieces = prefetch::spawn(scope, files, digests);
        let next = || {
            pieces
                .recv()
                .map_err(|_| io::Error::other("file reader stopped"))?
        };
        for (path, node) in entries {
            let name = format!("./{path}");
            match node {
                Node::Dir => tar.header(&format!("{name}/"), Kind::Dir, mode(node), mtime)?,
                Node::Symlink(target) => {
                    tar.header(&name, Kind::Symlink { target }, mode(node), mtime)?;
                }
                Node::File {
                    content,
                    size,
                    mtime: file_mtime,
                    ..
                } => {
                    let entry_mtime = file_mtime.map_or(mtime, |m| m.min(mtime));
                    tar.header(&name, Kind::File { size: *size }, mode(node), entry_mtime)?;
                    let digest: [u8; 16] = match content {
                        Content::Bytes(bytes) => {
                            tar.write_data(bytes)?;
                            Md5::digest(bytes).into()
                        }
                        Content::Path(_) => loop {
                            match next()? {
                                Piece::Data(data) => tar.write_data(&data)?,
                                Piece::Done(md5) => break md5,
                            }
                        },
                    };
                    tar.finish_data(*size)?;
                    if let Some(bar) = progress {
                        bar.inc(*size);
                    }
                    if !plan.conffiles.iter().any(|c| c[1..] == **path) {
                        let _ = writeln!(md5sums, "{}  {path}", hex(&digest));
                    }
                }
            }
        }
        Ok(())
    })?;
    let compressor = tar
        .finish()?
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    let buffered = compressor.finish()?;
    let file = buffered
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?;
    Ok((file, md5sums))
}

/// The compressed control tar, in memory.
fn control_tar(
    plan: &PackagePlan,
    md5sums: &str,
    mtime: u64,
    compression: Compression,
) -> Result<Vec<u8>, DebError> {
    let mut members: Vec<(&str, &[u8], bool)> = plan
        .control_members
        .iter()
        .map(|m| (m.name.as_str(), m.data.as_slice(), m.executable))
        .collect();
    if !md5sums.is_empty() {
        members.push(("md5sums", md5sums.as_bytes(), false));
    }
    members.sort_by_key(|m| m.0);
    let mut tar = TarWriter::new(Compressor::new(Vec::new(), compression)?);
    tar.header("./", Kind::Dir, 0o755, mtime)?;
    for (name, data, executable) in members {
        let mode = if executable { 0o755 } else { 0o644 };
        tar.header(
            &format!("./{name}"),
            Kind::File {
                size: data.len() as u64,
            },
            mode,
            mtime,
        )?;
        tar.write_data(data)?;
        tar.finish_data(data.len() as u64)?;
    }
    Ok(tar.finish()?.finish()?)
}

/// Passes bytes through while hashing and counting them.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::default(),
            size: 0,
        }
    }

    fn finish(self) -> (W, String, u64) {
        (self.inner, hex(&self.hasher.finalize()), self.size)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
