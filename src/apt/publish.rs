//! `deb.publish`: the last build into the env's APT repository with aptly, as one atomic
//! switch: each package added to the local repository (the same build again is a no-op that
//! says so, another build under a published version is refused), old versions pruned to
//! `apt_keep_versions`, a snapshot taken and the published distribution switched to it, signed
//! by `apt_signing_key`. aptly writes every index; dfab writes none.

use std::path::PathBuf;
use std::time::Instant;

use crate::deb::version::Version;
use crate::deploy::record::{self, Shipment};
use crate::deploy::Job;
use crate::error::Result;
use crate::exec::record::read;
use crate::exec::step::{LocalAction, RunCtx};
use crate::report::Reporter;
use crate::settings::apt::{AptRepo, SigningKey};
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::aptly::{self, Aptly};
use super::gpg::{self, Signer};
use super::AptError;

/// `deb.publish` of `job`'s build into `repo`.
#[derive(Debug)]
pub struct Publish {
    pub job: Job,
    pub repo: AptRepo,
    /// The repository directory aptly publishes into, on this machine: `apt_repo`, or for a
    /// repository host the local copy (`.dfab/apt/<env>/repo` in the project).
    pub dir: PathBuf,
    pub key: SigningKey,
    /// `apt_repo = 'host:path'`: after publishing here (aptly and the signing key stay on this
    /// machine), the signed tree is mirrored to `path` on `host` with rsync over that host's
    /// ssh route: the pool first, then the indices, then what is gone.
    pub mirror: Option<(String, String)>,
}

/// What happened to one package.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fate {
    /// In the repository already, this very build.
    There,
    /// Added now.
    Added,
}

impl Publish {
    /// The build record's packages (`deploy_packages` selects), each re-hashed; `None` under
    /// `-n` before the first build (said so).
    fn packages(&self, cx: &RunCtx<'_>) -> Result<Option<Vec<Shipment>>> {
        let job = &self.job;
        let record = record::read(&job.package_dir)?;
        // Under -n after a deb.build of the same plan, what that build makes is published: a
        // recorded build stands for it only when it is of the version that build makes.
        let stale = |all: &[Shipment]| {
            let v = job.after_build.as_ref().and_then(|b| b.version.as_deref());
            v.is_none_or(|v| all.iter().any(|s| s.version != v))
        };
        if cx.dry_run && job.after_build.is_some() && record.as_deref().is_none_or(stale) {
            cx.rep.info(&format!(
                "deb.publish: would publish what deb.build makes ({} in {})",
                if record.is_some() {
                    "not the earlier build recorded"
                } else {
                    "no build record yet"
                },
                job.package_dir.display()
            ));
            return Ok(None);
        }
        let Some(all) = record else {
            return Err(crate::deploy::Error::NoBuildRecord {
                path: job.package_dir.join(crate::deb::manifest::FILE_NAME),
                env: job.env.clone(),
            }
            .into());
        };
        let packages = job.select.pick(all)?;
        for s in &packages {
            crate::releases::check_package_name(&s.package)?;
            record::verify(s, &job.env)?;
        }
        Ok(Some(packages))
    }

    fn aptly(&self) -> Aptly {
        Aptly {
            dir: self.dir.clone(),
            repo: super::source_name(&self.repo.env),
            dist: self.repo.dist.clone(),
            component: self.repo.component.clone(),
        }
    }

    /// The public key file the repository carries beside its indices, `dfab-<env>.asc`.
    fn key_file(&self) -> PathBuf {
        self.dir
            .join(format!("{}.asc", super::source_name(&self.repo.env)))
    }
}

/// Run `cmd` here and require success; its output (empty under `-n`).
fn run(t: &mut dyn Transport, rep: &dyn Reporter, cmd: Cmd) -> Result<String> {
    let shown = cmd.to_string();
    match read(t, rep, "local", cmd)?.known() {
        None => Ok(String::new()),
        Some(o) if o.status == 0 => Ok(o.stdout_str()),
        Some(o) => Err(crate::error::Error::CommandFailed {
            host: t.host().to_string(),
            cmd: shown,
            exit: o.exit(),
            stderr: format!("{}{}", o.stdout_str(), o.stderr_str()),
            hint: None,
        }),
    }
}

/// Run `cmd` here: its output when it succeeded, `None` when it failed (or under `-n`).
fn ask(t: &mut dyn Transport, rep: &dyn Reporter, cmd: Cmd) -> Result<Option<String>> {
    Ok(read(t, rep, "local", cmd)?
        .known()
        .filter(|o| o.status == 0)
        .map(|o| o.stdout_str()))
}

