//! debhelper's lookup of per-package files (`debian/<pkg>.<name>`, or `debian/<name>` for the
//! first package) and its line format (blank lines and `#` comments ignored).

use std::path::{Path, PathBuf};

use super::DebError;

/// Numbered lines of a file: `(line number, trimmed text)`.
pub(crate) type Lines = Vec<(usize, String)>;

/// Which package's files to look up.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PkgFiles<'a> {
    pub(crate) debian_dir: &'a Path,
    pub(crate) package: &'a str,
    /// The first binary package also takes the bare `debian/<name>` files.
    pub(crate) is_main: bool,
}

impl PkgFiles<'_> {
    /// `debian/<pkg>.<name>`, else `debian/<name>` for the main package.
    #[must_use]
    pub(crate) fn find(&self, name: &str) -> Option<PathBuf> {
        let specific = self.debian_dir.join(format!("{}.{name}", self.package));
        if specific.is_file() {
            return Some(specific);
        }
        let bare = self.debian_dir.join(name);
        (self.is_main && bare.is_file()).then_some(bare)
    }

    /// The non-blank, non-comment lines of `name`, with their line numbers.
    pub(crate) fn lines(&self, name: &str) -> Result<Option<(PathBuf, Lines)>, DebError> {
        let Some(path) = self.find(name) else {
            return Ok(None);
        };
        let text = read_text(&path)?;
        let lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .map(|(i, l)| (i + 1, l.trim().to_owned()))
            .collect();
        Ok(Some((path, lines)))
    }
}

/// Reads a UTF-8 text file, reporting the line of the first invalid byte.
pub(crate) fn read_text(path: &Path) -> Result<String, DebError> {
    let bytes = fs_err::read(path)?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..valid].split(|&b| b == b'\n').count();
        DebError::at(path, line, "not valid UTF-8")
    })
}
