//! The project's git checkout as a deploy sees it (Capistrano's `branch`, the branch mapping of
//! `FabulAWS`): the commit, the branch, whether tracked files changed, how far the branch is behind
//! its upstream as the last fetch knows it; read with git's plumbing commands, and the safety
//! rule a protected env's deploy applies to it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A checkout, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The work tree's top directory.
    pub root: PathBuf,
    /// `HEAD`'s commit (40 hex digits); `None` before the first commit.
    pub commit: Option<String>,
    /// The branch checked out; `None` when `HEAD` is detached.
    pub branch: Option<String>,
    /// A tracked file differs from `HEAD` (staged or not); untracked files do not count, as
    /// `git describe --dirty` has it.
    pub dirty: bool,
    /// The branch's upstream (`origin/main`) and how many of its commits `HEAD` lacks, as the
    /// last fetch left the remote-tracking branch.
    pub upstream: Option<(String, usize)>,
}

/// `git` in `dir`, its stdout trimmed when it exits 0.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The checkout holding `dir`; `None` outside one (or without git installed): then nothing of
/// git safety applies.
#[must_use]
pub fn read(dir: &Path) -> Option<Checkout> {
    let root = git(dir, &["rev-parse", "--show-toplevel"])?;
    let commit = git(dir, &["rev-parse", "--verify", "-q", "HEAD^{commit}"]);
    let branch = git(dir, &["symbolic-ref", "-q", "--short", "HEAD"]);
    // Refresh the index's stat data first (as `git status` does), so a file touched but not
    // changed is not taken for a change; then compare the tracked files with HEAD.
    let _ = git(dir, &["update-index", "-q", "--refresh"]);
    let dirty = commit.is_some()
        && Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["diff-index", "--quiet", "HEAD", "--"])
            .env("GIT_OPTIONAL_LOCKS", "0")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.code() == Some(1));
    let upstream = branch.as_ref().and_then(|_| {
        let name = git(
            dir,
            &[
                "rev-parse",
                "--abbrev-ref",
                "--symbolic-full-name",
                "@{upstream}",
            ],
        )?;
        let behind = git(dir, &["rev-list", "--count", "HEAD..@{upstream}"])?
            .parse()
            .ok()?;
        Some((name, behind))
    });
    Some(Checkout {
        root: PathBuf::from(root),
        commit,
        branch,
        dirty,
        upstream,
    })
}

/// Whether `name` is a local branch of the checkout holding `dir`.
#[must_use]
pub fn is_branch(dir: &Path, name: &str) -> bool {
    !name.starts_with('-')
        && git(
            dir,
            &["rev-parse", "--verify", "-q", &format!("refs/heads/{name}")],
        )
        .is_some()
}

