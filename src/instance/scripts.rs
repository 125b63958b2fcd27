//! The check that refuses, in release mode, a package whose maintainer scripts do work release
//! mode cannot reproduce (creating users, calling `dpkg-trigger`, managing services, writing
//! outside its tree, changing databases or system config, running the app's management
//! commands), naming the script and line, unless `release_setup_commands` takes it over; and,
//! since no pattern catches everything, [`not_run`]: the line that says which of a script's
//! lines will not run.

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
    "mkdir", "install", "ln", "cp", "mv", "rm", "touch", "chown", "chmod", "tee", "rmdir", "dd",
    "truncate", "chgrp", "rsync", "tar", "unzip",
];

/// Commands that change the system's configuration (Debian's helpers).
const SYSTEM_CONFIG: &[&str] = &[
    "a2ensite",
    "a2dissite",
    "a2enmod",
    "a2dismod",
    "a2enconf",
    "a2disconf",
    "update-alternatives",
    "dpkg-divert",
    "dpkg-statoverride",
    "ucf",
    "ucfr",
    "ldconfig",
    "crontab",
    "update-ca-certificates",
    "setcap",
    "sysctl",
];

/// Commands that change a database server (or run one's client).
const DATABASES: &[&str] = &[
    "createdb",
    "dropdb",
    "createuser",
    "dropuser",
    "psql",
    "pg_restore",
    "mysql",
    "mysqladmin",
    "mariadb",
    "redis-cli",
];

/// Commands that run others as another user.
const AS_USER: &[&str] = &["su", "runuser", "sudo", "setpriv", "chpst"];

/// Interpreters whose `-c`/`-e` code may write anywhere.
const INTERPRETERS: &[&str] = &[
    "python", "python3", "perl", "ruby", "php", "node", "sh", "bash",
];

/// Where a system path starts (a path named in code, not only as a command's argument).
const SYSTEM_DIRS: &[&str] = &[
    "/etc/",
    "/var/",
    "/srv/",
    "/home/",
    "/root/",
    "/usr/local/",
    "/run/",
    "/opt/",
    "/boot/",
];

/// Paths a script may name without leaving its tree.
fn harmless(path: &str) -> bool {
    path.starts_with("/dev/null")
        || path.starts_with("/dev/std")
        || path.starts_with("/usr/share/debconf/")
        || path == "/"
}

/// Whether `word` is an absolute path (quoted or not), or a variable `vars` holds one in
/// (`"$D"`, `${D}/x`).
fn absolute<'a>(word: &'a str, vars: &[String]) -> Option<&'a str> {
    let w = word.trim_matches(|c| c == '"' || c == '\'');
    if w.starts_with('/') && !harmless(w) {
        return Some(w);
    }
    let name = w.strip_prefix('$')?;
    let name = name.strip_prefix('{').unwrap_or(name);
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    vars.iter().any(|v| *v == name[..end]).then_some(w)
}

/// `NAME=/abs/path` (a shell variable set to a path outside the tree), as `NAME`.
fn path_var(word: &str) -> Option<&str> {
    let (name, value) = word.split_once('=')?;
    let ok = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    (ok && v.starts_with('/') && !harmless(v)).then_some(name)
}

/// The simple commands of a line (split at `;`, `&`, `|`, `(` and backquotes), each as its
/// words.
fn commands(line: &str) -> Vec<Vec<&str>> {
    line.split([';', '&', '|', '(', ')', '`'])
        .map(|c| c.split_whitespace().collect::<Vec<_>>())
        .filter(|c| !c.is_empty())
        .collect()
}

/// The command a simple command runs: its first word after `VAR=value` assignments and the
/// keywords that lead one (`then`, `do`, `!`, …).
fn command_name<'a>(words: &[&'a str]) -> Option<(usize, &'a str)> {
    words.iter().enumerate().find_map(|(i, w)| {
        let lead = [
            "then", "do", "else", "!", "{", "exec", "command", "nohup", "env",
        ];
        (!lead.contains(w) && path_var_or_assign(w).is_none()).then_some((i, *w))
    })
}

