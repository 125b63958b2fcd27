//! The `<env> <task>[:args] ...` syntax: Fabric's `task:a,b,key=value` with `\,` and `\=` escapes.

use crate::error::{Error, Result};

/// One task call as written on the command line, not yet checked against the registry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TaskCall {
    pub name: String,
    pub args: Vec<String>,
    pub kwargs: Vec<(String, String)>,
}

impl TaskCall {
    /// A keyword argument's value, if given.
    #[must_use]
    pub fn kwarg(&self, key: &str) -> Option<&str> {
        self.kwargs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A yes/no keyword argument, Fabric style (`yes`, `true`, `1`, `on` are true).
    pub fn flag(&self, key: &str) -> Result<bool> {
        match self.kwarg(key) {
            None => Ok(false),
            Some(v) => parse_bool(v).ok_or_else(|| {
                Error::usage(
                    format!(
                        "task `{}`: argument `{key}={v}` is not yes or no",
                        self.name
                    ),
                    Some(format!("write `{}:{key}=yes` or `{key}=no`", self.name)),
                )
            }),
        }
    }
}

/// Fabric's truthy words.
#[must_use]
pub fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "t" | "1" | "on" => Some(true),
        "n" | "no" | "false" | "f" | "0" | "off" | "" => Some(false),
        _ => None,
    }
}

/// The first character of `name` that a task name on the command line cannot hold, if any:
/// task names are letters, digits, `_`, `-` and `.`. The environment word of `dfab <env>
/// <task>` is read by the same rule, so an environment named otherwise cannot be used (serve's
/// "Add an environment" refuses such a name with it).
#[must_use]
pub fn bad_name_char(name: &str) -> Option<char> {
    name.chars()
        .find(|c| !(c.is_alphanumeric() || "._-".contains(*c)))
}

/// Parse `name[:args]`. Arguments split on unescaped commas; `key=value` on the first unescaped
/// `=`; `\,` and `\=` are literal; any other backslash stays as it is.
pub fn parse_task(spec: &str) -> Result<TaskCall> {
    let (name, rest) = match spec.split_once(':') {
        Some((n, r)) => (n, Some(r)),
        None => (spec, None),
    };
    if name.is_empty() {
        return Err(Error::usage(
            format!("`{spec}`: a task name is missing before `:`"),
            Some("write tasks as `name` or `name:arg,key=value`".into()),
        ));
    }
    if let Some(bad) = bad_name_char(name) {
        return Err(Error::usage(
            format!("`{spec}`: task names cannot contain `{bad}`"),
            Some("task names are letters, digits, `_`, `-` and `.`".into()),
        ));
    }
    let mut call = TaskCall {
        name: name.to_string(),
        ..TaskCall::default()
    };
    let Some(rest) = rest else { return Ok(call) };
    for (i, raw) in split_unescaped(rest, ',').into_iter().enumerate() {
        let parts = split_unescaped_once(&raw, '=');
        if let Some((k, v)) = parts {
            let k = unescape(&k);
            if k.is_empty() {
                return Err(Error::usage(
                    format!("`{spec}`: argument {} has `=` but no name", i + 1),
                    Some("write `key=value`, or `\\=` for a literal `=`".into()),
                ));
            }
            call.kwargs.push((k, unescape(&v)));
        } else {
            if !call.kwargs.is_empty() {
                return Err(Error::usage(
                    format!(
                        "`{spec}`: positional argument `{}` after a keyword argument",
                        unescape(&raw)
                    ),
                    Some("put positional arguments first, as in Python".into()),
                ));
            }
            call.args.push(unescape(&raw));
        }
    }
    Ok(call)
}

/// Split on `sep` not preceded by a backslash; escapes are kept for the next stage.
fn split_unescaped(s: &str, sep: char) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let cur = out.last_mut().expect("non-empty");
            cur.push(c);
            if let Some(n) = chars.next() {
                cur.push(n);
            }
        } else if c == sep {
            out.push(String::new());
        } else {
            out.last_mut().expect("non-empty").push(c);
        }
    }
    out
}

fn split_unescaped_once(s: &str, sep: char) -> Option<(String, String)> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            return Some((s[..i].to_string(), s[i + c.len_utf8()..].to_string()));
        }
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some(',' | '=')) {
            out.push(chars.next().expect("peeked"));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn fabric_forms() {
        assert_eq!(parse_task("deb.build").unwrap().name, "deb.build");
        let c = parse_task("web_mode:maintenance").unwrap();
        assert_eq!(c.args, vec!["maintenance"]);
        assert_eq!(
            parse_task("deploy:resume=yes").unwrap().kwargs,
            vec![kw("resume", "yes")]
        );
        let c = parse_task("setup_release:keep_days=10").unwrap();
        assert_eq!(c.kwarg("keep_days"), Some("10"));
        assert!(parse_task("lxc:force_new=yes")
            .unwrap()
            .flag("force_new")
            .unwrap());
    }

    #[test]
    fn escapes_and_mixed_args() {
        let c = parse_task(r"t:a\,b,c,k=v\=w,x=1=2").unwrap();
        assert_eq!(c.args, vec!["a,b", "c"]);
        assert_eq!(c.kwargs, vec![kw("k", "v=w"), kw("x", "1=2")]);
        let c = parse_task(r"t:a\=b").unwrap();
        assert_eq!(c.args, vec!["a=b"]);
        let c = parse_task(r"t:C:\path").unwrap();
        assert_eq!(c.args, vec![r"C:\path"]);
        let c = parse_task("t:").unwrap();
        assert_eq!(c.args, vec![""]);
    }

    #[test]
    fn errors() {
        assert!(parse_task(":x").is_err());
        assert!(parse_task("t:=v").is_err());
        assert!(parse_task("t:k=v,pos").is_err());
        assert!(parse_task("bad name").is_err());
        assert!(parse_task("t:flag=maybe").unwrap().flag("flag").is_err());
    }
}
