//! A deterministic GNU tar writer, producing what `dpkg-deb --build` (GNU tar `--format=gnu`,
//! `--owner=root:0`) does: `./`-prefixed names, root owner, fixed modes and mtimes.

use std::io::{self, Write};

const BLOCK: usize = 512;
/// GNU tar's default record size (blocking factor 20).
const RECORD: u64 = 10_240;

/// A writer that reads a file's bytes straight into its own buffer.
pub(crate) trait Fill: Write {
    /// Reads up to `size` bytes of `from` into the stream; returns how many there were.
    fn fill_from<R: io::Read>(&mut self, from: &mut R, size: u64) -> io::Result<u64>;
}

/// The kind of a tar entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind<'a> {
    File { size: u64 },
    Dir,
    Symlink { target: &'a str },
}

/// Writes entries to `W`, counting bytes so the archive can be padded to a full record.
pub(crate) struct TarWriter<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> TarWriter<W> {
    pub(crate) fn new(out: W) -> Self {
        Self { out, written: 0 }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Writes the header of an entry; for a file, its `size` bytes must follow through
    /// [`Self::write_data`] and then [`Self::finish_data`].
    pub(crate) fn header(
        &mut self,
        name: &str,
        kind: Kind<'_>,
        mode: u32,
        mtime: u64,
    ) -> io::Result<()> {
        let (type_flag, size, link) = match kind {
            Kind::File { size } => (b'0', size, ""),
            Kind::Dir => (b'5', 0, ""),
            Kind::Symlink { target } => (b'2', 0, target),
        };
        if link.len() > 100 {
            self.long_name(b'K', link)?;
        }
        if name.len() > 100 {
            self.long_name(b'L', name)?;
        }
        let block = header_block(
            name.as_bytes(),
            link.as_bytes(),
            type_flag,
            mode,
            size,
            mtime,
        );
        self.put(&block)
    }

    /// GNU `././@LongLink` entry carrying a name longer than 100 bytes.
    fn long_name(&mut self, type_flag: u8, name: &str) -> io::Result<()> {
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        let block = header_block(
            b"././@LongLink",
            b"",
            type_flag,
            0o644,
            data.len() as u64,
            0,
        );
        self.put(&block)?;
        self.put(&data)?;
        self.pad(data.len() as u64)
    }

    /// Writes part of the current file's contents.
    pub(crate) fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        self.put(data)
    }

    /// Copies up to `size` bytes of the current file's contents from `from`, straight into
    /// `W`'s buffer; returns how many there were.
    pub(crate) fn copy_data<R: io::Read>(&mut self, from: &mut R, size: u64) -> io::Result<u64>
    where
        W: Fill,
    {
        let n = self.out.fill_from(from, size)?;
        self.written += n;
        Ok(n)
    }

    /// Pads the current file's contents (of `size` bytes) to a whole block.
    pub(crate) fn finish_data(&mut self, size: u64) -> io::Result<()> {
        self.pad(size)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        self.put(&[0; BLOCK][..padding(size)])
    }

    /// Writes the two end blocks, pads to a full record and returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        let end = trailer(self.written);
        self.put(&end)?;
        Ok(self.out)
    }

    /// The inner writer, with nothing added (for laying out headers alone).
    pub(crate) fn into_inner(self) -> W {
        self.out
    }
}

/// Zero bytes padding a file's contents of `size` bytes to a whole block.
pub(crate) fn padding(size: u64) -> usize {
    let rem = usize::try_from(size % BLOCK as u64).unwrap_or(0);
    if rem == 0 {
        0
    } else {
        BLOCK - rem
    }
}

/// The end of an archive of `written` bytes so far: two zero blocks, then zeros up to a full
/// record (GNU tar's blocking factor of 20).
pub(crate) fn trailer(written: u64) -> Vec<u8> {
    let end = written + (BLOCK * 2) as u64;
    let pad = (RECORD - end % RECORD) % RECORD;
    vec![0; BLOCK * 2 + usize::try_from(pad).unwrap_or(0)]
}

/// The largest size the 11 octal digits of a tar header hold (8 GiB - 1).
const MAX_OCTAL_SIZE: u64 = 0o777_7777_7777;

fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

fn header_block(
    name: &[u8],
    link: &[u8],
    type_flag: u8,
    mode: u32,
    size: u64,
    mtime: u64,
) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    let n = name.len().min(100);
    h[..n].copy_from_slice(&name[..n]);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if size > MAX_OCTAL_SIZE {
        // GNU tar's (and dpkg-deb's) base-256: a set high bit, then the size big-endian.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    } else {
        octal(&mut h[124..136], size);
    }
    octal(&mut h[136..148], mtime);
    h[156] = type_flag;
    let l = link.len().min(100);
    h[157..157 + l].copy_from_slice(&link[..l]);
    h[257..265].copy_from_slice(b"ustar  \0");
    h[265..269].copy_from_slice(b"root");
    h[297..301].copy_from_slice(b"root");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let text = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(text.as_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout() {
        let mut w = TarWriter::new(Vec::new());
        w.header("./a", Kind::File { size: 3 }, 0o644, 1).unwrap();
        w.write_data(b"abc").unwrap();
        w.finish_data(3).unwrap();
        let long = format!("./{}", "x".repeat(120));
        w.header(&long, Kind::Dir, 0o755, 1).unwrap();
        let out = w.finish().unwrap();
        assert_eq!(out.len() % 10_240, 0);
        assert_eq!(&out[..3], b"./a");
        assert_eq!(&out[100..108], b"0000644\0");
        assert_eq!(&out[124..136], b"00000000003\0");
        assert_eq!(&out[1024..1037], b"././@LongLink");
        assert_eq!(out[1024 + 156], b'L');
    }

    // Regression: a file of 8,590,000,000 bytes got a wrapped octal size (the package could not
    // be unpacked); GNU tar writes base-256 from 8 GiB on.
    #[test]
    fn sizes_from_8_gib_are_base_256() {
        let h = header_block(b"./big", b"", b'0', 0o644, 8_590_000_000, 0);
        assert_eq!(h[124], 0x80);
        assert_eq!(&h[125..128], &[0, 0, 0]);
        assert_eq!(
            u64::from_be_bytes(h[128..136].try_into().unwrap()),
            8_590_000_000
        );
        // The oracle: GNU tar's header for a sparse file of that size (its first 512 bytes).
        let dir = tempfile::tempdir().unwrap();
        let file = fs_err::File::create(dir.path().join("big")).unwrap();
        file.set_len(8_590_000_000).unwrap();
        let gnu = std::process::Command::new("sh")
            .arg("-c")
            .arg("tar --format=gnu -cf - big | head -c 512")
            .current_dir(dir.path())
            .output()
            .expect("GNU tar (apt-get install tar)");
        assert_eq!(
            gnu.stdout.len(),
            512,
            "{}",
            String::from_utf8_lossy(&gnu.stderr)
        );
        assert_eq!(&h[124..136], &gnu.stdout[124..136]);
        let h = header_block(b"./max", b"", b'0', 0o644, MAX_OCTAL_SIZE, 0);
        assert_eq!(&h[124..136], b"77777777777\0");
    }
}
