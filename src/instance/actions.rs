//! Release mode's steps: `deb.deploy` and `setup_release` over the hosts (the checks here once,
//! every host's preflight, a gate, then each host's release, or nothing when `current` runs
//! this build and these answers already), `deb.reconfigure` of `current`, and `rollback`,
//! `releases` and `clean_releases` on each host.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::deploy::record::Shipment;
use crate::deploy::{Job, Release};
use crate::error::Result;
use crate::exec::engine::Engine;
use crate::exec::step::{FleetAction, HostAction, RunCtx};
use crate::transport::Transport;

use super::config;
use super::routine::Config;
use super::routine::{self, Facts};
use super::{scripts, Instance};

/// What `deb.deploy` and `setup_release` ship: the main package's shipment and its config.
#[derive(Debug)]
struct Checked {
    /// `None` under `-n` before the first build.
    ship: Option<Shipment>,
    config: Config,
    /// [`routine::config_sha`] of `config`.
    config_sha: String,
    /// The commit the build was made from, for the history.
    commit: Option<String>,
}

/// The checks here, once, before any host is touched: the build record and the answers
/// ([`Release::load`]), the main package in it, its maintainer scripts, its config rendered.
fn check_here(inst: &Instance, release: &Release, cx: &RunCtx<'_>) -> Result<Checked> {
    let rm = &inst.rm;
    let answers = release
        .debconf
        .as_ref()
        .map(|d| d.text.expose().to_string());
    if release.planned {
        let config = config::render(&[], None);
        return Ok(Checked {
            ship: None,
            config_sha: routine::config_sha(&config),
            config,
            commit: None,
        });
    }
    let ship = release
        .packages
        .iter()
        .find(|s| s.package == rm.package)
        .ok_or_else(|| super::Error::NotBuilt {
            package: rm.package.clone(),
            dir: release
                .packages
                .first()
                .and_then(|s| s.path.parent())
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default(),
            built: release.packages.iter().map(|s| s.package.clone()).collect(),
        })?;
    let mut wanted: Vec<&str> = scripts::SCRIPTS.to_vec();
    wanted.push("templates");
    let members = crate::deploy::templates::control_members(&ship.path, &wanted)?;
    let mut findings = Vec::new();
    let mut questions = Vec::new();
    for (name, text) in &members {
        if name == "templates" {
            questions = config::questions(&ship.path.join("templates"), text)?;
        } else {
            findings.extend(scripts::findings(name, text));
            // No pattern catches every change a script makes: its work is always said.
            if let Some(line) = scripts::not_run(&rm.package, name, text) {
                cx.rep.info(&line);
            }
        }
    }
    if !findings.is_empty() {
        if rm.setup.is_empty() {
            return Err(super::Error::ScriptsRefused {
                env: inst.env.clone(),
                package: rm.package.clone(),
                deb: ship.path.clone(),
                findings,
            }
            .into());
        }
        cx.rep.info(&format!(
            "release mode: release_setup_commands take over {} line(s) of {}'s maintainer scripts ({})",
            findings.len(),
            rm.package,
            findings
                .iter()
                .map(|f| format!("{}:{}", f.script, f.line))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let config = config::render(&questions, answers.as_deref());
    Ok(Checked {
        ship: Some(ship.clone()),
        config_sha: routine::config_sha(&config),
        config,
        commit: release.commit.clone(),
    })
}

/// What a host's `current` is against what a deploy ships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `current` (this release) runs this build with these answers: nothing to do.
    Same(String),
    /// `current` (this release) runs this build with other answers: reconfigure it.
    Answers(String),
    /// No current release, or one of another build (or not recorded): a new release.
    New,
}

impl Verdict {
    /// The verdict on a host whose preflight found `facts`, for the .deb of sha256 `deb` and
    /// the config of sha256 `config`.
    #[must_use]
    pub fn of(facts: &Facts, deb: &str, config: &str) -> Verdict {
        match &facts.current {
            Some(c) if !c.deb.is_empty() && c.deb == deb => {
                if c.config == config {
                    Verdict::Same(c.name.clone())
                } else {
                    Verdict::Answers(c.name.clone())
                }
            }
            _ => Verdict::New,
        }
    }
}

/// Every host's preflight; unless all passed, none is changed (those that passed say so).
/// Then `change` on each host with what its preflight found.
fn gated(
    eng: &Engine<'_, '_>,
    task: &'static str,
    hosts: &[String],
    preflight: &(dyn Fn(&mut dyn Transport, &RunCtx<'_>) -> Result<Facts> + Sync),
    change: &(dyn Fn(&mut dyn Transport, &RunCtx<'_>, Facts) -> Result<String> + Sync),
) -> Vec<(String, Result<String>)> {
    let cx = eng.cx;
    let checked = eng.on_hosts(hosts, &|t: &mut dyn Transport, _h: &str| preflight(t, cx));
    if checked.iter().any(|(_, r)| r.is_err()) {
        return checked
            .into_iter()
            .map(|(h, r)| {
                let r = r.map(|_| {
                    "preflight passed; left unchanged (another host failed its preflight)"
                        .to_string()
                });
                (h, r)
            })
            .collect();
    }
    let start = Instant::now();
    eng.on_hosts(hosts, &|t: &mut dyn Transport, h: &str| {
        let facts = checked
            .iter()
            .find(|(x, _)| x == h)
            .and_then(|(_, r)| r.as_ref().ok().cloned())
            .unwrap_or_default();
        let what = change(t, cx, facts)?;
        eng.said(h, task, &what, Some(start.elapsed().as_secs_f64()));
        Ok(what)
    })
}

/// `deb.deploy` in release mode: on each host whose `current` runs another build, a new
/// release, migrated, checked, switched to, restarted and healthy, then old and failed releases
/// beyond `keep_releases` cleaned; where `current` runs this build, nothing (the same answers)
/// or a [`routine::reconfigure`] (new answers).
#[derive(Debug)]
pub struct Deploy {
    pub inst: Instance,
    pub job: Job,
    /// `setup_release`: prepare only (no migrations, no switch), pinned for this many days.
    pub setup_only: Option<Option<u64>>,
    /// `deploy:resume=yes`: a release left `preparing` is the killed run's (the wrapped deploy
    /// holds the instance's deploy lock): marked failed; a host already on this build is
    /// restarted (the killed run may have switched without restarting).
    pub resume: bool,
    /// The release and the checks here, made on the first call and kept for the run (the
    /// wrapped deploy asks before its stages, then runs the install).
    loaded: OnceLock<(Release, Checked)>,
    /// What this run did on each host, as its line said it (the wrapped deploy's summary).
    said: Mutex<BTreeMap<String, String>>,
}

impl Deploy {
    /// A release install of `job` for `inst` (`setup_only` for `setup_release`).
    #[must_use]
    pub fn new(inst: Instance, job: Job, setup_only: Option<Option<u64>>, resume: bool) -> Deploy {
        Deploy {
            inst,
            job,
            setup_only,
            resume,
            loaded: OnceLock::new(),
            said: Mutex::new(BTreeMap::new()),
        }
    }

    /// The task this install is, as its lines and errors name it.
    fn task(&self) -> &'static str {
        if self.setup_only.is_some() {
            "setup_release"
        } else {
            "deb.deploy"
        }
    }

    /// The release this install ships and the checks here ([`check_here`]): on the first
    /// call, then the same values.
    fn checked(&self, cx: &RunCtx<'_>) -> Result<&(Release, Checked)> {
        if let Some(l) = self.loaded.get() {
            return Ok(l);
        }
        let release = Release::load_as(&self.job, cx.dry_run, cx.rep, self.task())?;
        let checked = check_here(&self.inst, &release, cx)?;
        Ok(self.loaded.get_or_init(|| (release, checked)))
    }

    /// The release, loaded and checked here (the wrapped deploy calls this before
    /// maintenance, so a bad answers file stops it first).
    pub fn release(&self, cx: &RunCtx<'_>) -> Result<&Release> {
        self.checked(cx).map(|(r, _)| r)
    }

    /// What this run did on `host` (`switched current a → b`, `reconfigured …`), when it
    /// did something there.
    #[must_use]
    pub fn said(&self, host: &str) -> Option<String> {
        self.said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(host)
            .cloned()
    }

    /// The release, if this run has loaded it.
    #[must_use]
    pub fn loaded(&self) -> Option<&Release> {
        self.loaded.get().map(|(r, _)| r)
    }

    /// Each host's [`Verdict`] (its preflight, or why it could not be asked); under `-n`, and
    /// before the first build, every host's is [`Verdict::New`].
    pub fn survey(
        &self,
        eng: &Engine<'_, '_>,
        hosts: &[String],
    ) -> Result<Vec<(String, Result<Verdict>)>> {
        let cx = eng.cx;
        let (_, checked) = self.checked(cx)?;
        let Some(ship) = &checked.ship else {
            return Ok(hosts
                .iter()
                .map(|h| (h.clone(), Ok(Verdict::New)))
                .collect());
        };
        Ok(eng.on_hosts(hosts, &|t: &mut dyn Transport, _h: &str| {
            let facts = routine::preflight(t, cx, &self.inst, ship)?;
            Ok(Verdict::of(&facts, &ship.sha256, &checked.config_sha))
        }))
    }
}

impl FleetAction for Deploy {
    fn run(&self, eng: &Engine<'_, '_>, hosts: &[String]) -> Result<Vec<(String, Result<String>)>> {
        let cx = eng.cx;
        let (_, checked) = self.checked(cx)?;
        let inst = &self.inst;
        let task = self.task();
        let Some(ship) = &checked.ship else {
            return Ok(hosts
                .iter()
                .map(|h| (h.clone(), Ok(format!("would {task} what deb.build makes"))))
                .collect());
        };
        let setup_only = self.setup_only;
        let resume = self.resume;
        let results = gated(
            eng,
            task,
            hosts,
            &|t, cx| routine::preflight(t, cx, inst, ship),
            &|t, cx, facts| {
                if resume {
                    for n in &facts.preparing {
                        routine::abandon(t, cx, inst, n)?;
                        cx.rep.info(&format!(
                            "[{}] release {n} was left half-prepared by an interrupted run: \
                             marked failed (clean_releases removes it)",
                            t.host()
                        ));
                    }
                }
                if setup_only.is_none() {
                    match Verdict::of(&facts, &ship.sha256, &checked.config_sha) {
                        Verdict::New => {}
                        Verdict::Same(name) if resume => {
                            // The killed run may have switched without restarting.
                            routine::restart_healthy(t, cx, inst)?;
                            return Ok(format!(
                                "current release {name} has this build and its answers already: restarted"
                            ));
                        }
                        Verdict::Same(name) => {
                            return Ok(format!(
                                "nothing to deploy: current release {name} has this build \
                                 (sha256 {}) and its answers",
                                &ship.sha256[..12]
                            ));
                        }
                        Verdict::Answers(name) => {
                            return routine::reconfigure(t, cx, inst, &name, &checked.config);
                        }
                    }
                }
                let p = routine::prepare(
                    t,
                    cx,
                    inst,
                    ship,
                    &facts,
                    &checked.config,
                    checked.commit.as_deref(),
                    setup_only.is_none(),
                )?;
                if let Some(days) = setup_only {
                    // Under -n nothing was prepared: the line says what would be.
                    let (verb, kept) = if t.recording() {
                        ("would prepare release", "would be kept")
                    } else {
                        ("prepared", "kept")
                    };
                    let mut what = format!("{verb} {} (not current)", p.name);
                    if let Some(d) = days {
                        let now = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs());
                        routine::pin(t, cx, inst, &p.name, now + d * 86_400)?;
                        let _ = write!(what, "; {kept} from clean_releases for {d} day(s)");
                    }
                    if t.recording() {
                        return Ok(what);
                    }
                    cx.rep
                        .info(&format!("[{}] release path: {}", t.host(), p.path));
                    return Ok(what);
                }
                let mut what = routine::switch(t, cx, inst, &p)?;
                let removed = routine::clean(t, cx, inst)?;
                if !removed.is_empty() {
                    let _ = write!(what, "; removed {}", removed.join(", "));
                }
                Ok(what)
            },
        );
        let mut said = self
            .said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (h, r) in &results {
            if let Ok(what) = r {
                said.insert(h.clone(), what.clone());
            }
        }
        Ok(results)
    }
}

/// `rollback` in release mode: `current` back to the rollback target (or `to`), restarted.
#[derive(Debug)]
pub struct Rollback {
    pub inst: Instance,
    pub to: Option<String>,
}

impl HostAction for Rollback {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        routine::rollback(t, cx, &self.inst, self.to.as_deref())
    }
}

/// `web_restart` in release mode: the instance restarted in `current`, then healthy.
#[derive(Debug)]
pub struct Restart {
    pub inst: Instance,
}

impl HostAction for Restart {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let health = routine::restart_said(t, cx, &self.inst)?;
        let rm = &self.inst.rm;
        let how = match &rm.start {
            Some(_) => "release_start_command".to_string(),
            None => format!("{}@{}.service", rm.package, rm.instance),
        };
        if t.recording() {
            return Ok(format!(
                "would restart instance {} in its current release ({how}){}",
                rm.instance,
                if self.inst.health.is_some() {
                    " and wait for health_url"
                } else {
                    ""
                }
            ));
        }
        Ok(match health {
            Some(h) => format!("restarted instance {} ({how}); {h}", rm.instance),
            None => format!("restarted instance {} ({how})", rm.instance),
        })
    }
}

/// `deb.reconfigure` in release mode: the env's debconf answers rendered with the build's
/// templates and applied to each host's `current` release ([`routine::reconfigure`]: its
/// config, `release_setup_commands` again, a restart), no new release. A host without a
/// current release, or whose current runs another build than the one built here (whose
/// templates would render the answers), is refused with a hint.
#[derive(Debug)]
pub struct Reconfigure {
    /// The release install whose build and answers are loaded and checked here.
    pub deploy: Deploy,
}

impl FleetAction for Reconfigure {
    fn run(&self, eng: &Engine<'_, '_>, hosts: &[String]) -> Result<Vec<(String, Result<String>)>> {
        let cx = eng.cx;
        let (_, checked) = self.deploy.checked(cx)?;
        let inst = &self.deploy.inst;
        let rm = &inst.rm;
        let Some(ship) = &checked.ship else {
            return Ok(hosts
                .iter()
                .map(|h| {
                    let what = format!(
                        "would reconfigure instance {}'s current release with the env's \
                         debconf answers (no new release)",
                        rm.instance
                    );
                    (h.clone(), Ok(what))
                })
                .collect());
        };
        Ok(gated(
            eng,
            "deb.reconfigure",
            hosts,
            &|t, cx| routine::preflight(t, cx, inst, ship),
            &|t, cx, facts| {
                if t.recording() {
                    return routine::reconfigure(t, cx, inst, "<current>", &checked.config);
                }
                let Some(cur) = facts.current else {
                    return Err(super::Error::NoCurrent {
                        host: t.host().to_string(),
                        instance: rm.instance.clone(),
                        root: rm.root.clone(),
                        env: inst.env.clone(),
                    }
                    .into());
                };
                if cur.deb != ship.sha256 {
                    return Err(super::Error::OtherBuild {
                        host: t.host().to_string(),
                        release: cur.name,
                        deb: ship.path.clone(),
                        env: inst.env.clone(),
                    }
                    .into());
                }
                routine::reconfigure(t, cx, inst, &cur.name, &checked.config)
            },
        ))
    }
}

/// `releases` in release mode: each release with its states, then the instance's history.
#[derive(Debug)]
pub struct List {
    pub inst: Instance,
}

impl HostAction for List {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let host = t.host().to_string();
        let Some((releases, history)) = routine::list(t, cx, &self.inst)? else {
            return Ok(String::new());
        };
        let rm = &self.inst.rm;
        cx.rep.info(&format!(
            "[{host}] {} instance {} in {}: {} release(s)",
            rm.package,
            rm.instance,
            rm.root,
            releases.len()
        ));
        for r in &releases {
            let states = if r.states.is_empty() {
                String::new()
            } else {
                format!(" ({})", r.states.join(", "))
            };
            let commit = r
                .commit
                .as_deref()
                .map(|c| format!(" commit {}", &c[..c.len().min(12)]))
                .unwrap_or_default();
            cx.rep
                .info(&format!("[{host}]   {}{states}{commit}", r.name));
        }
        for h in history.iter().rev().take(10).rev() {
            cx.rep
                .info(&format!("[{host}]   history: {}", history_words(h)));
        }
        Ok(String::new())
    }
}

/// One line of an instance's history (`time action release outcome user [sha256 dfab commit]`,
/// tab-separated) as dpkg mode's `releases` says one: `2026-12-07T05:00:00Z switch
/// 1.0-1-20261207T050000Z ok by ann (dfab 0.1.0) sha256 <16 hex> commit <12 hex>`. A line of
/// another shape is shown as it is.
fn history_words(line: &str) -> String {
    use std::fmt::Write as _;
    let f: Vec<&str> = line.split('\t').collect();
    let [time, action, release, outcome, user, rest @ ..] = f.as_slice() else {
        return line.to_string();
    };
    let mut out = format!("{time} {action} {release} {outcome} by {user}");
    if let Some(dfab) = rest.get(1).filter(|d| !d.is_empty()) {
        let _ = write!(out, " (dfab {dfab})");
    }
    if let Some(sha) = rest.first().filter(|s| !s.is_empty() && **s != "-") {
        let _ = write!(out, " sha256 {}", sha.get(..16).unwrap_or(sha));
    }
    if let Some(c) = rest.get(2).filter(|c| !c.is_empty() && **c != "-") {
        let _ = write!(out, " commit {}", c.get(..12).unwrap_or(c));
    }
    out
}

/// `clean_releases`: failed releases first, then the oldest beyond `keep_releases`.
#[derive(Debug)]
pub struct Clean {
    pub inst: Instance,
}

impl HostAction for Clean {
    fn run(&self, t: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let removed = routine::clean(t, cx, &self.inst)?;
        if t.recording() {
            // Under -n nothing is read from the host: what would go cannot be known.
            return Ok(format!(
                "would remove failed releases and old ones beyond keep_releases = {} (which, \
                 only the host knows; `releases` lists them)",
                self.inst.rm.keep
            ));
        }
        Ok(if removed.is_empty() {
            "nothing to remove".into()
        } else {
            format!("removed {}", removed.join(", "))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{history_words, Verdict};

    // `releases` in release mode printed the history's raw lines (tabs, the full sha256).
    #[test]
    fn history_lines_read_as_dpkg_mode_s() {
        let sha = "ab".repeat(32);
        let line = format!(
            "2026-12-07T05:00:00Z\tswitch\t1.0-1-20261207T050000Z\tok\tann\t{sha}\t0.1.0\t\
             0123456789abcdef0123"
        );
        assert_eq!(
            history_words(&line),
            "2026-12-07T05:00:00Z switch 1.0-1-20261207T050000Z ok by ann (dfab 0.1.0) \
             sha256 abababababababab commit 0123456789ab"
        );
        assert_eq!(
            history_words("2026-12-07T05:00:00Z\tback\t-\tok\tann"),
            "2026-12-07T05:00:00Z back - ok by ann"
        );
        assert_eq!(history_words("odd"), "odd");
    }
    use crate::instance::routine::{Current, Facts};

    #[test]
    fn current_is_judged_by_the_debs_sha256_then_the_configs() {
        let on = |deb: &str, config: &str| Facts {
            current: Some(Current {
                name: "1.0-1-20261207T050000Z".into(),
                deb: deb.into(),
                config: config.into(),
            }),
            ..Facts::default()
        };
        let name = || "1.0-1-20261207T050000Z".to_string();
        assert_eq!(Verdict::of(&on("d", "c"), "d", "c"), Verdict::Same(name()));
        assert_eq!(
            Verdict::of(&on("d", "x"), "d", "c"),
            Verdict::Answers(name())
        );
        // Another build of the same version, a release an older dfab made (nothing recorded),
        // and no current release at all: a new release.
        assert_eq!(Verdict::of(&on("e", "c"), "d", "c"), Verdict::New);
        assert_eq!(Verdict::of(&on("", ""), "", ""), Verdict::New);
        assert_eq!(Verdict::of(&Facts::default(), "d", "c"), Verdict::New);
    }
}
