//! One host's part of release mode, as phases handing values on: [`preflight`] (root, the
//! tools, whether the .deb is kept there, what `current` runs), [`prepare`] (upload, config,
//! unpack, venv, shared paths, setup commands, migrations with the new code, checks),
//! [`switch`] (`current` atomically, restart, health, back on failure), [`reconfigure`] (new
//! answers for `current`, no new release), [`rollback`], [`list`] and [`clean`].

use crate::deploy::record::Shipment;
use crate::error::Result;
use crate::exec::record;
use crate::exec::step::RunCtx;
use crate::secret::Secret;
use crate::transport::{Output, Transport};

use super::host::{self, call, marked};
use super::Instance;

/// Run `cmd` on `t` (shown with `-v`); a failure is the command's error with its last lines.
/// Under `-n` the recorder's empty answer comes back.
#[allow(clippy::needless_pass_by_value)] // callers build the command in the call
fn run(t: &mut dyn Transport, cx: &RunCtx<'_>, cmd: crate::transport::cmd::Cmd) -> Result<Output> {
    // A multi-line setup command or migration is shown on one line, its newlines as `\n`.
    let cmd = match cmd.label.as_deref() {
        Some(l) if l.contains('\n') => {
            let one = l.replace('\n', "\\n");
            cmd.label(one)
        }
        _ => cmd,
    };
    let out = record::exec(t, cx.rep, "sudo", cmd.clone())?;
    if t.recording() {
        return Ok(out);
    }
    crate::transport::check(t.host(), &cmd, out)
}

/// An error as the cause inside another message: its text without the leading `error: `.
fn cause(e: &crate::error::Error) -> String {
    let text = crate::error::render(e);
    let text = text.trim_end();
    text.strip_prefix("error: ").unwrap_or(text).to_string()
}

/// What a host's preflight found: whether the .deb is kept there with the same sha256, what
/// the current release runs, and the releases whose preparation never finished.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub there: bool,
    pub current: Option<Current>,
    /// Releases marked `preparing`: being prepared now, or left by a run that was killed.
    pub preparing: Vec<String>,
}

/// The current release of an instance and what it runs, as `release preflight` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub name: String,
    /// sha256 (hex) of the .deb it was unpacked from; empty when not recorded (a release made
    /// by an older dfab).
    pub deb: String,
    /// sha256 (hex) of the config it runs with ([`config_sha`]); empty when not recorded.
    pub config: String,
}

/// The sha256 (hex) of a rendered config as the host takes it of the two files it writes
/// into a release's `.dfab/`: the answers, then the secrets.
#[must_use]
pub fn config_sha(config: &Config) -> String {
    let mut bytes = config.0.expose().as_bytes().to_vec();
    bytes.extend_from_slice(config.1.expose().as_bytes());
    crate::transport::sha256_hex(&bytes)
}

/// Root, the tools release mode needs, and whether `ship`'s .deb is kept on the host.
pub fn preflight(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    ship: &Shipment,
) -> Result<Facts> {
    let out = run(t, cx, call(&inst.rm, "preflight", &[&ship.file]))?;
    if t.recording() {
        return Ok(Facts::default());
    }
    let text = out.stdout_str();
    let missing: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("missing "))
        .collect();
    if text.lines().next() != Some("0") || !missing.is_empty() {
        return Err(crate::error::Error::Transport {
            host: t.host().to_string(),
            message: if missing.is_empty() {
                "release mode needs root on the host (through sudo -n)".into()
            } else {
                format!("release mode needs {} on the host", missing.join(", "))
            },
            hint: Some(
                "connect as root or give the user passwordless sudo; install dpkg and util-linux"
                    .into(),
            ),
        });
    }
    Ok(Facts {
        there: marked(&text, "there").is_some_and(|v| v[0] == ship.sha256),
        current: marked(&text, "current").map(|v| Current {
            name: v[0].to_string(),
            deb: v.get(1).copied().unwrap_or_default().to_string(),
            config: v.get(2).copied().unwrap_or_default().to_string(),
        }),
        preparing: text
            .lines()
            .filter_map(|l| l.strip_prefix("preparing\t"))
            .map(String::from)
            .collect(),
    })
}

/// Write the config (the rendered answers) into release `name`'s own `.dfab/`: the answers
/// 0644, the secrets 0600; live once the release is current (`shared/debconf*.env` link to
/// current's), at once for the current release.
fn write_config(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    name: &str,
    config: &Config,
) -> Result<()> {
    for (file, mode, text) in [
        (super::config::ANSWERS, "0644", &config.0),
        (super::config::SECRETS, "0600", &config.1),
    ] {
        run(
            t,
            cx,
            call(&inst.rm, "config", &[name, file, mode]).stdin(text.expose().as_bytes().to_vec()),
        )?;
    }
    Ok(())
}

