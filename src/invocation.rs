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
    if WHOLE_COMMAND.contains(&name) {
        return one_command(call, spec, rest);
    }
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

/// The tasks that take one command, the whole text after `:` (`manage:dumpdata --indent=2`):
/// `=` and `,` in it are the command's own, except the pieces `command=…`, `release=…` and the
/// host keywords.
pub const WHOLE_COMMAND: &[&str] = &["manage"];

/// Fabric's per-task host keywords, which a [`WHOLE_COMMAND`] call may carry beside its
/// command (`manage:check,host=web1`).
const HOST_KEYWORDS: &[&str] = &["host", "hosts", "role", "roles", "exclude_hosts"];

/// A [`WHOLE_COMMAND`] call: its host keywords, and `command=` the rest of the text (or the
/// value of a `command=` piece; both at once is an error).
fn one_command(mut call: TaskCall, spec: &str, rest: &str) -> Result<TaskCall> {
    let mut keys = HOST_KEYWORDS.to_vec();
    // `release=`: in release mode, a release by name instead of `current`.
    keys.extend(["command", "release"]);
    let (text, kw) = whole_text(rest, &keys);
    let (named, host): (Vec<_>, Vec<_>) = kw.into_iter().partition(|(k, _)| k == "command");
    let command = match named.into_iter().last() {
        Some((_, c)) if text.trim().is_empty() => c,
        Some(_) => {
            return Err(Error::usage(
                format!("`{spec}`: the command is given twice, as text and as `command=`"),
                Some(format!(
                    "write it once: `{}:\"dumpdata --indent=2\"`",
                    call.name
                )),
            ))
        }
        None => text,
    };
    call.kwargs = host;
    call.kwargs.push(("command".into(), command));
    Ok(call)
}

/// The arguments of `raw` (a task's text after `:`) read as one command: the comma-separated
/// pieces whose `key=` is one of `keywords` are taken out as `(key, value)`, and the rest,
/// unescaped, is joined back with `,` as written, an `=` in it kept (`dumpdata --indent=2`).
#[must_use]
pub fn whole_text(raw: &str, keywords: &[&str]) -> (String, Vec<(String, String)>) {
    let mut text = Vec::new();
    let mut kw = Vec::new();
    for piece in split_unescaped(raw, ',') {
        match split_unescaped_once(&piece, '=') {
            Some((k, v)) if keywords.contains(&unescape(&k).as_str()) => {
                kw.push((unescape(&k), unescape(&v)));
            }
            _ => text.push(unescape(&piece)),
        }
    }
    (text.join(","), kw)
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

    // `manage:dumpdata --indent=2` read `dumpdata --indent` as a keyword argument.
    #[test]
    fn a_whole_command_keeps_its_equals_and_commas() {
        let keys = ["command", "host"];
        let c = parse_task("manage:dumpdata --indent=2,auth").unwrap();
        assert_eq!(c.kwargs, vec![kw("command", "dumpdata --indent=2,auth")]);
        let c = parse_task("manage:check --deploy,roles=web").unwrap();
        assert_eq!(
            c.kwargs,
            vec![kw("roles", "web"), kw("command", "check --deploy")]
        );
        let c = parse_task("manage:command=migrate --plan").unwrap();
        assert_eq!(c.kwargs, vec![kw("command", "migrate --plan")]);
        assert!(parse_task("manage:check,command=check").is_err());
        // Other tasks keep Fabric's syntax.
        assert_eq!(parse_task("deploy:a=b").unwrap().kwargs, vec![kw("a", "b")]);
        assert_eq!(
            whole_text(r"shell -c 'f(1,2)',host=web1,x\=y", &keys),
            (
                "shell -c 'f(1,2)',x=y".to_string(),
                vec![kw("host", "web1")]
            )
        );
        assert_eq!(
            whole_text("command=migrate --plan", &keys),
            (String::new(), vec![kw("command", "migrate --plan")])
        );
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
