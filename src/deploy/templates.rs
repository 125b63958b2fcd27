//! A package's debconf `templates`, read from the built .deb's control archive, and the check
//! that the env's answers name questions the package really asks.

use std::io::Read;
use std::path::Path;

use crate::deb::deb822;
use crate::error::{Error, Result};

use super::debconf_db::DebconfDb;

/// One question a package can ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub name: String,
    pub kind: String,
    pub has_default: bool,
}

/// Types that only display text and take no answer.
const DISPLAY_ONLY: &[&str] = &["note", "text", "title", "error"];

/// Parse a `templates` file (`file` names it in errors).
pub fn parse(file: &Path, text: &str) -> Result<Vec<Template>> {
    let mut out = Vec::new();
    for p in deb822::parse(file, text)? {
        let Some(name) = p.get("Template") else {
            return Err(super::Error::BadDeb {
                path: file.to_path_buf(),
                what: format!("line {}: a templates stanza without `Template`", p.line),
            }
            .into());
        };
        out.push(Template {
            name: name.to_string(),
            kind: p.get("Type").unwrap_or("string").to_string(),
            has_default: p.field("Default").is_some(),
        });
    }
    Ok(out)
}

/// The `templates` member of a .deb's control archive (empty when it has none).
pub fn from_deb(deb: &Path) -> Result<Vec<Template>> {
    match control_members(deb, &["templates"])?.pop() {
        Some((_, text)) => parse(&deb.join("templates"), &text),
        None => Ok(Vec::new()),
    }
}

/// The members `names` of a .deb's control archive that it has (`postinst`, `templates`), as
/// `(name, text)` in the archive's order.
pub fn control_members(deb: &Path, names: &[&str]) -> Result<Vec<(String, String)>> {
    let bad = |what: &str| -> crate::error::Error {
        super::Error::BadDeb {
            path: deb.to_path_buf(),
            what: what.to_string(),
        }
        .into()
    };
    let data = fs_err::read(deb)?;
    let Some(rest) = data.strip_prefix(b"!<arch>\n") else {
        return Err(bad("not a Debian package (no ar header)"));
    };
    let mut at = 0usize;
    while at + 60 <= rest.len() {
        let header = &rest[at..at + 60];
        let name = String::from_utf8_lossy(&header[..16])
            .trim_end()
            .trim_end_matches('/')
            .to_string();
        let size: usize = String::from_utf8_lossy(&header[48..58])
            .trim()
            .parse()
            .map_err(|_| bad("corrupt ar member header"))?;
        let start = at + 60;
        let end = start
            .checked_add(size)
            .filter(|e| *e <= rest.len())
            .ok_or_else(|| bad("truncated ar member"))?;
        let body = &rest[start..end];
        if let Some(ext) = name.strip_prefix("control.tar") {
            let reader: Box<dyn Read + '_> = match ext {
                "" => Box::new(body),
                ".gz" => Box::new(flate2::read::GzDecoder::new(body)),
                ".xz" => Box::new(xz2::read::XzDecoder::new(body)),
                ".zst" => Box::new(zstd::stream::read::Decoder::new(body)?),
                other => return Err(bad(&format!("unknown control compression `{other}`"))),
            };
            let mut archive = tar::Archive::new(reader);
            let mut out = Vec::new();
            for entry in archive.entries()? {
                let mut entry = entry?;
                let path = entry.path()?.to_string_lossy().into_owned();
                let name = path.trim_start_matches("./");
                if names.contains(&name) {
                    let name = name.to_string();
                    let mut text = String::new();
                    entry.read_to_string(&mut text)?;
                    out.push((name, text));
                }
            }
            return Ok(out);
        }
        at = end + (size & 1);
    }
    Err(bad("no control.tar member"))
}

/// What the answers and templates say, once checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    /// Questions with neither an answer nor a default.
    pub unanswered: Vec<String>,
}

/// Every answer must name a template one of the packages has (a typo is an error naming the
/// nearest); a question with neither answer nor default is reported.
pub fn check(db: Option<&DebconfDb>, templates: &[Template]) -> Result<Checked> {
    if let Some(db) = db {
        for a in &db.answers {
            // The package asks its questions by name (`db_input … <name>`), so the name must be
            // one of its templates as well as the template it uses.
            let unknown = [&a.name, &a.template]
                .into_iter()
                .find(|n| !templates.iter().any(|t| &&t.name == n));
            if let Some(unknown) = unknown {
                let names: Vec<&str> = templates.iter().map(|t| t.name.as_str()).collect();
                let hint = match crate::suggestion::nearest(unknown, names.iter().copied()) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None if names.is_empty() => {
                        "the packages being deployed ask no debconf questions".into()
                    }
                    None => format!("the packages ask: {}", names.join(", ")),
                };
                return Err(Error::Config {
                    file: db.file.clone(),
                    pos: Some(crate::environments::value::Pos {
                        line: u32::try_from(a.line).unwrap_or(u32::MAX),
                        col: 1,
                    }),
                    key: None,
                    message: format!(
                        "`{unknown}` is not a question of the packages being deployed"
                    ),
                    hint: Some(hint),
                });
            }
        }
    }
    let unanswered = templates
        .iter()
        .filter(|t| !DISPLAY_ONLY.contains(&t.kind.as_str()) && !t.has_default)
        .filter(|t| {
            db.is_none_or(|db| {
                !db.answers
                    .iter()
                    .any(|a| a.template == t.name && a.has_value)
            })
        })
        .map(|t| t.name.clone())
        .collect();
    Ok(Checked { unanswered })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deploy::debconf_db;
    use crate::secret::Secret;

    const T: &str = "Template: app/site_name\nType: string\nDefault: x\nDescription: d\n\n\
                     Template: app/password\nType: password\nDescription: p\n\n\
                     Template: app/intro\nType: note\nDescription: n\n";

    fn db(text: &str) -> DebconfDb {
        DebconfDb {
            file: "debconf.dat".into(),
            answers: debconf_db::parse(Path::new("debconf.dat"), text).unwrap(),
            text: Secret::new(text),
        }
    }

    #[test]
    fn a_misspelt_answer_names_the_nearest_question() {
        let t = parse(Path::new("templates"), T).unwrap();
        let e = check(
            Some(&db(
                "Name: app/site\nValue: a\n\nName: app/site_nmae\nValue: b\n",
            )),
            &t,
        )
        .unwrap_err();
        // The first unknown one is reported, with its line.
        assert_eq!(
            e.to_string(),
            "debconf.dat:1:1: `app/site` is not a question of the packages being deployed"
        );
        let e = check(Some(&db("Name: app/site_nmae\nValue: b\n")), &t).unwrap_err();
        assert_eq!(e.hint().unwrap(), "did you mean `app/site_name`?");
        // A misspelt name with the right template is still a question nobody asks.
        let e = check(
            Some(&db(
                "Name: app/site_nmae\nTemplate: app/site_name\nValue: b\n",
            )),
            &t,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("`app/site_nmae` is not a question"),
            "{e}"
        );
    }

    #[test]
    fn questions_without_answer_or_default_are_listed() {
        let t = parse(Path::new("templates"), T).unwrap();
        let c = check(Some(&db("Name: app/site_name\nValue: a\n")), &t).unwrap();
        assert_eq!(c.unanswered, ["app/password"]);
        let c = check(Some(&db("Name: app/password\nValue: s\n")), &t).unwrap();
        assert!(c.unanswered.is_empty());
        assert_eq!(check(None, &t).unwrap().unanswered, ["app/password"]);
    }
}
