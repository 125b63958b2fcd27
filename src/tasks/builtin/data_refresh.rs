//! `data_refresh`: media from `data_from`'s first host into the local cache `media/<env>/` (an
//! exact mirror), then to this env's hosts; every path is checked (at plan time, then symlinks
//! resolved on each host) before anything is copied, and what each target would lose is counted
//! by rsync's own dry run and judged on every host before any host is changed.

use std::path::PathBuf;
use std::sync::Arc;

use crate::environments::keys;
use crate::environments::Env;
use crate::error::{Error, Result};
use crate::exec::engine::Engine;
use crate::exec::record::{exec, read};
use crate::exec::step::{FleetAction, HostAction, LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::media::guard::{self, Tally, Verdict};
use crate::media::stats::{self, Stats};
use crate::media::{self, MediaError, MediaPath};
use crate::settings::{App, Protection};
use crate::transport::Transport;

use super::{PlanCtx, Step};

/// Check, pull, push.
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let env = cx.env;
    let force = call.flag("force")?;
    let protection = Protection::of(env);
    if !force && protection.is_protected() {
        return Err(Error::usage(
            format!(
                "data_refresh would overwrite the media of `{}`, a {} environment; nothing was copied",
                env.name,
                protection.label()
            ),
            Some(format!("if you mean it: dfab {} data_refresh:force=yes", env.name)),
        ));
    }
    let from = env.str("data_from").unwrap_or("production");
    if from == env.name {
        return Err(env.key_error(
            "data_from",
            format!("`{from}` is this environment: nothing to copy from"),
            Some("name the environment to copy media from".into()),
        ));
    }
    let source = cx
        .project
        .activate(from)
        .map_err(|e| env.key_error("data_from", format!("{e}"), e.hint()))?;
    // An LXC source is its container, brought up when the copy runs.
    let source_host = source
        .str("lxc")
        .map(String::from)
        .or_else(|| source.str_list("hosts").into_iter().next());
    let Some(source_host) = source_host else {
        return Err(source.key_error(
            "hosts",
            format!("environment `{from}` (data_from) has no hosts to copy media from"),
            None,
        ));
    };
    let src = media::media_paths(&source)?;
    let dst = media::media_paths(env)?;
    if src.len() != dst.len() {
        return Err(env.key_error(
            "media_paths",
            format!(
                "`{from}` has {} media path(s) and `{}` has {}",
                src.len(),
                env.name,
                dst.len()
            ),
            Some("the lists pair up in order".into()),
        ));
    }
    let owner = App::from_env(env)?.require_user(env)?.to_string();
    let delete = env.bool("media_delete") == Some(true);
    let max_delete = env
        .vars
        .get("media_max_delete")
        .and_then(keys::share)
        .unwrap_or(DEFAULT_MAX_DELETE);
    let caches: Vec<PathBuf> = dst
        .iter()
        .map(|m| media::cache_dir(cx.project_dir, &env.name, &m.path))
        .collect();
    let task = call.name.clone();
    Ok(vec![
        Step::Host {
            task: task.clone(),
            hosts: cx.hosts.clone(),
            action: Arc::new(Check { paths: dst.clone() }),
            warn_only: false,
        },
        Step::Here {
            task: task.clone(),
            action: Arc::new(Pull {
                source,
                host: source_host,
                paths: src.clone(),
                caches: caches.clone(),
            }),
        },
        Step::Fleet {
            task: task.clone(),
            hosts: cx.hosts.clone(),
            action: Arc::new(Push {
                task,
                env: env.name.clone(),
                from: from.to_string(),
                sources: src.into_iter().map(|m| m.path).collect(),
                paths: dst,
                caches,
                owner,
                delete,
                max_delete,
                force,
            }),
        },
    ])
}

/// `media_max_delete` unless set: the share of a target's files `media_delete` may remove.
const DEFAULT_MAX_DELETE: f64 = 0.10;

