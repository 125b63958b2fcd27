//! The outer `ar` archive of a `.deb`: `debian-binary`, `control.tar.*`, `data.tar.*`, in order.

use std::io::{self, Read, Write};

/// Writes the global `!<arch>` header.
pub(crate) fn start<W: Write>(out: &mut W) -> io::Result<()> {
    out.write_all(b"!<arch>\n")
}

/// Writes one member of `size` bytes read from `data`, as dpkg-deb does (uid/gid 0, mode 100644).
pub(crate) fn member<W: Write, R: Read>(
    out: &mut W,
    name: &str,
    mtime: u64,
    size: u64,
    data: &mut R,
) -> io::Result<()> {
    header(out, name, mtime, size)?;
    let copied = io::copy(&mut data.take(size), out)?;
    if copied != size {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("ar member {name}: expected {size} bytes, got {copied}"),
        ));
    }
    if size % 2 == 1 {
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes a member's 60-byte header (the caller writes the `size` bytes and the odd-size pad).
pub(crate) fn header<W: Write>(out: &mut W, name: &str, mtime: u64, size: u64) -> io::Result<()> {
    let header = format!(
        "{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
        0, 0, 100_644
    );
    debug_assert_eq!(header.len(), 60);
    out.write_all(header.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_header_is_60_bytes_and_padded() {
        let mut out = Vec::new();
        start(&mut out).unwrap();
        member(&mut out, "debian-binary", 7, 4, &mut &b"2.0\n"[..]).unwrap();
        member(&mut out, "x", 7, 1, &mut &b"a"[..]).unwrap();
        assert_eq!(&out[8..24], b"debian-binary   ");
        assert_eq!(&out[8 + 48..8 + 60], b"4         `\n");
        assert_eq!(out.len(), 8 + 60 + 4 + 60 + 2);
    }
}
