//! Writing a planned package as a `.deb`: the control tar (with `md5sums`), the data tar (gzip
//! in segments reusing cached members, [`super::data_member`]; xz and zstd read, laid out and
//! compressed on separate threads), and the ar archive around them.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use indicatif::ProgressBar;
use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::chunks::{self, ChunkSender};
use super::compress::{self, Compressor};
use super::data_member;
use super::digests::DigestMap;
use super::frame_cache::FrameCache;
use super::phases::Phases;
use super::plan::PackagePlan;
use super::segments::{self, mode, open_unchanged};
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

/// The largest member the 10 decimal digits of an ar header's size field hold.
pub(crate) const AR_MAX_SIZE: u64 = 9_999_999_999;

/// Offset of the size field in an ar member header.
const AR_SIZE_FIELD: u64 = 48;

/// Refuse a member the ar size field cannot hold (10 decimal digits, ar(5)); dpkg-deb cannot
/// write one either.
pub(crate) fn check_ar_size(package: &str, member: &str, size: u64) -> Result<(), DebError> {
    if size > AR_MAX_SIZE {
        return Err(DebError::Options(format!(
            "{package}: {member} is {size} bytes; an ar member holds at most {AR_MAX_SIZE}"
        )));
    }
    Ok(())
}

/// Writes `plan` as a `.deb` into a temporary file in `out_dir`, every timestamp clamped to
/// `mtime`, in one pass: the `md5sums` come first (from the digests taken for the input key,
/// hashing only files that has not seen), so the control member can precede the data, and the
/// data tar is read on one thread and compressed on others straight into the package; its ar
/// size field is filled in afterwards. Holding the compressed data in memory until its size is
/// known, to hash it as it is written, was measured slower: faulting in that memory costs more
/// CPU (about 35 ms for 92 MB) than reading the package back from the page cache.
/// gzip data is written in segments, each taken from `frames` when it holds it.
/// The file is not fsynced (dpkg-deb does not either): the rename into place is atomic, and a
/// crash only loses a package that can be rebuilt.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_deb(
    plan: &PackagePlan,
    mtime: u64,
    compression: Compression,
    out_dir: &Path,
    digests: &DigestMap,
    frames: Option<&FrameCache>,
    progress: Option<&ProgressBar>,
    phases: &mut Phases,
) -> Result<Written, DebError> {
    let io_err = |e: io::Error| {
        DebError::Io(io::Error::new(
            e.kind(),
            format!("{}: {e}", out_dir.display()),
        ))
    };
    if let Some((path, _)) = plan.tree.iter().find(|(p, _)| p.contains('\n')) {
        // dpkg-deb refuses these too: dpkg's file lists are one name per line.
        return Err(DebError::Options(format!(
            "{}: file name {path:?} contains a newline, which dpkg cannot install",
            plan.name
        )));
    }
    let md5sums = md5sums(plan, digests)?;
    let control = control_tar(plan, &md5sums, mtime, compression)?;
    phases.mark("md5sums, control");

    let file = tempfile::Builder::new()
        .prefix(".dfab-deb.")
        .tempfile_in(out_dir)
        .map_err(io_err)?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
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
    let data_header = 8 + 60 + 4 + 60 + (control.len() as u64).next_multiple_of(2);
    ar::header(&mut out, &format!("data.tar.{ext}"), mtime, 0)?;
    let (out, data_size) = if data_member::segmented(compression) {
        let mut out = out;
        let segments = segments::split(plan, mtime);
        let size = data_member::write(
            &segments,
            compression,
            digests,
            frames,
            compress::threads() as usize,
            &mut out,
            progress,
        )?;
        (out, size)
    } else {
        write_data(plan, mtime, compression, out, progress)?
    };
    let mut file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    if data_size % 2 == 1 {
        file.write_all(b"\n")?;
    }
    check_ar_size(&plan.name, &format!("data.tar.{ext}"), data_size)?;
    let size = data_header + 60 + data_size.next_multiple_of(2);
    file.as_file_mut()
        .seek(SeekFrom::Start(data_header + AR_SIZE_FIELD))?;
    file.write_all(format!("{data_size:<10}").as_bytes())?;
    phases.mark("data tar");
    let sha256 = sha256_of(file.as_file_mut(), size)?;
    phases.mark("sha256");
    Ok(Written {
        file,
        sha256,
        size,
        entries: plan.tree.len() + 1,
    })
}

