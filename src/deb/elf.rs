//! Compiled files of an architecture-dependent package, as `dh_dwz -a`, `dh_strip -a` and
//! `dh_shlibdeps -a` treat them: ELF programs and shared objects have their DWARF compressed by
//! `dwz`, are stripped (with a `.gnu_debuglink`, as `dh_strip` leaves it when no `-dbgsym` package
//! is kept) and scanned by `dpkg-shlibdeps` for
//! `${shlibs:Depends}`. Architecture `all` packages are never scanned, so the pure-Python path
//! reads no file twice and runs no tool.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::cmd::{Cmd, RunLocal as _};
use super::digests::Stat;
use super::substvars::Substvars;
use super::tree::{Content, Node, Tree};
use super::DebError;

/// How `dh_strip` strips a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// An ELF executable or shared object with an execute bit.
    Program,
    /// An ELF shared object without one (a library or plugin): `--strip-unneeded` too.
    SharedObject,
}

/// One ELF file of the package.
#[derive(Debug, Clone)]
struct Elf {
    path: String,
    source: PathBuf,
    kind: Kind,
}

/// What the project's `debian/rules` leaves out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Skips {
    pub(crate) dwz: bool,
    pub(crate) strip: bool,
    pub(crate) shlibdeps: bool,
}

/// Directories the dynamic linker searches: a shared library there is a public library, whose
/// `shlibs`, symbols and ldconfig trigger `dh_makeshlibs` makes (which dfab does not).
const LD_DIRS: [&str; 4] = ["lib", "usr/lib", "lib64", "usr/lib64"];

/// Strips the ELF files of `tree` (of package `package`) into `work` and fills
/// `${shlibs:Depends}`; returns why only dpkg-buildpackage can build the package, if so.
pub(crate) fn process(
    project_dir: &Path,
    package: &str,
    work: &Path,
    tree: &mut Tree,
    skips: Skips,
    substvars: &mut Substvars,
) -> Result<Option<String>, DebError> {
    if let Some(lib) = static_library(tree)? {
        // dh_strip runs `strip --strip-debug` (and more) on static libraries; dfab does not.
        return Ok(Some(format!(
            "the static library /{lib} (dh_strip --strip-debug)"
        )));
    }
    let elves = find(tree)?;
    if elves.is_empty() {
        return Ok(None);
    }
    for elf in &elves {
        let dir = elf.path.rsplit_once('/').map_or("", |(d, _)| d);
        let public = LD_DIRS.contains(&dir)
            || (dir.starts_with("usr/lib/") && !dir[8..].contains('/') && dir.contains("-linux-"));
        if elf.kind == Kind::SharedObject && public {
            return Ok(Some(format!(
                "the shared library /{} (dh_makeshlibs)",
                elf.path
            )));
        }
    }
    if !skips.shlibdeps {
        let mut cmd = Cmd::of("dpkg-shlibdeps").arg("-O").cwd(project_dir);
        for elf in &elves {
            cmd = cmd.arg(format!("-e{}", elf.source.display()));
        }
        let out = cmd.output()?;
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((name, value)) = line.split_once('=') {
                substvars.add(name, value);
            }
        }
    }
    let no_strip = std::env::var("DEB_BUILD_OPTIONS")
        .is_ok_and(|o| o.split_whitespace().any(|w| w == "nostrip"));
    // dh_dwz, like dh_strip, does nothing under `nostrip`.
    if no_strip || (skips.strip && skips.dwz) {
        return Ok(None);
    }
    if work.exists() {
        fs_err::remove_dir_all(work)?;
    }
    fs_err::create_dir_all(work)?;
    let mut copies = Vec::new();
    for (i, elf) in elves.iter().enumerate() {
        let name = elf.path.rsplit('/').next().unwrap_or("elf");
        let copy = work.join(format!("{i}-{name}"));
        fs_err::copy(&elf.source, &copy)?;
        copies.push(copy);
    }
    if !skips.dwz {
        if !super::on_path("dwz") {
            return Ok(Some(
                "dh_dwz (dwz is not installed: apt-get install dwz)".to_owned(),
            ));
        }
        dwz(package, work, &copies)?;
    }
    for (elf, copy) in elves.iter().zip(copies) {
        if !skips.strip {
            strip(&copy, elf.kind, work)?;
        }
        let meta = fs_err::metadata(&copy)?;
        let Some(Node::File {
            executable, mtime, ..
        }) = tree.get(&elf.path).cloned()
        else {
            continue;
        };
        tree.add(
            &elf.path,
            Node::File {
                content: Content::Path(copy, Stat::of(&meta)),
                size: meta.len(),
                executable,
                mtime,
            },
        );
    }
    Ok(None)
}

