//! The one ssh connection a fleet task shares to `lxc_host`: an OpenSSH control master started
//! when the fleet is opened and closed (`ssh -O exit`) when it is dropped, so that the hundred
//! or so `lxc-*` and `lxc-attach` commands of a `fleet.create` each cost a session on it
//! (milliseconds) instead of a new ssh login (a third of a second each).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::Result;

use super::error::FleetError;

/// A running control master to one host.
#[derive(Debug)]
pub struct Master {
    host: String,
    socket: PathBuf,
    /// Holds the socket; removed after the master has exited.
    _dir: tempfile::TempDir,
}

impl Master {
    /// Log in to `host` with `options` (`lxc_host_ssh_options`) once, as a master in the
    /// background. Fails with ssh's own message when the login fails.
    pub fn start(env: &str, host: &str, options: &[String]) -> Result<Master> {
        let dir = tempfile::Builder::new().prefix("dfab-ssh-").tempdir()?;
        let socket = dir.path().join("master");
        let log = dir.path().join("master.log");
        let mut args = vec!["-o".to_owned(), "BatchMode=yes".to_owned()];
        args.extend(options.iter().cloned());
        args.extend(
            [
                "-o",
                "ControlMaster=yes",
                "-o",
                &format!("ControlPath={}", socket.display()),
                "-o",
                "ControlPersist=yes",
                "-f",
                "-N",
                host,
            ]
            .map(str::to_owned),
        );
        // `-f` leaves the master running in the background with our descriptors: none of them
        // may be a pipe we wait on.
        let status = Command::new("ssh")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs_err::File::create(&log)?.into_parts().0)
            .status();
        let ok = status.as_ref().is_ok_and(std::process::ExitStatus::success);
        if !ok {
            let why = match status {
                Err(e) => e.to_string(),
                Ok(_) => fs_err::read_to_string(&log).unwrap_or_default(),
            };
            return Err(FleetError::LxcHost {
                env: env.to_owned(),
                command: format!("ssh {}", args.join(" ")),
                tail: crate::deploy::remote::tail(&why, 5),
            }
            .into());
        }
        Ok(Master {
            host: host.to_owned(),
            socket,
            _dir: dir,
        })
    }

    /// The `ssh` arguments that run a command as a session of this master.
    #[must_use]
    pub fn options(&self) -> Vec<String> {
        vec![
            "-o".into(),
            format!("ControlPath={}", self.socket.display()),
            "-o".into(),
            "ControlMaster=no".into(),
        ]
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        let _ = Command::new("ssh")
            .arg("-o")
            .arg(format!("ControlPath={}", self.socket.display()))
            .args(["-O", "exit", &self.host])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