/// The package's SHA-256, read back (from the page cache): the data member's size, which
/// precedes it, is only known once it is written.
fn sha256_of(file: &mut std::fs::File, size: u64) -> Result<String, DebError> {
    file.seek(SeekFrom::Start(0))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Err(DebError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the package being written shrank",
            )));
        }
        let n = usize::try_from(left).map_or(n, |l| n.min(l));
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hex(&hasher.finalize()))
}

/// The `md5sums` text (conffiles excluded, as `dh_md5sums` does), in archive order. A file's MD5
/// comes from the digests when they were taken at the stat the plan saw, else it is read now.
fn md5sums(plan: &PackagePlan, digests: &DigestMap) -> Result<String, DebError> {
    let mut text = String::new();
    let mut buf = Vec::new();
    for (path, node) in plan.tree.iter() {
        let Node::File { content, .. } = node else {
            continue;
        };
        if plan.conffiles.iter().any(|c| c[1..] == **path) {
            continue;
        }
        let digest: [u8; 16] = match content {
            Content::Bytes(bytes) => Md5::digest(bytes).into(),
            Content::Path(src, stat) => {
                if let Some(d) = digests.at(src, stat) {
                    d.md5
                } else {
                    let mut file = open_unchanged(src, stat)?;
                    buf.clear();
                    file.read_to_end(&mut buf)?;
                    Md5::digest(&buf).into()
                }
            }
        };
        let _ = writeln!(text, "{}  {path}", hex(&digest));
    }
    Ok(text)
}

/// Writes the xz- or zstd-compressed data tar into `out`; returns `out` and the compressed size. One thread
/// reads the files and lays out the tar stream ([`tar_stream`]) while this one feeds it to the
/// compressor, whose workers compress as the next files are read.
fn write_data<W: Write + Send + 'static>(
    plan: &PackagePlan,
    mtime: u64,
    compression: Compression,
    out: W,
    progress: Option<&ProgressBar>,
) -> Result<(W, u64), DebError> {
    let mut compressor = Compressor::new(
        CountingWriter {
            inner: out,
            count: 0,
        },
        compression,
    )?;
    let (tx, rx) = chunks::pair();
    std::thread::scope(|s| {
        let reader = s.spawn(move || tar_stream(plan, mtime, tx, progress));
        let drained = rx.drain(|chunk| compressor.write_all(chunk));
        // A panic is a bug, not an error of the input: carry it on as one.
        let read = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // A compressor that failed stops the reader (it sees a closed channel): its error is
        // the cause. A reader that failed closes the channel: its error is.
        drained?;
        read
    })?;
    let counted = compressor.finish()?;
    Ok((counted.inner, counted.count))
}

/// Passes bytes through, counting them.
struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The data tar stream of `plan`, into `out`: directories and files in the tree's order, then
/// the symlinks.
pub(crate) fn tar_stream(
    plan: &PackagePlan,
    mtime: u64,
    out: ChunkSender,
    progress: Option<&ProgressBar>,
) -> Result<(), DebError> {
    let mut tar = TarWriter::new(out);
    tar.header("./", Kind::Dir, 0o755, mtime)?;
    for (path, node) in plan.tree.in_tar_order() {
        let name = format!("./{path}");
        match node {
            Node::Dir => tar.header(&format!("{name}/"), Kind::Dir, mode(node), mtime)?,
            Node::Symlink(target) => {
                tar.header(&name, Kind::Symlink { target }, mode(node), mtime)?;
            }
            Node::File { content, size, .. } => {
                let entry_mtime = node.tar_mtime(mtime);
                tar.header(&name, Kind::File { size: *size }, mode(node), entry_mtime)?;
                match content {
                    Content::Bytes(bytes) => tar.write_data(bytes)?,
                    Content::Path(src, stat) => {
                        let mut file = open_unchanged(src, stat)?;
                        let copied = tar.copy_data(&mut file, *size)?;
                        if copied != *size {
                            return Err(DebError::Io(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                format!("{}: file shrank while being packaged", src.display()),
                            )));
                        }
                    }
                }
                tar.finish_data(*size)?;
                if let Some(bar) = progress {
                    bar.inc(*size);
                }
            }
        }
    }
    tar.finish()?.finish()?;
    Ok(())
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

