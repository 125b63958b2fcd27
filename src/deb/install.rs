//! Copying project files into the staged tree: `dh_install`'s `install`, plus `dirs`, `links` and
//! `docs`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::cache_key::Listing;
use super::digests::Stat;
use super::pkgfile::PkgFiles;
use super::tree::{normalise, Content, Node, Tree};
use super::DebError;

/// Expands `pattern` relative to `project_dir`; an empty match is an error at `file:line`.
pub(crate) fn expand(
    project_dir: &Path,
    pattern: &str,
    file: &Path,
    line: usize,
) -> Result<Vec<PathBuf>, DebError> {
    let full = format!(
        "{}/{}",
        glob::Pattern::escape(&project_dir.to_string_lossy()),
        pattern.trim_start_matches('/')
    );
    // As the shell and dh_install, `*` does not match a leading dot.
    let options = glob::MatchOptions {
        require_literal_leading_dot: true,
        ..glob::MatchOptions::new()
    };
    let paths = glob::glob_with(&full, options)
        .map_err(|e| DebError::at(file, line, format!("invalid pattern `{pattern}`: {e}")))?;
    let mut found = Vec::new();
    for p in paths {
        let p = p.map_err(|e| {
            DebError::at(
                file,
                line,
                format!("cannot read `{}`: {}", e.path().display(), e.error()),
            )
        })?;
        found.push(p);
    }
    if found.is_empty() {
        return Err(DebError::at(
            file,
            line,
            format!("`{pattern}` matches no file in {}", project_dir.display()),
        ));
    }
    found.sort();
    Ok(found)
}

/// Adds `src` (a file, symlink or whole directory) at package path `dest`, as `cp -a` would.
pub(crate) fn add_path(tree: &mut Tree, src: &Path, dest: &str) -> Result<(), DebError> {
    add_listed(tree, src, dest, &Listing::default())
}

/// [`add_path`], taking directories' children from `listing` when it has them.
fn add_listed(tree: &mut Tree, src: &Path, dest: &str, listing: &Listing) -> Result<(), DebError> {
    let meta = fs_err::symlink_metadata(src)?;
    add_entry(tree, src, dest, &meta, listing)
}

