//! `deb.publish` and `apt.keygen`: the env's APT repository settings read and checked (each
//! missing key named), planned as one step on this machine each.

use std::path::PathBuf;
use std::sync::Arc;

use crate::apt::keygen::Keygen;
use crate::apt::publish::Publish;
use crate::environments::Env;
use crate::error::Result;
use crate::invocation::TaskCall;
use crate::settings::apt::{AptRepo, RepoPlace, SigningKey};

use super::{PlanCtx, Step};

/// Where `deb.publish` writes (`apt_repo`, required): the directory aptly publishes into on
/// this machine, and for `host:path` the repository host to mirror it to (the local copy is
/// `.dfab/apt/<env>/repo` in the project).
fn place(cx: &PlanCtx<'_>, repo: &AptRepo) -> Result<(PathBuf, Option<(String, String)>)> {
    let env = cx.env;
    match &repo.place {
        Some(RepoPlace::Local(d)) => Ok((d.clone(), None)),
        Some(RepoPlace::Remote { host, path }) => {
            if !path.starts_with('/') {
                return Err(env.key_error(
                    "apt_repo",
                    format!(
                        "`{host}:{path}`: the directory on the repository host must be absolute"
                    ),
                    Some("'repo.example.com:/srv/apt'".into()),
                ));
            }
            let local = cx
                .project_dir
                .join(".dfab/apt")
                .join(&env.name)
                .join("repo");
            Ok((local, Some((host.clone(), path.clone()))))
        }
        None => Err(env.key_error(
            "apt_repo",
            "deb.publish needs the repository directory",
            Some(format!(
                "set {} (a directory a web server serves, here or `host:path`; apt_url is its URL)",
                env.example("apt_repo", "'/srv/apt'")
            )),
        )),
    }
}

/// The signing key, required.
pub fn signing_key(env: &Env, repo: &AptRepo) -> Result<SigningKey> {
    repo.key.clone().ok_or_else(|| {
        env.key_error(
            "apt_signing_key",
            "the repository is signed, and the env names no key",
            Some(format!(
                "`dfab {} apt.keygen` makes one and says where it goes; or set {} to a key id \
                 of `gpg --list-secret-keys`",
                env.name,
                env.example("apt_signing_key", "'.dfab/apt/production.key'")
            )),
        )
    })
}

/// `deb.publish`: the build record's packages (`deploy_packages` selects) into `apt_repo`.
pub fn plan_publish(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let repo = AptRepo::from_env(cx.env, cx.project_dir)?;
    let (dir, mirror) = place(cx, &repo)?;
    let key = signing_key(cx.env, &repo)?;
    let mut job = super::deb_deploy::job(cx, false)?;
    // Publishing reads no debconf answers.
    job.debconf = None;
    job.debconf_key = None;
    Ok(vec![Step::Here {
        task: call.name.clone(),
        action: Arc::new(Publish {
            job,
            repo,
            dir,
            key,
            mirror,
        }),
    }])
}

/// `apt.keygen`: a new key at `apt_signing_key` (a file), else `.dfab/apt/<env>.key`.
pub fn plan_keygen(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let repo = AptRepo::from_env(cx.env, cx.project_dir)?;
    let (path, configured) =
        match &repo.key {
            Some(SigningKey::File(p)) => (p.clone(), true),
            Some(SigningKey::Id(id)) => return Err(cx.env.key_error(
                "apt_signing_key",
                format!("the env signs with the key `{id}` of your keyring already"),
                Some(
                    "apt.keygen writes a new key file: unset apt_signing_key, or set it to the \
                     file to write"
                        .into(),
                ),
            )),
            None => (
                cx.project_dir
                    .join(".dfab/apt")
                    .join(format!("{}.key", cx.env.name)),
                false,
            ),
        };
    Ok(vec![Step::Here {
        task: call.name.clone(),
        action: Arc::new(Keygen {
            env: cx.env.name.clone(),
            setting: (!configured).then(|| {
                let shown = crate::fsutil::shown(&path, cx.project_dir);
                cx.env.example("apt_signing_key", &format!("'{shown}'"))
            }),
            path,
            project_dir: cx.project_dir.to_path_buf(),
        }),
    }])
}
