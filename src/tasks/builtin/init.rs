//! `init`: first-time host setup, idempotent: `init_packages`, the app user, `remote_path`
//! with its owner, the web-server snippet (config-tested, reloaded), `init_commands`. Each part
//! reports whether it changed anything; a run that changed nothing says so.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::apt::source::Source;
use crate::error::Result;
use crate::exec::record::{exec, read};
use crate::exec::step::{HostAction, RunCtx};
use crate::invocation::TaskCall;
use crate::settings::apt::AptRepo;
use crate::settings::{text, App};
use crate::transport::cmd::{quote, Cmd};
use crate::transport::Transport;
use crate::web_mode::install::{self, CHANGED, UNCHANGED};
use crate::web_mode::{snippet, WebSettings};

use super::{PlanCtx, Step};

/// One host action with every part's command.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let env = cx.env;
    let s = WebSettings::from_env(env)?;
    let user = App::from_env(env)?.require_user(env)?.to_string();
    let mut parts = Vec::new();
    let pkgs = env.str_list("init_packages");
    for p in &pkgs {
        let ok = p.len() > 1
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.:".contains(&b))
            && p.as_bytes()[0].is_ascii_alphanumeric();
        if !ok {
            return Err(env.key_error(
                "init_packages",
                format!("`{p}` is not a Debian package name"),
                None,
            ));
        }
    }
    if !pkgs.is_empty() {
        let list = pkgs.iter().map(|p| quote(p)).collect::<Vec<_>>().join(" ");
        parts.push(Cmd::shell(format!(
            "missing=''; for p in {list}; do dpkg-query -W -f='${{Status}}' \"$p\" 2>/dev/null | grep -q 'install ok installed' || missing=\"$missing $p\"; done\n\
             if [ -z \"$missing\" ]; then echo \"{UNCHANGED} packages\"; else \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing && echo \"{CHANGED} installed packages:$missing\"; fi"
        )).sudo(None));
    }
    let (u, rp) = (quote(&user), quote(&s.remote_path));
    parts.push(Cmd::shell(format!(
        "if id -u {u} >/dev/null 2>&1; then echo \"{UNCHANGED} user \"{u}; else \
         useradd --system --user-group --home-dir {rp} --no-create-home --shell /usr/sbin/nologin {u} \
         && echo \"{CHANGED} created user \"{u}; fi"
    )).sudo(None));
    parts.push(Cmd::shell(format!(
        "set -e; g=$(id -gn {u})\n\
         if [ -d {rp} ] && [ \"$(stat -c %U:%G {rp})\" = {u}:\"$g\" ] && [ \"$(stat -c %a {rp})\" = 755 ]; then \
         echo \"{UNCHANGED} remote_path \"{rp}; \
         elif [ -d {rp} ]; then chown {u}:\"$g\" {rp} && chmod 755 {rp} && \
         echo \"{CHANGED} set remote_path \"{rp}\" to \"{u}\":$g 755\"; else \
         mkdir -p {rp} && chown {u}:\"$g\" {rp} && chmod 755 {rp} && echo \"{CHANGED} created remote_path \"{rp}; fi",
    )).sudo(None));
    // The snippet, and the switch checked with the web server (a check file, the site stays up).
    parts.push(install::snippet_checked(
        &s,
        &snippet::render(&s, s.server, true),
    ));
    for (i, c) in env.str_list("init_commands").iter().enumerate() {
        let c = text::shell(env, &format!("init_commands[{i}]"), c)?;
        parts.push(Cmd::shell(c).sudo(None));
    }
    Ok(vec![Step::Host {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        action: Arc::new(Init {
            parts,
            commands: env.str_list("init_commands").len(),
            apt: apt_source(cx)?,
        }),
        warn_only: false,
    }])
}

/// With `deploy_strategy = 'apt'`, the env's APT source (`apt_url` and `apt_signing_key`
/// required).
fn apt_source(cx: &PlanCtx<'_>) -> Result<Option<Source>> {
    let env = cx.env;
    if super::deb_deploy::apt_source(env)?.is_none() {
        return Ok(None);
    }
    let repo = AptRepo::from_env(env, cx.project_dir)?;
    let key = super::apt::signing_key(env, &repo)?;
    let url = repo.url.clone().unwrap_or_default();
    Ok(Some(Source::new(
        &env.name,
        &url,
        &repo.dist,
        &repo.component,
        key,
    )))
}