#[cfg(test)]
mod ar_limit_tests {
    use super::{check_ar_size, AR_MAX_SIZE};

    // The largest ar member: its size fills the 10-digit field exactly; one byte more is
    // refused before anything is written (a wrapped field made packages dpkg cannot read).
    #[test]
    fn the_largest_ar_member_fits_and_one_byte_more_is_refused() {
        let mut header = Vec::new();
        super::ar::header(&mut header, "data.tar.xz", 0, AR_MAX_SIZE).unwrap();
        assert_eq!(header.len(), 60);
        assert_eq!(&header[48..58], b"9999999999");
        assert!(check_ar_size("p", "data.tar.xz", AR_MAX_SIZE).is_ok());
        let e = check_ar_size("p", "data.tar.xz", AR_MAX_SIZE + 1).unwrap_err();
        assert!(
            e.to_string()
                .contains("an ar member holds at most 9999999999"),
            "{e}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deb::install::add_path;
    use crate::deb::plan::ControlMember;
    use crate::deb::tree::Tree;

    fn plan_of(src: &Path) -> PackagePlan {
        let mut tree = Tree::default();
        add_path(&mut tree, src, "usr/share/app").unwrap();
        PackagePlan {
            name: "app".into(),
            version: "1.0".into(),
            arch: "all".into(),
            tree,
            control_members: vec![ControlMember {
                name: "control".into(),
                data: b"Package: app\n".to_vec(),
                executable: false,
            }],
            conffiles: Vec::new(),
        }
    }

    fn write(plan: &PackagePlan, out: &Path) -> Result<Written, DebError> {
        write_deb(
            plan,
            1,
            Compression::Zstd(3),
            out,
            &DigestMap::default(),
            None,
            None,
            &mut Phases::start(),
        )
    }

    #[test]
    fn package_is_one_ar_with_its_size_patched_and_its_sha256_right() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("src")).unwrap();
        fs_err::write(dir.path().join("src/a.txt"), b"hello\n").unwrap();
        let w = write(&plan_of(&dir.path().join("src")), dir.path()).unwrap();
        let bytes = fs_err::read(w.file.path()).unwrap();
        assert_eq!(bytes.len() as u64, w.size);
        assert_eq!(w.sha256, hex(&Sha256::digest(&bytes)));
        // The data member's header holds the size that follows it.
        let mut at = 8;
        let mut names = Vec::new();
        while at < bytes.len() {
            let header = std::str::from_utf8(&bytes[at..at + 60]).unwrap();
            let size: usize = header[48..58].trim().parse().unwrap();
            names.push(header[..16].trim().to_owned());
            at += 60 + size + size % 2;
        }
        assert_eq!(at, bytes.len());
        assert_eq!(names, ["debian-binary", "control.tar.zst", "data.tar.zst"]);
    }

    #[test]
    fn a_file_changed_after_planning_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("src")).unwrap();
        let file = dir.path().join("src/a.txt");
        fs_err::write(&file, b"hello\n").unwrap();
        let plan = plan_of(&dir.path().join("src"));
        fs_err::remove_file(&file).unwrap();
        fs_err::write(&file, b"hello\n").unwrap();
        let err = write(&plan, dir.path()).unwrap_err().to_string();
        assert!(err.contains("a.txt: changed while being packaged"), "{err}");
    }
}
