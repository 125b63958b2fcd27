//! `apt.keygen`: a signing key for a new repository, made in a throwaway `GNUPGHOME` (the
//! user's keyring is not touched): the secret part written to a file only its owner reads, the
//! public part beside it, and where each goes said. The secret key is never printed.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::exec::record::read;
use crate::exec::step::{LocalAction, RunCtx};
use crate::transport::Transport;

use super::gpg::{self, first_fingerprint};
use super::AptError;

/// `apt.keygen` for `env`, writing the secret key to `path`.
#[derive(Debug)]
pub struct Keygen {
    pub env: String,
    /// The secret key file to write (`apt_signing_key`, else `.dfab/apt/<env>.key`).
    pub path: PathBuf,
    /// The setting to add, in the environments file's syntax, when the env does not set
    /// `apt_signing_key` to this file already.
    pub setting: Option<String>,
    /// For the paths shown.
    pub project_dir: PathBuf,
}

/// The public key's file beside the secret one: `x.key` → `x.asc`, else `x` + `.asc`.
#[must_use]
pub fn public_path(secret: &Path) -> PathBuf {
    if secret.extension().is_some_and(|e| e == "key") {
        secret.with_extension("asc")
    } else {
        let mut s = secret.as_os_str().to_owned();
        s.push(".asc");
        PathBuf::from(s)
    }
}

/// Ask gpg in `home`; its stdout, which must be there.
fn ask(t: &mut dyn Transport, cx: &RunCtx<'_>, home: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let cmd = gpg::gpg(Some(home), args);
    let o = read(t, cx.rep, "local", cmd.clone())?
        .known()
        .unwrap_or_else(|| unreachable!("apt.keygen runs nothing under -n"));
    Ok(crate::transport::check(t.host(), &cmd, o)?.stdout)
}

/// Write `data` to `path` with mode 0600 from its creation on, atomically.
fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    // tempfile creates its file 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".dfab-tmp-")
        .tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    Ok(())
}

impl LocalAction for Keygen {
    fn reaches_hosts(&self) -> bool {
        false
    }

    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let shown = |p: &Path| crate::fsutil::shown(p, &self.project_dir);
        let public = public_path(&self.path);
        for p in [&self.path, &public] {
            if p.exists() {
                return Err(AptError::KeyExists {
                    path: p.clone(),
                    env: self.env.clone(),
                }
                .into());
            }
        }
        if cx.dry_run {
            cx.rep.info(&format!(
                "apt.keygen: would make an ed25519 signing key in a throwaway GNUPGHOME, and \
                 write its secret part to {} (mode 0600) and its public part to {}",
                shown(&self.path),
                shown(&public)
            ));
            return Ok(());
        }
        let home = gpg::throwaway_home()?;
        let mut local = cx.local();
        let t = local.as_mut();
        let uid = format!(
            "dfab {} APT repository <{}@dfab.invalid>",
            self.env,
            super::source_name(&self.env)
        );
        let res = (|| -> Result<(String, Vec<u8>, Vec<u8>)> {
            ask(
                t,
                cx,
                home.path(),
                &[
                    "--pinentry-mode",
                    "loopback",
                    "--passphrase",
                    "",
                    "--quick-gen-key",
                    &uid,
                    "ed25519",
                    "sign",
                    "never",
                ],
            )?;
            let list = ask(t, cx, home.path(), &["--with-colons", "--list-secret-keys"])?;
            let fpr =
                first_fingerprint(&String::from_utf8_lossy(&list), "sec").ok_or_else(|| {
                    crate::error::Error::Other {
                        message: "apt.keygen: gpg made no secret key".into(),
                        hint: None,
                    }
                })?;
            let secret = ask(
                t,
                cx,
                home.path(),
                &["--armor", "--export-secret-keys", &fpr],
            )?;
            let public = ask(t, cx, home.path(), &["--armor", "--export", &fpr])?;
            Ok((fpr, secret, public))
        })();
        let _ = std::process::Command::new("gpgconf")
            .args(["--kill", "all"])
            .env("GNUPGHOME", home.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let (fpr, secret, public_key) = res?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.exists() {
            fs_err::create_dir_all(dir)?;
            fs_err::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
            // A directory dfab made for keys keeps them out of version control.
            if dir.ends_with(".dfab/apt") {
                let ignore = dir.join(".gitignore");
                crate::fsutil::write_atomic(&ignore, b"*.key\n")?;
                fs_err::set_permissions(
                    &ignore,
                    std::os::unix::fs::PermissionsExt::from_mode(0o644),
                )?;
            }
        }
        write_private(&self.path, &secret)?;
        drop(secret);
        crate::fsutil::write_atomic(&public, &public_key)?;
        fs_err::set_permissions(&public, std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
        let src = super::source_name(&self.env);
        cx.rep.info(&format!(
            "apt.keygen: made the signing key {fpr} (ed25519, no expiry, no passphrase) for \
             {env}\n  secret key: {s} (mode 0600): it stays on the machine that runs \
             deb.publish; back it up, and keep it out of version control\n  public key: {p}: \
             deb.publish puts a copy in the repository as {src}.asc, and `dfab {env} init` \
             installs it on each host as {host} (deploy_strategy = 'apt')",
            env = self.env,
            s = shown(&self.path),
            p = shown(&public),
            host = super::host_key_path(&self.env),
        ));
        if let Some(setting) = &self.setting {
            cx.rep.info(&format!(
                "apt.keygen: now set {setting} in the env {}",
                self.env
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::public_path;

    #[test]
    fn the_public_key_sits_beside_the_secret_one() {
        assert_eq!(
            public_path(Path::new("/k/prod.key")),
            Path::new("/k/prod.asc")
        );
        assert_eq!(
            public_path(Path::new("/k/prod.sec")),
            Path::new("/k/prod.sec.asc")
        );
    }
}
