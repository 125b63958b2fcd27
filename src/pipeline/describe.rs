//! `dfab <env> deploy -n`: every command of the deploy, per host and in order (the lock, each
//! stage, the rolling batches and their health checks, the release of the lock), and notes on
//! what is decided at run time. Connects nowhere.

use crate::tasks::step::{Shown, Step};
use crate::transport::cmd::Cmd;

use super::{lock, Kind, Maintenance, Mode, OnFailure, Pipeline, Strategy};

fn step_lines(step: &Step, only: Option<&[String]>, out: &mut Vec<Shown>) {
    let hosts = |hs: &[String]| -> Vec<String> {
        hs.iter()
            .filter(|h| only.is_none_or(|o| o.contains(h)))
            .cloned()
            .collect()
    };
    match step {
        Step::Local { cmd, .. } => out.push(Shown::new("local", cmd.clone())),
        Step::Here { action, .. } => out.extend(action.describe()),
        Step::Run { hosts: hs, cmd, .. } => {
            for h in hosts(hs) {
                let verb = if cmd.sudo.is_some() { "sudo" } else { "run" };
                out.push(Shown::new(verb, cmd.clone()).on(Some(&h)));
            }
        }
        Step::Put {
            hosts: hs,
            local,
            remote,
            ..
        } => {
            for h in hosts(hs) {
                let c = Cmd::new("put", [local.display().to_string(), remote.clone()]);
                out.push(Shown::new("put", c).on(Some(&h)));
            }
        }
        Step::Get {
            hosts: hs,
            remote,
            local,
            ..
        } => {
            for h in hosts(hs) {
                let c = Cmd::new("get", [remote.clone(), local.display().to_string()]);
                out.push(Shown::new("get", c).on(Some(&h)));
            }
        }
        Step::Host {
            hosts: hs, action, ..
        } => {
            for h in hosts(hs) {
                out.extend(action.describe(&h).into_iter().map(|s| s.on(Some(&h))));
            }
        }
    }
}

fn journal_line(p: &Pipeline) -> Shown {
    Shown::new(
        "write",
        Cmd::new("journal", [p.journal.display().to_string()]),
    )
}

/// The commands of the deploy.
#[must_use]
pub fn describe(p: &Pipeline) -> Vec<Shown> {
    let mut out = Vec::new();
    let token = "<token>";
    for h in &p.hosts {
        out.push(
            Shown::new(
                "sudo",
                lock::acquire(
                    &p.lock_package,
                    &lock::who(),
                    "deploy",
                    token,
                    &p.packages(),
                ),
            )
            .on(Some(h)),
        );
    }
    if p.mode == Mode::Revert {
        out.push(Shown::new(
            "revert",
            Cmd::new(
                "rollback",
                ["version=<each host's previous release, from the journal>"],
            ),
        ));
    } else {
        let batches: Vec<Option<Vec<String>>> = match p.settings.strategy {
            Strategy::Parallel => vec![None],
            Strategy::Rolling(n) => p
                .rolling_hosts
                .chunks(n)
                .map(|c| Some(c.to_vec()))
                .collect(),
        };
        // `deb.deploy`'s checks on this machine run once, before the first stage that touches
        // a host (see `Run::check_here`).
        let mut here = p.install_checks().map(|(_, st)| &st.steps[0]);
        let moved = here.is_some();
        for (bi, batch) in batches.iter().enumerate() {
            for st in &p.stages {
                if batch.is_some() && bi > 0 && st.kind == Kind::Build {
                    continue;
                }
                if st.kind != Kind::Build {
                    if let Some(step) = here.take() {
                        step_lines(step, None, &mut out);
                        out.push(journal_line(p));
                    }
                }
                let only: Option<Vec<String>> = match batch {
                    Some(b) if st.hosts.iter().any(|h| p.rolling_hosts.contains(h)) => {
                        Some(st.hosts.iter().filter(|h| b.contains(h)).cloned().collect())
                    }
                    Some(_) if bi > 0 => continue,
                    _ => None,
                };
                if st.kind == Kind::MaintenanceOn {
                    match (p.settings.maintenance, &p.migrate_check) {
                        (Maintenance::Never, _) | (Maintenance::Auto, None) => continue,
                        (Maintenance::Auto, Some((cmd, host))) => {
                            out.push(Shown::new("check", cmd.clone()).on(Some(host)));
                        }
                        (Maintenance::Always, _) => {}
                    }
                }
                if st.kind == Kind::Live && p.settings.maintenance == Maintenance::Never {
                    continue;
                }
                for (k, step) in st.steps.iter().enumerate() {
                    if moved && bi == 0 && k == 0 && st.kind == Kind::Install {
                        continue;
                    }
                    step_lines(step, only.as_deref(), &mut out);
                    out.push(journal_line(p));
                }
            }
            if let (Some(b), Some(h)) = (batch, &p.health) {
                for host in b {
                    out.push(Shown::new("check", h.clone()).on(Some(host)));
                }
            }
        }
    }
    for h in &p.hosts {
        out.push(Shown::new("sudo", lock::release(&p.lock_package, token)).on(Some(h)));
    }
    out
}

/// What the dry run says before the commands.
#[must_use]
pub fn notes(p: &Pipeline) -> Vec<String> {
    let seq: Vec<&str> = p
        .settings
        .sequence
        .iter()
        .map(|(w, _)| w.as_str())
        .collect();
    let mut n = vec![format!(
        "deploy: sequence: {}; maintenance: {}; strategy: {}; on failure: {}",
        seq.join(", "),
        match p.settings.maintenance {
            Maintenance::Always => "always",
            Maintenance::Auto => "auto (entered only if the check says migrations are pending)",
            Maintenance::Never => "never (web_mode steps skipped)",
        },
        match p.settings.strategy {
            Strategy::Parallel => "parallel".to_string(),
            Strategy::Rolling(b) =>
                format!("rolling, {b} host(s) per batch, each checked with health_url"),
        },
        match p.settings.on_failure {
            OnFailure::Stop => "stop (maintenance stays on if a host changed)",
            OnFailure::Revert => "revert (previous release on the changed hosts, then live)",
        }
    )];
    n.push(format!(
        "deploy: lock {} on {}; journal {}",
        lock::lock_path(&p.lock_package),
        p.hosts.join(", "),
        p.journal.display()
    ));
    match &p.mode {
        Mode::Resume { .. } => n.push("deploy: resume: the steps the journal records as finished are skipped at run time".into()),
        Mode::Revert => n.push("deploy: revert: the previous release on the hosts the failed deploy installed on, then live".into()),
        Mode::Fresh => n.push("deploy: if the build, packages and debconf answers equal the last successful deploy's and the hosts have them, nothing is deployed".into()),
    }
    n
}
