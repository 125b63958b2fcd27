//! Content digests of project files (SHA-256 for the input key, MD5 for `md5sums`), computed on
//! all cores and cached in `.dfab/digests` by stat data, as git's index does, so an unchanged file
//! is read once across builds. The first bytes are sniffed on the way
//! ([`super::nondeterminism::sniff`]), so no later step opens every file again.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::fs::Metadata;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::Md5;
use sha2::{Digest, Sha256};

use super::nondeterminism::{sniff, SNIFF_LEN};
use super::wheels::hex;
use super::DebError;

/// What must be unchanged for a cached digest to be trusted. `ctime` and the inode change on any
/// write or replacement, even one that restores size and mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    size: u64,
    mtime: i64,
    mtime_ns: i64,
    ctime: i64,
    ctime_ns: i64,
    ino: u64,
}

impl Stat {
    /// Whether a file with this stat still holds what one with `other` held: the same inode,
    /// size and mtime. ctime is left out: a hard link to the file (pip links wheels out of its
    /// cache, and two builds can share one) changes it without changing a byte.
    pub(crate) fn same_content_as(&self, other: &Stat) -> bool {
        (self.ino, self.size, self.mtime, self.mtime_ns)
            == (other.ino, other.size, other.mtime, other.mtime_ns)
    }

    /// The inode number (files of one project share a device).
    pub(crate) fn ino(&self) -> u64 {
        self.ino
    }

    pub(crate) fn of(meta: &Metadata) -> Self {
        Self {
            size: meta.len(),
            mtime: meta.mtime(),
            mtime_ns: meta.mtime_nsec(),
            ctime: meta.ctime(),
            ctime_ns: meta.ctime_nsec(),
            ino: meta.ino(),
        }
    }
}

/// The digests of one file, with the stat they were taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Digests {
    stat: Stat,
    pub(crate) sha256: [u8; 32],
    pub(crate) md5: [u8; 16],
    /// What the first KiB says ([`super::nondeterminism::sniff`]).
    pub(crate) sniff: u8,
}

/// Digests by absolute path.
#[derive(Debug, Clone, Default)]
pub(crate) struct DigestMap {
    map: HashMap<PathBuf, Digests>,
}

impl DigestMap {
    /// The file's digests when they are still current for `meta`.
    pub(crate) fn current(&self, path: &Path, meta: &Metadata) -> Option<&Digests> {
        self.at(path, &Stat::of(meta))
    }

    /// The file's digests when they were taken at `stat`.
    pub(crate) fn at(&self, path: &Path, stat: &Stat) -> Option<&Digests> {
        self.map.get(path).filter(|d| d.stat == *stat)
    }
}

/// The digests cached in `cache_file` by path relative to the project (see [`compute`]); empty
/// when there is no cache or it cannot be read. Taken apart from [`compute`] so it can be read
/// while the tree is walked.
pub(crate) struct Cached(HashMap<String, Digests>);

/// Reads the cache in `cache_file`.
pub(crate) fn load_cache(cache_file: &Path) -> Cached {
    Cached(load(cache_file))
}

/// Digests of `files` (paths relative to `root`, with their metadata), reusing `cached` (read
/// from `cache_file` by [`load_cache`]) and then updating that file. The cache is best effort:
/// failing to write it is not an error.
pub(crate) fn compute(
    root: &Path,
    files: &[(String, Stat)],
    cached: Cached,
    cache_file: &Path,
) -> Result<DigestMap, DebError> {
    let cached = cached.0;
    let mut map = HashMap::with_capacity(files.len());
    let mut todo: Vec<(&str, Stat)> = Vec::new();
    for (rel, stat) in files {
        match cached.get(rel.as_str()) {
            Some(d) if d.stat == *stat => {
                map.insert(root.join(rel), *d);
            }
            _ => todo.push((rel, *stat)),
        }
    }
    // Every file was found unchanged in the cache, and none is gone: it is up to date.
    let up_to_date = todo.is_empty() && cached.len() == files.len();
    for (rel, digests) in hash_all(root, &todo)? {
        map.insert(root.join(rel), digests);
    }
    if !up_to_date {
        let _ = save(root, cache_file, files, &map);
    }
    Ok(DigestMap { map })
}

