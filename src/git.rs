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
}

/// Whether `commit` is `branch`'s commit or an ancestor of it (`git merge-base --is-ancestor`)
/// in the checkout holding `dir`; `None` when git cannot tell (the commit is not in this
/// repository).
#[must_use]
pub fn is_on_branch(dir: &Path, commit: &str, branch: &str) -> Option<bool> {
    if commit.starts_with('-') {
        return None;
    }
    let s = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["merge-base", "--is-ancestor", commit])
        .arg(format!("refs/heads/{branch}"))
        .env("GIT_OPTIONAL_LOCKS", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match s.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// The local branches holding `commit`, for a message (`git branch --contains`).
fn branches_with(dir: &Path, commit: &str) -> Vec<String> {
    git(
        dir,
        &[
            "branch",
            "--format=%(refname:short)",
            "--contains",
            commit,
            "--",
        ],
    )
    .map(|s| s.lines().map(String::from).collect())
    .unwrap_or_default()
}

/// The upstream of local branch `branch` (`origin/main`) and how many of its commits the
/// branch lacks, as the last fetch left the remote-tracking branch; `None` without one.
#[must_use]
pub fn behind(dir: &Path, branch: &str) -> Option<(String, usize)> {
    let up = format!("{branch}@{{upstream}}");
    let name = git(
        dir,
        &["rev-parse", "--abbrev-ref", "--symbolic-full-name", &up],
    )?;
    let n = git(
        dir,
        &["rev-list", "--count", &format!("refs/heads/{branch}..{up}")],
    )?
    .parse()
    .ok()?;
    Some((name, n))
}

/// How [`Judged::tree`] names the build.
const TREE: &str = "this run's build";

/// The build a deploy ships, as git safety judges it: the build record's commit and dirt, or,
/// when the same invocation builds first, the work tree's (what that build will record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The commit (40 hex digits); `None` when the record has none.
    pub commit: Option<String>,
    /// Tracked files differed from the commit.
    pub dirty: bool,
    /// How messages name it: "the last build" or "this run's build".
    pub what: &'static str,
}

impl Judged {
    /// The last build, from the build record (`.dfab-built.json`) in `package_dir`; `None`
    /// when there is no record (the deploy then fails on its own for want of a build).
    pub fn record(package_dir: &Path) -> crate::error::Result<Option<Judged>> {
        Ok(
            crate::deb::manifest::Manifest::load(package_dir)?.map(|m| Judged {
                commit: m.commit,
                dirty: m.dirty,
                what: "the last build",
            }),
        )
    }

    /// The build this invocation makes before it deploys: the work tree as it is now.
    #[must_use]
    pub fn tree(co: &Checkout) -> Judged {
        Judged {
            commit: co.commit.clone(),
            dirty: co.dirty,
            what: TREE,
        }
    }

    /// What makes this build unfit for a protected env, each in a few words: made from a
    /// dirty tree; its commit not `want`'s (the env's `branch`) commit or an ancestor of it;
    /// no commit recorded; and (of the checkout) `want`, else the branch checked out, behind
    /// its upstream.
    #[must_use]
    pub fn problems(&self, co: &Checkout, want: Option<&str>) -> Vec<String> {
        let short = |c: &str| c[..c.len().min(12)].to_string();
        let mut out = Vec::new();
        match &self.commit {
            None if co.commit.is_some() => out.push(format!(
                "{} records no git commit (it was made outside this checkout or before \
                 dfab recorded commits; build again)",
                self.what
            )),
            None => {}
            Some(c) => {
                if self.dirty {
                    out.push(format!(
                        "{} (commit {}) {} from a work tree with uncommitted changes to tracked \
                         files",
                        self.what,
                        short(c),
                        if self.what == TREE {
                            "is made"
                        } else {
                            "was made"
                        }
                    ));
                }
                if let Some(want) = want {
                    match is_on_branch(&co.root, c, want) {
                        Some(true) => {}
                        Some(false) => {
                            let on = branches_with(&co.root, c);
                            let on = if on.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " (it is on {})",
                                    on.iter()
                                        .map(|b| format!("`{b}`"))
                                        .collect::<Vec<_>>()
                                        .join(", ")
                                )
                            };
                            out.push(format!(
                                "{}'s commit {} is not on branch `{want}`{on}",
                                self.what,
                                short(c)
                            ));
                        }
                        None => out.push(format!(
                            "{}'s commit {} is not in the git checkout {}",
                            self.what,
                            short(c),
                            co.root.display()
                        )),
                    }
                }
            }
        }
        let branch = want.or(co.branch.as_deref());
        if let Some((up, n)) = branch.and_then(|b| behind(&co.root, b)) {
            if n > 0 {
                out.push(format!(
                    "branch `{}` is {n} commit(s) behind `{up}` (as of the last fetch)",
                    branch.unwrap_or("HEAD")
                ));
            }
        }
        out
    }
}

