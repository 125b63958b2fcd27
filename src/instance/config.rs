//! The instance's config in release mode: the env's debconf answers rendered into `shared/`
//! as two shell-sourceable files, instead of running the maintainer scripts that read them.
//! Which questions exist and which are passwords comes from the package's `templates`.

use std::path::Path;

use crate::deb::deb822;
use crate::error::Result;
use crate::secret::Secret;
use crate::transport::cmd::quote;

/// One question of the package's `templates`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// `Template`: `djdemo/site_name`.
    pub name: String,
    /// `Type`: `string`, `boolean`, `password`, ….
    pub kind: String,
    /// `Default`, when it has one.
    pub default: Option<String>,
}

/// The questions of a `templates` text (`file` names it in errors); display-only types
/// (`note`, `text`, `title`, `error`) take no answer and are left out.
pub fn questions(file: &Path, text: &str) -> Result<Vec<Question>> {
    let mut out = Vec::new();
    for p in deb822::parse(file, text)? {
        let Some(name) = p.get("Template") else {
            continue;
        };
        let kind = p.get("Type").unwrap_or("string").to_string();
        if ["note", "text", "title", "error"].contains(&kind.as_str()) {
            continue;
        }
        out.push(Question {
            name: name.to_string(),
            kind,
            default: p.get("Default").map(String::from),
        });
    }
    Ok(out)
}

/// The file of the answers that are not secret (mode 0644), in `shared/`.
pub const ANSWERS: &str = "debconf.env";
/// The file of the `password` answers (mode 0600), in `shared/`.
pub const SECRETS: &str = "debconf-secrets.env";

/// The variable a question is read as: `djdemo/site_name` is `DJDEMO_SITE_NAME`.
#[must_use]
pub fn var_name(question: &str) -> String {
    question
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The `Name` → `Value` pairs of a debconf database in the `File{}` format (stanzas of
/// `Field: value` lines, blank lines between them).
#[must_use]
pub fn values(db: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for stanza in db.split("\n\n") {
        let mut name = None;
        let mut value = None;
        for line in stanza.lines() {
            if let Some(n) = line.strip_prefix("Name:") {
                name = Some(n.trim().to_string());
            } else if let Some(v) = line.strip_prefix("Value:") {
                value = Some(v.trim_start().to_string());
            }
        }
        if let (Some(n), Some(v)) = (name, value) {
            out.push((n, v));
        }
    }
    out
}

/// The two files' texts, `(answers, secrets)`: a `NAME='value'` line per question, the env's
/// answer (`db`, the debconf database's text) else the template's default, else empty. Both
/// are secrets in memory (the answers file is never printed either).
#[must_use]
pub fn render(questions: &[Question], db: Option<&str>) -> (Secret, Secret) {
    let answers = db.map(values).unwrap_or_default();
    let (mut plain, mut secret) = (String::new(), String::new());
    for t in questions {
        let v = answers
            .iter()
            .find(|(n, _)| *n == t.name)
            .map(|(_, v)| v.as_str())
            .or(t.default.as_deref())
            .unwrap_or("");
        let line = format!("{}={}\n", var_name(&t.name), quote(v));
        if t.kind == "password" {
            secret.push_str(&line);
        } else {
            plain.push_str(&line);
        }
    }
    (Secret::new(plain), Secret::new(secret))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{questions, render, values, var_name};

    #[test]
    fn answers_and_passwords_go_to_their_own_files() {
        let tpl = "Template: app/site\nType: string\nDescription: x\n\nTemplate: app/pw\nType: password\nDescription: y\n\nTemplate: app/n\nType: string\nDefault: 3\nDescription: z\n\nTemplate: app/note\nType: note\nDescription: w\n";
        let q = questions(Path::new("templates"), tpl).unwrap();
        assert_eq!(q.len(), 3, "the note takes no answer");
        let db = "Name: app/site\nTemplate: app/site\nValue: it's me\nOwners: app\n\n\
                  Name: app/pw\nTemplate: app/pw\nValue: s3cret\nFlags: seen\n";
        assert_eq!(values(db)[1], ("app/pw".into(), "s3cret".into()));
        let (plain, secret) = render(&q, Some(db));
        assert_eq!(plain.expose(), "APP_SITE='it'\\''s me'\nAPP_N=3\n");
        assert_eq!(secret.expose(), "APP_PW=s3cret\n");
        assert_eq!(var_name("djdemo/db_password"), "DJDEMO_DB_PASSWORD");
    }
}