/// `dh_dwz` (compat 13) on the package's ELF files, in path order: one `dwz` run, with a
/// multifile when there are several, whose `.gnu_debugaltlink` stays in the stripped programs (the
/// multifile itself goes to the `-dbgsym` package, which dfab does not make). `dwz` leaves a file
/// without debug information as it is.
fn dwz(package: &str, work: &Path, copies: &[PathBuf]) -> Result<(), DebError> {
    let mut cmd = Cmd::of("dwz");
    if copies.len() > 1 {
        let multiarch = Cmd::of("dpkg-architecture")
            .arg("-qDEB_HOST_MULTIARCH")
            .output()?;
        let multiarch = String::from_utf8_lossy(&multiarch.stdout).trim().to_owned();
        let multifile = work.join(format!("dwz-{package}.debug"));
        cmd = cmd
            .arg(format!("-m{}", multifile.display()))
            .arg(format!("-M/usr/lib/debug/.dwz/{multiarch}/{package}.debug"));
    }
    cmd.arg("--")
        .args(copies.iter().map(|c| c.display().to_string()))
        .output()?;
    Ok(())
}

/// `dh_strip` on one file: the debug part kept aside (named by build id), the file stripped, and
/// the debug link attached.
fn strip(file: &Path, kind: Kind, work: &Path) -> Result<(), DebError> {
    let notes = Cmd::of("readelf")
        .arg("--notes")
        .arg(file.display().to_string())
        .output()?;
    let notes = String::from_utf8_lossy(&notes.stdout).into_owned();

    let build_id = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))
        .map(str::to_owned);
    let debug_name = match &build_id {
        Some(id) if id.len() > 2 => format!("{}.debug", &id[2..]),
        _ => file
            .file_name()
            .map_or_else(|| "elf".into(), |n| n.to_string_lossy().into_owned()),
    };
    let debug_dir = work.join(format!(
        "debug-{}",
        file.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    ));
    fs_err::create_dir_all(&debug_dir)?;
    let debug = debug_dir.join(debug_name);
    let f = file.display().to_string();
    Cmd::of("objcopy")
        .args(["--only-keep-debug", "--compress-debug-sections"])
        .arg(&f)
        .arg(debug.display().to_string())
        .output()?;
    let mut cmd = Cmd::of("strip").args(["--remove-section=.comment", "--remove-section=.note"]);
    if kind == Kind::SharedObject {
        cmd = cmd.arg("--strip-unneeded");
    }
    cmd.arg(&f).output()?;
    Cmd::of("objcopy")
        .arg(format!("--add-gnu-debuglink={}", debug.display()))
        .arg(&f)
        .output()?;
    Ok(())
}

/// The ELF executables and shared objects among the tree's files (dh's
/// `is_so_or_exec_elf_file`: magic, a known byte order, version 1, type EXEC or DYN).
/// The first `lib*.a` ar archive in `tree`, as `dh_strip` picks static libraries.
fn static_library(tree: &Tree) -> Result<Option<String>, DebError> {
    for (path, node) in tree.iter() {
        let Node::File {
            content: Content::Path(source, _),
            size,
            ..
        } = node
        else {
            continue;
        };
        let name = path.rsplit('/').next().unwrap_or(path);
        let is_a = std::path::Path::new(name)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("a"));
        if *size < 8 || !(name.starts_with("lib") && is_a) {
            continue;
        }
        let mut head = [0u8; 8];
        fs_err::File::open(source)?.read_exact(&mut head)?;
        if &head == b"!<arch>\n" {
            return Ok(Some(path.clone()));
        }
    }
    Ok(None)
}

fn find(tree: &Tree) -> Result<Vec<Elf>, DebError> {
    let mut out = Vec::new();
    for (path, node) in tree.iter() {
        let Node::File {
            content: Content::Path(source, _),
            executable,
            size,
            ..
        } = node
        else {
            continue;
        };
        if *size < 64 || path.contains("/debug/") {
            continue;
        }
        let mut head = [0u8; 24];
        fs_err::File::open(source)?.read_exact(&mut head)?;
        if is_so_or_exec(&head) {
            out.push(Elf {
                path: path.clone(),
                source: source.clone(),
                kind: if *executable {
                    Kind::Program
                } else {
                    Kind::SharedObject
                },
            });
        }
    }
    Ok(out)
}

/// Whether the first 24 bytes of a file are an ELF header of an executable or shared object.
fn is_so_or_exec(head: &[u8; 24]) -> bool {
    if &head[..4] != b"\x7fELF" {
        return false;
    }
    let (version, kind) = match head[5] {
        1 => (
            u32::from_le_bytes([head[20], head[21], head[22], head[23]]),
            u16::from_le_bytes([head[16], head[17]]),
        ),
        2 => (
            u32::from_be_bytes([head[20], head[21], head[22], head[23]]),
            u16::from_be_bytes([head[16], head[17]]),
        ),
        _ => return false,
    };
    version == 1 && (kind == 2 || kind == 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_headers_as_dh_reads_them() {
        let mut head = [0u8; 24];
        head[..4].copy_from_slice(b"\x7fELF");
        head[5] = 1;
        head[16] = 3;
        head[20] = 1;
        assert!(is_so_or_exec(&head));
        head[16] = 1; // a relocatable object (.o) is not stripped
        assert!(!is_so_or_exec(&head));
        head[16] = 2;
        head[5] = 3;
        assert!(!is_so_or_exec(&head));
    }
}