/// The parts of `init` on one host.
#[derive(Debug)]
struct Init {
    parts: Vec<Cmd>,
    /// How many of the parts (the last ones) are `init_commands`.
    commands: usize,
    /// `deploy_strategy = 'apt'`: the env's APT source, installed after the other own parts.
    apt: Option<Source>,
}

impl HostAction for Init {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let mut changed = Vec::new();
        let own = self.parts.len() - self.commands;
        for part in &self.parts[..own] {
            let Some(o) = read(host, cx.rep, "sudo", part.clone())?.known() else {
                continue;
            };
            let o = crate::transport::check(host.host(), part, o)?;
            // The host program's warnings (a web server with no site of the app yet) are shown
            // whatever the verbosity, as a built-in step's are.
            for l in o.stderr_str().lines().filter(|l| l.contains("warning:")) {
                cx.rep.warn(&format!(
                    "[{}] init: {}",
                    host.host(),
                    crate::exec::engine::bare_warning(l, "web_mode")
                ));
            }
            let out = o.stdout_str();
            changed.extend(
                out.lines()
                    .filter_map(|l| l.strip_prefix(CHANGED))
                    .map(change),
            );
        }
        if let Some(src) = &self.apt {
            let part = src.cmd(cx)?;
            if let Some(o) = read(host, cx.rep, "sudo", part.clone())?.known() {
                let o = crate::transport::check(host.host(), &part, o)?;
                changed.extend(
                    o.stdout_str()
                        .lines()
                        .filter_map(|l| l.strip_prefix(CHANGED))
                        .map(change),
                );
            }
        }
        for part in &self.parts[own..] {
            let o = exec(host, cx.rep, "sudo", part.clone())?;
            crate::transport::check(host.host(), part, o)?;
        }
        let mut what = if host.recording() {
            format!(
                "would install the packages, user, remote_path{} and snippet that are missing",
                if self.apt.is_some() {
                    ", APT source"
                } else {
                    ""
                }
            )
        } else if changed.is_empty() {
            "nothing changed".to_string()
        } else {
            said(&changed)
        };
        if self.commands > 0 {
            let _ = write!(
                what,
                "; ran {} init_commands (dfab cannot tell whether they changed anything)",
                self.commands
            );
        }
        Ok(what)
    }
}

/// A part's `dfab:changed` line as `(verb, what)`: dfab's own parts say their verb (`created
/// user app`, `installed packages: curl`, `set remote_path …`); the host side's `snippet <path>`
/// means it installed the snippet (new or replacing the old one) and reloaded the server.
fn change(line: &str) -> (String, String) {
    let line = line.trim();
    match line.split_once(' ') {
        Some(("snippet", _)) | None => ("installed".into(), line.into()),
        Some((verb, what)) => (verb.into(), what.into()),
    }
}

/// The changes in one line, in the order they happened, a verb said once for a run of changes
/// that share it: `created user app, remote_path /srv/app/; installed snippet …`.
fn said(changes: &[(String, String)]) -> String {
    let mut verbs: Vec<(&str, Vec<&str>)> = Vec::new();
    for (verb, what) in changes {
        match verbs.last_mut() {
            Some((v, list)) if v == verb => list.push(what),
            _ => verbs.push((verb, vec![what])),
        }
    }
    verbs
        .iter()
        .map(|(v, list)| format!("{v} {}", list.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::{change, said};

    // `init: changed user djdemo` when the user was created: the words now say what happened.
    #[test]
    fn changes_read_as_what_happened() {
        let lines = [
            " installed packages: curl nginx-light",
            " created user app",
            " created remote_path /srv/app/",
            " snippet /etc/nginx/snippets/dfab-maintenance.conf",
        ];
        let changes: Vec<_> = lines.iter().map(|l| change(l)).collect();
        assert_eq!(
            said(&changes),
            "installed packages: curl nginx-light; created user app, remote_path /srv/app/; \
             installed snippet /etc/nginx/snippets/dfab-maintenance.conf"
        );
        assert_eq!(
            said(&[change(" set remote_path /srv/app/ to app:app 755")]),
            "set remote_path /srv/app/ to app:app 755"
        );
    }
}