/// [`add_path`] for an entry whose lstat is known (a directory's children come with theirs:
/// `DirEntry::metadata` is an lstat relative to the open directory, without a path lookup).
fn add_entry(
    tree: &mut Tree,
    src: &Path,
    dest: &str,
    meta: &std::fs::Metadata,
    listing: &Listing,
) -> Result<(), DebError> {
    let file_type = meta.file_type();
    if file_type.is_symlink() {
        let target = fs_err::read_link(src)?;
        tree.add(dest, Node::Symlink(target.to_string_lossy().into_owned()));
    } else if file_type.is_dir() {
        tree.add_dir(dest);
        if let Some(children) = listing.children(src) {
            for (name, meta) in children {
                let dest = format!("{dest}/{}", name.to_string_lossy());
                add_entry(tree, &src.join(name), &dest, meta, listing)?;
            }
        } else {
            let mut entries: Vec<fs_err::DirEntry> =
                fs_err::read_dir(src)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(fs_err::DirEntry::file_name);
            for entry in entries {
                let name = entry.file_name().to_string_lossy().into_owned();
                let meta = entry.metadata()?;
                add_entry(
                    tree,
                    &entry.path(),
                    &format!("{dest}/{name}"),
                    &meta,
                    listing,
                )?;
            }
        }
    } else if file_type.is_file() {
        tree.add(
            dest,
            Node::File {
                content: Content::Path(src.to_owned(), Stat::of(meta)),
                size: meta.len(),
                executable: meta.permissions().mode() & 0o111 != 0,
                mtime: u64::try_from(meta.mtime()).ok(),
            },
        );
    } else {
        // A fifo, socket or device: a .deb's data holds none of them.
        return Err(DebError::at(
            src,
            0,
            "not a regular file, directory or symlink, so it cannot go in a package",
        ));
    }
    Ok(())
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `debian/install`: `pattern... dest-dir`, or a lone pattern kept at its own path.
pub(crate) fn install(
    files: &PkgFiles<'_>,
    project_dir: &Path,
    tree: &mut Tree,
    listing: &Listing,
) -> Result<(), DebError> {
    let Some((file, lines)) = files.lines("install")? else {
        return Ok(());
    };
    for (line, text) in lines {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (patterns, dest) = match words.as_slice() {
            [single] => (vec![*single], None),
            [patterns @ .., dest] => (patterns.to_vec(), Some(*dest)),
            [] => continue,
        };
        for pattern in patterns {
            for src in expand(project_dir, pattern, &file, line)? {
                let rel = src.strip_prefix(project_dir).unwrap_or(&src);
                let target = match dest {
                    Some(dir) => format!("{}/{}", normalise(dir), file_name(&src)),
                    None => normalise(&rel.to_string_lossy()),
                };
                add_listed(tree, &src, &target, listing)?;
            }
        }
    }
    Ok(())
}

/// `debian/dirs`: directories to create.
pub(crate) fn dirs(files: &PkgFiles<'_>, tree: &mut Tree) -> Result<(), DebError> {
    if let Some((_, lines)) = files.lines("dirs")? {
        for (_, text) in lines {
            for dir in text.split_whitespace() {
                tree.add_dir(dir);
            }
        }
    }
    Ok(())
}

/// `debian/links`: `target link` pairs, made relative within a top-level directory as `dh_link` does.
pub(crate) fn links(files: &PkgFiles<'_>, tree: &mut Tree) -> Result<(), DebError> {
    let Some((file, lines)) = files.lines("links")? else {
        return Ok(());
    };
    for (line, text) in lines {
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.len().is_multiple_of(2) {
            return Err(DebError::at(&file, line, "expected `target link` pairs"));
        }
        for pair in words.chunks(2) {
            // dh_link's `make_symlink` refuses `..` in the link name (`m{[.]{2}(?:/|$)}`).
            if pair[1].contains("../") || pair[1].ends_with("..") {
                return Err(DebError::at(
                    &file,
                    line,
                    format!(
                        "link name `{}` contains `..`, which dh_link refuses",
                        pair[1]
                    ),
                ));
            }
            let (target, link) = (normalise(pair[0]), normalise(pair[1]));
            if target == link {
                return Err(DebError::at(
                    &file,
                    line,
                    format!("`{link}` would link to itself"),
                ));
            }
            tree.add(&link, Node::Symlink(link_target(&target, &link)));
        }
    }
    Ok(())
}

/// The symlink text `dh_link` writes: absolute across top-level directories, else relative.
#[must_use]
pub(crate) fn link_target(target: &str, link: &str) -> String {
    let t: Vec<&str> = target.split('/').collect();
    let l: Vec<&str> = link.split('/').collect();
    if t[0] != l[0] {
        return format!("/{target}");
    }
    let link_dir = &l[..l.len() - 1];
    let common = t.iter().zip(link_dir).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; link_dir.len() - common];
    parts.extend(&t[common..]);
    if parts.is_empty() {
        ".".to_owned()
    } else {
        parts.join("/")
    }
}

/// `debian/docs`: files (or directories) for `/usr/share/doc/<pkg>/`.
pub(crate) fn docs(
    files: &PkgFiles<'_>,
    project_dir: &Path,
    tree: &mut Tree,
) -> Result<(), DebError> {
    let Some((file, lines)) = files.lines("docs")? else {
        return Ok(());
    };
    for (line, text) in lines {
        for pattern in text.split_whitespace() {
            for src in expand(project_dir, pattern, &file, line)? {
                let dest = format!("usr/share/doc/{}/{}", files.package, file_name(&src));
                add_path(tree, &src, &dest)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dh_link_targets() {
        assert_eq!(
            link_target("usr/share/app/run", "usr/bin/app"),
            "../share/app/run"
        );
        assert_eq!(link_target("opt/app/bin/x", "usr/bin/x"), "/opt/app/bin/x");
        assert_eq!(link_target("usr/lib/a", "usr/lib/b"), "a");
    }

    #[test]
    fn a_fifo_in_the_sources_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("queue");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = add_path(&mut Tree::default(), dir.path(), "srv/app").unwrap_err();
        assert!(
            matches!(&err, DebError::Input { file, line: 0, .. } if *file == fifo),
            "{err:?}"
        );
        let top = crate::error::Error::from(err);
        assert_eq!(top.code(), 2);
        assert!(
            top.to_string().ends_with(
                "queue: not a regular file, directory or symlink, so it cannot go in a package"
            ),
            "{top}"
        );
    }
}
