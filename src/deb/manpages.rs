//! `dh_installman`: the pages listed in `debian/manpages` go to `usr/share/man/[<lang>/]man<N>/`,
//! their section read from the `.TH`/`.Dt` line or, failing that, the file name.

use std::io::Read;
use std::path::Path;

use super::install::{add_path, expand};
use super::pkgfile::{read_text, PkgFiles};
use super::tree::Tree;
use super::DebError;

/// Installs the pages of `debian/[<pkg>.]manpages`.
pub(crate) fn install(
    files: &PkgFiles<'_>,
    project_dir: &Path,
    tree: &mut Tree,
) -> Result<(), DebError> {
    let Some((file, lines)) = files.lines("manpages")? else {
        return Ok(());
    };
    for (line, text) in lines {
        for pattern in text.split_whitespace() {
            for page in expand(project_dir, pattern, &file, line)? {
                let dest = destination(&page)
                    .map_err(|m| DebError::at(&file, line, format!("{}: {m}", page.display())))?;
                if let Some(plain) = dest.strip_suffix("\0gz") {
                    let mut text = Vec::new();
                    flate2::read::GzDecoder::new(fs_err::File::open(&page)?)
                        .read_to_end(&mut text)?;
                    tree.add_bytes(plain, text, false);
                } else {
                    add_path(tree, &page, &dest)?;
                }
            }
        }
    }
    Ok(())
}

/// The package path of `page` (with a `\0gz` suffix when it must be decompressed).
fn destination(page: &Path) -> Result<String, String> {
    let mut basename = page
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let gz = Path::new(&basename).extension().is_some_and(|e| e == "gz");
    let text = if gz {
        basename.truncate(basename.len() - 3);
        let mut t = Vec::new();
        flate2::read::GzDecoder::new(fs_err::File::open(page).map_err(|e| e.to_string())?)
            .read_to_end(&mut t)
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&t).into_owned()
    } else {
        read_text(page).map_err(|e| e.to_string())?
    };
    let section = text
        .lines()
        .find_map(th_section)
        .filter(|s| !looks_like_version(s))
        .or_else(|| {
            let (_, ext) = basename.rsplit_once('.')?;
            (ext.starts_with(|c: char| ('1'..='9').contains(&c))
                && ext.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
            .then(|| ext.to_owned())
        })
        .ok_or("could not determine the man page's section")?;
    let real: String = section.chars().take_while(char::is_ascii_digit).collect();
    if !matches!(real.parse::<u32>(), Ok(1..=9)) {
        return Err(format!("section `{section}` is not a valid section"));
    }
    let mut name = basename
        .rsplit_once('.')
        .map_or(basename.as_str(), |(n, _)| n)
        .to_owned();
    let lang = language(&basename);
    if let Some(l) = &lang {
        if let Some(n) = name.strip_suffix(&format!(".{l}")) {
            name = n.to_owned();
        }
    }
    let dir = match lang {
        Some(l) => format!("usr/share/man/{l}/man{real}"),
        None => format!("usr/share/man/man{real}"),
    };
    Ok(format!(
        "{dir}/{name}.{section}{}",
        if gz { "\0gz" } else { "" }
    ))
}

/// The section of a `.TH name section` or `.Dt name section` line.
fn th_section(line: &str) -> Option<String> {
    let rest = line
        .strip_prefix(".TH")
        .or_else(|| line.strip_prefix(".Dt"))?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let mut words = rest.split_whitespace();
    words.next()?;
    let s = words.next()?.trim_matches('"');
    s.starts_with(|c: char| c.is_ascii_digit())
        .then(|| s.to_owned())
}

fn looks_like_version(section: &str) -> bool {
    let digits = section.trim_start_matches(|c: char| c.is_ascii_digit());
    digits.len() < section.len()
        && digits.starts_with('.')
        && digits[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// A language code in the file name (`app.de.1`, `app.pt_BR.1`).
fn language(basename: &str) -> Option<String> {
    let parts: Vec<&str> = basename.split('.').collect();
    if parts.len() < 3 {
        return None;
    }
    let (code, ext) = (parts[parts.len() - 2], parts[parts.len() - 1]);
    let ext_ok = ext == "man" || ext.starts_with(|c: char| ('1'..='9').contains(&c));
    let b = code.as_bytes();
    let code_ok = (b.len() == 2 && b.iter().all(u8::is_ascii_lowercase))
        || (b.len() == 5
            && b[..2].iter().all(u8::is_ascii_lowercase)
            && b[2] == b'_'
            && b[3..].iter().all(u8::is_ascii_uppercase));
    (ext_ok && code_ok && !(code == "so" && basename.starts_with("lib"))).then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_languages() {
        assert_eq!(th_section(".TH DFAB 1 \"2026\""), Some("1".into()));
        assert_eq!(th_section(".TH \"x\" \"8\""), Some("8".into()));
        assert_eq!(language("app.de.1"), Some("de".into()));
        assert_eq!(language("app.1"), None);
        assert!(looks_like_version("1.2"));
        assert!(!looks_like_version("3pm"));
    }
}
