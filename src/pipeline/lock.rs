//! The deploy lock of a package on a host: `/var/lib/dfab/<package>/deploy.lock`, a file holding
//! who, when, what and a token, created whole with `ln` (which fails when it exists) under a
//! `flock` guard. The holder refreshes its mtime while it runs; only the token's owner releases
//! it, and `lock:release,force=yes` breaks it. (`/var/lib/dfab/<package>/lock` is the `flock`
//! file `deb.deploy` holds during an install: a different thing.) In release mode the lock is
//! the instance's, `<releases_root>/.dfab/deploy.lock`: its key is the instance's root (an
//! absolute path) instead of the package, so two instances of one package lock apart.

use std::io::Read as _;

use crate::error::Result;
use crate::hostside;
use crate::releases::state_dir;
use crate::transport::cmd::Cmd;

/// Exit status of a lock command when someone else holds the lock.
pub const HELD: i32 = 75;

/// Exit status of [`acquire_checked`] on a host that cannot install (not root, a tool missing).
pub const UNFIT: i32 = 78;

/// The lock file of `key`: a package's (`/var/lib/dfab/<package>/deploy.lock`), or, when the
/// key is an instance's root (`/srv/app/staging`), that instance's
/// (`/srv/app/staging/.dfab/deploy.lock`), as `dfab-host`'s `lock_dir` places them.
#[must_use]
pub fn lock_path(key: &str) -> String {
    if key.starts_with('/') {
        format!("{}/.dfab/deploy.lock", key.trim_end_matches('/'))
    } else {
        format!("{}/deploy.lock", state_dir(key))
    }
}

/// The line a refusal starts with; the holder's lines (no token) follow.
pub const HELD_MARK: &str = "dfab-lock-held";

/// `dfab-host lock <op> <package> [args...]`, as root, with the token on stdin when given.
fn lock_cmd(op: &str, package: &str, args: &[&str], token: Option<&str>) -> Cmd {
    let cmd = hostside::call(["lock", op, package].iter().chain(args)).sudo(None);
    match token {
        Some(t) => cmd.stdin(format!("{t}\n").into_bytes()),
        None => cmd,
    }
}

/// `dfab-host lock take`: take the lock, `who` and `what` as arguments and the token on stdin;
/// the host adds `when`. Exits [`HELD`] with the holder printed when another token holds it;
/// already ours is fine. Once it holds the lock, it reports what dpkg has installed of each of
/// `report` (see [`parse_installed`]), so the deploy needs no other command to know the hosts'
/// releases.
#[must_use]
pub fn acquire(package: &str, who: &str, what: &str, token: &str, report: &[String]) -> Cmd {
    let (who, what) = (one_line(who), one_line(what));
    let mut args = vec![who.as_str(), what.as_str()];
    args.extend(report.iter().map(String::as_str));
    lock_cmd("take", package, &args, Some(token))
}

/// [`acquire`], after the deploy's preflight in the same session (root, the install's tools, as
/// `dfab-host preflight` prints them): a host that cannot install exits [`UNFIT`] and takes no
/// lock.
#[must_use]
pub fn acquire_checked(
    package: &str,
    who: &str,
    what: &str,
    token: &str,
    report: &[String],
    there: &[String],
) -> Cmd {
    let (who, what) = (one_line(who), one_line(what));
    let mut args = vec!["--preflight"];
    for p in there {
        args.extend(["--there", p.as_str()]);
    }
    args.extend([package, who.as_str(), what.as_str()]);
    args.extend(report.iter().map(String::as_str));
    let cmd = hostside::call(["lock", "take"].iter().chain(&args)).sudo(None);
    cmd.stdin(format!("{token}\n").into_bytes())
}

/// `dfab-host lock release-after`: `step` (a host-program call, the deploy's last on the host)
/// and then the release of the lock, whatever the step did, in one session; the step's lines
/// come last and its exit status wins. `None` when `step` is not a host-program call.
#[must_use]
pub fn release_after(step: &Cmd, package: &str, token: &str) -> Option<Cmd> {
    let cmd = hostside::prefixed(step, &["lock", "release-after", package])?;
    Some(cmd.sudo(None).stdin(format!("{token}\n").into_bytes()))
}

