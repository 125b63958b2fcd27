//! User-defined tasks from `tasks = {...}`: what replaced the task functions of a fabfile.

use std::path::Path;

use crate::environments::syntax::Syntax;
use crate::environments::value::{Kind, Pos, Value};
use crate::error::{Error, Result};
use crate::invocation::{parse_task, TaskCall};

/// A task written by the user.
#[derive(Debug, Clone)]
pub struct UserTask {
    pub name: String,
    pub doc: String,
    /// Names for positional arguments: `task:a,b` sets `{first}`, `{second}`.
    pub params: Vec<String>,
    pub steps: Vec<Step>,
    pub pos: Pos,
}

/// One step of a user task.
#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    /// Remote working directory (Fabric's `cd`).
    pub cd: Option<String>,
    /// Local working directory (Fabric's `lcd`), relative to the project.
    pub lcd: Option<String>,
    pub warn_only: bool,
    /// Restrict the step to these roles' hosts.
    pub roles: Vec<String>,
    pub pos: Pos,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Run(String),
    Sudo {
        command: String,
        user: Option<String>,
    },
    Local(String),
    Put {
        local: String,
        remote: String,
        sudo: bool,
    },
    Get {
        remote: String,
        local: String,
    },
    Task(TaskCall),
}

const ACTIONS: &[&str] = &["run", "sudo", "local", "put", "get", "task"];
const OPTIONS: &[&str] = &["cd", "lcd", "warn_only", "roles", "to", "user", "use_sudo"];

/// Parse the `tasks` dict.
pub fn parse_tasks(file: &Path, v: &Value) -> Result<Vec<UserTask>> {
    let syntax = Syntax::of(file);
    let err = |pos: Pos, key: Option<String>, msg: String, hint: Option<String>| Error::Config {
        file: file.to_path_buf(),
        pos: Some(pos).filter(|p| p.line > 0),
        key,
        message: msg,
        hint,
    };
    let Kind::Dict(entries) = &v.kind else {
        return Err(err(
            v.pos,
            Some("tasks".into()),
            format!("must be a dict, got {}", v.type_name()),
            None,
        ));
    };
    let mut out = Vec::new();
    for (k, body) in entries {
        let Some(name) = k.as_str() else {
            return Err(err(
                k.pos,
                Some("tasks".into()),
                format!("task names must be strings, got {k}"),
                None,
            ));
        };
        let key = format!("tasks.{name}");
        if parse_task(name).map_or(true, |c| c.name != name) {
            return Err(err(
                k.pos,
                Some(key),
                "not a valid task name".into(),
                Some("use letters, digits, `_`, `-` and `.`".into()),
            ));
        }
        if name.starts_with("dfab.") {
            return Err(err(
                k.pos,
                Some(key),
                format!("`{name}`: the `dfab.` prefix names built-in tasks"),
                Some(format!(
                    "name it `{}`: a project task replaces the built-in of the same name",
                    name.trim_start_matches("dfab.")
                )),
            ));
        }
        let Some(fields) = body.as_dict() else {
            return Err(err(
                body.pos,
                Some(key),
                "a task must be a dict with `doc` and `steps`".into(),
                Some(syntax.example(
                    "{'doc': 'Restart the app', 'steps': [{'sudo': 'systemctl restart app'}]}",
                )),
            ));
        };
        let mut task = UserTask {
            name: name.to_string(),
            doc: String::new(),
            params: Vec::new(),
            steps: Vec::new(),
            pos: k.pos,
        };
        for (fk, fv) in fields {
            match fk.as_str() {
                Some("doc") => {
                    task.doc = fv
                        .as_str()
                        .ok_or_else(|| {
                            err(
                                fv.pos,
                                Some(format!("{key}.doc")),
                                "must be a string".into(),
                                None,
                            )
                        })?
                        .to_string();
                }
                Some("args") => {
                    task.params = fv
                        .as_seq()
                        .and_then(|s| s.iter().map(|x| x.as_str().map(String::from)).collect())
                        .ok_or_else(|| {
                            err(
                                fv.pos,
                                Some(format!("{key}.args")),
                                "must be a list of names".into(),
                                None,
                            )
                        })?;
                }
                Some("steps") => {
                    let steps = fv.as_seq().ok_or_else(|| {
                        err(
                            fv.pos,
                            Some(format!("{key}.steps")),
                            format!("must be a list, got {}", fv.type_name()),
                            None,
                        )
                    })?;
                    for (i, s) in steps.iter().enumerate() {
                        task.steps
                            .push(parse_step(s, syntax).map_err(|(pos, m, h)| {
                                err(pos, Some(format!("{key}.steps[{i}]")), m, h)
                            })?);
                    }
                }
                _ => {
                    return Err(err(
                        fk.pos,
                        Some(key.clone()),
                        format!("unknown task field {fk}"),
                        Some("a task has `doc`, `args` and `steps`".into()),
                    ))
                }
            }
        }
        out.push(task);
    }
    Ok(out)
}

type StepErr = (Pos, String, Option<String>);

/// Parse a list of steps in the user-task syntax held by an env key (`test_commands`), with
/// errors naming `file`, the position and `key[i]`.
pub fn parse_step_list(file: &Path, key: &str, v: &Value) -> Result<Vec<Step>> {
    let syntax = Syntax::of(file);
    let err = |pos: Pos, key: String, message: String, hint: Option<String>| Error::Config {
        file: file.to_path_buf(),
        pos: Some(pos).filter(|p| p.line > 0),
        key: Some(key),
        message,
        hint,
    };
    let steps = v.as_seq().ok_or_else(|| {
        err(
            v.pos,
            key.to_string(),
            format!("must be a list of steps, got {}", v.type_name()),
            Some(syntax.example(
                "[{'run': 'make check'}, {'sudo': 'systemctl restart app', 'user': 'app'}]",
            )),
        )
    })?;
    steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            parse_step(s, syntax).map_err(|(pos, m, h)| err(pos, format!("{key}[{i}]"), m, h))
        })
        .collect()
}

