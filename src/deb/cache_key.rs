//! The input key of a build: a hash of the options and of every project file (path, type, mode,
//! size, mtime and content digest), so an unchanged rebuild can reuse the packages already built.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::digests::{self, DigestMap, Stat};
use super::wheels::hex;
use super::{BuildOptions, DebError};

/// Directories never part of the inputs: dfab's cache and VCS metadata.
const SKIPPED: [&str; 2] = [".dfab", ".git"];

/// The key, the digests of the project's files (reused for `md5sums`) and the listing of its
/// directories (reused by `debian/install`, so the tree is walked and stat'ed once).
#[derive(Debug)]
pub(crate) struct Inputs {
    pub(crate) key: String,
    pub(crate) digests: DigestMap,
    pub(crate) listing: Listing,
}

/// The children of every project directory the walk saw in full (name order, with their
/// lstat), by absolute path.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    dirs: HashMap<PathBuf, Vec<(OsString, std::fs::Metadata)>>,
}

impl Listing {
    /// `dir`'s children as the walk saw them; `None` when it did not list `dir` in full.
    pub(crate) fn children(&self, dir: &Path) -> Option<&[(OsString, std::fs::Metadata)]> {
        self.dirs.get(dir).map(Vec::as_slice)
    }
}

/// One entry of the project tree.
struct Entry {
    rel: String,
    meta: std::fs::Metadata,
    link: Option<String>,
}

/// Hashes the options and the project tree (skipping `out_dir` when it is inside the project).
pub(crate) fn compute(opts: &BuildOptions, host_arch: &str) -> Result<Inputs, DebError> {
    let mut h = Sha256::new();
    let o = opts;
    let text = format!(
        "dfab-deb/{}\n{:?}\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{host_arch}\n{:?}\n{:?}\n",
        env!("CARGO_PKG_VERSION"),
        o.version,
        o.compression,
        o.source_date_epoch,
        o.wheel,
        o.wheelserver,
        o.wheelserver_trusted_host,
        o.venv_path,
        o.wheelhouse_path,
        o.build_commands,
        std::env::var("SOURCE_DATE_EPOCH").ok(),
        super::plan::build_profiles(),
    );
    h.update(text.as_bytes());
    // The output directory, by device and inode, so it is recognised without resolving paths.
    let out_dir = fs_err::metadata(&opts.out_dir)
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let mut entries = Vec::new();
    let mut listing = Listing::default();
    let cache = opts.project_dir.join(".dfab").join("digests");
    // The digest cache is read and parsed on another thread while the tree is walked.
    let cached = std::thread::scope(|s| {
        let loading = s.spawn(|| digests::load_cache(&cache));
        let walked = walk(&opts.project_dir, "", out_dir, &mut entries, &mut listing);
        // A panic is a bug, not an error of the input: carry it on as one.
        let cached = loading
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        walked.map(|()| cached)
    })?;
    let files: Vec<(String, Stat)> = entries
        .iter()
        .filter(|e| e.meta.is_file())
        .map(|e| (e.rel.clone(), Stat::of(&e.meta)))
        .collect();
    let digests = digests::compute(&opts.project_dir, &files, cached, &cache)?;
    for e in &entries {
        let mode = e.meta.permissions().mode();
        h.update(
            format!(
                "{}\0{mode:o}\0{}\0{}\0",
                e.rel,
                e.meta.len(),
                e.meta.mtime()
            )
            .as_bytes(),
        );
        if let Some(link) = &e.link {
            h.update(link.as_bytes());
        } else if e.meta.is_file() {
            let path = opts.project_dir.join(&e.rel);
            let d = digests
                .current(&path, &e.meta)
                .ok_or_else(|| DebError::Changed {
                    path: path.clone(),
                    during: "hashing",
                })?;
            h.update(d.sha256);
        }
        h.update([0]);
    }
    Ok(Inputs {
        key: hex(&h.finalize()),
        digests,
        listing,
    })
}

fn walk(
    dir: &Path,
    rel: &str,
    out_dir: Option<(u64, u64)>,
    entries: &mut Vec<Entry>,
    listing: &mut Listing,
) -> Result<(), DebError> {
    let mut children: Vec<_> = fs_err::read_dir(dir)?.collect::<Result<_, _>>()?;
    children.sort_by_key(fs_err::DirEntry::file_name);
    // The project root leaves out `.dfab` and `.git`: it is never listed as complete.
    let mut complete = !rel.is_empty();
    let mut seen = Vec::with_capacity(children.len());
    for child in children {
        let os_name = child.file_name();
        // dfab's package tree holds UTF-8 paths; dpkg-deb takes any bytes.
        let Some(name) = os_name.to_str().map(str::to_owned) else {
            return Err(DebError::Fallback(format!(
                "the file name `{}` (not UTF-8) in the project",
                child.path().display()
            )));
        };
        if rel.is_empty() && SKIPPED.contains(&name.as_str()) {
            continue;
        }
        // `DirEntry::metadata` is an lstat relative to the open directory: no path lookup.
        let meta = child.metadata()?;
        if meta.is_dir() && out_dir == Some((meta.dev(), meta.ino())) {
            complete = false;
            continue;
        }
        seen.push((os_name, meta.clone()));
        let rel_path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let link = if meta.file_type().is_symlink() {
            Some(
                fs_err::read_link(child.path())?
                    .to_string_lossy()
                    .into_owned(),
            )
        } else {
            None
        };
        let is_dir = meta.is_dir();
        if is_dir {
            let path = child.path();
            entries.push(Entry {
                rel: rel_path.clone(),
                meta,
                link,
            });
            walk(&path, &rel_path, out_dir, entries, listing)?;
        } else {
            entries.push(Entry {
                rel: rel_path,
                meta,
                link,
            });
        }
    }
    if complete {
        listing.dirs.insert(dir.to_owned(), seen);
    }
    Ok(())
}
