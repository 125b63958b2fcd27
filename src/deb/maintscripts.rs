//! Maintainer scripts as `dh_installdeb` writes them: `#DEBHELPER#` replaced by the snippets, or a
//! generated script when there is none.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::pkgfile::{read_text, PkgFiles};
use super::DebError;

/// The scripts dpkg runs.
pub(crate) const SCRIPTS: [&str; 4] = ["preinst", "postinst", "prerm", "postrm"];

/// Snippets collected per script, in the order the tools added them, in debhelper's two groups:
/// the ordinary ones (`debian/<pkg>.<script>.debhelper`) and those added with `snippet-order =>
/// 'service'` (`dh_installinit`'s and most of `dh_installsystemd`'s).
#[derive(Debug, Clone, Default)]
pub(crate) struct Snippets {
    by_script: BTreeMap<&'static str, Vec<(String, String)>>,
    service: BTreeMap<&'static str, Vec<(String, String)>>,
}

impl Snippets {
    /// Adds `text` from `tool` to `script`.
    pub(crate) fn add(&mut self, script: &'static str, tool: &str, text: String) {
        self.by_script
            .entry(script)
            .or_default()
            .push((tool.to_owned(), text));
    }

    /// Adds `text` from `tool` to `script`'s service group.
    pub(crate) fn add_service(&mut self, script: &'static str, tool: &str, text: String) {
        self.service
            .entry(script)
            .or_default()
            .push((tool.to_owned(), text));
    }

    /// The block replacing `#DEBHELPER#` as `debhelper_script_subst` builds it: postinst and
    /// preinst take the ordinary group then the service group, each in order; prerm and postrm
    /// the service group then the ordinary one, each in reverse (removal undoes installation
    /// last-in first-out).
    #[must_use]
    pub(crate) fn block(&self, script: &str) -> String {
        let empty = Vec::new();
        let plain = self.by_script.get(script).unwrap_or(&empty);
        let service = self.service.get(script).unwrap_or(&empty);
        let ordered: Vec<&(String, String)> = if matches!(script, "prerm" | "postrm") {
            service.iter().rev().chain(plain.iter().rev()).collect()
        } else {
            plain.iter().chain(service).collect()
        };
        ordered
            .into_iter()
            .fold(String::new(), |mut out, (tool, text)| {
                let _ = write!(
                    out,
                    "# Automatically added by {}\n{text}# End automatically added section\n",
                    marker(tool)
                );
                out
            })
    }
}

/// The tool named in a snippet's marker as debhelper writes it, `dh_tool/<its version>` (the
/// installed debhelper's, so the scripts, and the `Installed-Size` that counts them, are
/// dpkg-buildpackage's to the byte; a longer name in the marker moved `Installed-Size` by a KiB,
/// found by the differential test), or `dfab/dh_tool` without debhelper.
fn marker(tool: &str) -> String {
    static VERSION: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let version = VERSION.get_or_init(|| {
        let text =
            fs_err::read_to_string("/usr/share/perl5/Debian/Debhelper/Dh_Version.pm").ok()?;
        let v = text.split_once("$version='")?.1.split_once('\'')?.0;
        Some(v.to_owned())
    });
    match version {
        Some(v) => format!("{tool}/{v}"),
        None => format!("dfab/{tool}"),
    }
}

/// The maintainer scripts (plus debconf's `config`) for the package, as `(name, contents)`.
pub(crate) fn assemble(
    files: &PkgFiles<'_>,
    snippets: &Snippets,
) -> Result<Vec<(String, Vec<u8>)>, DebError> {
    let mut out = Vec::new();
    for name in SCRIPTS.iter().copied().chain(["config"]) {
        let block = snippets.block(name);
        let script = match files.find(name) {
            Some(path) => {
                let text = read_text(&path)?;
                if !text.starts_with("#!") {
                    return Err(DebError::at(
                        &path,
                        1,
                        "maintainer script must start with `#!`",
                    ));
                }
                text.replace("#DEBHELPER#", &block)
            }
            None if block.is_empty() => continue,
            None => format!("#!/bin/sh\nset -e\n{block}"),
        };
        out.push((name.to_owned(), script.into_bytes()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_snippets_run_in_reverse() {
        let mut s = Snippets::default();
        s.add("postrm", "a", "A\n".into());
        s.add("postrm", "b", "B\n".into());
        s.add("postinst", "a", "A\n".into());
        s.add("postinst", "b", "B\n".into());
        assert!(s.block("postrm").find("B\n").unwrap() < s.block("postrm").find("A\n").unwrap());
        assert!(
            s.block("postinst").find("A\n").unwrap() < s.block("postinst").find("B\n").unwrap()
        );
    }
}
