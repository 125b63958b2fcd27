//! An env's inventory read (by `ansible-inventory --list` when installed, else by dfab for a
//! static file) and made its `hosts`, `roledefs` and `key_filename`, before anything runs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::environments::value::{Kind, Value};
use crate::environments::Env;
use crate::error::Result;

use super::{ini, json, text, yaml, Inventory, IMPLICIT};

/// The hint for a dynamic inventory without Ansible.
const INSTALL: &str = "install Ansible's reader: apt-get install ansible-core";

/// Whether `ansible-inventory` is on PATH.
fn have_ansible() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("ansible-inventory").is_file()))
}

/// Run `sh -c cmd` in `dir` for `--list` JSON; `key` names the setting in errors.
fn list_json(
    env: &Env,
    key: &str,
    dir: &Path,
    cmd: &mut Command,
    shown: &str,
) -> Result<Inventory> {
    let o = cmd
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            env.key_error(
                key,
                format!("cannot run `{shown}`: {e}"),
                Some(INSTALL.into()),
            )
        })?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.trim().lines().last().unwrap_or_default().to_string();
        let hint = (o.status.code() == Some(127)).then(|| INSTALL.to_string());
        return Err(env.key_error(
            key,
            format!("`{shown}` failed ({}): {last}", o.status),
            hint,
        ));
    }
    json::parse(&String::from_utf8_lossy(&o.stdout))
        .map_err(|m| env.key_error(key, format!("`{shown}` printed no inventory: {m}"), None))
}

/// The inventory file `path`: through `ansible-inventory` when installed, else read here when
/// static (INI, or YAML by its extension); a script or a plugin file is refused.
fn read_file(env: &Env, dir: &Path, path: &str) -> Result<Inventory> {
    let p = Path::new(path);
    if !p.exists() {
        return Err(env.key_error(
            "inventory",
            format!("the inventory {path} does not exist"),
            Some("`inventory` names an Ansible inventory file (INI or YAML), relative to the project".into()),
        ));
    }
    if have_ansible() {
        let shown = format!("ansible-inventory -i {path} --list");
        let mut cmd = Command::new("ansible-inventory");
        cmd.args(["-i", path, "--list"]);
        return list_json(env, "inventory", dir, &mut cmd, &shown);
    }
    let dynamic = |why: &str| {
        env.key_error(
            "inventory",
            format!("{path} is a dynamic inventory ({why}): dfab reads it only through Ansible"),
            Some(INSTALL.into()),
        )
    };
    let meta = fs_err::metadata(p)?;
    if meta.is_dir() {
        return Err(dynamic("a directory of sources"));
    }
    if meta.permissions().mode() & 0o111 != 0 {
        return Err(dynamic("an executable script"));
    }
    let text = fs_err::read_to_string(p)?;
    let yamlish = p
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
    if yamlish {
        return yaml::parse(&text).map_err(|m| {
            if m.contains("plugin") {
                dynamic("an inventory plugin's configuration")
            } else {
                env.key_error("inventory", format!("{path}: {m}"), None)
            }
        });
    }
    ini::parse(&text).map_err(|(line, m)| {
        env.key_error(
            "inventory",
            format!("{path}:{line}: {m}"),
            Some(
                "Ansible's INI inventory: [group] host lines, [group:vars], [group:children]"
                    .into(),
            ),
        )
    })
}

/// `[user@]host[:port]` for an inventory host.
fn host_string(inv: &Inventory, host: &str) -> String {
    let v = inv.vars_of(host);
    let addr = v
        .get("ansible_host")
        .and_then(text)
        .unwrap_or_else(|| host.to_string());
    let mut s = String::new();
    if let Some(u) = v.get("ansible_user").and_then(text) {
        s.push_str(&u);
        s.push('@');
    }
    s.push_str(&addr);
    if let Some(p) = v.get("ansible_port").and_then(text) {
        s.push(':');
        s.push_str(&p);
    }
    s
}

fn strings(items: &[String], pos: crate::environments::value::Pos) -> Value {
    Value::new(
        Kind::List(
            items
                .iter()
                .map(|h| Value::new(Kind::Str(h.clone()), pos))
                .collect(),
        ),
        pos,
    )
}

