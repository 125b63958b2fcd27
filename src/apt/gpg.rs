//! The repository's signing key: a key of the user's keyring (used as it is, never changed),
//! or a key file imported into a throwaway `GNUPGHOME` for each run, removed afterwards with
//! its agent. Only fingerprints and public keys leave gpg; the secret key is never read by
//! dfab nor printed.

use std::path::Path;

use crate::error::Result;
use crate::exec::record::read;
use crate::report::Reporter;
use crate::settings::apt::SigningKey;
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::AptError;

/// A key ready to sign with.
#[derive(Debug)]
pub struct Signer {
    /// The signing key's fingerprint (`<fingerprint>` under `-n`).
    pub fingerprint: String,
    /// The throwaway `GNUPGHOME` a key file was imported into.
    home: Option<tempfile::TempDir>,
}

/// `gpg --batch` with `args`, in `home` when given (else the user's own `GNUPGHOME`).
#[must_use]
pub fn gpg(home: Option<&Path>, args: &[&str]) -> Cmd {
    let cmd = Cmd::new("gpg", ["--batch", "--no-tty", "--quiet"]).args(args.iter().copied());
    match home {
        Some(h) => cmd.env("GNUPGHOME", h.display().to_string()),
        None => cmd,
    }
}

/// The first fingerprint after a `sec` (or `pub`) record of `gpg --with-colons` output.
#[must_use]
pub fn first_fingerprint(colons: &str, after: &str) -> Option<String> {
    let mut seen = false;
    for line in colons.lines() {
        let mut f = line.split(':');
        match f.next() {
            Some(k) if k == after => seen = true,
            Some("fpr") if seen => return f.nth(8).map(String::from),
            _ => {}
        }
    }
    None
}

/// A fresh, private (0700, as `mkdtemp` makes it) `GNUPGHOME`.
pub fn throwaway_home() -> Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix("dfab-gnupg-").tempdir()?)
}

impl Signer {
    /// Make `key` ready: a key id must have a secret key in the user's keyring; a key file is
    /// imported into a throwaway home and must hold a secret key. Errors name
    /// `apt_signing_key`. `t` is this machine (a recorder under `-n`, where nothing is
    /// imported).
    pub fn open(
        t: &mut dyn Transport,
        rep: &dyn Reporter,
        key: &SigningKey,
        env: &str,
    ) -> Result<Signer> {
        match key {
            SigningKey::Id(id) => {
                let cmd = gpg(None, &["--with-colons", "--list-secret-keys", "--", id]);
                let Some(o) = read(t, rep, "local", cmd)?.known() else {
                    return Ok(Signer::planned());
                };
                let fingerprint = first_fingerprint(&o.stdout_str(), "sec")
                    .filter(|_| o.status == 0)
                    .ok_or_else(|| AptError::NoSecretKey {
                        id: id.clone(),
                        env: env.to_string(),
                    })?;
                Ok(Signer {
                    fingerprint,
                    home: None,
                })
            }
            SigningKey::File(path) => {
                if t.recording() {
                    let p = path.display().to_string();
                    read(t, rep, "local", gpg(None, &["--import", &p]))?;
                    return Ok(Signer::planned());
                }
                if !path.is_file() {
                    return Err(AptError::NoKeyFile {
                        path: path.clone(),
                        env: env.to_string(),
                    }
                    .into());
                }
                let home = throwaway_home()?;
                let p = path.display().to_string();
                let import = gpg(Some(home.path()), &["--import", &p]);
                let o = read(t, rep, "local", import.clone())?
                    .known()
                    .unwrap_or_else(|| unreachable!("a live transport answers"));
                let o = crate::transport::check(t.host(), &import, o)?;
                drop(o);
                let list = gpg(Some(home.path()), &["--with-colons", "--list-secret-keys"]);
                let o = read(t, rep, "local", list)?
                    .known()
                    .unwrap_or_else(|| unreachable!("a live transport answers"));
                let signer = Signer {
                    fingerprint: String::new(),
                    home: Some(home),
                };
                let Some(fingerprint) = first_fingerprint(&o.stdout_str(), "sec") else {
                    return Err(AptError::NotSecret {
                        path: path.clone(),
                        env: env.to_string(),
                    }
                    .into());
                };
                let mut signer = signer;
                signer.fingerprint = fingerprint;
                Ok(signer)
            }
        }
    }

    fn planned() -> Signer {
        Signer {
            fingerprint: "<fingerprint>".into(),
            home: None,
        }
    }

    /// The throwaway home, if a key file was imported.
    #[must_use]
    pub fn home(&self) -> Option<&Path> {
        self.home.as_ref().map(tempfile::TempDir::path)
    }

    /// `cmd` with this key's `GNUPGHOME` (when it has its own).
    #[must_use]
    pub fn with_home(&self, cmd: Cmd) -> Cmd {
        match self.home() {
            Some(h) => cmd.env("GNUPGHOME", h.display().to_string()),
            None => cmd,
        }
    }

    /// The public key, armored (empty under `-n`).
    pub fn public_key(&self, t: &mut dyn Transport, rep: &dyn Reporter) -> Result<Vec<u8>> {
        let cmd = gpg(self.home(), &["--armor", "--export", &self.fingerprint]);
        let Some(o) = read(t, rep, "local", cmd.clone())?.known() else {
            return Ok(Vec::new());
        };
        let o = crate::transport::check(t.host(), &cmd, o)?;
        Ok(o.stdout)
    }
}

impl Drop for Signer {
    /// The throwaway home's agent is ended and the home removed (the user's own is left
    /// alone).
    fn drop(&mut self) {
        if let Some(h) = &self.home {
            let _ = std::process::Command::new("gpgconf")
                .args(["--kill", "all"])
                .env("GNUPGHOME", h.path())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// The fingerprint of the (first) public key in an armored key file, read without importing
/// it anywhere (`gpg --show-keys`).
pub fn file_fingerprint(
    t: &mut dyn Transport,
    rep: &dyn Reporter,
    path: &Path,
) -> Result<Option<String>> {
    let p = path.display().to_string();
    let cmd = gpg(None, &["--with-colons", "--show-keys", &p]);
    let Some(o) = read(t, rep, "local", cmd)?.known() else {
        return Ok(None);
    };
    Ok(first_fingerprint(&o.stdout_str(), "pub"))
}

#[cfg(test)]
mod tests {
    use super::first_fingerprint;

    #[test]
    fn the_fingerprint_follows_its_key_record() {
        let out = "sec:u:255:22:131F80E4A43BC3F4:1765084620:::u:::scESC:::+:::ed25519:::0:\n\
                   fpr:::::::::98B651ADEE5D3E9A201283B9131F80E4A43BC3F4:\n\
                   grp:::::::::AB:\nuid:u::::1::X::dfab test <dfab@localhost>::::::::::0:\n";
        assert_eq!(
            first_fingerprint(out, "sec").as_deref(),
            Some("98B651ADEE5D3E9A201283B9131F80E4A43BC3F4")
        );
        assert_eq!(first_fingerprint(out, "pub"), None);
        assert_eq!(first_fingerprint("", "sec"), None);
    }
}
