//! The staged package contents: a sorted map from path to directory, file or symlink.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::digests::Stat;

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Content {
    /// Read from this path when the archive is written; it must still have this stat then.
    Path(PathBuf, Stat),
    /// Generated in memory (compressed changelog, unit files, ...).
    Bytes(Vec<u8>),
}

/// One entry of the package's filesystem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Dir,
    File {
        content: Content,
        size: u64,
        executable: bool,
        /// Modification time of the source, clamped to the build timestamp when written.
        mtime: Option<u64>,
    },
    Symlink(String),
}

impl Node {
    /// The entry's mtime in the data tar, seconds since the epoch: a file's own, clamped to
    /// `build` (the build timestamp, `SOURCE_DATE_EPOCH`, as `dpkg-deb --clamp-mtime` does);
    /// `build` for directories, links and files made in memory.
    pub(crate) fn tar_mtime(&self, build: u64) -> u64 {
        match self {
            Node::File { mtime: Some(m), .. } => (*m).min(build),
            _ => build,
        }
    }
}

/// Paths are relative, `/`-separated, without a leading `./` or trailing `/`
/// (`usr/share/doc/app/copyright`). Keeping them in a `BTreeMap` gives the byte order dpkg-deb's
/// `find | sort` produces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tree {
    nodes: BTreeMap<String, Node>,
}

/// Normalises a package path: strips `/` and `./`, collapses `//` and drops `.` components.
#[must_use]
pub(crate) fn normalise(path: &str) -> String {
    path.split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/")
}

impl Tree {
    /// Adds a directory and its parents.
    pub(crate) fn add_dir(&mut self, path: &str) {
        let path = normalise(path);
        if path.is_empty() {
            return;
        }
        self.add_parents(&path);
        self.nodes.entry(path).or_insert(Node::Dir);
    }

    /// Adds (or replaces) a file or symlink, creating its parent directories.
    pub(crate) fn add(&mut self, path: &str, node: Node) {
        let path = normalise(path);
        self.add_parents(&path);
        if matches!(node, Node::Dir) {
            self.nodes.entry(path).or_insert(Node::Dir);
        } else {
            self.nodes.insert(path, node);
        }
    }

    /// Adds a file generated in memory.
    pub(crate) fn add_bytes(&mut self, path: &str, bytes: Vec<u8>, executable: bool) {
        let size = bytes.len() as u64;
        self.add(
            path,
            Node::File {
                content: Content::Bytes(bytes),
                size,
                executable,
                mtime: None,
            },
        );
    }

    fn add_parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(pos) = path[end..].find('/') {
            end += pos;
            self.nodes
                .entry(path[..end].to_owned())
                .or_insert(Node::Dir);
            end += 1;
        }
    }

    /// Removes an entry (not its children).
    pub(crate) fn remove(&mut self, path: &str) -> Option<Node> {
        self.nodes.remove(&normalise(path))
    }

    #[must_use]
    pub(crate) fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(&normalise(path))
    }

    /// Entries in archive order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }

    /// The entries in the order of the data tar: as [`Tree::iter`], but the symlinks after
    /// everything else, as `dpkg-deb --build` lays them out, so that their targets are unpacked
    /// first.
    pub(crate) fn in_tar_order(&self) -> impl Iterator<Item = (&String, &Node)> {
        let links = |n: &Node| matches!(n, Node::Symlink(_));
        self.iter()
            .filter(move |(_, n)| !links(n))
            .chain(self.iter().filter(move |(_, n)| links(n)))
    }

    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Total bytes of regular files.
    #[must_use]
    pub(crate) fn content_bytes(&self) -> u64 {
        self.nodes
            .values()
            .map(|n| match n {
                Node::File { size, .. } => *size,
                _ => 0,
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_created_and_order_is_bytewise() {
        let mut t = Tree::default();
        t.add_bytes("/usr/share/a-b", vec![], false);
        t.add_bytes("./usr/share/a/c", vec![], false);
        t.add_dir("etc//x/");
        let keys: Vec<&str> = t.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "etc",
                "etc/x",
                "usr",
                "usr/share",
                "usr/share/a",
                "usr/share/a-b",
                "usr/share/a/c"
            ]
        );
    }
}
