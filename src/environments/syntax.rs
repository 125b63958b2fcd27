//! How a setting is written in the file an env came from: `'key': value` in `environments.py`,
//! `key = value` in `dfab.toml`, so that a hint's example can be pasted where the env is.

use std::fmt::Write as _;
use std::path::Path;

use super::value::{Kind, Value};

/// The syntax of an environments file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// `environments.py`: Python literals (`'key': True`).
    Python,
    /// `dfab.toml`: TOML (`key = true`).
    Toml,
}

impl Syntax {
    /// The syntax `file` is read with: `.toml` is TOML, anything else Python (as
    /// [`super::Project::load`] decides).
    #[must_use]
    pub fn of(file: &Path) -> Syntax {
        if file.extension().is_some_and(|e| e == "toml") {
            Syntax::Toml
        } else {
            Syntax::Python
        }
    }

    /// `key` set to `example`, as a line of an env in this syntax: `'key': False` or
    /// `key = false`. `example` is a Python literal (`False`, `'myapp'`, `{'web': ['app1']}`);
    /// one the literal parser does not read is shown as written.
    #[must_use]
    pub fn setting(self, key: &str, example: &str) -> String {
        let value = self.example(example);
        match self {
            Syntax::Python => format!("'{key}': {value}"),
            Syntax::Toml => format!("{} = {value}", toml_key(key)),
        }
    }

    /// `example` (a Python literal) as a value in this syntax: `False` or `false`.
    #[must_use]
    pub fn example(self, example: &str) -> String {
        match (self, parse(example)) {
            (Syntax::Toml, Some(v)) => self.value(&v),
            _ => example.to_owned(),
        }
    }

    /// A value as this syntax writes it (`True` or `true`, `'x'` or `"x"`). TOML has no
    /// `None`: it is shown as `''`, which dfab reads as unset too.
    #[must_use]
    pub fn value(self, v: &Value) -> String {
        match self {
            Syntax::Python => v.to_string(),
            Syntax::Toml => {
                let mut out = String::new();
                toml_value(v, &mut out);
                out
            }
        }
    }
}

/// One Python literal, read with the environments.py parser.
fn parse(example: &str) -> Option<Value> {
    let module = super::literal::parse_module(&format!("x = {example}\n")).ok()?;
    module.get("x").map(|a| a.value.clone())
}

/// A bare key when TOML allows one, else a quoted one.
fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_value(v: &Value, out: &mut String) {
    match &v.kind {
        Kind::None => out.push_str("''"),
        Kind::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Kind::Str(s) => out.push_str(&toml_string(s)),
        Kind::List(items) | Kind::Tuple(items) | Kind::Set(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                toml_value(item, out);
            }
            out.push(']');
        }
        Kind::Dict(entries) => {
            out.push_str("{ ");
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&toml_key(&k.to_plain_string()));
                out.push_str(" = ");
                toml_value(val, out);
            }
            out.push_str(" }");
        }
        // Numbers read the same; the rest has no TOML form and is shown as Python would.
        Kind::Int(_) | Kind::Float(_) | Kind::Complex(..) | Kind::Bytes(_) => {
            out.push_str(&v.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Syntax;

    #[test]
    fn an_example_is_written_as_the_file_writes_it() {
        let both = |key, ex| {
            (
                Syntax::Python.setting(key, ex),
                Syntax::Toml.setting(key, ex),
            )
        };
        assert_eq!(
            both("maintenance_check_url", "False"),
            (
                "'maintenance_check_url': False".into(),
                "maintenance_check_url = false".into()
            )
        );
        assert_eq!(
            both("app_user", "'myapp'"),
            ("'app_user': 'myapp'".into(), "app_user = \"myapp\"".into())
        );
        assert_eq!(
            both(
                "deploy_packages",
                "{'app': ['web'], 'app-worker': ['worker']}"
            ),
            (
                "'deploy_packages': {'app': ['web'], 'app-worker': ['worker']}".into(),
                "deploy_packages = { app = [\"web\"], app-worker = [\"worker\"] }".into()
            )
        );
        assert_eq!(
            Syntax::Toml.setting("db_sanitize", r#"["UPDATE t SET e = 'x'"]"#),
            r#"db_sanitize = ["UPDATE t SET e = 'x'"]"#
        );
        assert_eq!(Syntax::Toml.setting("db_port", "5432"), "db_port = 5432");
        assert_eq!(Syntax::of("a/dfab.toml".as_ref()), Syntax::Toml);
        assert_eq!(Syntax::of("environments.py".as_ref()), Syntax::Python);
    }

    #[test]
    fn what_toml_writes_parses_as_toml() {
        for ex in [
            "False",
            "'a \"b\" \\\\ c'",
            "[{'run': 'make check'}]",
            "0.1",
            "None",
        ] {
            let line = Syntax::Toml.setting("k", ex);
            toml_edit::ImDocument::parse(line.as_str()).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
    }
}