/// Hashes files on every core, the biggest first so the threads finish together.
fn hash_all<'a>(
    root: &Path,
    todo: &[(&'a str, Stat)],
) -> Result<Vec<(&'a str, Digests)>, DebError> {
    let threads = super::compress::threads() as usize;
    let mut order: Vec<&(&str, Stat)> = todo.iter().collect();
    order.sort_by_key(|(_, s)| std::cmp::Reverse(s.size));
    let mut shares: Vec<Vec<&(&str, Stat)>> = vec![Vec::new(); threads];
    let mut loads = vec![0u64; threads];
    for item in order {
        let (least, _) = loads
            .iter()
            .enumerate()
            .min_by_key(|(_, l)| **l)
            .unwrap_or((0, &0));
        loads[least] += item.1.size + 4096;
        shares[least].push(item);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .into_iter()
            .map(|share| {
                scope.spawn(move || {
                    let mut buf = vec![0u8; 1 << 16];
                    share
                        .into_iter()
                        .map(|(rel, stat)| Ok((*rel, hash_file(&root.join(rel), *stat, &mut buf)?)))
                        .collect::<Result<Vec<_>, DebError>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(todo.len());
        for h in handles {
            // A panic is a bug, not an error of the input: carry it on as one.
            out.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
            );
        }
        Ok(out)
    })
}

fn hash_file(path: &Path, stat: Stat, buf: &mut [u8]) -> Result<Digests, DebError> {
    let mut file = fs_err::File::open(path)?;
    let mut sha = Sha256::new();
    let mut md5 = Md5::new();
    let mut head = Vec::new();
    loop {
        let n = file.read(buf)?;
        if n == 0 {
            break;
        }
        if head.len() < SNIFF_LEN {
            head.extend_from_slice(&buf[..n.min(SNIFF_LEN - head.len())]);
        }
        sha.update(&buf[..n]);
        md5.update(&buf[..n]);
    }
    Ok(Digests {
        stat,
        sha256: sha.finalize().into(),
        md5: md5.finalize().into(),
        sniff: sniff(&head),
    })
}

fn load(cache_file: &Path) -> HashMap<String, Digests> {
    let Ok(text) = fs_err::read_to_string(cache_file) else {
        return HashMap::new();
    };
    let mut map = HashMap::with_capacity(text.len() / 160);
    map.extend(text.lines().filter_map(parse_line));
    map
}

fn parse_line(line: &str) -> Option<(String, Digests)> {
    let mut f = line.splitn(10, '\t');
    let sha256 = unhex(f.next()?)?;
    let md5 = unhex(f.next()?)?;
    let size = f.next()?.parse::<u64>().ok()?;
    let mut num = || f.next()?.parse::<i64>().ok();
    let (mtime, mtime_ns, ctime, ctime_ns) = (num()?, num()?, num()?, num()?);
    let ino = f.next()?.parse::<u64>().ok()?;
    // A line of the older 9-column cache fails here (saved paths never hold a tab) and is rehashed.
    let sniff = f.next()?.strip_prefix('s')?.parse::<u8>().ok()?;
    let path = f.next()?;
    Some((
        path.to_owned(),
        Digests {
            stat: Stat {
                size,
                mtime,
                mtime_ns,
                ctime,
                ctime_ns,
                ino,
            },
            sha256,
            md5,
            sniff,
        },
    ))
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        }
    }
    let s = s.as_bytes();
    if s.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(s.chunks_exact(2)) {
        *byte = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(out)
}

/// Appends `rel`'s line of the cache, as [`parse_line`] reads it.
fn line(text: &mut String, rel: &str, d: &Digests) {
    let s = d.stat;
    let _ = writeln!(
        text,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\ts{}\t{rel}",
        hex(&d.sha256),
        hex(&d.md5),
        s.size,
        s.mtime,
        s.mtime_ns,
        s.ctime,
        s.ctime_ns,
        s.ino,
        d.sniff
    );
}

/// Writes the cache atomically, leaving out files changed in the last two seconds: a write in
/// the same timestamp tick could otherwise go unnoticed (git's "racily clean" entries).
fn save(
    root: &Path,
    cache_file: &Path,
    files: &[(String, Stat)],
    map: &HashMap<PathBuf, Digests>,
) -> Result<(), DebError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut text = String::new();
    for (rel, stat) in files {
        if stat.mtime >= now - 2 || stat.ctime >= now - 2 || rel.contains(['\n', '\t']) {
            continue;
        }
        if let Some(d) = map.get(&root.join(rel)) {
            line(&mut text, rel, d);
        }
    }
    let dir = cache_file.parent().unwrap_or(root);
    fs_err::create_dir_all(dir)?;
    let tmp = dir.join(format!(".digests.tmp-{}", std::process::id()));
    fs_err::write(&tmp, text)?;
    fs_err::rename(&tmp, cache_file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_round_trip_and_invalidation() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs_err::write(root.join("a"), b"abc").unwrap();
        let old = std::fs::FileTimes::new()
            .set_modified(UNIX_EPOCH + std::time::Duration::from_secs(1_000_000));
        fs_err::File::options()
            .write(true)
            .open(root.join("a"))
            .unwrap()
            .set_times(old)
            .unwrap();
        let stat = |p: &str| Stat::of(&fs_err::metadata(root.join(p)).unwrap());
        let cache = root.join(".dfab/digests");
        let first = compute(root, &[("a".into(), stat("a"))], load_cache(&cache), &cache).unwrap();
        let meta = fs_err::metadata(root.join("a")).unwrap();
        let d = *first.current(&root.join("a"), &meta).unwrap();
        assert_eq!(hex(&d.md5), "900150983cd24fb0d6963f7d28e17f72");
        // ctime is recent, so the entry is racy and not saved yet.
        assert!(load(&cache).is_empty());
        fs_err::write(root.join("a"), b"xyz").unwrap();
        let meta = fs_err::metadata(root.join("a")).unwrap();
        assert!(
            first.current(&root.join("a"), &meta).is_none(),
            "a rewrite invalidates"
        );
    }

    #[test]
    fn a_saved_line_parses_back_and_garbage_does_not() {
        let d = Digests {
            stat: Stat {
                size: 3,
                mtime: 1_000_000,
                mtime_ns: 5,
                ctime: 1_000_001,
                ctime_ns: 6,
                ino: u64::MAX,
            },
            sha256: [0xab; 32],
            md5: [0x0f; 16],
            sniff: 3,
        };
        let mut text = String::new();
        line(&mut text, "dir/a\tb", &d);
        let line = text.trim_end();
        assert_eq!(parse_line(line), Some(("dir/a\tb".to_owned(), d)));
        assert_eq!(parse_line(&line.replacen('a', "g", 1)), None);
        assert_eq!(parse_line(&line[1..]), None);
        assert_eq!(parse_line("x\ty"), None);
        // A line of the 9-column cache (no sniff) is not trusted: the file is read again.
        let mut plain = String::new();
        super::line(&mut plain, "dir/a", &d);
        assert!(parse_line(plain.trim_end()).is_some());
        let old_format = plain.trim_end().replacen("\ts3\t", "\t", 1);
        assert_eq!(old_format.split('\t').count(), 9);
        assert_eq!(parse_line(&old_format), None);
    }
}
