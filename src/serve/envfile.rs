//! The "add an environment" form's writer: a new `[environments.NAME]` table in dfab.toml,
//! through `toml_edit` so every other line, comment and blank of the file stays as it was.

use std::path::Path;

use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};

/// What the form asked for.
#[derive(Debug, Default)]
pub struct NewEnv {
    pub name: String,
    /// Roles `db`, `web`, `app` on hosts of their own; else all on `hosts`.
    pub split: bool,
    pub hosts: Vec<String>,
    pub db: Vec<String>,
    pub web: Vec<String>,
    pub app: Vec<String>,
    pub protected: bool,
    /// Another instance: start from this env's settings.
    pub like: Option<String>,
}

/// A comma- or space-separated list of hosts.
#[must_use]
pub fn host_list(s: &str) -> Vec<String> {
    s.split([',', ' ', '\n', '\t'])
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(String::from)
        .collect()
}

fn array(hosts: &[String]) -> Array {
    hosts.iter().map(String::as_str).collect()
}

/// Add `new` to the dfab.toml at `file`; an error is a sentence for the form.
pub fn add(file: &Path, new: &NewEnv) -> Result<(), String> {
    if file.extension().is_some_and(|e| e == "py") {
        return Err("this project's environments are in environments.py, which dfab never writes: add the environment there by hand".into());
    }
    let name = new.name.trim();
    if name.is_empty()
        || name.contains(':')
        || name.contains(char::is_whitespace)
        || name.starts_with('-')
    {
        return Err(format!("the name {name:?} cannot be used: it must be non-empty, without `:` or spaces, and not start with `-`"));
    }
    // The CLI's own rule: `dfab <env> …` reads the env word as it reads a task name.
    if let Some(c) = crate::invocation::bad_name_char(name) {
        return Err(format!(
            "the name {name:?} cannot be used: it holds `{c}`, and `dfab {name} …` would refuse it (names are letters, digits, `_`, `-` and `.`)"
        ));
    }
    let text = fs_err::read_to_string(file).map_err(|e| e.to_string())?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| format!("{}: {}", file.display(), e.message()))?;
    let envs = doc
        .entry("environments")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .ok_or_else(|| format!("{}: `environments` is not a table", file.display()))?;
    if envs.contains_key(name) {
        return Err(format!(
            "an environment named `{name}` already exists in {}",
            file.display()
        ));
    }
    let mut table = match &new.like {
        Some(like) => {
            let t = envs
                .get(like)
                .and_then(Item::as_table)
                .ok_or_else(|| format!("no environment `{like}` in {} to copy", file.display()))?;
            let mut t = t.clone();
            t.decor_mut().clear();
            t.remove("roledefs");
            t.remove("protected");
            t
        }
        None => Table::new(),
    };
    let all: Vec<String> = if new.split {
        let mut all = Vec::new();
        for h in new.db.iter().chain(&new.web).chain(&new.app) {
            if !all.contains(h) {
                all.push(h.clone());
            }
        }
        let mut roles = InlineTable::new();
        for (role, hosts) in [("db", &new.db), ("web", &new.web), ("app", &new.app)] {
            if hosts.is_empty() {
                return Err(format!("the {role} role has no host"));
            }
            roles.insert(role, array(hosts).into());
        }
        table.insert("roledefs", value(roles));
        all
    } else {
        new.hosts.clone()
    };
    if all.is_empty() {
        return Err("no host given".into());
    }
    table.insert("hosts", value(array(&all)));
    if new.protected {
        table.insert("protected", value(true));
    }
    table.decor_mut().set_prefix("\n");
    envs.insert(name, Item::Table(table));
    crate::fsutil::write_atomic(file, doc.to_string().as_bytes()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_added_env_keeps_the_comments_and_copies_its_model() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("dfab.toml");
        let before = "# our project\n[environments.prod]  # the live site\nhosts = [\"a\"]\nuser = \"deploy\" # login\n";
        fs_err::write(&f, before).unwrap();
        let new = NewEnv {
            name: "staging".into(),
            split: true,
            db: vec!["db1".into()],
            web: vec!["w1".into()],
            app: vec!["w1".into(), "a2".into()],
            protected: true,
            like: Some("prod".into()),
            ..NewEnv::default()
        };
        add(&f, &new).unwrap();
        let after = fs_err::read_to_string(&f).unwrap();
        assert!(after.starts_with(before), "{after}");
        assert!(after.contains("[environments.staging]"), "{after}");
        assert!(after.contains("user = \"deploy\""), "{after}");
        assert!(
            after.contains("hosts = [\"db1\", \"w1\", \"a2\"]"),
            "{after}"
        );
        assert!(
            after.contains("roledefs = { db = [\"db1\"], web = [\"w1\"], app = [\"w1\", \"a2\"] }"),
            "{after}"
        );
        let again = add(&f, &new).unwrap_err();
        assert!(again.contains("already exists"), "{again}");
    }
}
