//! The env's `debconf` file: a debconf database in the `File{}` driver's format (stanzas of
//! `Name`/`Template`/`Value`/`Owners`/`Flags`/`Variables`), parsed with `file:line` errors.

use std::path::{Path, PathBuf};

use crate::environments::value::Pos;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// The fields debconf's `822` format writes for a question.
const FIELDS: &[&str] = &["Name", "Template", "Value", "Owners", "Flags", "Variables"];

/// One answered question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The question (`Name`).
    pub name: String,
    /// The template it uses (`Template`, else the name).
    pub template: String,
    /// Line of `Name:`.
    pub line: usize,
    /// Whether the stanza has a `Value` field.
    pub has_value: bool,
}

/// A parsed debconf database. The text itself may hold passwords: it is kept as a [`Secret`].
#[derive(Debug, Clone)]
pub struct DebconfDb {
    pub file: PathBuf,
    pub answers: Vec<Answer>,
    pub text: Secret,
}

fn err(file: &Path, line: usize, message: impl Into<String>, hint: Option<String>) -> Error {
    Error::Config {
        file: file.to_path_buf(),
        pos: Some(Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: 1,
        }),
        key: None,
        message: message.into(),
        hint,
    }
}

/// Where an env sets its `debconf` key, so that a missing file is reported there.
#[derive(Debug, Clone)]
pub struct KeyAt {
    /// The environments file.
    pub file: PathBuf,
    /// The key's position in it, when known.
    pub pos: Option<Pos>,
    /// `env.debconf`.
    pub key: String,
}

/// Read and parse the debconf database at `file`; `key` is where the env names it.
pub fn load(file: &Path, key: Option<&KeyAt>) -> Result<DebconfDb> {
    let bytes = fs_err::read(file).map_err(|e| {
        let hint = Some(
            "the `debconf` key names a debconf database (File{} format) relative to the project directory"
                .into(),
        );
        match key {
            Some(k) if e.kind() == std::io::ErrorKind::NotFound => Error::Config {
                file: k.file.clone(),
                pos: k.pos,
                key: Some(k.key.clone()),
                message: format!("the debconf file {} does not exist", file.display()),
                hint,
            },
            _ => Error::File {
                action: "read the env's debconf file",
                path: file.to_path_buf(),
                source: e,
                hint,
            },
        }
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.split(|b| *b == b'\n').count();
        err(file, line, "not valid UTF-8", None)
    })?;
    from_text(file, Secret::new(text))
}

/// Parse a debconf database held in memory (read from outside the project, or decrypted);
/// `file` names it in errors.
pub fn from_text(file: &Path, text: Secret) -> Result<DebconfDb> {
    let answers = parse(file, text.expose())?;
    Ok(DebconfDb {
        file: file.to_path_buf(),
        answers,
        text,
    })
}

