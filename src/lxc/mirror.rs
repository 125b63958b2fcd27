//! The Debian mirror for `lxc.template`: the one apt already uses here, never a hard-coded host.

use std::path::{Path, PathBuf};

use super::error::{LxcError, Result};

/// apt's source lists, in the order apt reads them.
fn source_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("etc/apt/sources.list")];
    if let Ok(dir) = fs_err::read_dir(root.join("etc/apt/sources.list.d")) {
        let mut more: Vec<PathBuf> = dir
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "list" || x == "sources"))
            .collect();
        more.sort();
        files.extend(more);
    }
    files
}

/// The first non-security Debian archive URL in `text` (one-line `deb` or deb822 `URIs:`).
pub(crate) fn first_debian_uri(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with("deb ") || l.starts_with("URIs:"))
        .flat_map(str::split_whitespace)
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .find(|w| !w.contains("security") && w.trim_end_matches('/').ends_with("/debian"))
        .map(str::to_owned)
}

/// The mirror: `explicit` (`lxc_mirror`), else `DFAB_MIRROR`, else the first Debian archive in
/// apt's sources under `root` (`/` normally).
pub fn mirror(explicit: Option<&str>, root: &Path) -> Result<String> {
    if let Some(m) = explicit
        .map(str::to_owned)
        .or_else(|| std::env::var("DFAB_MIRROR").ok())
    {
        return Ok(m);
    }
    let files = source_files(root);
    files
        .iter()
        .filter_map(|f| fs_err::read_to_string(f).ok())
        .find_map(|text| first_debian_uri(&text))
        .ok_or(LxcError::NoMirror { searched: files })
}

#[cfg(test)]
mod tests {
    use super::{first_debian_uri, mirror};

    #[test]
    fn reads_both_source_formats_and_skips_security() {
        let deb822 = "Types: deb\n# comment\nURIs: http://mirror.test/debian-security\n\n\
                      Types: deb\nURIs: http://mirror.test/debian\nSuites: bookworm\n";
        assert_eq!(
            first_debian_uri(deb822).as_deref(),
            Some("http://mirror.test/debian")
        );
        let one_line = "deb [arch=amd64] https://m.test/debian/ bookworm main\n";
        assert_eq!(
            first_debian_uri(one_line).as_deref(),
            Some("https://m.test/debian/")
        );
        assert_eq!(
            first_debian_uri("deb http://m.test/ubuntu jammy main"),
            None
        );
    }

    #[test]
    fn a_tree_without_sources_names_what_it_searched() {
        let dir = tempfile::tempdir().unwrap();
        if std::env::var_os("DFAB_MIRROR").is_some() {
            return; // the environment decides; nothing to search
        }
        let err = mirror(None, dir.path()).unwrap_err();
        assert!(
            err.to_string().starts_with("no Debian mirror found in "),
            "{err}"
        );
        let dir = dir.path().join("etc/apt/sources.list.d");
        fs_err::create_dir_all(&dir).unwrap();
        fs_err::write(dir.join("debian.sources"), "URIs: http://m.test/debian\n").unwrap();
        assert_eq!(
            mirror(
                None,
                dir.parent().unwrap().parent().unwrap().parent().unwrap()
            )
            .unwrap(),
            "http://m.test/debian"
        );
    }
}