/// Whether git tracks the file at `path` (it is in the index of its checkout).
#[must_use]
pub fn tracks(path: &Path) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return false;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["ls-files", "--error-unmatch", "--"])
        .arg(name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Checkout {
    /// The commit as the build record and the history keep it: the hash, with `-dirty` after
    /// it when tracked files had changed (as `git describe --dirty` marks it).
    #[must_use]
    pub fn stamp(&self) -> Option<String> {
        let c = self.commit.as_ref()?;
        Some(if self.dirty {
            format!("{c}-dirty")
        } else {
            c.clone()
        })
    }

    /// What makes this checkout unfit to deploy to a protected env from, each in a few words:
    /// tracked files changed, another branch than `want` (the env's `branch`) checked out, or
    /// the branch behind its upstream.
    #[must_use]
    pub fn problems(&self, want: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        if self.dirty {
            out.push(format!(
                "the work tree {} has uncommitted changes to tracked files",
                self.root.display()
            ));
        }
        if let Some(want) = want {
            match &self.branch {
                Some(b) if b == want => {}
                Some(b) => out.push(format!("branch `{b}` is checked out, not `{want}`")),
                None => out.push(format!("HEAD is detached, not on branch `{want}`")),
            }
        }
        if let Some((up, n)) = &self.upstream {
            if *n > 0 {
                out.push(format!(
                    "branch `{}` is {n} commit(s) behind `{up}` (as of the last fetch)",
                    self.branch.as_deref().unwrap_or("HEAD")
                ));
            }
        }
        out
    }
}

/// Git safety before `task` (`deploy`, `deb.deploy`) ships from `project`: outside a git
/// checkout nothing is checked. A `branch` the env names that is not a local branch is an error
/// on any env; a protected env ([`crate::settings::Protection`]) refuses a dirty tree, another
/// branch checked out, or a branch behind its upstream, unless `force` (`force=yes`), naming
/// each problem. Returns the problems `force` let through, for a warning.
pub fn check(
    env: &crate::environments::Env,
    project: &Path,
    task: &str,
    force: bool,
) -> crate::error::Result<Vec<String>> {
    let Some(co) = read(project) else {
        return Ok(Vec::new());
    };
    let want = env.str("branch");
    if let Some(b) = want {
        if !is_branch(project, b) {
            return Err(env.key_error(
                "branch",
                format!(
                    "`{b}` is not a branch of the git checkout {}",
                    co.root.display()
                ),
                Some("name a local branch (`git branch --list` shows them)".into()),
            ));
        }
    }
    let protection = crate::settings::Protection::of(env);
    if !protection.is_protected() {
        return Ok(Vec::new());
    }
    let problems = co.problems(want);
    if problems.is_empty() || force {
        return Ok(problems);
    }
    Err(crate::error::Error::usage(
        format!(
            "{task}: refused: `{}` is {} ({}), and {}",
            env.name,
            protection.label(),
            protection.reason(),
            problems.join("; ")
        ),
        Some(format!(
            "commit, check out or pull first; or `dfab {} {task}:force=yes` deploys anyway",
            env.name
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@x"])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn outside_a_checkout_there_is_nothing() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(d.path()), None);
    }

    #[test]
    fn commit_branch_dirt_and_upstream_as_plumbing_reports_them() {
        let up = tempfile::tempdir().unwrap();
        sh(up.path(), &["init", "-q", "-b", "main"]);
        fs_err::write(up.path().join("f"), "1").unwrap();
        sh(up.path(), &["add", "f"]);
        sh(up.path(), &["commit", "-q", "-m", "one"]);
        let d = tempfile::tempdir().unwrap();
        sh(d.path(), &["clone", "-q", up.path().to_str().unwrap(), "."]);
        let c = read(d.path()).unwrap();
        assert_eq!(c.branch.as_deref(), Some("main"));
        assert_eq!(c.commit.as_ref().map(String::len), Some(40));
        assert!(!c.dirty);
        assert_eq!(c.upstream, Some(("origin/main".into(), 0)));
        assert!(c.problems(Some("main")).is_empty());
        assert!(is_branch(d.path(), "main") && !is_branch(d.path(), "mian"));
        // Untracked files are not dirt; a changed tracked file is.
        fs_err::write(d.path().join("new"), "x").unwrap();
        assert!(!read(d.path()).unwrap().dirty);
        fs_err::write(d.path().join("f"), "2").unwrap();
        let c = read(d.path()).unwrap();
        assert!(c.dirty && c.stamp().unwrap().ends_with("-dirty"));
        assert!(c.problems(None)[0].contains("uncommitted changes"));
        assert!(c.problems(Some("prod"))[1].contains("`main` is checked out, not `prod`"));
        // A commit upstream, fetched: behind by one.
        fs_err::write(up.path().join("f"), "3").unwrap();
        sh(up.path(), &["commit", "-q", "-am", "two"]);
        sh(d.path(), &["fetch", "-q"]);
        let c = read(d.path()).unwrap();
        assert_eq!(c.upstream, Some(("origin/main".into(), 1)));
        assert!(c
            .problems(None)
            .iter()
            .any(|p| p.contains("1 commit(s) behind")));
    }
}
