//! The cache of compressed data-tar segments (gzip members), `<project>/.dfab/frames/<key>`: one file per
//! segment ([`super::segments::key`]), each its compressed bytes behind a header recording their
//! size and CRC-32, so a truncated or corrupt entry is a miss. Bounded: after a build, entries no
//! build of the last [`KEEP`] used are removed. Best effort throughout: a cache that cannot be
//! read or written costs time, never a build.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

/// Builds whose segments are kept.
const KEEP: usize = 3;

/// First bytes of an entry, naming its format.
const MAGIC: &[u8; 8] = b"DFABFRM1";

/// Bytes of an entry's header: magic, size (u64, little-endian), CRC-32 (u32, little-endian).
const HEADER: usize = 8 + 8 + 4;

/// The file listing the keys each recent build used, one build a line, the newest last.
const RECENT: &str = "recent";

/// The cache directory, the keys this build used, and how many of its lookups were hits.
#[derive(Debug)]
pub(crate) struct FrameCache {
    dir: PathBuf,
    used: Mutex<Vec<String>>,
    /// Lookups, hits.
    asked: Mutex<(usize, usize)>,
}

impl FrameCache {
    /// The cache in `dir` (created on the first write).
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            used: Mutex::new(Vec::new()),
            asked: Mutex::new((0, 0)),
        }
    }

    /// Segments this build looked up, and how many of them were found intact (reused).
    pub(crate) fn reuse(&self) -> (usize, usize) {
        self.asked.lock().map_or((0, 0), |a| *a)
    }

    fn count(&self, hit: bool) {
        if let Ok(mut a) = self.asked.lock() {
            a.0 += 1;
            a.1 += usize::from(hit);
        }
    }

    fn note(&self, key: &str) {
        if let Ok(mut used) = self.used.lock() {
            used.push(key.to_owned());
        }
    }

    /// The compressed bytes stored under `key`, when present and intact.
    pub(crate) fn get(&self, key: &str) -> Option<Vec<u8>> {
        let found = self.read(key);
        self.count(found.is_some());
        found
    }

    fn read(&self, key: &str) -> Option<Vec<u8>> {
        let mut bytes = fs_err::read(self.dir.join(key)).ok()?;
        if bytes.len() < HEADER || &bytes[..8] != MAGIC {
            return None;
        }
        let size = u64::from_le_bytes(bytes[8..16].try_into().ok()?);
        let crc = u32::from_le_bytes(bytes[16..20].try_into().ok()?);
        if size != (bytes.len() - HEADER) as u64 || libdeflater::crc32(&bytes[HEADER..]) != crc {
            return None;
        }
        self.note(key);
        bytes.drain(..HEADER);
        Some(bytes)
    }

    /// Stores `frame` under `key`, atomically (a temporary file renamed into place); a failure
    /// is ignored.
    pub(crate) fn put(&self, key: &str, frame: &[u8]) {
        self.note(key);
        let _ = self.write(key, frame);
    }

    fn write(&self, key: &str, frame: &[u8]) -> std::io::Result<()> {
        fs_err::create_dir_all(&self.dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)?;
        tmp.write_all(MAGIC)?;
        tmp.write_all(&(frame.len() as u64).to_le_bytes())?;
        tmp.write_all(&libdeflater::crc32(frame).to_le_bytes())?;
        tmp.write_all(frame)?;
        tmp.persist(self.dir.join(key)).map_err(|e| e.error)?;
        Ok(())
    }

    /// Records this build's keys and removes the entries that none of the last [`KEEP`] builds
    /// used (and stray temporary files). Call once, after every package of the build. A build
    /// that used none (an xz or zstd build) is not counted.
    pub(crate) fn prune(&self) {
        let used = self.used.lock().map(|u| u.join(" ")).unwrap_or_default();
        if used.is_empty() {
            return;
        }
        let recent_path = self.dir.join(RECENT);
        let old = fs_err::read_to_string(&recent_path).unwrap_or_default();
        let mut lines: Vec<&str> = old.lines().collect();
        lines.push(&used);
        let lines = &lines[lines.len().saturating_sub(KEEP)..];
        let keep: HashSet<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
        let text: String = lines.iter().flat_map(|l| [*l, "\n"]).collect();
        let saved = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&self.dir)
            .and_then(|mut tmp| {
                tmp.write_all(text.as_bytes())?;
                tmp.persist(&recent_path).map_err(|e| e.error)
            });
        if saved.is_err() {
            return;
        }
        let Ok(entries) = fs_err::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name != RECENT && !keep.contains(&*name) {
                let _ = fs_err::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_or_truncated_entry_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FrameCache::new(dir.path().join("frames"));
        assert_eq!(cache.get("k"), None);
        cache.put("k", b"compressed bytes");
        assert_eq!(cache.get("k").as_deref(), Some(&b"compressed bytes"[..]));
        let path = dir.path().join("frames/k");
        let mut bytes = fs_err::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs_err::write(&path, &bytes).unwrap();
        assert_eq!(cache.get("k"), None, "a flipped bit");
        bytes[last] ^= 1;
        fs_err::write(&path, &bytes[..last]).unwrap();
        assert_eq!(cache.get("k"), None, "truncated");
    }

    #[test]
    fn entries_unused_by_the_last_builds_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let frames = dir.path().join("frames");
        let build = |keys: &[&str]| {
            let cache = FrameCache::new(frames.clone());
            for k in keys {
                if cache.get(k).is_none() {
                    cache.put(k, k.as_bytes());
                }
            }
            cache.prune();
        };
        build(&["a", "b"]);
        build(&["b", "c"]);
        build(&["c"]);
        assert!(frames.join("a").exists(), "used by one of the last three");
        build(&["c", "d"]);
        assert!(!frames.join("a").exists(), "not used by the last three");
        assert!(frames.join("b").exists());
        fs_err::write(frames.join(".tmp-stray"), b"x").unwrap();
        build(&["d"]);
        build(&["d"]);
        assert!(!frames.join("b").exists());
        assert!(!frames.join(".tmp-stray").exists());
        let mut left: Vec<_> = fs_err::read_dir(&frames)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, ["c", "d", "recent"]);
    }
}
