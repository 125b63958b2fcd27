//! Member-by-member comparison of two `.deb` files, read directly (ar, tar, decompressors): the
//! data tree, the control fields, `md5sums`, `conffiles` and the other control members.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

/// One data-tree entry as the tar header and contents say (mtimes left out: dpkg-deb clamps
/// them, and the files' own times depend on how each builder copied them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    kind: char,
    mode: u32,
    owner: String,
    /// Size in the archive; `None` for `.gz` files, whose bytes depend on the deflate
    /// implementation (GNU gzip's or dfab's): their decompressed digest is compared instead.
    size: Option<u64>,
    link: Option<String>,
    digest: String,
}

/// What a package holds: data entries by path, control members by name (mode, text).
pub(crate) struct Unpacked {
    pub(crate) data: BTreeMap<String, Entry>,
    pub(crate) control: BTreeMap<String, (u32, String)>,
}

/// Shows raw path bytes: UTF-8 as is, other bytes as `\xNN`.
fn show(bytes: &[u8]) -> String {
    bytes.utf8_chunks().fold(String::new(), |mut s, c| {
        s.push_str(c.valid());
        for b in c.invalid() {
            let _ = write!(s, "\\x{b:02x}");
        }
        s
    })
}

fn ar_members(bytes: &[u8]) -> Vec<(String, &[u8])> {
    assert!(bytes.starts_with(b"!<arch>\n"), "not an ar archive");
    let mut out = Vec::new();
    let mut at = 8;
    while at + 60 <= bytes.len() {
        let header = &bytes[at..at + 60];
        let name = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_owned();
        let size: usize = String::from_utf8_lossy(&header[48..58])
            .trim()
            .parse()
            .unwrap();
        out.push((name, &bytes[at + 60..at + 60 + size]));
        at += 60 + size + size % 2;
    }
    out
}

fn decompress(name: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut reader: Box<dyn Read + '_> = match name.rsplit('.').next() {
        Some("xz") => Box::new(xz2::read::XzDecoder::new(bytes)),
        Some("gz") => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
        Some("zst") => Box::new(zstd::stream::read::Decoder::new(bytes).unwrap()),
        _ => Box::new(bytes),
    };
    reader.read_to_end(&mut out).unwrap();
    out
}

/// Whether `path` names a gzip file (debhelper's `.gz`, case-sensitively as `dh_compress` writes).
fn is_gz(path: &str) -> bool {
    Path::new(path).extension().is_some_and(|e| e == "gz")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Reads `deb` whole.
pub(crate) fn unpack(deb: &Path) -> Unpacked {
    let bytes = fs_err::read(deb).unwrap();
    let mut data = BTreeMap::new();
    let mut control = BTreeMap::new();
    for (name, member) in ar_members(&bytes) {
        let is_data = name.starts_with("data.tar");
        if !is_data && !name.starts_with("control.tar") {
            continue;
        }
        let tar_bytes = decompress(&name, member);
        let mut archive = tar::Archive::new(&tar_bytes[..]);
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = show(&entry.path_bytes());
            let path = path
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned();
            let h = entry.header().clone();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            if !is_data {
                if h.entry_type().is_file() {
                    let mode = h.mode().unwrap() & 0o7777;
                    control.insert(path, (mode, String::from_utf8_lossy(&content).into_owned()));
                }
                continue;
            }
            let gz = is_gz(&path) && content.starts_with(&[0x1f, 0x8b]);
            let digest = if gz {
                let mut plain = Vec::new();
                flate2::read::GzDecoder::new(&content[..])
                    .read_to_end(&mut plain)
                    .map_or_else(
                        |_| hex(&Sha256::digest(&content)),
                        |_| format!("gunzipped {}", hex(&Sha256::digest(&plain))),
                    )
            } else {
                hex(&Sha256::digest(&content))
            };
            let kind = match h.entry_type() {
                tar::EntryType::Regular => '-',
                tar::EntryType::Directory => 'd',
                tar::EntryType::Symlink => 'l',
                tar::EntryType::Link => 'h',
                other => format!("{other:?}").chars().next().unwrap_or('?'),
            };
            let owner = format!(
                "{}:{}/{}:{}",
                h.uid().unwrap(),
                h.gid().unwrap(),
                show(h.username_bytes().unwrap_or_default()),
                show(h.groupname_bytes().unwrap_or_default())
            );
            let entry = Entry {
                kind,
                mode: h.mode().unwrap() & 0o7777,
                owner,
                size: (!gz).then(|| h.size().unwrap()),
                link: entry.link_name_bytes().map(|l| show(&l)),
                digest,
            };
            data.insert(path, entry);
        }
    }
    Unpacked { data, control }
}

