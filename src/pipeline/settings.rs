//! The env's deploy settings: the sequence (`deploy`), `maintenance`, `on_failure`,
//! `deploy_strategy` with `rolling_batch`, and `migrate_check_command`, read and checked.

use crate::environments::Env;
use crate::error::Result;
use crate::invocation::{parse_task, TaskCall};
use crate::settings::apt::Order;
use crate::settings::Protection;

/// The sequence of a production or `protected` env when it sets no `deploy`.
pub const PROTECTED_SEQUENCE: &[&str] = &[
    "deb.build",
    "web_mode:maintenance",
    "deb.deploy",
    "db_migrate",
    "test",
    "web_mode:live",
];

/// The sequence of the other envs when they set no `deploy`.
pub const DEFAULT_SEQUENCE: &[&str] = &[
    "deb.build",
    "deb.deploy",
    "db_migrate",
    "web_restart",
    "test",
];

/// `maintenance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maintenance {
    Always,
    /// Only when `migrate_check_command` says migrations are pending.
    Auto,
    Never,
}

/// `on_failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Leave things as they are and say how to go on (the default).
    Stop,
    /// Reinstall the release `rollback` would go back to on the hosts this deploy installed on,
    /// then go live.
    Revert,
}

/// The order half of `deploy_strategy` (and `rolling_batch`); the delivery half (`push` or
/// `apt`) is [`crate::settings::apt::Delivery`], read by `deb.deploy`, `rollback` and `init`,
/// so a rolling deploy through APT is `'apt,rolling'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Parallel,
    /// This many hosts at a time, each batch checked with `health_url` before the next.
    Rolling(usize),
    /// A `fleet`'s new members made beside the old ones, then one balancer switch
    /// (`lxc_fleet::deploy`).
    Bluegreen,
    /// A `fleet`'s members replaced `serial_batch` at a time (`lxc_fleet::deploy`).
    Serial,
}

/// Everything the env says about how to deploy.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The sequence as written, and parsed.
    pub sequence: Vec<(String, TaskCall)>,
    pub maintenance: Maintenance,
    pub on_failure: OnFailure,
    pub strategy: Strategy,
}

/// Read and check the settings; a bad value names its key.
pub fn read(env: &Env) -> Result<Settings> {
    let prot = Protection::of(env).is_protected();
    let words: Vec<String> = if env.vars.contains_key("deploy") {
        let list = env.str_list("deploy");
        let is_list = env
            .vars
            .get("deploy")
            .and_then(|v| v.as_seq())
            .is_some_and(|s| s.len() == list.len());
        if !is_list || list.is_empty() {
            return Err(env.key_error(
                "deploy",
                "expected a non-empty list of task invocations",
                Some("for example ['deb.build', 'web_mode:maintenance', 'deb.deploy', 'db_migrate', 'test', 'web_mode:live']".into()),
            ));
        }
        list
    } else if prot {
        PROTECTED_SEQUENCE
            .iter()
            .map(|s| (*s).to_string())
            .collect()
    } else {
        DEFAULT_SEQUENCE.iter().map(|s| (*s).to_string()).collect()
    };
    // Through APT the hosts install what the repository holds: the build is published first.
    let apt = crate::settings::apt::strategy(env)?.0 == crate::settings::apt::Delivery::Apt;
    let words: Vec<String> = if apt && !env.vars.contains_key("deploy") {
        words
            .into_iter()
            .flat_map(|w| {
                let publish = (w == "deb.build").then(|| "deb.publish".to_string());
                std::iter::once(w).chain(publish)
            })
            .collect()
    } else {
        words
    };
    let mut sequence = Vec::new();
    for w in words {
        let call = parse_task(&w).map_err(|e| {
            env.key_error(
                "deploy",
                format!("`{w}`: {e}"),
                Some(
                    "each entry is a task invocation as on the command line: 'task:arg,key=value'"
                        .into(),
                ),
            )
        })?;
        let base = call.name.strip_prefix("dfab.").unwrap_or(&call.name);
        if base == "deploy" {
            return Err(env.key_error(
                "deploy",
                "the sequence cannot contain `deploy` itself",
                Some("list the tasks deploy runs, e.g. 'deb.deploy'".into()),
            ));
        }
        sequence.push((w, call));
    }
    let maintenance = match env.str("maintenance") {
        None if prot => Maintenance::Always,
        Some("always") => Maintenance::Always,
        Some("auto") => Maintenance::Auto,
        None | Some("never") => Maintenance::Never,
        Some(o) => {
            return Err(env.key_error(
                "maintenance",
                format!("unknown value `{o}`"),
                Some("'always', 'auto' or 'never'".into()),
            ))
        }
    };
    let on_failure = match env.str("on_failure") {
        None | Some("stop") => OnFailure::Stop,
        Some("revert") => OnFailure::Revert,
        Some(o) => {
            return Err(env.key_error(
                "on_failure",
                format!("unknown value `{o}`"),
                Some(
                    "'stop' (default: leave maintenance on and say how to go on) or 'revert'"
                        .into(),
                ),
            ))
        }
    };
    let batch = env.count("rolling_batch", 1, "hosts")?;
    let order = crate::settings::apt::strategy(env)?.1;
    let strategy = match order {
        Order::Parallel => Strategy::Parallel,
        Order::Rolling => {
            if env.str("health_url").is_none() {
                return Err(env.key_error(
                    "deploy_strategy",
                    "'rolling' checks each batch with `health_url`, which the env does not set",
                    Some(format!(
                        "set {} (asked on each host)",
                        env.example("health_url", "'http://127.0.0.1/health'")
                    )),
                ));
            }
            Strategy::Rolling(batch)
        }
        Order::Bluegreen | Order::Serial => {
            if !env.vars.contains_key("fleet") {
                let s = if order == Order::Bluegreen {
                    "bluegreen"
                } else {
                    "serial"
                };
                return Err(env.key_error(
                    "deploy_strategy",
                    format!("'{s}' replaces the members of a `fleet`, which the env does not set"),
                    Some(format!(
                        "set {}",
                        env.example("fleet", "{'size': 4, 'balancer': 'host', 'port': 8000}")
                    )),
                ));
            }
            if order == Order::Bluegreen {
                Strategy::Bluegreen
            } else {
                Strategy::Serial
            }
        }
    };
    Ok(Settings {
        sequence,
        maintenance,
        on_failure,
        strategy,
    })
}
