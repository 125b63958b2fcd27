//! The deploy lock of a package on a host: `/var/lib/dfab/<package>/deploy.lock`, a file holding
//! who, when, what and a token, created whole with `ln` (which fails when it exists) under a
//! `flock` guard. The holder refreshes its mtime while it runs; only the token's owner releases
//! it, and `lock:release,force=yes` breaks it. (`/var/lib/dfab/<package>/lock` is the `flock`
//! file `deb.deploy` holds during an install: a different thing.)

use std::io::Read as _;

use crate::error::Result;
use crate::releases::state_dir;
use crate::transport::cmd::{quote, Cmd};

/// Exit status of a lock command when someone else holds the lock.
pub const HELD: i32 = 75;

/// The lock file of `package`.
#[must_use]
pub fn lock_path(package: &str) -> String {
    format!("{}/deploy.lock", state_dir(package))
}

/// The line a refusal starts with; the holder's lines (no token) follow.
pub const HELD_MARK: &str = "dfab-lock-held";

fn guarded(package: &str, body: &str) -> Cmd {
    Cmd::shell(format!(
        "set -e; d={d}; l={l}; install -d -m 0755 \"$d\"; exec 8>\"$l.guard\"; \
         flock -w 30 8 || {{ echo \"dfab: cannot take $l.guard\" >&2; exit 1; }}\n{body}",
        d = quote(&state_dir(package)),
        l = quote(&lock_path(package)),
    ))
    .sudo(None)
}

fn ours(token: &str) -> String {
    format!("grep -qx {} \"$l\"", quote(&format!("token={token}")))
}

const SHOW_HOLDER: &str = "echo dfab-lock-held; grep -v '^token=' \"$l\" || true; \
     echo \"refreshed=$(date -u -r \"$l\" +%Y-%m-%dT%H:%M:%SZ)\"";

/// Take the lock: `who`, `what` and the token arrive on stdin, the host adds `when`. Exits
/// [`HELD`] with the holder printed when another token holds it; already ours is fine. Once it
/// holds the lock, it reports what dpkg has installed of each of `report` (see
/// [`parse_installed`]), so the deploy needs no other command to know the hosts' releases.
#[must_use]
pub fn acquire(package: &str, who: &str, what: &str, token: &str, report: &[String]) -> Cmd {
    let info = format!(
        "who={}\nwhat={}\ntoken={token}\n",
        one_line(who),
        one_line(what)
    );
    // One dpkg-query for them all; a package dpkg does not know is left out of its output.
    let installed = if report.is_empty() {
        String::new()
    } else {
        let q: Vec<String> = report.iter().map(|p| quote(p)).collect();
        format!(
            "dpkg-query -W -f='{INSTALLED}${{Package}}\\t${{Version}}\\t${{db:Status-Abbrev}}\\n' {} 2>/dev/null || true; ",
            q.join(" ")
        )
    };
    guarded(
        package,
        &format!(
            "if [ -e \"$l\" ]; then if {ours}; then cat >/dev/null; touch \"$l\"; echo 'lock: already held by this deploy'; {installed}exit 0; fi; \
             cat >/dev/null; {SHOW_HOLDER}; exit {HELD}; fi\n\
             t=$(mktemp \"$l.XXXXXX\"); {{ cat; echo \"when=$(date -u +%Y-%m-%dT%H:%M:%SZ)\"; }} > \"$t\"; chmod 600 \"$t\"\n\
             if ln \"$t\" \"$l\" 2>/dev/null; then rm -f \"$t\"; echo \"lock: acquired $l\"; {installed}else rm -f \"$t\"; {SHOW_HOLDER}; exit {HELD}; fi",
            ours = ours(token)
        ),
    )
    .stdin(info.into_bytes())
}

/// The line [`acquire`] reports a package's state on.
const INSTALLED: &str = "dfab-installed\t";

/// What [`acquire`] reported of the packages `report`: each with dpkg's `(version, status)`,
/// `None` when dpkg does not have it.
#[must_use]
pub fn parse_installed(out: &str, report: &[String]) -> Vec<(String, Option<(String, String)>)> {
    let seen: Vec<(&str, &str)> = out
        .lines()
        .filter_map(|l| l.strip_prefix(INSTALLED))
        .filter_map(|l| l.split_once('\t'))
        .collect();
    report
        .iter()
        .map(|p| {
            let st = seen
                .iter()
                .find(|(q, _)| q == p)
                .and_then(|(_, st)| crate::releases::state::parse_installed(st));
            (p.clone(), st)
        })
        .collect()
}

/// Touch the lock if the token still holds it (the refresh while a deploy runs).
#[must_use]
pub fn refresh(package: &str, token: &str) -> Cmd {
    guarded(
        package,
        &format!(
            "if [ -e \"$l\" ] && {}; then touch \"$l\"; else echo \"dfab: $l is no longer held by this deploy\" >&2; exit {HELD}; fi",
            ours(token)
        ),
    )
}