/// A release prepared on a host (not current yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// `<version>-<UTC stamp>`.
    pub name: String,
    /// Its directory on the host.
    pub path: String,
}

/// The config files rendered from the debconf answers, `(answers, secrets)`.
pub type Config = (Secret, Secret);

/// Upload the .deb (unless kept), unpack a new release with its venv and shared links (the
/// build's sha256, dfab's version and `commit` kept for the history), write its config into
/// the release's own `.dfab/` (live only with the switch), run the setup commands and, with
/// `migrate`, the migrations with the new code, then check it. A failure after the unpack
/// leaves the release marked failed: it never becomes current, and the live config is as it
/// was.
#[allow(clippy::too_many_arguments)] // one host's prepare needs each of them
pub fn prepare(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    ship: &Shipment,
    facts: &Facts,
    config: &Config,
    commit: Option<&str>,
    migrate: bool,
) -> Result<Prepared> {
    let rm = &inst.rm;
    if !facts.there {
        let dirs = [rm.root.clone(), format!("{}/debs", rm.root)];
        t.put_making(
            &ship.path,
            &host::deb_path(rm, &ship.file),
            true,
            &dirs,
            cx.rep,
        )?;
    }
    let mut args = vec![
        ship.file.as_str(),
        ship.version.as_str(),
        inst.venv.as_str(),
        inst.wheelhouse.as_str(),
        ship.sha256.as_str(),
        env!("CARGO_PKG_VERSION"),
        commit.unwrap_or("-"),
    ];
    args.extend(rm.shared.iter().map(String::as_str));
    let out = run(t, cx, call(rm, "prepare", &args))?;
    let name = if t.recording() {
        format!("{}-<UTC time>", ship.version.replace(':', "_"))
    } else {
        marked(&out.stdout_str(), "dfab-release")
            .and_then(|v| v.first().map(|s| (*s).to_string()))
            .ok_or_else(|| crate::error::Error::Transport {
                host: t.host().to_string(),
                message: "`release prepare` named no release".into(),
                hint: None,
            })?
    };
    write_config(t, cx, inst, &name, config)?;
    for c in &rm.setup {
        run(t, cx, call(rm, "run", &[&name, "setup", c]))?;
    }
    if migrate {
        if let Some(m) = &inst.migrate {
            run(t, cx, call(rm, "run", &[&name, "migrate", m]))?;
        }
    }
    run(t, cx, call(rm, "check", &[&name, &inst.venv]))?;
    Ok(Prepared {
        path: host::release_dir(rm, &name),
        name,
    })
}

/// Restart the instance in its current release, then wait for `health_url`.
pub fn restart_healthy(t: &mut dyn Transport, cx: &RunCtx<'_>, inst: &Instance) -> Result<()> {
    restart_said(t, cx, inst).map(drop)
}

/// [`restart_healthy`], returning the health wait's own line (`health: <url> answered 200`)
/// when `health_url` is set and this is a real run.
pub fn restart_said(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
) -> Result<Option<String>> {
    let start: Vec<&str> = inst.rm.start.iter().map(String::as_str).collect();
    run(t, cx, call(&inst.rm, "restart", &start))?;
    let Some((url, timeout)) = &inst.health else {
        return Ok(None);
    };
    let out = run(t, cx, crate::web_mode::restart::wait_healthy(url, *timeout))?;
    Ok(out
        .stdout_str()
        .lines()
        .find(|l| l.starts_with("health: "))
        .map(String::from))
}