/// `NAME=value` of any value, as `NAME`.
fn path_var_or_assign(word: &str) -> Option<&str> {
    let (name, _) = word.split_once('=')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

/// What one line does that release mode cannot, if anything; `vars` are the script's variables
/// set to paths outside the tree so far (a line's `NAME=/path` adds to them).
fn judge(line: &str, vars: &mut Vec<String>) -> Option<&'static str> {
    let words: Vec<&str> = line
        .split(|c: char| {
            c.is_whitespace() || c == ';' || c == '&' || c == '|' || c == '(' || c == '`'
        })
        .filter(|w| !w.is_empty())
        .collect();
    for w in &words {
        if let Some(v) = path_var(w) {
            if !vars.iter().any(|x| x == v) {
                vars.push(v.to_string());
            }
        }
    }
    let base = |w: &str| {
        let w = w.trim_matches(|c| c == '"' || c == '\'');
        w.rsplit('/').next().unwrap_or(w).to_string()
    };
    let has = |names: &[&str]| words.iter().any(|w| names.contains(&base(w).as_str()));
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
        "service",
    ]) {
        return Some("manages system services");
    }
    if has(DATABASES) {
        return Some("changes a database");
    }
    if has(SYSTEM_CONFIG) {
        return Some("changes the system's configuration");
    }
    if words.iter().any(|w| {
        let w = w.trim_matches(|c| c == '"' || c == '\'');
        w.ends_with("manage.py") || w.ends_with("-manage") || w.ends_with("django-admin")
    }) {
        return Some("runs the app's management commands");
    }
    if has(AS_USER) {
        return Some("runs commands as another user");
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
        if absolute(target, vars).is_some() {
            return Some("writes outside its tree");
        }
        rest = &rest[i + 1..];
    }
    for c in commands(line) {
        let Some((i, name)) = command_name(&c) else {
            continue;
        };
        let name = base(name);
        let args = &c[i + 1..];
        let any_path = || args.iter().any(|w| absolute(w, vars).is_some());
        let in_place = args
            .iter()
            .any(|w| w.starts_with("-i") || *w == "--in-place" || w.starts_with("--in-place="));
        if WRITERS.contains(&name.as_str()) && any_path() {
            return Some("writes outside its tree");
        }
        if ["sed", "perl"].contains(&name.as_str()) && in_place && any_path() {
            return Some("writes outside its tree");
        }
        // Code given to an interpreter that names a system path: `python3 -c 'open("/etc/x", "w")'`.
        if INTERPRETERS.contains(&name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.'))
            || INTERPRETERS.contains(&name.as_str())
        {
            let code = args.iter().any(|w| ["-c", "-e", "-E", "-r"].contains(w));
            if code && SYSTEM_DIRS.iter().any(|d| line.contains(d)) {
                return Some("writes outside its tree");
            }
        }
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
    let mut vars = Vec::new();
    for (i, line) in lines(script) {
        if let Some(what) = judge(line, &mut vars) {
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

/// The lines of a script that run (1-based number, trimmed): not comments, blank lines or
/// the sections dfab and debhelper generate (`# Automatically added by …` to `# End
/// automatically added section`).
fn lines(script: &str) -> Vec<(usize, &str)> {
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
        out.push((i, line));
    }
    out
}

/// Whether a line is the shell's or debconf's plumbing, which does no work of its own
/// (`set -e`, `fi`, `db_get x`, `case "$1" in`, `exit 0`, a plain variable assignment).
fn plumbing(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    let words = [
        "set",
        "fi",
        "esac",
        "done",
        "else",
        "then",
        "do",
        "exit",
        ";;",
        "}",
        "case",
        "if",
        "elif",
        "for",
        "while",
        ".",
        "db_get",
        "db_stop",
        "db_version",
        "db_input",
        "db_go",
        "echo",
        "printf",
        "return",
        "true",
        ":",
    ];
    words.contains(&first)
        || first.ends_with(')') && !first.contains('(')
        || (path_var_or_assign(first).is_some() && line.split_whitespace().count() == 1)
}

/// How many lines to show of a script's work in [`not_run`].
const SHOWN: usize = 3;

/// The line said for a maintainer script in release mode, or `None` when it has no work in it:
/// that `package`'s `name` will not run, and its lines that do work (not [`plumbing`]), which
/// `release_setup_commands` must cover: their count and the first few, each on one line.
#[must_use]
pub fn not_run(package: &str, name: &str, script: &str) -> Option<String> {
    let found: Vec<usize> = findings(name, script).iter().map(|f| f.line).collect();
    let work: Vec<(usize, &str)> = lines(script)
        .into_iter()
        .filter(|(i, l)| !plumbing(l) || found.contains(&(i + 1)))
        .collect();
    if work.is_empty() {
        return None;
    }
    let shown: Vec<String> = work
        .iter()
        .take(SHOWN)
        .map(|(i, l)| {
            let one: String = l
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{}: {one}", i + 1)
        })
        .collect();
    let more = work.len().saturating_sub(SHOWN);
    Some(format!(
        "release mode: {package}'s {name} will not run; release_setup_commands must do its {} \
         line(s) of work: {}{}",
        work.len(),
        shown.join(" | "),
        if more > 0 {
            format!(" | … {more} more")
        } else {
            String::new()
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::{findings, not_run};

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

    #[test]
    fn finds_databases_system_config_in_place_edits_code_and_path_variables() {
        let script = "#!/bin/sh\nset -e\n\
            echo started | tee /var/log/x\n\
            sed -i 's/a/b/' /etc/nginx/nginx.conf\n\
            su postgres -c \"createdb app\"\n\
            a2ensite app\n\
            python3 -c 'open(\"/etc/x\",\"w\")'\n\
            D=/var/lib/other; mkdir -p \"$D\"\n\
            /opt/app/venv/bin/python /usr/share/app/manage.py collectstatic --noinput\n\
            sed -i 's/a/b/' relative.conf\n\
            python3 -c 'print(1)'\n";
        let got: Vec<(usize, &str)> = findings("postinst", script)
            .iter()
            .map(|f| (f.line, f.what))
            .collect();
        assert_eq!(
            got,
            [
                (3, "writes outside its tree"),
                (4, "writes outside its tree"),
                (5, "changes a database"),
                (6, "changes the system's configuration"),
                (7, "writes outside its tree"),
                (8, "writes outside its tree"),
                (9, "runs the app's management commands"),
            ]
        );
    }

    #[test]
    fn a_script_with_work_is_always_said_with_its_first_lines_on_one_line_each() {
        let script = "#!/bin/sh\nset -e\n. /usr/share/debconf/confmodule\n\
            if [ \"$1\" = configure ]; then\n\
            \tdb_get app/x\n\
            \tapp-tool rebuild-index\n\
            \tcp a b\n\
            \tln -s x y\n\
            \tmake-thing \"a\\nb\"\n\
            fi\n#DEBHELPER#\nexit 0\n";
        let line = not_run("app", "postinst", script).unwrap();
        assert!(
            line.starts_with("release mode: app's postinst will not run; release_setup_commands must do its 4 line(s) of work: 6: app-tool rebuild-index | 7: cp a b | 8: ln -s x y | … 1 more"),
            "{line}"
        );
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(
            not_run("app", "preinst", "#!/bin/sh\nset -e\nexit 0\n"),
            None
        );
    }
}