/// Parse the text of a debconf database (values are never put into errors: they may be secrets).
pub fn parse(file: &Path, text: &str) -> Result<Vec<Answer>> {
    let mut answers: Vec<Answer> = Vec::new();
    // (name, template, line, has_value, fields seen, last field)
    let mut cur: Option<(Option<String>, Option<String>, usize, bool, Vec<&str>)> = None;
    let finish = |cur: &mut Option<(Option<String>, Option<String>, usize, bool, Vec<&str>)>,
                  answers: &mut Vec<Answer>|
     -> Result<()> {
        let Some((name, template, line, has_value, _)) = cur.take() else {
            return Ok(());
        };
        let Some(name) = name else {
            return Err(err(
                file,
                line,
                "stanza without a `Name` field",
                Some("each stanza starts with `Name: <package>/<question>`".into()),
            ));
        };
        if let Some(prev) = answers.iter().find(|a| a.name == name) {
            return Err(err(
                file,
                line,
                format!(
                    "question `{name}` answered twice (first on line {})",
                    prev.line
                ),
                None,
            ));
        }
        answers.push(Answer {
            template: template.unwrap_or_else(|| name.clone()),
            name,
            line,
            has_value,
        });
        Ok(())
    };
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            finish(&mut cur, &mut answers)?;
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            // Continuation lines are `Variables` entries: `  name = value`.
            let last = cur.as_ref().and_then(|c| c.4.last().copied());
            if last != Some("Variables") {
                return Err(err(
                    file,
                    line,
                    "indented line outside `Variables:`",
                    Some("only `Variables:` takes indented `name = value` lines".into()),
                ));
            }
            if !raw.contains('=') {
                return Err(err(
                    file,
                    line,
                    "expected `name = value` under `Variables:`",
                    None,
                ));
            }
            continue;
        }
        if raw.starts_with('#') {
            return Err(err(
                file,
                line,
                "debconf databases have no comments",
                Some("debconf would read this line as a field; remove it".into()),
            ));
        }
        let Some((field, value)) = raw.split_once(':') else {
            return Err(err(
                file,
                line,
                "expected `Field: value`",
                Some(format!("the fields of a stanza: {}", FIELDS.join(", "))),
            ));
        };
        let Some(known) = FIELDS.iter().copied().find(|f| *f == field) else {
            return Err(err(
                file,
                line,
                format!("unknown field `{field}`"),
                crate::suggestion::hint(field, FIELDS.iter().copied(), "fields"),
            ));
        };
        let c = cur.get_or_insert_with(|| (None, None, line, false, Vec::new()));
        if c.4.contains(&known) {
            return Err(err(file, line, format!("duplicate field `{known}`"), None));
        }
        c.4.push(known);
        let value = value.trim();
        match known {
            "Name" | "Template" => {
                if !valid_name(value) {
                    return Err(err(
                        file,
                        line,
                        format!("`{known}` must be `<owner>/<question>`, found `{value}`"),
                        None,
                    ));
                }
                if known == "Name" {
                    c.0 = Some(value.to_string());
                    c.2 = line;
                } else {
                    c.1 = Some(value.to_string());
                }
            }
            "Value" => c.3 = true,
            "Flags" => {
                for flag in value.split([',', ' ']).filter(|f| !f.is_empty()) {
                    if flag != "seen" {
                        return Err(err(
                            file,
                            line,
                            format!("unknown flag `{flag}`"),
                            Some("debconf knows the flag `seen`".into()),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    finish(&mut cur, &mut answers)?;
    Ok(answers)
}

fn valid_name(s: &str) -> bool {
    s.split_once('/')
        .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty() && !s.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Result<Vec<Answer>> {
        parse(Path::new("debconf.dat"), text)
    }

    #[test]
    fn stanzas_with_templates_values_and_variables() {
        let a = p(
            "Name: app/site\nTemplate: app/site\nValue: x.org\nOwners: app\nFlags: seen\n\n\
                   Name: app/other\nTemplate: app/shared\nValue:\nVariables:\n  a = b\n",
        )
        .unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].name, "app/site");
        assert_eq!(a[1].template, "app/shared");
        assert_eq!(a[1].line, 7);
        assert!(a[1].has_value);
    }

    #[test]
    fn errors_name_file_and_line_and_never_a_value() {
        let e = p("Name: app/site\nValeu: hunter2\n").unwrap_err();
        assert_eq!(e.to_string(), "debconf.dat:2:1: unknown field `Valeu`");
        assert_eq!(e.hint().unwrap(), "did you mean `Value`?");
        let e = p("Name: app/a\n\nName: app/a\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "debconf.dat:3:1: question `app/a` answered twice (first on line 1)"
        );
        let e = p("Value: s3cret\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "debconf.dat:1:1: stanza without a `Name` field"
        );
        assert!(!format!("{e:?}").contains("s3cret"));
        let e = p("Name: app/a\n  x = y\n").unwrap_err();
        assert!(
            e.to_string().starts_with("debconf.dat:2:1: indented line"),
            "{e}"
        );
        let e = p("# hi\n").unwrap_err();
        assert!(e.to_string().contains("no comments"));
        let e = p("Name: site\n").unwrap_err();
        assert!(e.to_string().contains("<owner>/<question>"));
    }

    #[test]
    fn a_missing_file_is_reported_at_the_envs_debconf_key() {
        let dir = tempfile::tempdir().unwrap();
        let at = KeyAt {
            file: "environments.py".into(),
            pos: Some(Pos { line: 12, col: 20 }),
            key: "production.debconf".into(),
        };
        let missing = dir.path().join("debconf.dat.production");
        let e = load(&missing, Some(&at)).unwrap_err();
        assert_eq!(e.code(), 2);
        let shown = e.to_string();
        assert!(
            shown.starts_with("environments.py:12:20: key `production.debconf`: "),
            "{shown}"
        );
        assert!(
            shown.contains("debconf.dat.production does not exist"),
            "{shown}"
        );
        assert!(e
            .hint()
            .unwrap()
            .contains("relative to the project directory"));
    }
}