/// What a [`release_after`] said of the lock: `Ok(true)` released (or not held), else the
/// holder's lines when another token holds it (`Err`); `Ok(false)`: the step failed, and the
/// lock was kept.
pub fn released_after(out: &str) -> std::result::Result<bool, String> {
    if out.lines().any(|l| l == HELD_MARK) {
        return Err(holder(out));
    }
    Ok(out
        .lines()
        .any(|l| l.starts_with("lock: released ") || l == "lock: not held"))
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

/// The line [`acquire`] reports an installed build on.
const BUILT: &str = "dfab-built\t";

/// What [`acquire`] reported of the installed builds: `(package, sha256)` of each package whose
/// installed version the host's history knows.
#[must_use]
pub fn parse_built(out: &str) -> Vec<(String, String)> {
    package_lines(out, BUILT)
}

/// The line [`acquire`] reports the answers of an installed build on.
const ANSWERS: &str = "dfab-answers\t";

/// What [`acquire`] reported of the answers each installed build was configured with:
/// `(package, sha256 of the answers)` (`-`: none were given) where the host recorded them.
#[must_use]
pub fn parse_answers(out: &str) -> Vec<(String, String)> {
    package_lines(out, ANSWERS)
}

/// The `(package, value)` of each `<tag>package<TAB>value` line of `out`.
fn package_lines(out: &str, tag: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.strip_prefix(tag))
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, v)| (p.to_string(), v.trim().to_string()))
        .collect()
}

/// `dfab-host lock refresh`: touch the lock if the token still holds it (the refresh while a
/// deploy runs).
#[must_use]
pub fn refresh(package: &str, token: &str) -> Cmd {
    lock_cmd("refresh", package, &[], Some(token))
}

/// `dfab-host lock release`: release the lock if the token holds it; exits [`HELD`] naming the
/// holder otherwise.
#[must_use]
pub fn release(package: &str, token: &str) -> Cmd {
    lock_cmd("release", package, &[], Some(token))
}

/// `dfab-host lock force-release`: break the lock whoever holds it, printing the holder.
#[must_use]
pub fn force_release(package: &str) -> Cmd {
    lock_cmd("force-release", package, &[], None)
}

/// `dfab-host lock status`: print `free`, or the holder and when it last refreshed the lock.
#[must_use]
pub fn status(package: &str) -> Cmd {
    lock_cmd("status", package, &[], None)
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
        // The package directory is `<dir>` itself, as `/var/lib/dfab/app` is on a host.
        let root = dir.parent().unwrap();
        assert_eq!(dir.file_name().unwrap(), "app");
        hostside::run_here(cmd, root)
    }

    #[test]
    fn the_last_step_releases_the_lock_in_its_own_session_only_when_it_succeeded() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("app");
        assert!(sh(&acquire("app", "ann@pc", "deploy", "t1", &[]), &d)
            .status
            .success());
        let flag = dir.path().join("maintenance.on");
        let state = dir.path().join("web-mode");
        let path = |p: &std::path::Path| p.display().to_string();
        let live = hostside::call(["web", "live", &path(&flag), &path(&state)]);
        // A failing step (a bad call) keeps the lock.
        let bad = hostside::call(["web", "live", "only-one-argument"]);
        let o = sh(&release_after(&bad, "app", "t1").unwrap(), &d);
        assert_ne!(o.status.code(), Some(0), "{o:?}");
        assert_eq!(
            released_after(&String::from_utf8_lossy(&o.stdout)),
            Ok(false)
        );
        assert!(d.join("deploy.lock").exists());
        // Another token's lock is kept, its holder said, and the step's result stands.
        fs_err::write(&flag, "").unwrap();
        let o = sh(&release_after(&live, "app", "t2").unwrap(), &d);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{o:?}");
        assert!(
            released_after(&out)
                .unwrap_err()
                .starts_with("ann@pc (deploy"),
            "{out}"
        );
        assert!(d.join("deploy.lock").exists() && !flag.exists());
        // The step, then the release; the step's line last, as the step alone prints it.
        fs_err::write(&flag, "").unwrap();
        let cmd = release_after(&live, "app", "t1").unwrap();
        assert!(cmd
            .to_string()
            .starts_with("dfab-host lock release-after app web live "));
        let o = sh(&cmd, &d);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{o:?}");
        assert_eq!(released_after(&out), Ok(true));
        assert!(!d.join("deploy.lock").exists() && !flag.exists());
        assert!(out.trim_end().ends_with("removed)"), "{out}");
        assert!(!out.contains("t1"), "the token leaked: {out}");
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
