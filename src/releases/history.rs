//! The append-only `history` of a package on a host: one tab-separated line per install attempt
//! (time, version, sha256, local user, dfab version, outcome, action).

use crate::hostside;
use crate::transport::cmd::Cmd;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Installed and verified.
    Ok,
    /// Already installed: nothing done.
    Unchanged,
    Failed,
}

impl Outcome {
    /// The word in the history line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Unchanged => "unchanged",
            Outcome::Failed => "failed",
        }
    }
}

/// One line of the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub time: String,
    pub version: String,
    pub sha256: String,
    pub user: String,
    pub dfab: String,
    pub outcome: String,
    /// `deploy`, `rollback` or `reconfigure`.
    pub action: String,
    /// The git commit the release was built from (`<hash>`, `<hash>-dirty`), when the build
    /// recorded one: an eighth field, absent from older lines.
    pub commit: Option<String>,
}

/// What one attempt writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    pub package: &'a str,
    pub version: &'a str,
    pub sha256: &'a str,
    pub outcome: Outcome,
    pub action: &'a str,
    /// The build's git commit, if known.
    pub commit: Option<&'a str>,
}

/// The user running dfab here, as it goes into the history (no tabs or newlines).
#[must_use]
pub fn local_user() -> String {
    let u = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .or_else(passwd_name)
        .unwrap_or_else(|| {
            // SAFETY: getuid has no preconditions and cannot fail.
            format!("uid{}", unsafe { libc::getuid() })
        });
    field(&u)
}

/// The name of the real user in the password database (as `id -un` prints it).
fn passwd_name() -> Option<String> {
    // SAFETY: getpwuid returns null or a pointer to a record in static storage, which is read
    // at once, before any other call could overwrite it.
    unsafe {
        let pw = libc::getpwuid(libc::getuid());
        if pw.is_null() || (*pw).pw_name.is_null() {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr((*pw).pw_name)
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// A value as a field of the history: whitespace and control characters become `_`.
#[must_use]
pub fn field(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// `dfab-host history append`: the command that appends one line (the time is the host's
/// clock, UTC).
#[must_use]
pub fn append(r: &Record<'_>, user: &str) -> Cmd {
    let fields = [
        r.version,
        r.sha256,
        user,
        env!("CARGO_PKG_VERSION"),
        r.outcome.as_str(),
        r.action,
    ];
    hostside::call(
        ["history".to_string(), "append".into(), r.package.into()]
            .into_iter()
            .chain(fields.iter().map(|f| field(f)))
            .chain(r.commit.map(field)),
    )
    .sudo(None)
}

/// Parse history lines; a line that is not ours is skipped (the file is the admin's too).
#[must_use]
pub fn parse_line(line: &str) -> Option<Entry> {
    let f: Vec<&str> = line.split('\t').collect();
    let (fields, commit) = match f.as_slice() {
        [seven @ .., c] if seven.len() == 7 => (seven, Some((*c).to_string())),
        seven => (seven, None),
    };
    let [time, version, sha256, user, dfab, outcome, action] = fields else {
        return None;
    };
    Some(Entry {
        time: (*time).to_string(),
        version: (*version).to_string(),
        sha256: (*sha256).to_string(),
        user: (*user).to_string(),
        dfab: (*dfab).to_string(),
        outcome: (*outcome).to_string(),
        action: (*action).to_string(),
        commit: commit.filter(|c| !c.is_empty()),
    })
}

/// The releases in deploy order, as a stack read from the history: a successful `deploy` pushes
/// its version (unless it is already on top); a successful `rollback` to X pops entries until X
/// is on top, or pushes X when it is not in the stack. `unchanged` and `failed` lines change
/// nothing. The top is the release dfab last installed; the one below it is what a rollback
/// goes back to (as Capistrano's `deploy:rollback` does), never the release just reverted.
#[must_use]
pub fn stack(entries: &[Entry]) -> Vec<&str> {
    let mut st: Vec<&str> = Vec::new();
    for e in entries.iter().filter(|e| e.outcome == Outcome::Ok.as_str()) {
        let v = e.version.as_str();
        match e.action.as_str() {
            "deploy" if st.last() != Some(&v) => st.push(v),
            "rollback" => match st.iter().rposition(|s| *s == v) {
                Some(i) => st.truncate(i + 1),
                None => st.push(v),
            },
            _ => {}
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_through_the_host_program() {
        let r = Record {
            package: "app",
            version: "1.0-1",
            sha256: "ab",
            outcome: Outcome::Failed,
            action: "deploy",
            commit: Some("abc123-dirty"),
        };
        let cmd = append(&r, "my user");
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir(dir.path().join("app")).unwrap();
        let o = hostside::run_here(&cmd, dir.path());
        assert!(o.status.success(), "{o:?}");
        let text = fs_err::read_to_string(dir.path().join("app/history")).unwrap();
        let e = parse_line(text.trim_end()).unwrap();
        assert_eq!(e.version, "1.0-1");
        assert_eq!(e.user, "my_user");
        assert_eq!(e.dfab, env!("CARGO_PKG_VERSION"));
        assert_eq!(e.outcome, "failed");
        assert_eq!(e.action, "deploy");
        assert_eq!(e.commit.as_deref(), Some("abc123-dirty"));
        assert_eq!(e.time.len(), 20, "{}", e.time);
        assert_eq!(
            parse_line("t\t1\ts\tu\td\tok\tdeploy").unwrap().commit,
            None
        );
    }

    fn entries(lines: &[(&str, &str, &str)]) -> Vec<Entry> {
        lines
            .iter()
            .map(|(action, v, outcome)| {
                parse_line(&format!("t\t{v}\tsha\tme\t0.1.0\t{outcome}\t{action}")).unwrap()
            })
            .collect()
    }

    /// The reported history: after `deploy:revert=yes` (a rollback to 1.1), rollback went
    /// forward to the reverted 1.2 instead of back to 1.0.
    #[test]
    fn a_rollback_pops_the_reverted_release_off_the_stack() {
        let h = entries(&[
            ("deploy", "1.0", "ok"),
            ("deploy", "1.1", "ok"),
            ("deploy", "1.2", "ok"),
            ("rollback", "1.1", "ok"),
        ]);
        assert_eq!(stack(&h), ["1.0", "1.1"]);
    }

    #[test]
    fn rollbacks_in_a_row_walk_down_and_a_deploy_pushes_again() {
        let mut h = entries(&[
            ("deploy", "1.0", "ok"),
            ("deploy", "1.1", "ok"),
            ("deploy", "1.2", "ok"),
            ("rollback", "1.1", "ok"),
            ("rollback", "1.0", "ok"),
        ]);
        assert_eq!(stack(&h), ["1.0"]);
        h.extend(entries(&[("deploy", "1.3", "ok")]));
        assert_eq!(stack(&h), ["1.0", "1.3"]);
    }

    #[test]
    fn failed_and_unchanged_lines_change_nothing_and_a_new_rollback_target_is_pushed() {
        let h = entries(&[
            ("deploy", "1.0", "ok"),
            ("deploy", "1.1", "failed"),
            ("deploy", "1.0", "unchanged"),
            ("deploy", "1.0", "ok"),
            ("rollback", "0.9", "failed"),
            ("deploy", "2.0", "ok"),
            ("rollback", "0.9", "ok"),
        ]);
        // 1.0 reinstalled (force) stays one entry; 0.9 was never deployed: pushed.
        assert_eq!(stack(&h), ["1.0", "2.0", "0.9"]);
    }
}