/// Make the env's inventory (if it names one) its `hosts`, `roledefs` (each other group, as
/// far as it holds the env's hosts; a role `roledefs` names itself is kept) and `key_filename`
/// (when the hosts share one `ansible_ssh_private_key_file` and the env names none). An unknown
/// `env_group`, an env that also lists `hosts`, an unreadable inventory: errors naming the key.
pub fn apply(env: &mut Env, project_dir: &Path) -> Result<()> {
    let file = env.str("inventory").map(String::from);
    let cmd = env.str("inventory_command").map(String::from);
    let (key, inv) = match (file, cmd) {
        (None, None) => return Ok(()),
        (Some(_), Some(_)) => {
            return Err(env.key_error(
                "inventory_command",
                "both `inventory` and `inventory_command` are set",
                Some("keep one: a file, or a command that prints `--list` JSON".into()),
            ))
        }
        (Some(f), None) => ("inventory", read_file(env, project_dir, &f)?),
        (None, Some(c)) => {
            let mut sh = Command::new("sh");
            sh.args(["-c", &c]);
            (
                "inventory_command",
                list_json(env, "inventory_command", project_dir, &mut sh, &c)?,
            )
        }
    };
    if env.vars.contains_key("hosts") {
        return Err(env.key_error(
            "hosts",
            format!("both `hosts` and `{key}` name the env's hosts"),
            Some(format!("drop `hosts`, or `{key}`")),
        ));
    }
    let pos = env.vars[key].pos;
    let group = match env.str("env_group") {
        Some(g) => g.to_string(),
        None if inv.groups.contains_key(&env.name) => env.name.clone(),
        None => "all".to_string(),
    };
    if !inv.groups.contains_key(&group) {
        let known: Vec<&str> = inv.groups.keys().map(String::as_str).collect();
        return Err(env.key_error(
            "env_group",
            format!("the inventory has no group `{group}`"),
            crate::suggestion::hint(&group, known.iter().copied(), "groups")
                .or_else(|| Some(format!("its groups: {}", known.join(", ")))),
        ));
    }
    let members = inv.members(&group);
    if members.is_empty() {
        return Err(env.key_error(
            "env_group",
            format!("the inventory's group `{group}` has no hosts"),
            None,
        ));
    }
    // Each host by its inventory name, its one name everywhere; where it is reached is kept
    // aside for the ssh connection.
    let hosts: Vec<String> = members.clone();
    for h in &members {
        let addr = host_string(&inv, h);
        if addr != *h {
            env.addresses.insert(h.clone(), addr);
        }
    }
    // Roles: the other groups, as far as they hold the env's hosts.
    let mut roles: Vec<(Value, Value)> = env
        .vars
        .get("roledefs")
        .and_then(Value::as_dict)
        .map(<[_]>::to_vec)
        .unwrap_or_default();
    for name in inv.groups.keys() {
        if IMPLICIT.contains(&name.as_str()) || *name == group {
            continue;
        }
        if roles.iter().any(|(k, _)| k.as_str() == Some(name)) {
            continue;
        }
        let in_env: Vec<String> = inv
            .members(name)
            .iter()
            .filter(|h| members.contains(h))
            .cloned()
            .collect();
        if !in_env.is_empty() {
            roles.push((
                Value::new(Kind::Str(name.clone()), pos),
                strings(&in_env, pos),
            ));
        }
    }
    let keys: Vec<String> = {
        let mut k: Vec<String> = members
            .iter()
            .filter_map(|h| {
                let v = inv.vars_of(h);
                v.get("ansible_ssh_private_key_file")
                    .or_else(|| v.get("ansible_private_key_file"))
                    .and_then(text)
            })
            .collect();
        k.dedup();
        k
    };
    if !env.vars.contains_key("key_filename") {
        match keys.as_slice() {
            [] => {}
            [one] => {
                let path = crate::environments::external::expand_home(one);
                let path = if path.is_relative() { project_dir.join(path) } else { path };
                env.vars.insert(
                    "key_filename".into(),
                    Value::new(Kind::Str(path.display().to_string()), pos),
                );
            }
            more => {
                return Err(env.key_error(
                    key,
                    format!(
                        "the hosts of `{group}` use {} different ansible_ssh_private_key_file keys, and dfab uses one key per env",
                        more.len()
                    ),
                    Some("set `key_filename`, or load the keys into ssh-agent".into()),
                ))
            }
        }
    }
    env.vars.insert("hosts".into(), strings(&hosts, pos));
    env.vars
        .insert("roledefs".into(), Value::new(Kind::Dict(roles), pos));
    Ok(())
}