/// Git safety before `task` (`deploy`, `deb.deploy`) ships from `project`: outside a git
/// checkout nothing is checked. A `branch` the env names that is not a local branch is an error
/// on any env; a protected env ([`crate::settings::Protection`]) judges the build it ships
/// ([`Judged`]: the build record, or the work tree when `builds_first`, as this invocation's
/// `deb.build` will record it) and refuses one made from a dirty tree, from a commit that is not
/// on `branch`, or a branch behind its upstream, unless `force` (`force=yes`), naming each
/// problem. Returns the problems `force` let through, for a warning.
pub fn check(
    env: &crate::environments::Env,
    project: &Path,
    task: &str,
    force: bool,
    builds_first: bool,
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
    let judged = if builds_first {
        Some(Judged::tree(&co))
    } else {
        Judged::record(&crate::settings::shipping::package_dir(env, project))?
    };
    let Some(judged) = judged else {
        return Ok(Vec::new());
    };
    let problems = judged.problems(&co, want);
    if problems.is_empty() || force {
        return Ok(problems);
    }
    Err(crate::error::Error::usage(
        format!(
            "{task}: refused: `{}` is {}, and {}",
            env.name,
            match protection {
                // The name says it: not "`production` is production (it is production)".
                crate::settings::Protection::Production => "the production env".to_string(),
                p => format!("{} ({})", p.label(), p.reason()),
            },
            problems.join("; ")
        ),
        Some(format!(
            "commit, check out the branch or pull, and build again; or `dfab {} {task}:force=yes` deploys anyway",
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
        assert!(Judged::tree(&c).problems(&c, Some("main")).is_empty());
        assert!(is_branch(d.path(), "main") && !is_branch(d.path(), "mian"));
        // Untracked files are not dirt; a changed tracked file is.
        fs_err::write(d.path().join("new"), "x").unwrap();
        assert!(!read(d.path()).unwrap().dirty);
        fs_err::write(d.path().join("f"), "2").unwrap();
        let c = read(d.path()).unwrap();
        assert!(c.dirty && c.stamp().unwrap().ends_with("-dirty"));
        assert!(Judged::tree(&c).problems(&c, None)[0].contains("uncommitted changes"));
        // A commit upstream, fetched: behind by one.
        fs_err::write(up.path().join("f"), "3").unwrap();
        sh(up.path(), &["commit", "-q", "-am", "two"]);
        sh(d.path(), &["fetch", "-q"]);
        let c = read(d.path()).unwrap();
        assert_eq!(c.upstream, Some(("origin/main".into(), 1)));
        assert!(Judged::tree(&c)
            .problems(&c, None)
            .iter()
            .any(|p| p.contains("1 commit(s) behind")));
    }

    // The build is judged, not the work tree: a dirty build stays dirty after `git checkout
    // -- .`; a clean build is fine in a dirty tree; a build from `feature` is not on `main`
    // even with `main` checked out again, and a build of an older `main` commit is.
    #[test]
    fn the_build_is_judged_not_the_work_tree() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        sh(p, &["init", "-q", "-b", "main"]);
        fs_err::write(p.join("f"), "1").unwrap();
        sh(p, &["add", "f"]);
        sh(p, &["commit", "-q", "-m", "one"]);
        let one = read(p).unwrap().commit.unwrap();
        // Built dirty, then the tree cleaned: still refused.
        let dirty = Judged {
            commit: Some(one.clone()),
            dirty: true,
            what: "the last build",
        };
        let co = read(p).unwrap();
        assert!(!co.dirty);
        let got = dirty.problems(&co, Some("main"));
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("the last build (commit "), "{got:?}");
        // Built clean, the tree dirty now: fine.
        fs_err::write(p.join("f"), "dirt").unwrap();
        let clean = Judged {
            dirty: false,
            ..dirty.clone()
        };
        let co = read(p).unwrap();
        assert!(co.dirty && clean.problems(&co, Some("main")).is_empty());
        sh(p, &["checkout", "-q", "--", "."]);
        // Built on `feature`, `main` checked out again: not on `main`, and says where it is.
        sh(p, &["checkout", "-q", "-b", "feature"]);
        fs_err::write(p.join("f"), "2").unwrap();
        sh(p, &["commit", "-q", "-am", "two"]);
        let two = read(p).unwrap().commit.unwrap();
        sh(p, &["checkout", "-q", "main"]);
        let co = read(p).unwrap();
        let feature = Judged {
            commit: Some(two),
            ..clean.clone()
        };
        let got = feature.problems(&co, Some("main"));
        assert_eq!(
            got,
            [format!(
                "the last build's commit {} is not on branch `main` (it is on `feature`)",
                &feature.commit.as_ref().unwrap()[..12]
            )]
        );
        // An older commit of `main` is on it (an ancestor), and without `branch` no branch
        // rule applies.
        sh(p, &["merge", "-q", "feature"]);
        let co = read(p).unwrap();
        assert!(clean.problems(&co, Some("main")).is_empty());
        assert!(feature.problems(&co, Some("main")).is_empty());
        // A commit this repository does not have, and a record without a commit.
        let alien = Judged {
            commit: Some("0".repeat(40)),
            ..clean.clone()
        };
        assert!(alien.problems(&co, Some("main"))[0].contains("is not in the git checkout"));
        let none = Judged {
            commit: None,
            ..clean
        };
        assert!(none.problems(&co, None)[0].contains("records no git commit"));
    }
}
