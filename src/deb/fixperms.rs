//! `dh_fixperms` on the staged tree: every file ends 0644 or 0755 by debhelper 13's rules, and the
//! few modes it sets otherwise make the package one for dpkg-buildpackage.

use super::tree::{Node, Tree};

/// Directories whose files are programs (`a+x`).
const PROGRAM_DIRS: [&str; 7] = [
    "usr/bin/",
    "bin/",
    "usr/sbin/",
    "sbin/",
    "usr/games/",
    "usr/libexec/",
    "etc/init.d/",
];

/// Names `dh_fixperms` makes 0644 wherever they are (lowercase suffixes; find's `-name` is
/// case-sensitive).
const NOT_PROGRAMS: [&str; 13] = [
    ".so", ".la", ".a", ".js", ".css", ".scss", ".sass", ".jpeg", ".jpg", ".png", ".gif", ".cmxs",
    ".node",
];

/// Whether `path` (a file) is executable after `dh_fixperms`, given whether it was before.
#[must_use]
pub(crate) fn executable(path: &str, was: bool) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let in_doc = path.strip_prefix("usr/share/doc/").is_some_and(|rest| {
        // usr/share/doc/<pkg>/examples/ keeps its modes.
        !rest
            .split_once('/')
            .is_some_and(|(_, r)| r.starts_with("examples/"))
    });
    let fixed_0644 = in_doc
        || [
            "usr/share/man/",
            "usr/include/",
            "usr/share/applications/",
            "usr/share/lintian/overrides/",
        ]
        .iter()
        .any(|d| path.starts_with(d))
        || NOT_PROGRAMS.iter().any(|s| name.ends_with(s))
        || name.contains(".so.");
    let mut x = was && !fixed_0644;
    if PROGRAM_DIRS.iter().any(|d| path.starts_with(d)) {
        x = true;
    }
    x
}

/// Applies [`executable`] to every file; returns why dpkg-buildpackage is needed when the tree has
/// files `dh_fixperms` gives other modes (sudoers 0440, Ada `.ali` 0444, node and reportbug rules).
pub(crate) fn apply(tree: &mut Tree, package: &str) -> Option<String> {
    let mut changes = Vec::new();
    for (path, node) in tree.iter() {
        let ali = std::path::Path::new(path)
            .extension()
            .is_some_and(|e| e == "ali");
        if (path.starts_with("etc/sudoers.d/")
            || (path.starts_with("usr/lib/") && ali)
            || path.starts_with("usr/lib/nodejs/")
            || path.starts_with(&format!("usr/share/bug/{package}")))
            && matches!(node, Node::File { .. })
        {
            return Some(format!("/{path} (its mode by dh_fixperms)"));
        }
        if let Node::File {
            executable: was, ..
        } = node
        {
            let now = executable(path, *was);
            if now != *was {
                changes.push((path.clone(), now));
            }
        }
    }
    for (path, now) in changes {
        if let Some(Node::File {
            mut content,
            size,
            mtime,
            ..
        }) = tree.get(&path).cloned()
        {
            content = content.clone();
            tree.add(
                &path,
                Node::File {
                    content,
                    size,
                    executable: now,
                    mtime,
                },
            );
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_dh_fixperms_sets_them() {
        assert!(executable("usr/bin/tool", false), "a script in a bin dir");
        assert!(!executable("usr/lib/app/libx.so.1", true));
        assert!(!executable("usr/include/x.h", true));
        assert!(!executable("usr/share/doc/app/README", true));
        assert!(executable("usr/share/doc/app/examples/run.sh", true));
        assert!(executable("usr/share/app/run.sh", true), "kept elsewhere");
        assert!(!executable("usr/share/app/data.txt", false));
    }
}
