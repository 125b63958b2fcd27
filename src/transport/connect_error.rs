//! Why an ssh master did not start, in words: ssh's log read for what it names (a host key
//! that differs from the pinned one, an unknown one under strict checking, a refused login, a
//! key that needs its passphrase, an sshd limit), with the file, key and user involved and a
//! hint that says what to do, instead of ssh's banner squeezed onto one line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::error::Error;

use super::cmd::quote;
use super::master::{self, StartFailure};
use super::ssh::SshTarget;

/// The error of a master that did not start: what ssh's log names, and a hint that names what
/// was hit instead of blaming user, port and key.
pub(super) fn connect_error(
    target: &SshTarget,
    opts: &[OsString],
    label: &str,
    sshd: &str,
    f: StartFailure,
    tries: u32,
) -> Error {
    let log = match f {
        StartFailure::Local(e) => {
            return Error::Transport {
                host: label.to_owned(),
                message: format!("cannot start ssh: {e}"),
                hint: Some("install the ssh client (`apt-get install openssh-client`)".into()),
            }
        }
        StartFailure::Ssh(log) => log,
    };
    let (message, hint) = words(target, opts, sshd, &log, tries);
    Error::Transport {
        host: label.to_owned(),
        message: format!("cannot connect over ssh: {message}"),
        hint: Some(hint),
    }
}

/// The message (after "cannot connect over ssh: ") and the hint for ssh's `log`.
fn words(
    target: &SshTarget,
    opts: &[OsString],
    sshd: &str,
    log: &str,
    tries: u32,
) -> (String, String) {
    let reason = if log.is_empty() {
        "ssh failed and said nothing".to_owned()
    } else {
        log.replace('\n', "; ")
    };
    if log.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || log.contains("has changed and") {
        return changed_key(target, &Resolved::of(opts, &target.host), log);
    }
    if log.contains("host key is known for") || log.contains("Host key verification failed") {
        return unknown_key(target, &Resolved::of(opts, &target.host), log);
    }
    if master::refused_at_start(log) {
        return (
            format!(
                "the sshd at {sshd} closed the connection before authentication, {tries} times \
                 ({reason})"
            ),
            "sshd drops connections beyond its `MaxStartups` limit while they are still \
             unauthenticated: raise it on that sshd, or give fewer hosts at once (-P N)"
                .to_owned(),
        );
    }
    if log.contains("too long for Unix domain socket") {
        return (
            reason,
            "a control socket path of your ssh config (`ControlPath`) is too long: shorten it"
                .to_owned(),
        );
    }
    if log.contains("Permission denied") {
        if let Some(k) = target.key_filename.as_ref().filter(|k| !k.exists()) {
            let k = k.display();
            return (
                format!("the key file {k} (env key `key_filename`) does not exist ({reason})"),
                format!("put the key at {k}, or point `key_filename` at the key this host accepts"),
            );
        }
        if let Some(key) = locked_key(target) {
            let key = key.display();
            return (
                format!("the key {key} has a passphrase and no ssh agent holds it ({reason})"),
                format!(
                    "dfab connects in batch mode and never asks for a passphrase: start an agent \
                     and add the key (`eval \"$(ssh-agent)\"; ssh-add {key}`), then run again"
                ),
            );
        }
        return denied(target, &Resolved::of(opts, &target.host), log);
    }
    (
        reason,
        format!(
            "check that `ssh {}` works by hand with the same user, port and key (env keys `user`, \
             `port`, `key_filename`, `ssh_config`)",
            quote(&target.label)
        ),
    )
}

/// What `ssh -G` says the connection uses.
struct Resolved {
    user: String,
    host: String,
    port: String,
    /// The first of `UserKnownHostsFile`.
    known_hosts: String,
}

