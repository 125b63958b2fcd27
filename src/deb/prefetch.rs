//! Reading the package's files on a second thread, ahead of the tar writer, with their MD5: disk
//! reads and hashing then overlap compression instead of stalling it.

use std::io::Read;
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::Scope;

use md5::{Digest, Md5};

use super::digests::DigestMap;
use super::DebError;

/// Bytes per message.
const CHUNK: usize = 256 << 10;
/// Messages in flight: at most 64 MiB read ahead.
const DEPTH: usize = 256;

/// What the reader sends, file after file, in order.
pub(crate) enum Piece {
    /// Part of the current file.
    Data(Vec<u8>),
    /// The current file is complete; its MD5.
    Done([u8; 16]),
}

/// Starts reading `files` (path and expected size, in archive order) on a thread of `scope`.
pub(crate) fn spawn<'scope, 'env>(
    scope: &'scope Scope<'scope, 'env>,
    files: Vec<(&'env Path, u64)>,
    digests: &'env DigestMap,
) -> Receiver<Result<Piece, DebError>> {
    let (tx, rx) = sync_channel(DEPTH);
    scope.spawn(move || {
        for (path, size) in files {
            let result = read_file(path, size, digests, |piece| tx.send(Ok(piece)).is_ok());
            match result {
                Ok(true) => {}
                // The writer stopped listening (it failed): stop too.
                Ok(false) => return,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    rx
}

/// Reads one file, passing its pieces to `send`; `Ok(false)` when `send` refused one.
fn read_file(
    path: &Path,
    size: u64,
    digests: &DigestMap,
    mut send: impl FnMut(Piece) -> bool,
) -> Result<bool, DebError> {
    let mut file = fs_err::File::open(path)?;
    // The digest taken for the input key, when the file is unchanged since.
    let known = digests.current(path, &file.metadata()?).map(|d| d.md5);
    let mut md5 = Md5::new();
    let mut left = size;
    while left > 0 {
        let want = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            let n = file.read(&mut buf[filled..])?;
            if n == 0 {
                return Err(DebError::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("{}: file shrank while being packaged", path.display()),
                )));
            }
            filled += n;
        }
        if known.is_none() {
            md5.update(&buf);
        }
        left -= want as u64;
        if !send(Piece::Data(buf)) {
            return Ok(false);
        }
    }
    Ok(send(Piece::Done(
        known.unwrap_or_else(|| md5.finalize().into()),
    )))
}