/// The target's paths, symlinks resolved on the host, inside their roots.
#[derive(Debug)]
struct Check {
    paths: Vec<MediaPath>,
}

impl HostAction for Check {
    fn run(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<String> {
        let cmd = media::check_on_host(&self.paths);
        let o = exec(host, cx.rep, "check", cmd.clone())?;
        crate::transport::check(host.host(), &cmd, o)?;
        // Links leading out that an earlier copy (or anyone) made: this copy never makes one,
        // and without media_delete it does not remove one either, so say so.
        for p in &self.paths {
            let cmd = media::links_on_host(&p.path);
            let Some(o) = read(host, cx.rep, "check", cmd.clone())?.known() else {
                continue;
            };
            let o = crate::transport::check(host.host(), &cmd, o)?;
            for (link, to) in guard::leaving(&o.stdout_str()) {
                cx.rep.warn(&format!(
                    "[{}] data_refresh: {}{link} -> {to} is a symlink leading out of the media \
                     path, already on the host; data_refresh does not copy such links (remove it, \
                     or set media_delete)",
                    host.host(),
                    p.path
                ));
            }
        }
        Ok("media paths checked".into())
    }
}

/// Source host → local cache, an exact mirror; each symlink leading out of its path is
/// skipped and named.
#[derive(Debug)]
struct Pull {
    source: Env,
    host: String,
    paths: Vec<MediaPath>,
    caches: Vec<PathBuf>,
}

impl LocalAction for Pull {
    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let mut src = cx.connector.connect_env(&self.source, &self.host, cx.rep)?;
        let check = media::check_on_host(&self.paths);
        let o = exec(src.as_mut(), cx.rep, "check", check.clone())?;
        crate::transport::check(src.host(), &check, o)?;
        let ssh = media::ssh_route(src.as_mut())?;
        let mut local = cx.local();
        for (p, c) in self.paths.iter().zip(&self.caches) {
            if !cx.dry_run {
                fs_err::create_dir_all(c)?;
            }
            let start = std::time::Instant::now();
            let out = stats::run(
                local.as_mut(),
                cx.rep,
                &media::pull(&ssh, src.login_user(), &p.path, c),
            )?;
            let cache = crate::fsutil::shown(c, cx.project_dir);
            cx.rep.info(&match Stats::parse(&out.stdout_str()) {
                _ if cx.dry_run => format!(
                    "[{}] data_refresh: would pull media {} into the local cache {cache}",
                    self.host, p.path
                ),
                Some(s) => format!(
                    "[{}] data_refresh: media {} pulled into the local cache {cache}: {} ({:.1} s)",
                    self.host,
                    p.path,
                    s.words(),
                    start.elapsed().as_secs_f64()
                ),
                None => format!(
                    "[{}] data_refresh: media {} pulled into the local cache {cache} ({:.1} s)",
                    self.host,
                    p.path,
                    start.elapsed().as_secs_f64()
                ),
            });
            let said = format!("{}{}", out.stdout_str(), out.stderr_str());
            for (link, to) in guard::skipped_links(&said) {
                cx.rep.warn(&format!(
                    "data_refresh: skipped symlink {link} -> {to} in {}:{}: it is absolute or \
                     leads out of the media path (rsync --safe-links), so it is not copied",
                    self.host, p.path
                ));
            }
        }
        Ok(())
    }
}

/// Local cache → each target host, owned by the app user: first rsync's dry run on every host
/// (an empty source, or more deletions than `media_max_delete`, refused unless forced), then,
/// only if every host passed, the copy, deleting no more than the dry run counted.
#[derive(Debug)]
struct Push {
    task: String,
    /// The target env and the source env, for messages.
    env: String,
    from: String,
    /// The source's paths, paired with `paths`.
    sources: Vec<String>,
    paths: Vec<MediaPath>,
    caches: Vec<PathBuf>,
    owner: String,
    delete: bool,
    max_delete: f64,
    force: bool,
}