/// The fields of a `control` member, continuation lines joined with `\n`.
fn fields(text: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut last = String::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = out.get_mut(&last) {
                v.push('\n');
                v.push_str(line);
            }
        } else if let Some((k, v)) = line.split_once(':') {
            k.clone_into(&mut last);
            out.insert(k.to_owned(), v.trim().to_owned());
        }
    }
    out
}

/// Maintainer scripts differ only in the name of the tool in debhelper's markers.
fn normalise_script(text: &str) -> String {
    text.lines()
        .map(|l| match l.strip_prefix("# Automatically added by ") {
            Some(tool) => {
                let tool = tool.trim_start_matches("dfab/");
                format!(
                    "# Automatically added by {}",
                    tool.split('/').next().unwrap_or("")
                )
            }
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `md5sums` as path → digest; the digests of `.gz` files are left out (gzip implementation).
fn md5sums(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(md5, path)| {
            let md5 = if is_gz(path) { "(gz)" } else { md5 };
            (path.to_owned(), md5.to_owned())
        })
        .collect()
}

fn keys<'a, V>(a: &'a BTreeMap<String, V>, b: &'a BTreeMap<String, V>) -> BTreeSet<&'a String> {
    a.keys().chain(b.keys()).collect()
}

/// Every difference between dfab's package `ours` and dpkg-buildpackage's `theirs`, one line
/// each (`<what> <where>: dfab … / dpkg-buildpackage …`).
pub(crate) fn differences(ours: &Path, theirs: &Path) -> Vec<String> {
    let (a, b) = (unpack(ours), unpack(theirs));
    let mut diffs = Vec::new();
    for path in keys(&a.data, &b.data) {
        match (a.data.get(path), b.data.get(path)) {
            (Some(x), Some(y)) if x != y => {
                diffs.push(format!(
                    "data /{path}: dfab {x:?} / dpkg-buildpackage {y:?}"
                ));
            }
            (Some(_), None) => diffs.push(format!("data /{path}: only in dfab's")),
            (None, Some(_)) => diffs.push(format!("data /{path}: only in dpkg-buildpackage's")),
            _ => {}
        }
    }
    for member in keys(&a.control, &b.control) {
        let (Some((ma, ta)), Some((mb, tb))) = (a.control.get(member), b.control.get(member))
        else {
            let who = if a.control.contains_key(member) {
                "dfab's"
            } else {
                "dpkg-buildpackage's"
            };
            diffs.push(format!("control member {member}: only in {who}"));
            continue;
        };
        if ma != mb {
            diffs.push(format!("control member {member}: mode {ma:o} / {mb:o}"));
        }
        match member.as_str() {
            "control" => {
                let (fa, fb) = (fields(ta), fields(tb));
                for f in keys(&fa, &fb) {
                    if fa.get(f) != fb.get(f) {
                        diffs.push(format!(
                            "field {f}: dfab {:?} / dpkg-buildpackage {:?}",
                            fa.get(f),
                            fb.get(f)
                        ));
                    }
                }
            }
            "md5sums" => {
                let (ma, mb) = (md5sums(ta), md5sums(tb));
                for p in keys(&ma, &mb) {
                    if ma.get(p) != mb.get(p) {
                        diffs.push(format!(
                            "md5sums {p}: dfab {:?} / dpkg-buildpackage {:?}",
                            ma.get(p),
                            mb.get(p)
                        ));
                    }
                }
            }
            _ if normalise_script(ta) != normalise_script(tb) => diffs.push(format!(
                "control member {member}:\n--- dfab\n{ta}\n--- dpkg-buildpackage\n{tb}"
            )),
            _ => {}
        }
    }
    diffs
}