/// A string as a Python literal, for an example [`Syntax::example`] rewrites.
fn py_str(s: &str) -> String {
    Value::new(Kind::Str(s.to_owned()), Pos::default()).to_string()
}

fn parse_step(s: &Value, syntax: Syntax) -> Result<Step, StepErr> {
    let mut step = Step {
        action: Action::Run(String::new()),
        cd: None,
        lcd: None,
        warn_only: false,
        roles: Vec::new(),
        pos: s.pos,
    };
    if let Some(name) = s.as_str() {
        step.action = Action::Task(parse_task(name).map_err(|e| {
            let hint = if name.contains(char::is_whitespace) {
                format!(
                    "a bare string names a task; a shell command is a step: {}",
                    syntax.example(&format!("{{'run': {}}}", py_str(name)))
                )
            } else {
                e.hint().unwrap_or_default()
            };
            (s.pos, e.to_string(), Some(hint))
        })?);
        return Ok(step);
    }
    let Some(fields) = s.as_dict() else {
        return Err((
            s.pos,
            format!(
                "a step must be a dict or a task name, got {}",
                s.type_name()
            ),
            Some(syntax.example("{'run': 'ls -l'}")),
        ));
    };
    let text = |v: &Value, what: &str| {
        v.as_str().map(String::from).ok_or_else(|| {
            (
                v.pos,
                format!("`{what}` must be a string, got {}", v.type_name()),
                None,
            )
        })
    };
    let mut action: Option<(&str, &Value)> = None;
    let (mut to, mut user, mut use_sudo) = (None, None, false);
    for (k, v) in fields {
        let Some(k) = k.as_str() else {
            return Err((k.pos, format!("step keys must be strings, got {k}"), None));
        };
        if ACTIONS.contains(&k) {
            if let Some((prev, _)) = action {
                return Err((
                    v.pos,
                    format!("a step has one action; this one has `{prev}` and `{k}`"),
                    Some("split it into two steps".into()),
                ));
            }
            action = Some((k, v));
            continue;
        }
        match k {
            "cd" => step.cd = Some(text(v, k)?),
            "lcd" => step.lcd = Some(text(v, k)?),
            "to" => to = Some(text(v, k)?),
            "user" => user = Some(text(v, k)?),
            "warn_only" => {
                step.warn_only = v.as_bool().ok_or_else(|| {
                    (v.pos, "`warn_only` must be True or False".to_string(), None)
                })?;
            }
            "use_sudo" => {
                use_sudo = v
                    .as_bool()
                    .ok_or_else(|| (v.pos, "`use_sudo` must be True or False".to_string(), None))?;
            }
            "roles" => {
                step.roles = match &v.kind {
                    Kind::Str(r) => vec![r.clone()],
                    _ => v
                        .as_seq()
                        .and_then(|s| s.iter().map(|x| x.as_str().map(String::from)).collect())
                        .ok_or_else(|| {
                            (
                                v.pos,
                                "`roles` must be a list of role names".to_string(),
                                None,
                            )
                        })?,
                };
            }
            _ => {
                let all: Vec<&str> = ACTIONS.iter().chain(OPTIONS).copied().collect();
                return Err((
                    s.pos,
                    format!("unknown step key `{k}`"),
                    crate::suggestion::hint(k, all.iter().copied(), "step keys"),
                ));
            }
        }
    }
    let Some((verb, v)) = action else {
        return Err((
            s.pos,
            "a step needs one of `run`, `sudo`, `local`, `put`, `get`, `task`".into(),
            None,
        ));
    };
    let need_to = |verb: &str| {
        (
            s.pos,
            format!("`{verb}` needs `to`: the destination"),
            Some(syntax.example(&format!("{{'{verb}': 'src', 'to': 'dest/'}}"))),
        )
    };
    step.action = match verb {
        "run" => Action::Run(text(v, verb)?),
        "sudo" => Action::Sudo {
            command: text(v, verb)?,
            user,
        },
        "local" => Action::Local(text(v, verb)?),
        "put" => Action::Put {
            local: text(v, verb)?,
            remote: to.ok_or_else(|| need_to(verb))?,
            sudo: use_sudo,
        },
        "get" => Action::Get {
            remote: text(v, verb)?,
            local: to.ok_or_else(|| need_to(verb))?,
        },
        _ => Action::Task(parse_task(&text(v, verb)?).map_err(|e| (v.pos, e.to_string(), None))?),
    };
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::parse_step_list;
    use crate::environments::value::{Kind, Pos, Value};

    #[test]
    fn a_command_written_as_a_bare_string_gets_a_run_step_hint() {
        let pos = Pos { line: 7, col: 9 };
        let list = Value::new(
            Kind::List(vec![Value::new(
                Kind::Str("manage check --deploy".into()),
                pos,
            )]),
            pos,
        );
        let e = parse_step_list("environments.py".as_ref(), "test_commands", &list).unwrap_err();
        assert_eq!(e.code(), 2);
        assert!(e.to_string().contains("environments.py:7:9"), "{e}");
        assert!(e.to_string().contains("test_commands[0]"), "{e}");
        assert_eq!(
            e.hint().as_deref(),
            Some("a bare string names a task; a shell command is a step: {'run': 'manage check --deploy'}")
        );
    }
}