impl Resolved {
    fn of(opts: &[OsString], dest: &str) -> Resolved {
        let text = master::resolved(opts, dest);
        let f = |k: &str| master::field(&text, k);
        Resolved {
            user: f("user").unwrap_or_else(|| "root".into()),
            host: f("hostname").unwrap_or_else(|| dest.to_owned()),
            port: f("port").unwrap_or_else(|| "22".into()),
            known_hosts: f("userknownhostsfile")
                .and_then(|v| v.split_whitespace().next().map(str::to_owned))
                .unwrap_or_else(|| "~/.ssh/known_hosts".into()),
        }
    }

    /// The host as `known_hosts` writes it: `host`, or `[host]:port` off port 22.
    fn known_as(&self) -> String {
        if self.port == "22" {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }

    /// `ssh-keyscan` of this host into `file`, quoted.
    fn keyscan(&self, file: &str) -> String {
        let port = if self.port == "22" {
            String::new()
        } else {
            format!("-p {} ", self.port)
        };
        format!("ssh-keyscan {port}{} >> {}", quote(&self.host), quote(file))
    }
}

/// The word after `prefix` up to the next space, in the first line that has it.
fn after<'a>(log: &'a str, prefix: &str) -> Option<&'a str> {
    log.lines().find_map(|l| {
        let i = l.find(prefix)?;
        l[i + prefix.len()..].split_whitespace().next()
    })
}

/// How to see the host's own key, out of band, for a key type ssh names (`ED25519`).
fn own_key(key_type: &str) -> String {
    format!(
        "`ssh-keygen -lf /etc/ssh/ssh_host_{}_key.pub` on the host's console, or ask its admin",
        key_type.to_ascii_lowercase()
    )
}

/// The host's key differs from the one pinned for it.
fn changed_key(target: &SshTarget, r: &Resolved, log: &str) -> (String, String) {
    let key_type = after(log, "The fingerprint for the ").unwrap_or("host");
    // ssh writes the fingerprint on the line after the one that announces it.
    let fingerprint = log
        .lines()
        .skip_while(|l| !l.contains("key sent by the remote host is"))
        .nth(1)
        .map(|l| l.trim().trim_end_matches('.').to_owned())
        .filter(|l| l.starts_with("SHA256:") || l.starts_with("MD5:"));
    // `Offending ED25519 key in /path/known_hosts:3`
    let offending = log.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("Offending ")?;
        let (_, place) = rest.split_once(" key in ")?;
        Some(match place.rsplit_once(':') {
            Some((file, line)) if line.chars().all(|c| c.is_ascii_digit()) => {
                (file.to_owned(), Some(line.to_owned()))
            }
            _ => (place.to_owned(), None),
        })
    });
    let (file, line) = offending.unwrap_or_else(|| (r.known_hosts.clone(), None));
    let known_as = log
        .lines()
        .find_map(|l| {
            let rest = l.trim().strip_prefix("Host key for ")?;
            rest.split_once(" has changed").map(|(h, _)| h.to_owned())
        })
        .unwrap_or_else(|| r.known_as());
    let sent = match &fingerprint {
        Some(fp) => format!("the {key_type} key it sent ({fp})"),
        None => "the key it sent".into(),
    };
    let line_words = line.map(|n| format!(", line {n}")).unwrap_or_default();
    let message = format!(
        "the host's key differs from the one pinned for {known_as} in {file}{line_words}: \
         {sent} is not that one, and ssh refused to connect (REMOTE HOST IDENTIFICATION HAS \
         CHANGED)"
    );
    let then = if target.host_key_checking.as_deref() == Some("strict") {
        format!(", then add the new one (`{}`)", r.keyscan(&file))
    } else {
        " (the next connection adds the new one)".to_owned()
    };
    let hint = format!(
        "if the host was reinstalled or its key replaced, compare {} with its own key out of band \
         ({}); only if they match, remove the pinned one with `ssh-keygen -R {} -f {}`{then}. If \
         they differ, do not connect: something may be between you and the host",
        fingerprint.as_deref().unwrap_or("the key ssh reports"),
        own_key(key_type),
        quote(&known_as),
        quote(&file),
    );
    (message, hint)
}