/// A .deb's architecture, from its file name (`name_version_arch.deb`).
fn arch_of(s: &Shipment) -> Option<&str> {
    s.file.strip_suffix(".deb")?.rsplit('_').next()
}

/// A snapshot name that sorts by time: `dfab-<env>-<nanoseconds since 1970>`.
fn snapshot_name(repo: &str) -> String {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{repo}-{ns}")
}

impl LocalAction for Publish {
    fn reaches_hosts(&self) -> bool {
        false
    }

    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let start = Instant::now();
        let rep = cx.rep;
        let Some(packages) = self.packages(cx)? else {
            return Ok(());
        };
        let mut local = cx.local();
        let t = local.as_mut();
        let signer = Signer::open(t, rep, &self.key, &self.repo.env)?;
        // The hosts trust the key the repository was first published with.
        if self.key_file().is_file() {
            if let Some(published) = gpg::file_fingerprint(t, rep, &self.key_file())? {
                if !t.recording() && published != signer.fingerprint {
                    return Err(AptError::WrongKey {
                        repo: self.dir.clone(),
                        env: self.repo.env.clone(),
                        published,
                        signer: signer.fingerprint.clone(),
                    }
                    .into());
                }
            }
        }
        let a = self.aptly();
        if cx.dry_run {
            rep.info(&format!(
                "deb.publish: would write {}",
                a.config_path().display()
            ));
        } else {
            fs_err::create_dir_all(a.state_dir())?;
            crate::fsutil::write_atomic(&a.config_path(), a.config_text().as_bytes())?;
        }
        if ask(t, rep, a.repo_show())?.is_none() {
            run(t, rep, a.repo_create())?;
        }
        // Every check before the first change: another build under a version is refused.
        let mut fates = Vec::new();
        for s in &packages {
            let versions = ask(t, rep, a.versions(&s.package))?.unwrap_or_default();
            let fate = if versions.lines().any(|v| v.trim() == s.version) {
                let shas = aptly::sha256s(&run(t, rep, a.show(&s.package, &s.version))?);
                if !t.recording() && !shas.contains(&s.sha256) {
                    return Err(AptError::OtherBuild {
                        package: s.package.clone(),
                        version: s.version.clone(),
                        published: shas.first().cloned().unwrap_or_default(),
                        built: s.sha256.clone(),
                    }
                    .into());
                }
                Fate::There
            } else {
                Fate::Added
            };
            fates.push((s, fate));
        }
        let list = run(t, rep, a.published())?;
        let published = a.is_published(&list);
        if published && fates.iter().all(|(_, f)| *f == Fate::There) {
            let show = run(t, rep, a.publish_show())?;
            let snap = aptly::published_snapshot(&show, &a.component);
            let mut all_in = snap.is_some();
            for (s, _) in &fates {
                let Some(snap) = &snap else { break };
                // No match is exit 1 for aptly's searches.
                let found = ask(
                    t,
                    rep,
                    a.cmd([
                        "snapshot",
                        "search",
                        "-format={{.Version}}",
                        snap,
                        &format!("Name (= {})", s.package),
                    ]),
                )?
                .unwrap_or_default();
                all_in &= found.lines().any(|v| v.trim() == s.version);
            }
            if all_in {
                for (s, _) in &fates {
                    rep.info(&format!(
                        "deb.publish: {} {} (sha256 {}) is published already in {} \
                         ({} {}): nothing to do",
                        s.package,
                        s.version,
                        &s.sha256[..16.min(s.sha256.len())],
                        self.dir.display(),
                        a.dist,
                        a.component
                    ));
                }
                return self.sync(cx, t);
            }
        }
        for (s, fate) in &fates {
            if *fate == Fate::Added {
                run(t, rep, a.add(&s.path))?;
            }
        }
        let mut pruned = Vec::new();
        let mut kept = Vec::new();
        for (s, _) in &fates {
            let out = ask(t, rep, a.versions(&s.package))?.unwrap_or_default();
            let mut vs: Vec<(Version, String)> = out
                .lines()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .filter_map(|v| Some((Version::parse(v).ok()?, v.to_string())))
                .collect();
            vs.sort_by(|x, y| y.0.cmp(&x.0));
            vs.dedup_by(|x, y| x.1 == y.1);
            let mut keep = 0;
            for (_, v) in vs {
                if v == s.version || keep < self.repo.keep.saturating_sub(1) {
                    if v != s.version {
                        keep += 1;
                    }
                    kept.push(format!("{} {v}", s.package));
                } else {
                    run(t, rep, a.remove(&s.package, &v))?;
                    pruned.push(format!("{} {v}", s.package));
                }
            }
        }
        let snap = snapshot_name(&a.repo);
        run(t, rep, a.snapshot(&snap))?;
        let publish = if published {
            a.publish_switch(&snap, &signer.fingerprint)
        } else {
            let mut archs: Vec<String> = aptly::ARCHITECTURES
                .iter()
                .map(|s| (*s).to_string())
                .collect();
            for (s, _) in &fates {
                if let Some(arch) = arch_of(s).filter(|a| *a != "all") {
                    if !archs.iter().any(|x| x == arch) {
                        archs.push(arch.to_string());
                    }
                }
            }
            a.publish_first(&snap, &signer.fingerprint, &archs)
        };
        run(t, rep, signer.with_home(publish))?;
        let prefix = format!("{}-", a.repo);
        for old in run(t, rep, a.snapshots())?.lines().map(str::trim) {
            let ours = old
                .strip_prefix(&prefix)
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            if ours && old != snap {
                run(t, rep, a.drop_snapshot(old))?;
            }
        }
        run(t, rep, a.cleanup())?;
        let public = signer.public_key(t, rep)?;
        if !cx.dry_run {
            let same = fs_err::read(self.key_file()).is_ok_and(|k| k == public);
            if !same {
                crate::fsutil::write_atomic(&self.key_file(), &public)?;
                fs_err::set_permissions(
                    self.key_file(),
                    std::os::unix::fs::PermissionsExt::from_mode(0o644),
                )?;
            }
        }
        let added: Vec<String> = fates
            .iter()
            .map(|(s, f)| {
                format!(
                    "{} {} (sha256 {}{})",
                    s.package,
                    s.version,
                    &s.sha256[..16.min(s.sha256.len())],
                    if *f == Fate::There {
                        ", in the repository already"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        let what = if cx.dry_run {
            "would publish"
        } else {
            "published"
        };
        rep.info(&format!(
            "deb.publish: {what} {} to {} ({} {}), signed by {}; keeps {}{} ({:.1}s)",
            if added.is_empty() {
                "what deb.build makes".to_string()
            } else {
                added.join(", ")
            },
            self.dir.display(),
            a.dist,
            a.component,
            &signer.fingerprint[signer.fingerprint.len().saturating_sub(16)..],
            if kept.is_empty() {
                "-".to_string()
            } else {
                kept.join(", ")
            },
            if pruned.is_empty() {
                String::new()
            } else {
                format!("; pruned {}", pruned.join(", "))
            },
            start.elapsed().as_secs_f64()
        ));
        self.sync(cx, t)
    }
}

impl Publish {
    /// Mirror the published tree to the repository host, if there is one: the pool and the key
    /// first (new files only), then everything with `--delete-after`, so a host that reads the
    /// new indices finds every file they name. aptly's own directory stays here.
    fn sync(&self, cx: &RunCtx<'_>, t: &mut dyn Transport) -> Result<()> {
        let Some((host, path)) = &self.mirror else {
            return Ok(());
        };
        let start = Instant::now();
        let mut remote = cx.connector.connect(host, host, cx.env)?;
        let ssh = crate::media::ssh_route(remote.as_mut())?;
        let path = format!("{}/", path.trim_end_matches('/'));
        let mkdir = Cmd::new("mkdir", ["-p", path.as_str()]).sudo(None);
        let o = crate::exec::record::exec(remote.as_mut(), cx.rep, "sudo", mkdir.clone())?;
        crate::transport::check(remote.host(), &mkdir, o)?;
        let e = ssh
            .iter()
            .map(|a| crate::transport::cmd::quote(a))
            .collect::<Vec<_>>()
            .join(" ");
        let rsync_path = if remote.login_user() == "root" {
            "rsync"
        } else {
            "sudo -n rsync"
        };
        let src = format!("{}/", self.dir.display());
        let dest = format!("none:{path}");
        let pass = |extra: &[&str]| {
            Cmd::new("rsync", ["-a", "--exclude=/.aptly/"])
                .args(extra.iter().copied())
                .args([
                    format!("--rsync-path={rsync_path}"),
                    "-e".into(),
                    e.clone(),
                    src.clone(),
                    dest.clone(),
                ])
        };
        run(t, cx.rep, pass(&["--exclude=/dists/"]))?;
        run(t, cx.rep, pass(&["--delete-after"]))?;
        cx.rep.info(&format!(
            "deb.publish: mirrored {} to {host}:{path} ({:.1}s)",
            self.dir.display(),
            start.elapsed().as_secs_f64()
        ));
        Ok(())
    }
}
