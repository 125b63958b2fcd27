//! The check that refuses, in release mode, a package whose maintainer scripts do work release
//! mode cannot reproduce (creating users, calling `dpkg-trigger`, managing services, writing
//! outside its tree), naming the script and line, unless `release_setup_commands` takes it over.

/// One line of a maintainer script that does work release mode does not do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `postinst`, `preinst`.
    pub script: String,
    /// 1-based line number.
    pub line: usize,
    /// What the line does, in a few words (`creates a user`).
    pub what: &'static str,
    /// The line, trimmed.
    pub text: String,
}

/// The scripts an install runs (dpkg runs `preinst` and `postinst`; removals are not ours).
pub const SCRIPTS: &[&str] = &["preinst", "postinst"];

/// Commands that write the paths they are given.
const WRITERS: &[&str] = &[
    "mkdir", "install", "ln", "cp", "mv", "rm", "touch", "chown", "chmod", "tee", "rmdir",
];

/// Paths a script may name without leaving its tree.
fn harmless(path: &str) -> bool {
    path.starts_with("/dev/null")
        || path.starts_with("/dev/std")
        || path.starts_with("/usr/share/debconf/")
        || path == "/"
}

/// Whether `word` is an absolute path (quoted or not).
fn absolute(word: &str) -> Option<&str> {
    let w = word.trim_matches(|c| c == '"' || c == '\'');
    (w.starts_with('/') && !harmless(w)).then_some(w)
}

/// What one line does that release mode cannot, if anything.
fn judge(line: &str) -> Option<&'static str> {
    let words: Vec<&str> = line
        .split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|' || c == '(')
        .filter(|w| !w.is_empty())
        .collect();
    let has = |names: &[&str]| words.iter().any(|w| names.contains(w));
    if has(&["useradd", "adduser", "groupadd", "addgroup", "usermod"]) {
        return Some("creates users or groups");
    }
    if has(&["dpkg-trigger"]) {
        return Some("calls dpkg-trigger");
    }
    if has(&[
        "systemctl",
        "invoke-rc.d",
        "update-rc.d",
        "deb-systemd-helper",
        "deb-systemd-invoke",
    ]) {
        return Some("manages system services");
    }
    // A redirection to an absolute path: `> /etc/x`, `>>/var/lib/x`.
    let mut rest = line;
    while let Some(i) = rest.find('>') {
        let after = rest[i + 1..].trim_start_matches('>').trim_start();
        if after.starts_with('&') {
            rest = &rest[i + 1..];
            continue;
        }
        let target = after.split_whitespace().next().unwrap_or("");
        if absolute(target).is_some() {
            return Some("writes outside its tree");
        }
        rest = &rest[i + 1..];
    }
    if words.first().is_some_and(|w| WRITERS.contains(w))
        && words.iter().skip(1).any(|w| absolute(w).is_some())
    {
        return Some("writes outside its tree");
    }
    None
}

/// The lines of `script` (named `name`) that release mode cannot reproduce. Comments and the
/// sections dfab and debhelper generate (`# Automatically added by …` to `# End automatically
/// added section`: the venv, which release mode builds itself, and dpkg-mode service handling)
/// are skipped.
#[must_use]
pub fn findings(name: &str, script: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut generated = false;
    for (i, raw) in script.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with("# Automatically added by") {
            generated = true;
            continue;
        }
        if line.starts_with("# End automatically added section") {
            generated = false;
            continue;
        }
        if generated || line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(what) = judge(line) {
            out.push(Finding {
                script: name.to_string(),
                line: i + 1,
                what,
                text: line.to_string(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::findings;

    #[test]
    fn finds_users_triggers_services_and_writes_outside_the_tree() {
        let script = "#!/bin/sh\nset -e\n. /usr/share/debconf/confmodule\n\
            db_get app/x\n\
            useradd --system app\n\
            mkdir -p /var/lib/app\n\
            printf '%s' \"$RET\" > /var/lib/app/config\n\
            echo hi >&2\n\
            echo quiet >/dev/null\n\
            dpkg-trigger foo\n\
            # useradd in a comment\n\
            # Automatically added by dfab/venv\n\
            python3 -m venv /opt/app/venv\n\
            # End automatically added section\n\
            if [ -d /run/systemd/system ]; then systemctl reload nginx; fi\n";
        let f = findings("postinst", script);
        let got: Vec<(usize, &str)> = f.iter().map(|f| (f.line, f.what)).collect();
        assert_eq!(
            got,
            [
                (5, "creates users or groups"),
                (6, "writes outside its tree"),
                (7, "writes outside its tree"),
                (10, "calls dpkg-trigger"),
                (15, "manages system services"),
            ]
        );
        assert_eq!(f[1].text, "mkdir -p /var/lib/app");
    }
}