/// Strict checking and no key pinned for the host (or ssh's words for another host key
/// failure).
fn unknown_key(target: &SshTarget, r: &Resolved, log: &str) -> (String, String) {
    // `No ED25519 host key is known for [h]:p and you have requested strict checking.`
    let found = log.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("No ")?;
        let (key_type, rest) = rest.split_once(" host key is known for ")?;
        let (host, _) = rest.split_once(" and you have requested strict checking")?;
        Some((key_type.to_owned(), host.to_owned()))
    });
    let Some((key_type, known_as)) = found else {
        return (
            format!(
                "ssh could not verify the host's key against {} ({})",
                r.known_hosts,
                log.replace('\n', "; ")
            ),
            format!(
                "compare the host's key with the one pinned for {} in {} (env key `known_hosts`; \
                 `ssh-keygen -F {} -f {}` shows it)",
                r.known_as(),
                r.known_hosts,
                quote(&r.known_as()),
                quote(&r.known_hosts)
            ),
        );
    };
    let how = if target.host_key_checking.as_deref() == Some("strict") {
        "host_key_checking = 'strict' refuses a host whose key is not pinned"
    } else {
        "ssh's config asks for strict checking (StrictHostKeyChecking yes)"
    };
    (
        format!(
            "no {key_type} key is pinned for {known_as} in {}, and {how}",
            r.known_hosts
        ),
        format!(
            "fetch the host's key (`{}`) only after comparing its fingerprint (`ssh-keyscan … | \
             ssh-keygen -lf -`) with the host's own out of band ({}); or set host_key_checking = \
             'add' to pin a new host's key on first use",
            r.keyscan(&r.known_hosts),
            own_key(&key_type),
        ),
    )
}

/// The words of [`denied`]'s message, by which a caller knows a refused login from other
/// connect failures.
const LOGIN_REFUSED: &str = "refused the login of";

/// Whether `e` is a connect error that says sshd refused the login (a key it does not accept).
#[must_use]
pub(crate) fn login_refused(e: &crate::error::Error) -> bool {
    matches!(e, crate::error::Error::Transport { message, .. } if message.contains(LOGIN_REFUSED))
}

/// sshd refused the login: which user, which key.
fn denied(target: &SshTarget, r: &Resolved, log: &str) -> (String, String) {
    // `deploy@10.0.3.5: Permission denied (publickey,password).`
    let methods = log
        .lines()
        .find_map(|l| {
            let rest = l.split_once("Permission denied (")?.1;
            rest.split_once(')').map(|(m, _)| m.to_owned())
        })
        .unwrap_or_default();
    let user = target.user.clone().unwrap_or_else(|| r.user.clone());
    let keys = match &target.key_filename {
        Some(k) => format!("the key {} (env key `key_filename`)", k.display()),
        None => "the ssh agent's keys and ssh's default keys (~/.ssh/id_*)".into(),
    };
    let public = match &target.key_filename {
        Some(k) => format!("{}.pub", k.display()),
        None => "your public key".into(),
    };
    (
        format!(
            "sshd on {} {LOGIN_REFUSED} `{user}` with {keys} (it accepts: {methods})",
            r.known_as()
        ),
        format!(
            "put {public} in ~{user}/.ssh/authorized_keys on the host, or connect as another \
             user (env key `user`, or `user@host` in `hosts`); also check that sshd lets `{user}` \
             in (AllowUsers, PermitRootLogin)"
        ),
    )
}

