//! `dh_compress`: man and info pages, and docs over 4 kB (changelogs and NEWS at any size), are
//! gzipped like `gzip -9n`, and symlinks to them follow.

use std::path::Path;

use super::installers::gzip_n;
use super::tree::{Content, Node, Tree};
use super::DebError;

/// Suffixes (case-insensitive) never compressed under `usr/share/doc`.
const DOC_KEEP: [&str; 33] = [
    ".xhtml",
    ".gif",
    ".png",
    ".jpg",
    ".jpeg",
    ".gz",
    ".taz",
    ".tgz",
    ".z",
    ".bz2",
    "-gz",
    "-z",
    "_z",
    ".epub",
    ".jar",
    ".zip",
    ".odg",
    ".odp",
    ".odt",
    ".css",
    ".xz",
    ".lz",
    ".lzma",
    ".haddock",
    ".hs",
    ".woff",
    ".woff2",
    ".svg",
    ".svgz",
    ".js",
    ".map",
    ".devhelp2",
    ".inv",
];

/// Whether `dh_compress` (compat 13) compresses the file at `path` of `size` bytes.
#[must_use]
pub(crate) fn wanted(path: &str, size: u64) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    if path.starts_with("usr/share/man/") || path.starts_with("usr/share/info/") {
        return ![".gz", ".gif", ".png", ".jpg", ".jpeg"]
            .iter()
            .any(|s| lower.ends_with(s));
    }
    if path.starts_with("usr/share/fonts/X11/") {
        return Path::new(name).extension().is_some_and(|e| e == "pcf");
    }
    let Some(rest) = path.strip_prefix("usr/share/doc/") else {
        return false;
    };
    let in_skipped_dir = rest.split('/').any(|c| c == "_sources")
        || rest
            .split_once('/')
            .is_some_and(|(_, r)| r.starts_with("examples/"));
    if in_skipped_dir {
        return false;
    }
    let candidate = size > 4096 || name.starts_with("changelog") || name.starts_with("NEWS");
    let html_ok = name == "changelog.html" || !lower.contains(".htm");
    let kept = DOC_KEEP.iter().any(|s| lower.ends_with(s))
        || lower == ".htaccess"
        || matches!(
            name,
            "index.sgml" | "objects.inv" | "search_index.json" | "copyright"
        );
    candidate && html_ok && !kept
}

/// Compresses what [`wanted`] picks and re-points symlinks to the compressed names.
pub(crate) fn apply(tree: &mut Tree) -> Result<(), DebError> {
    let picked: Vec<(String, Node)> = tree
        .iter()
        .filter(|(p, n)| matches!(n, Node::File { size, .. } if wanted(p, *size)))
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    for (path, node) in &picked {
        let Node::File { content, mtime, .. } = node else {
            continue;
        };
        let data = match content {
            Content::Bytes(b) => b.clone(),
            Content::Path(p, _) => fs_err::read(p)?,
        };
        let gz = gzip_n(&data)?;
        tree.remove(path);
        let size = gz.len() as u64;
        tree.add(
            &format!("{path}.gz"),
            Node::File {
                content: Content::Bytes(gz),
                size,
                executable: false,
                mtime: *mtime,
            },
        );
    }
    if picked.is_empty() {
        return Ok(());
    }
    let links: Vec<(String, String)> = tree
        .iter()
        .filter_map(|(p, n)| match n {
            Node::Symlink(t) => Some((p.clone(), t.clone())),
            _ => None,
        })
        .collect();
    for (link, target) in links {
        let dir = link.rsplit_once('/').map_or("", |(d, _)| d);
        let resolved = resolve(dir, &target);
        if tree.get(&resolved).is_none() && tree.get(&format!("{resolved}.gz")).is_some() {
            tree.remove(&link);
            tree.add(&format!("{link}.gz"), Node::Symlink(format!("{target}.gz")));
        }
    }
    Ok(())
}

/// The package path a symlink in `dir` pointing at `target` names.
fn resolve(dir: &str, target: &str) -> String {
    let mut parts: Vec<&str> = if target.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|c| !c.is_empty()).collect()
    };
    for c in target.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_dh_compress_picks() {
        assert!(wanted("usr/share/man/man1/app.1", 10));
        assert!(wanted("usr/share/doc/app/README.md", 4097));
        assert!(!wanted("usr/share/doc/app/README.md", 4096));
        assert!(wanted("usr/share/doc/app/changelog", 10));
        assert!(wanted("usr/share/doc/app/NEWS", 10));
        assert!(!wanted("usr/share/doc/app/copyright", 9000));
        assert!(!wanted("usr/share/doc/app/index.html", 9000));
        assert!(!wanted("usr/share/doc/app/examples/big.txt", 9000));
        assert!(!wanted("usr/share/app/big.txt", 9000));
        assert_eq!(
            resolve("usr/share/doc/a", "../b/README"),
            "usr/share/doc/b/README"
        );
    }
}
