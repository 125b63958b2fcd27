//! Test helper: an env activated from a real environments file, so errors carry real lines.

use crate::environments::{Env, Project};

/// The env `production` of an environments.py whose `production` dict holds `body` from its
/// line 3 on (line 1: `environments = {`, line 2: `'production': {`).
pub(crate) fn env(body: &str) -> Env {
    env_named("production", body)
}

/// As [`env`], for the env `name`.
pub(crate) fn env_named(name: &str, body: &str) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("environments.py");
    fs_err::write(
        &file,
        format!("environments = {{\n'{name}': {{\n{body}\n}},\n}}\n"),
    )
    .unwrap();
    let mut env = Project::load(&file, false).unwrap().activate(name).unwrap();
    env.file = "environments.py".into();
    env
}