impl Push {
    /// The dry run on one host: for each path, what `--delete` may remove (`None` under `-n`).
    fn judge(&self, host: &mut dyn Transport, cx: &RunCtx<'_>) -> Result<Vec<Option<usize>>> {
        let ssh = media::ssh_route(host)?;
        let mut local = cx.local();
        let mut caps = Vec::new();
        for ((p, c), from) in self.paths.iter().zip(&self.caches).zip(&self.sources) {
            let dry = media::push_dry_run(&ssh, host.login_user(), c, &p.path, &self.owner);
            let Some(out) = read(local.as_mut(), cx.rep, "count", dry.clone())?.known() else {
                caps.push(None);
                continue;
            };
            let out = crate::transport::check(host.host(), &dry, out)?;
            let tally = Tally::parse(&out.stdout_str());
            caps.push(Some(tally.deleting.len()));
            if self.force {
                continue;
            }
            match guard::judge(&tally, self.delete, self.max_delete) {
                Verdict::Go => {}
                Verdict::EmptySource { target, deleting } => {
                    return Err(MediaError::EmptySource {
                        host: host.host().to_string(),
                        from: self.from.clone(),
                        source_path: from.clone(),
                        path: p.path.clone(),
                        target,
                        deleting,
                        env: self.env.clone(),
                    }
                    .into())
                }
                Verdict::TooMany {
                    count,
                    target,
                    max,
                    names,
                } => {
                    #[allow(clippy::cast_precision_loss)] // file counts are far below 2^52
                    let share = count as f64 / target as f64;
                    return Err(MediaError::TooManyDeletions {
                        host: host.host().to_string(),
                        path: p.path.clone(),
                        count,
                        target,
                        share: guard::percent(share),
                        max: guard::percent(max),
                        names,
                        from: self.from.clone(),
                        env: self.env.clone(),
                    }
                    .into());
                }
            }
        }
        Ok(caps)
    }

    /// The copy to one host, each path deleting at most what its dry run counted.
    fn copy(
        &self,
        host: &mut dyn Transport,
        cx: &RunCtx<'_>,
        caps: &[Option<usize>],
    ) -> Result<String> {
        let ssh = media::ssh_route(host)?;
        let mut local = cx.local();
        let mut said = Vec::new();
        for ((p, c), cap) in self.paths.iter().zip(&self.caches).zip(caps) {
            let delete = self.delete.then_some(*cap);
            let out = stats::run(
                local.as_mut(),
                cx.rep,
                &media::push(&ssh, host.login_user(), c, &p.path, &self.owner, delete),
            )?;
            said.push(match Stats::parse(&out.stdout_str()) {
                _ if cx.dry_run => format!("would copy media {}", p.path),
                Some(s) => format!("media {}: {}", p.path, s.words()),
                None => format!("media {} copied", p.path),
            });
        }
        Ok(said.join("; "))
    }
}

impl FleetAction for Push {
    fn run(&self, eng: &Engine<'_, '_>, hosts: &[String]) -> Result<Vec<(String, Result<String>)>> {
        let cx = eng.cx;
        let judged = eng.on_hosts(hosts, &|t: &mut dyn Transport, _h: &str| self.judge(t, cx));
        if judged.iter().any(|(_, r)| r.is_err()) {
            return Ok(judged
                .into_iter()
                .map(|(h, r)| {
                    let r = r.map(|_| {
                        let what = "checked; left unchanged (another host was refused)";
                        eng.said(&h, &self.task, what, None);
                        what.to_string()
                    });
                    (h, r)
                })
                .collect());
        }
        let start = std::time::Instant::now();
        Ok(eng.on_hosts(hosts, &|t: &mut dyn Transport, h: &str| {
            let caps = judged
                .iter()
                .find(|(x, _)| x == h)
                .and_then(|(_, r)| r.as_ref().ok())
                .expect("every host was judged");
            let what = self.copy(t, cx, caps)?;
            eng.said(h, &self.task, &what, Some(start.elapsed().as_secs_f64()));
            Ok(what)
        }))
    }
}