/// Make `p` current atomically, restart the instance and wait for health. When it does not
/// come up, `current` goes back to the release it was on (restarted there) and `p` is marked
/// failed. Says what changed: `switched current a → b`.
pub fn switch(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    p: &Prepared,
) -> Result<String> {
    let rm = &inst.rm;
    let out = run(t, cx, call(rm, "switch", &[&p.name]))?;
    let was = marked(&out.stdout_str(), "dfab-switched")
        .and_then(|v| v.first().map(|s| (*s).to_string()))
        .unwrap_or_default();
    if let Err(e) = restart_healthy(t, cx, inst) {
        // Marked failed, and the rollback target is again the one before this switch; the
        // instance's first release leaves no current one (a failed release is never current).
        if was.is_empty() {
            run(t, cx, call(rm, "back", &["-", &p.name]))?;
        } else {
            run(t, cx, call(rm, "back", &[&was, &p.name]))?;
            restart_healthy(t, cx, inst)?;
        }
        return Err(super::Error::Unhealthy {
            host: t.host().to_string(),
            release: p.name.clone(),
            back: (!was.is_empty()).then_some(was),
            cause: cause(&e),
        }
        .into());
    }
    if t.recording() {
        // Under -n nothing is read: where `current` is, and whether the run would find this
        // build there already (and only reconfigure, or do nothing), only the host knows.
        return Ok(format!(
            "would switch current to {} and restart the instance (unless current runs this \
             build already: then only new debconf answers would be applied; -n does not read \
             the host)",
            p.name
        ));
    }
    Ok(if was.is_empty() {
        format!("switched current → {}", p.name)
    } else {
        format!("switched current {was} → {}", p.name)
    })
}

/// New answers for the current release `name`, no new release: the config written into the
/// release's own `.dfab/` (live at once: it is current's), `release_setup_commands` run again in the release (they stand in for the
/// maintainer scripts, which `dpkg-reconfigure` runs again in dpkg mode), the instance
/// restarted and healthy, and then the release recorded as running this config.
pub fn reconfigure(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    name: &str,
    config: &Config,
) -> Result<String> {
    let rm = &inst.rm;
    write_config(t, cx, inst, name, config)?;
    for c in &rm.setup {
        run(t, cx, call(rm, "run", &[name, "setup", c]))?;
    }
    restart_healthy(t, cx, inst)?;
    run(t, cx, call(rm, "reconfigured", &[name]))?;
    if t.recording() {
        return Ok(format!(
            "would reconfigure current release {name} with the env's debconf answers and \
             restart the instance (no new release)"
        ));
    }
    Ok(format!(
        "reconfigured current release {name} with the env's debconf answers (no new release)"
    ))
}

/// Mark release `name`, left `preparing` by a run that was killed, failed: it never becomes
/// current, and `clean_releases` removes it first.
pub fn abandon(t: &mut dyn Transport, cx: &RunCtx<'_>, inst: &Instance, name: &str) -> Result<()> {
    run(t, cx, call(&inst.rm, "fail", &[name, "interrupted"])).map(drop)
}

/// Switch `current` back to the rollback target (or `to`), nothing rebuilt, then restart and
/// wait for health. Says `rolled back current a → b`.
pub fn rollback(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    to: Option<&str>,
) -> Result<String> {
    let out = run(
        t,
        cx,
        call(&inst.rm, "rollback", &to.into_iter().collect::<Vec<_>>()),
    )?;
    if t.recording() {
        return Ok(format!(
            "would switch current of {} back and restart",
            inst.rm.instance
        ));
    }
    let text = out.stdout_str();
    let v = marked(&text, "dfab-switched").unwrap_or_default();
    restart_healthy(t, cx, inst)?;
    Ok(format!(
        "rolled back current {} → {}",
        v.first().unwrap_or(&"?"),
        v.get(1).unwrap_or(&"?")
    ))
}

/// The instance's releases (oldest first) and history, as `release list` reads them; `None`
/// under `-n`.
pub fn list(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
) -> Result<Option<(Vec<host::Listed>, Vec<String>)>> {
    let out = run(t, cx, call(&inst.rm, "list", &[]))?;
    if t.recording() {
        return Ok(None);
    }
    Ok(Some(host::parse_list(&out.stdout_str())))
}

/// Remove failed releases, then the oldest beyond `keep_releases` (never current, the rollback
/// target or a pinned one); the names removed, each with `failed` or `old`.
pub fn clean(t: &mut dyn Transport, cx: &RunCtx<'_>, inst: &Instance) -> Result<Vec<String>> {
    let keep = inst.rm.keep.to_string();
    let out = run(t, cx, call(&inst.rm, "clean", &[&keep]))?;
    Ok(out
        .stdout_str()
        .lines()
        .filter_map(|l| l.strip_prefix("removed\t"))
        .map(|l| l.replace('\t', " ("))
        .map(|l| format!("{l})"))
        .collect())
}

/// Keep release `name` from `clean_releases` until `until` (Unix seconds).
pub fn pin(
    t: &mut dyn Transport,
    cx: &RunCtx<'_>,
    inst: &Instance,
    name: &str,
    until: u64,
) -> Result<()> {
    run(t, cx, call(&inst.rm, "pin", &[name, &until.to_string()])).map(|_| ())
}