/// Release the lock if the token holds it; exits [`HELD`] naming the holder otherwise.
#[must_use]
pub fn release(package: &str, token: &str) -> Cmd {
    guarded(
        package,
        &format!(
            "if [ ! -e \"$l\" ]; then echo 'lock: not held'; exit 0; fi\n\
             if {}; then rm -f \"$l\"; echo \"lock: released $l\"; else {SHOW_HOLDER}; exit {HELD}; fi",
            ours(token)
        ),
    )
}

/// Break the lock whoever holds it, printing the holder.
#[must_use]
pub fn force_release(package: &str) -> Cmd {
    guarded(
        package,
        "if [ ! -e \"$l\" ]; then echo 'lock: not held'; exit 0; fi\n\
         grep -v '^token=' \"$l\" | sed 's/^/lock: broken: /'; rm -f \"$l\"; echo \"lock: broke $l\"",
    )
}

/// Print `free`, or the holder and when it last refreshed the lock.
#[must_use]
pub fn status(package: &str) -> Cmd {
    Cmd::shell(format!(
        "l={l}; if [ -e \"$l\" ]; then {SHOW_HOLDER}; \
         echo \"age=$(( $(date +%s) - $(date +%s -r \"$l\") ))\"; else echo free; fi",
        l = quote(&lock_path(package))
    ))
    .sudo(None)
}

/// The holder, from a refusal's or status's output: `who … (what …, since …, refreshed …)`.
#[must_use]
pub fn holder(out: &str) -> String {
    let field = |k: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or("?")
            .to_string()
    };
    let mut s = format!(
        "{} ({}, since {}, last refreshed {}",
        field("who"),
        field("what"),
        field("when"),
        field("refreshed")
    );
    if let Some(m) = out.lines().find_map(|l| l.strip_prefix("message=")) {
        s.push_str(", message: ");
        s.push_str(m);
    }
    s.push(')');
    s
}

fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

/// A fresh random token.
pub fn new_token() -> Result<String> {
    let mut b = [0u8; 16];
    fs_err::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(crate::transport::hex(&b))
}

/// Who is deploying: `user@this-machine`.
#[must_use]
pub fn who() -> String {
    let host = fs_err::read_to_string("/etc/hostname")
        .map_or_else(|_| "localhost".into(), |s| s.trim().to_string());
    format!("{}@{host}", crate::releases::history::local_user())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(cmd: &Cmd, dir: &std::path::Path) -> std::process::Output {
        let script = match &cmd.program {
            crate::transport::cmd::Program::Shell(s) => s.clone(),
            crate::transport::cmd::Program::Argv(_) => unreachable!(),
        };
        let script = script.replace("/var/lib/dfab/app", &dir.display().to_string());
        let mut c = std::process::Command::new("sh");
        c.arg("-c").arg(&script);
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        let input = cmd.stdin_bytes().unwrap_or_default();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &input).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap()
    }

    #[test]
    fn only_the_token_releases_and_a_second_acquire_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("app");
        let a = sh(&acquire("app", "ann@laptop", "deploy prod", "t1", &[]), &d);
        assert!(a.status.success(), "{a:?}");
        let b = sh(&acquire("app", "bob@pc", "deploy prod", "t2", &[]), &d);
        assert_eq!(b.status.code(), Some(HELD));
        let out = String::from_utf8_lossy(&b.stdout);
        assert!(
            holder(&out).starts_with("ann@laptop (deploy prod, since 20"),
            "{out}"
        );
        assert!(!out.contains("t1"), "the token leaked: {out}");
        assert_eq!(sh(&release("app", "t2"), &d).status.code(), Some(HELD));
        assert!(sh(&refresh("app", "t1"), &d).status.success());
        assert!(sh(&release("app", "t1"), &d).status.success());
        assert!(!d.join("deploy.lock").exists());
        assert!(sh(&acquire("app", "bob@pc", "x", "t2", &[]), &d)
            .status
            .success());
        assert!(sh(&force_release("app"), &d).status.success());
        assert!(!d.join("deploy.lock").exists());
    }

    #[test]
    fn taking_the_lock_reports_what_dpkg_has_installed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("app");
        let report = ["dpkg".to_string(), "no-such-package-dfab".to_string()];
        let a = sh(&acquire("app", "ann@laptop", "deploy", "t1", &report), &d);
        assert!(a.status.success(), "{a:?}");
        let got = parse_installed(&String::from_utf8_lossy(&a.stdout), &report);
        let oracle = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "dpkg"])
            .output()
            .expect("dpkg-query (apt-get install dpkg)");
        let want = String::from_utf8_lossy(&oracle.stdout).to_string();
        assert_eq!(
            got,
            [
                ("dpkg".to_string(), Some((want, "ii ".to_string()))),
                ("no-such-package-dfab".to_string(), None)
            ]
        );
        // Taken again by the same token: the same report.
        let b = sh(&acquire("app", "ann@laptop", "deploy", "t1", &report), &d);
        assert_eq!(
            parse_installed(&String::from_utf8_lossy(&b.stdout), &report),
            got
        );
    }
}
