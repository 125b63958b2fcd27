//! Interpolation of `{name}` and Python's `%(name)s` in user-supplied commands.

use std::collections::BTreeMap;

use super::value::{Kind, Value};
use crate::transport::cmd::quote;

/// How an interpolated value is inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Into shell text: each value shell-quoted, so it arrives as one literal argument.
    Shell,
    /// Into a plain string, such as a path: inserted as it is.
    Plain,
}

/// Why interpolation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Undefined(String),
    NotScalar(String, &'static str),
    Syntax(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Undefined(name) => write!(f, "undefined variable `{name}`"),
            Problem::NotScalar(name, ty) => write!(
                f,
                "variable `{name}` is a {ty}; only strings, numbers and lists can be interpolated"
            ),
            Problem::Syntax(m) => f.write_str(m),
        }
    }
}

impl Problem {
    /// What to do about it in the env whose variables are `names`.
    #[must_use]
    pub fn hint<'a>(&self, names: impl Iterator<Item = &'a str>) -> Option<String> {
        match self {
            Problem::Undefined(name) => Some(
                match crate::suggestion::nearest(name, names) {
                    Some(n) => format!(
                        "did you mean `{{{n}}}`? Or define `{name}` in the env or `__all__`"
                    ),
                    None => format!("define `{name}` in the env or `__all__`"),
                } + "; write `{{` and `}}` for literal braces",
            ),
            Problem::NotScalar(..) => None,
            Problem::Syntax(_) => Some("write `{{` or `%%` for a literal brace or percent".into()),
        }
    }
}

/// Replace `{name}` and `%(name)s` from `vars`. `{{`, `}}` and `%%` are literal; a `{name}` right
/// after `$` is shell syntax (`${HOME}`) and stays as written, as does a brace around a
/// non-identifier (`awk '{print $1}'`).
pub fn interpolate(
    template: &str,
    vars: &BTreeMap<String, Value>,
    mode: Mode,
) -> Result<String, Problem> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}', '%']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("{{") {
            out.push('{');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("}}") {
            out.push('}');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("%%") {
            out.push('%');
            rest = t;
        } else if let Some((name, t)) = brace_name(tail) {
            if out.ends_with('$') {
                out.push_str(&tail[..tail.len() - t.len()]);
            } else {
                out.push_str(&render(name, vars, mode)?);
            }
            rest = t;
        } else if let Some(t) = tail.strip_prefix("%(") {
            let end = t
                .find(')')
                .ok_or_else(|| Problem::Syntax("`%(` without `)`".into()))?;
            let name = &t[..end];
            let after = &t[end + 1..];
            let Some(conv) = after.chars().next().filter(|c| "sdr".contains(*c)) else {
                return Err(Problem::Syntax(format!(
                    "`%({name})` must be followed by s, d or r"
                )));
            };
            out.push_str(&render(name, vars, mode)?);
            rest = &after[conv.len_utf8()..];
        } else {
            let c = tail.chars().next().expect("found a char");
            out.push(c);
            rest = &tail[c.len_utf8()..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// `{identifier}` at the start of `s`: the name and what follows.
fn brace_name(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let mut chars = name.chars();
    let first = chars.next()?;
    ((first.is_alphabetic() || first == '_') && chars.all(|c| c.is_alphanumeric() || c == '_'))
        .then(|| (name, &inner[end + 1..]))
}

fn render(name: &str, vars: &BTreeMap<String, Value>, mode: Mode) -> Result<String, Problem> {
    let v = vars
        .get(name)
        .ok_or_else(|| Problem::Undefined(name.to_string()))?;
    let text = match &v.kind {
        Kind::List(items) | Kind::Tuple(items) if mode == Mode::Shell => {
            let parts: Result<Vec<_>, _> = items.iter().map(|i| scalar(name, i)).collect();
            return Ok(parts?
                .iter()
                .map(|p| quote(p))
                .collect::<Vec<_>>()
                .join(" "));
        }
        _ => scalar(name, v)?,
    };
    Ok(match mode {
        Mode::Shell => quote(&text),
        Mode::Plain => text,
    })
}

fn scalar(name: &str, v: &Value) -> Result<String, Problem> {
    match &v.kind {
        Kind::Str(s) => Ok(s.clone()),
        Kind::None => Ok(String::new()),
        Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) => Ok(v.to_string()),
        _ => Err(Problem::NotScalar(name.to_string(), v.type_name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environments::value::Pos;

    fn vars() -> BTreeMap<String, Value> {
        let s = |x: &str| Value::new(Kind::Str(x.into()), Pos::default());
        let mut m = BTreeMap::new();
        m.insert("remote_path".into(), s("/srv/app/"));
        m.insert("evil".into(), s("'; rm -rf / #"));
        m.insert("n".into(), Value::new(Kind::Int(5), Pos::default()));
        m.insert(
            "hosts".into(),
            Value::new(Kind::List(vec![s("a"), s("b c")]), Pos::default()),
        );
        m
    }

    #[test]
    fn both_forms() {
        let v = vars();
        assert_eq!(
            interpolate("ls {remote_path}", &v, Mode::Shell).unwrap(),
            "ls /srv/app/"
        );
        assert_eq!(
            interpolate("ls %(remote_path)s", &v, Mode::Shell).unwrap(),
            "ls /srv/app/"
        );
        assert_eq!(interpolate("{n}%%", &v, Mode::Plain).unwrap(), "5%");
        assert_eq!(
            interpolate("{remote_path}x", &v, Mode::Plain).unwrap(),
            "/srv/app/x"
        );
    }

    #[test]
    fn values_are_quoted_for_the_shell() {
        let v = vars();
        assert_eq!(
            interpolate("echo {evil}", &v, Mode::Shell).unwrap(),
            r"echo ''\''; rm -rf / #'"
        );
        assert_eq!(
            interpolate("echo {hosts}", &v, Mode::Shell).unwrap(),
            "echo a 'b c'"
        );
    }

    #[test]
    fn shell_braces_pass_through() {
        let v = vars();
        let s = "echo ${HOME} {{x}} | awk '{print $1}'";
        assert_eq!(
            interpolate(s, &v, Mode::Shell).unwrap(),
            "echo ${HOME} {x} | awk '{print $1}'"
        );
    }

    #[test]
    fn undefined_is_named() {
        let v = vars();
        assert_eq!(
            interpolate("ls {remote_pth}", &v, Mode::Shell),
            Err(Problem::Undefined("remote_pth".into()))
        );
        assert_eq!(
            interpolate("ls %(nope)s", &v, Mode::Shell),
            Err(Problem::Undefined("nope".into()))
        );
        assert!(matches!(
            interpolate("%(x", &v, Mode::Shell),
            Err(Problem::Syntax(_))
        ));
    }
}
