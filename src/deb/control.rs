//! `debian/control`: the source paragraph and the binary package paragraphs, validated.

use std::path::{Path, PathBuf};

use super::deb822::{self, Paragraph};
use super::pkgfile::read_text;
use super::DebError;

/// The parsed control file.
#[derive(Debug, Clone)]
pub struct Control {
    pub file: PathBuf,
    pub source: Paragraph,
    pub packages: Vec<Paragraph>,
}

impl Control {
    /// Reads and checks `debian/control` under `debian_dir`.
    pub fn load(debian_dir: &Path) -> Result<Self, DebError> {
        let file = debian_dir.join("control");
        if !file.exists() {
            return Err(DebError::Missing { path: file });
        }
        let text = read_text(&file)?;
        Self::parse(&file, &text)
    }

    /// Checks the paragraphs of `text`, read from `file`.
    pub fn parse(file: &Path, text: &str) -> Result<Self, DebError> {
        let mut paragraphs = deb822::parse(file, text)?.into_iter();
        let source = paragraphs
            .next()
            .ok_or_else(|| DebError::at(file, 1, "no paragraphs (expected a Source paragraph)"))?;
        let name = source.get("Source").ok_or_else(|| {
            DebError::at(file, source.line, "first paragraph has no `Source` field")
        })?;
        check_name(
            file,
            source.field("Source").map_or(source.line, |f| f.line),
            name,
        )?;
        let packages: Vec<Paragraph> = paragraphs.collect();
        if packages.is_empty() {
            return Err(DebError::at(
                file,
                source.line,
                "no binary `Package` paragraph",
            ));
        }
        for p in &packages {
            let package = p
                .field("Package")
                .ok_or_else(|| DebError::at(file, p.line, "paragraph has no `Package` field"))?;
            check_name(file, package.line, &package.value)?;
            for required in ["Architecture", "Description"] {
                match p.field(required) {
                    None => {
                        return Err(DebError::at(
                            file,
                            p.line,
                            format!("package `{}` has no `{required}` field", package.value),
                        ))
                    }
                    Some(f) if f.value.trim().is_empty() => {
                        return Err(DebError::at(
                            file,
                            f.line,
                            format!("empty `{required}` field"),
                        ))
                    }
                    Some(_) => {}
                }
            }
        }
        for (i, p) in packages.iter().enumerate() {
            let name = p.get("Package").unwrap_or_default();
            if let Some(dup) = packages[..i]
                .iter()
                .find(|q| q.get("Package") == Some(name))
            {
                return Err(DebError::at(
                    file,
                    p.line,
                    format!("package `{name}` already defined on line {}", dup.line),
                ));
            }
        }
        Ok(Self {
            file: file.to_owned(),
            source,
            packages,
        })
    }

    /// The source package name.
    #[must_use]
    pub fn source_name(&self) -> &str {
        self.source.get("Source").unwrap_or_default()
    }
}

/// Whether `name` is a Debian package name (policy 5.6.1): lower-case letters, digits,
/// `+ - .`, at least two characters, starting with an alphanumeric.
#[must_use]
pub fn is_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b))
}

/// Package names, checked as [`is_package_name`] with the file and line for the error.
fn check_name(file: &Path, line: usize, name: &str) -> Result<(), DebError> {
    if is_package_name(name) {
        Ok(())
    } else {
        Err(DebError::at(
            file,
            line,
            format!("invalid package name `{name}`"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Control, DebError> {
        Control::parse(Path::new("debian/control"), text)
    }

    #[test]
    fn pinned_errors() {
        let e = parse("Source: a1\n\nPackage: a1\nArchitecture: all\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "debian/control:3: package `a1` has no `Description` field"
        );
        let e = parse("Package: a1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "debian/control:1: first paragraph has no `Source` field"
        );
        let e = parse("Source: a1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "debian/control:1: no binary `Package` paragraph"
        );
        let e = parse("Source: A\n").unwrap_err();
        assert_eq!(e.to_string(), "debian/control:1: invalid package name `A`");
    }
}