/// The key ssh would have offered that has a passphrase while no agent holds it: the env's
/// `key_filename`, else the first of ssh's default keys that exists.
fn locked_key(target: &SshTarget) -> Option<PathBuf> {
    let key = if let Some(k) = &target.key_filename {
        k.clone()
    } else {
        let home = PathBuf::from(std::env::var_os("HOME")?);
        ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|n| home.join(".ssh").join(n))
            .find(|p| p.exists())?
    };
    // `ssh-keygen -y` with an empty passphrase fails on a key that has one.
    let opens = Command::new("ssh-keygen")
        .args(["-y", "-P", ""])
        .arg("-f")
        .arg(&key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if opens.success() {
        return None;
    }
    // An agent that holds some key: the key may be among them; say nothing then.
    let agent = std::env::var_os("SSH_AUTH_SOCK").is_some()
        && Command::new("ssh-add")
            .arg("-l")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    (!agent).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHANGED: &str = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!
The fingerprint for the ED25519 key sent by the remote host is
SHA256:E/cvDRocK2+IV4fLxeQrSl02eD3icuMj57ZvZfTZ2q8.
Add correct host key in /p/kh to get rid of this message.
Offending ED25519 key in /p/kh:3
  remove with:
  ssh-keygen -f \"/p/kh\" -R \"[10.0.0.7]:2222\"
Host key for [10.0.0.7]:2222 has changed and you have requested strict checking.
Host key verification failed.";

    fn resolved() -> Resolved {
        Resolved {
            user: "deploy".into(),
            host: "10.0.0.7".into(),
            port: "2222".into(),
            known_hosts: "/p/kh".into(),
        }
    }

    #[test]
    fn a_key_file_that_does_not_exist_is_named_as_missing_not_as_locked() {
        let target = SshTarget {
            key_filename: Some("/nonexistent/ops_only_key".into()),
            ..SshTarget::default()
        };
        let log = "Warning: Identity file /nonexistent/ops_only_key not accessible: No such file \
                   or directory.\nroot@10.0.3.5: Permission denied (publickey).";
        let (m, h) = words(&target, &[], "10.0.3.5", log, 1);
        assert!(
            m.starts_with(
                "the key file /nonexistent/ops_only_key (env key `key_filename`) does not exist"
            ),
            "{m}"
        );
        assert!(
            !m.contains("passphrase") && !h.contains("ssh-add"),
            "{m}\n{h}"
        );
    }

    #[test]
    fn a_changed_host_key_names_the_file_line_key_and_how_to_replace_it() {
        let (m, h) = changed_key(&SshTarget::default(), &resolved(), CHANGED);
        assert_eq!(
            m,
            "the host's key differs from the one pinned for [10.0.0.7]:2222 in /p/kh, line 3: the \
             ED25519 key it sent (SHA256:E/cvDRocK2+IV4fLxeQrSl02eD3icuMj57ZvZfTZ2q8) is not that \
             one, and ssh refused to connect (REMOTE HOST IDENTIFICATION HAS CHANGED)"
        );
        assert!(
            h.contains("ssh-keygen -R '[10.0.0.7]:2222' -f /p/kh"),
            "{h}"
        );
        assert!(h.contains("/etc/ssh/ssh_host_ed25519_key.pub"), "{h}");
    }

    #[test]
    fn an_unknown_host_key_under_strict_checking_says_how_to_pin_it() {
        let t = SshTarget {
            host_key_checking: Some("strict".into()),
            ..SshTarget::default()
        };
        let (m, h) = unknown_key(
            &t,
            &resolved(),
            "No ED25519 host key is known for [10.0.0.7]:2222 and you have requested strict \
             checking.\nHost key verification failed.",
        );
        assert_eq!(
            m,
            "no ED25519 key is pinned for [10.0.0.7]:2222 in /p/kh, and host_key_checking = \
             'strict' refuses a host whose key is not pinned"
        );
        assert!(h.contains("ssh-keyscan -p 2222 10.0.0.7 >> /p/kh"), "{h}");
    }

    #[test]
    fn a_refused_login_names_the_user_and_the_key() {
        let t = SshTarget {
            key_filename: Some("/p/id".into()),
            ..SshTarget::default()
        };
        let (m, h) = denied(
            &t,
            &resolved(),
            "deploy@10.0.0.7: Permission denied (publickey).",
        );
        assert_eq!(
            m,
            "sshd on [10.0.0.7]:2222 refused the login of `deploy` with the key /p/id (env key \
             `key_filename`) (it accepts: publickey)"
        );
        assert!(
            h.contains("/p/id.pub in ~deploy/.ssh/authorized_keys"),
            "{h}"
        );
    }
}
