//! Test support: a builder that runs the dfab binary and checks its status, stdout and stderr
//! together, and real LXC test hosts with sshd.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The base container `scripts/setup-host` builds; tests clone it and never touch it.
pub(crate) const BASE: &str = "dfab-test-base";
/// The key every test container accepts.
pub(crate) const KEY: &str = "/var/lib/dfab-test/id_ed25519";

/// What a dfab run left: exit code, stdout, stderr.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the built binary in a project directory, and checks what it printed.
///
/// `.run()` only runs it and hands back the [`Outcome`]. `.run_checked()` also checks, in one
/// go, the exit status and what was asked of stdout and stderr, and on any mismatch fails with
/// every mismatch at once (an exact text as a line diff), as casey/just's `tests/test.rs` does:
///
/// ```ignore
/// Dfab::new(dir.path())
///     .args(["prod", "helo"])
///     .status(2)                                   // the default is 0
///     .no_stdout()                                 // = .stdout_is("")
///     .stderr_is("error: unknown task `helo`\nhint: did you mean `hello`?\n")
///     .run_checked();
/// ```
///
/// Matchers, each callable any number of times: `stdout_is`/`stderr_is` (the exact text),
/// `stdout_has`/`stderr_has` (a substring), `stdout_lacks`/`stderr_lacks` (a substring that
/// must not be there). A stream with no matcher is not checked. An error-path check (a status
/// other than 0) must say what stderr holds, so that it cannot pass on the exit code alone.
#[must_use = "nothing runs until .run() or .run_checked()"]
pub(crate) struct Dfab {
    cmd: Command,
    /// The arguments as given, for the failure message.
    shown: Vec<String>,
    status: i32,
    stdout: Vec<Want>,
    stderr: Vec<Want>,
}

/// One thing a stream must (or must not) hold.
enum Want {
    Is(String),
    Has(String),
    Lacks(String),
}

impl Dfab {
    /// dfab to be run in `dir`, with no `DFAB_ENVIRONMENTS` from the caller's environment.
    pub(crate) fn new(dir: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dfab"));
        cmd.current_dir(dir).env_remove("DFAB_ENVIRONMENTS");
        Dfab {
            cmd,
            shown: Vec::new(),
            status: 0,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Adds command-line arguments.
    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(
        mut self,
        a: I,
    ) -> Self {
        for arg in a {
            self.shown.push(arg.as_ref().to_string_lossy().into_owned());
            self.cmd.arg(arg);
        }
        self
    }

    /// Sets an environment variable for the run.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// The exit status `run_checked` expects (0 unless set).
    pub(crate) fn status(mut self, code: i32) -> Self {
        self.status = code;
        self
    }

    /// stdout is exactly `text`.
    pub(crate) fn stdout_is(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Want::Is(text.into()));
        self
    }

    /// stdout holds `text`.
    pub(crate) fn stdout_has(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Want::Has(text.into()));
        self
    }

    /// stdout does not hold `text`.
    pub(crate) fn stdout_lacks(mut self, text: impl Into<String>) -> Self {
        self.stdout.push(Want::Lacks(text.into()));
        self
    }

    /// Nothing on stdout: nothing was run or reported.
    pub(crate) fn no_stdout(self) -> Self {
        self.stdout_is("")
    }

    /// stderr is exactly `text`.
    pub(crate) fn stderr_is(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Want::Is(text.into()));
        self
    }

    /// stderr holds `text`.
    pub(crate) fn stderr_has(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Want::Has(text.into()));
        self
    }

    /// stderr does not hold `text`.
    pub(crate) fn stderr_lacks(mut self, text: impl Into<String>) -> Self {
        self.stderr.push(Want::Lacks(text.into()));
        self
    }

    /// Run, without checking anything.
    pub(crate) fn run(mut self) -> Outcome {
        let out = self.cmd.output().expect("run dfab");
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Run and check the status, stdout and stderr together; fail listing every mismatch.
    #[track_caller]
    pub(crate) fn run_checked(mut self) -> Outcome {
        assert!(
            self.status == 0 || self.stderr.iter().any(|w| !matches!(w, Want::Lacks(_))),
            "dfab {}: expecting status {} without saying what stderr holds \
             (stderr_is or stderr_has): the check would pass on the exit code alone",
            self.shown.join(" "),
            self.status
        );
        let shown = std::mem::take(&mut self.shown).join(" ");
        let (status, stdout, stderr) = (
            self.status,
            std::mem::take(&mut self.stdout),
            std::mem::take(&mut self.stderr),
        );
        let out = self.run();
        let mut report = String::new();
        // Not `||`: every comparison runs and reports, so one failure shows all that differs.
        let bad = compare_status(&mut report, status, out.code)
            | compare("stdout", &stdout, &out.stdout, &mut report)
            | compare("stderr", &stderr, &out.stderr, &mut report);
        assert!(
            !bad,
            "dfab {shown}: output mismatch\n{report}\n--- stdout\n{}--- stderr\n{}--- end",
            out.stdout, out.stderr
        );
        out
    }
}

/// Reports a wrong exit status; true if it was wrong.
fn compare_status(report: &mut String, want: i32, got: i32) -> bool {
    if want == got {
        return false;
    }
    writeln!(report, "bad status: expected {want}, got {got}").unwrap();
    true
}

/// Checks one stream against its matchers, reporting each miss; true if any missed.
fn compare(name: &str, wants: &[Want], got: &str, report: &mut String) -> bool {
    let mut bad = false;
    for want in wants {
        match want {
            Want::Is(text) if text != got => {
                write!(
                    report,
                    "bad {name} (- expected, + got):\n{}",
                    diff(text, got)
                )
                .unwrap();
            }
            Want::Has(text) if !got.contains(text.as_str()) => {
                writeln!(report, "bad {name}: it lacks {text:?}").unwrap();
            }
            Want::Lacks(text) if got.contains(text.as_str()) => {
                writeln!(report, "bad {name}: it holds {text:?}, which it must not").unwrap();
            }
            _ => continue,
        }
        bad = true;
    }
    bad
}

/// A line diff of `want` against `got`: `-` for lines only expected, `+` for lines only got,
/// two spaces for lines in both (a longest common subsequence, fine for test-sized output).
fn diff(want: &str, got: &str) -> String {
    let a: Vec<&str> = want.split_inclusive('\n').collect();
    let b: Vec<&str> = got.split_inclusive('\n').collect();
    let line = |mark: char, l: &str| match l.strip_suffix('\n') {
        Some(l) => format!("{mark} {l}\n"),
        None => format!("{mark} {l}\n\\ no newline at end\n"),
    };
    if a.len() * b.len() > 4_000_000 {
        let mut out: String = a.iter().map(|l| line('-', l)).collect();
        out.extend(b.iter().map(|l| line('+', l)));
        return out;
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&line(' ', a[i]));
            (i, j) = (i + 1, j + 1);
        } else if j == b.len() || (i < a.len() && lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&line('-', a[i]));
            i += 1;
        } else {
            out.push_str(&line('+', b[j]));
            j += 1;
        }
    }
    out
}

impl Outcome {
    /// Assert success, showing everything when it fails.
    #[track_caller]
    pub(crate) fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "dfab failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A project directory with the given files.
pub(crate) fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-")
        .tempdir()
        .expect("tempdir");
    for (name, text) in files {
        let p = dir.path().join(name);
        fs_err::create_dir_all(p.parent().unwrap()).unwrap();
        fs_err::write(p, text).unwrap();
    }
    dir
}

pub(crate) fn sh(args: &[&str]) -> std::process::Output {
    Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", args[0]))
}

/// Fail (never skip) with instructions when the test machine is not set up.
#[track_caller]
pub(crate) fn require_host_setup() {
    let lxcpath = String::from_utf8(sh(&["lxc-config", "lxc.lxcpath"]).stdout).unwrap_or_default();
    let base = Path::new(lxcpath.trim()).join(BASE).join("config");
    let mut missing = Vec::new();
    if !base.exists() {
        missing.push(format!("the base container {BASE}"));
    }
    if !Path::new(KEY).exists() {
        missing.push(format!("the test key {KEY}"));
    }
    if !sh(&["ip", "link", "show", "lxcbr0"]).status.success() {
        missing.push("the lxcbr0 bridge".into());
    }
    let dnsmasq = fs_err::read_to_string("/run/lxc/dnsmasq.pid")
        .is_ok_and(|pid| Path::new("/proc").join(pid.trim()).join("cmdline").exists());
    if !dnsmasq {
        missing.push("lxc-net's dnsmasq (DHCP on lxcbr0)".into());
    }
    assert!(
        missing.is_empty(),
        "this test needs real LXC hosts, but {} missing: run `sudo bash scripts/setup-host` (or `make test`)",
        missing.join(", ")
    );
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A running overlay clone of the base container with sshd and a static address on lxcbr0.
/// Stopped and destroyed on drop.
pub(crate) struct TestHost {
    res: Reserved,
}

impl std::ops::Deref for TestHost {
    type Target = Reserved;
    fn deref(&self) -> &Reserved {
        &self.res
    }
}

impl TestHost {
    pub(crate) fn new() -> TestHost {
        let res = Reserved::new();
        let out = sh(&[
            "lxc-copy",
            "-n",
            BASE,
            "-N",
            &res.name,
            "-s",
            "-B",
            "overlayfs",
        ]);
        assert!(
            out.status.success(),
            "lxc-copy: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let host = TestHost { res };
        let lxcpath = String::from_utf8(sh(&["lxc-config", "lxc.lxcpath"]).stdout).unwrap();
        let config = Path::new(lxcpath.trim()).join(&host.name).join("config");
        let mut f = OpenOptions::new()
            .append(true)
            .open(&config)
            .expect("container config");
        std::io::Write::write_all(
            &mut f,
            format!("lxc.net.0.ipv4.address = {}/24\n", host.ip).as_bytes(),
        )
        .unwrap();
        let out = sh(&["lxc-start", "-n", &host.name, "-d"]);
        assert!(
            out.status.success(),
            "lxc-start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        host.wait_ssh();
        host
    }

    fn wait_ssh(&self) {
        for _ in 0..100 {
            if self.ssh("root", "true").status.success() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!(
            "sshd in {} ({}) did not answer within 10 s",
            self.name, self.ip
        );
    }

    /// Run a command over plain ssh, independently of dfab (the oracle).
    pub(crate) fn ssh(&self, user: &str, command: &str) -> std::process::Output {
        ssh_as(user, &self.ip, command)
    }

    /// stdout of an oracle ssh command that must succeed.
    #[track_caller]
    pub(crate) fn check(&self, user: &str, command: &str) -> String {
        let o = self.ssh(user, command);
        assert!(
            o.status.success(),
            "ssh {command}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// A `dfab.toml` environment block reaching this host as `user`.
    pub(crate) fn env_toml(&self, env: &str, user: &str) -> String {
        format!(
            "[environments.{env}]\nhosts = [\"{ip}\"]\nuser = \"{user}\"\nkey_filename = \"{KEY}\"\n\
             known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\n",
            ip = self.ip
        )
    }
}

/// Claim an address in 10.0.3.100-199 with an `O_EXCL` lock file, reclaiming stale ones.
pub(crate) fn claim_ip(owner: &str) -> (String, PathBuf) {
    let dir = Path::new("/run/dfab-test/ips");
    fs_err::create_dir_all(dir).unwrap();
    // Start after the address claimed last, so a just-freed address (whose old MAC the host
    // may still have cached) is not reused at once.
    let last: u32 = fs_err::read_to_string(dir.join("last"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(99);
    for i in 1..=100 {
        let n = 100 + (last + i - 100) % 100;
        let lock = dir.join(n.to_string());
        // A lock whose process is gone is stale (its test crashed before Drop).
        if let Ok(holder) = fs_err::read_to_string(&lock) {
            let pid = holder.split_whitespace().next().unwrap_or("");
            if !pid.is_empty() && !Path::new("/proc").join(pid).exists() {
                let _ = fs_err::remove_file(&lock);
            }
        }
        if let Ok(mut f) = OpenOptions::new().write(true).create_new(true).open(&lock) {
            std::io::Write::write_all(&mut f, format!("{} {owner}", std::process::id()).as_bytes())
                .unwrap();
            let _ = fs_err::write(dir.join("last"), n.to_string());
            let _ = sh(&[
                "ip",
                "neigh",
                "flush",
                "to",
                &format!("10.0.3.{n}"),
                "dev",
                "lxcbr0",
            ]);
            return (format!("10.0.3.{n}"), lock);
        }
    }
    panic!("no free test address in 10.0.3.100-199 (see /run/dfab-test/ips)");
}

/// A container name and address for a test whose container dfab itself creates; on drop the
/// container (if any) is destroyed and the address freed.
pub(crate) struct Reserved {
    pub name: String,
    pub ip: String,
    lock: PathBuf,
}

impl Reserved {
    pub(crate) fn new() -> Reserved {
        require_host_setup();
        let name = format!(
            "dfab-it-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        let (ip, lock) = claim_ip(&name);
        Reserved { name, ip, lock }
    }

    pub(crate) fn exists(&self) -> bool {
        sh(&["lxc-info", "-n", &self.name]).status.success()
    }
}

impl Drop for Reserved {
    fn drop(&mut self) {
        let _ = sh(&["lxc-stop", "-k", "-n", &self.name]);
        let _ = sh(&["lxc-destroy", "-n", &self.name]);
        let _ = fs_err::remove_file(&self.lock);
    }
}

/// `ssh user@ip command` with the test key and a throwaway `known_hosts`: the oracle for what dfab
/// did on a host.
pub(crate) fn ssh_as(user: &str, ip: &str, command: &str) -> std::process::Output {
    sh(&[
        "ssh",
        "-i",
        KEY,
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "ConnectTimeout=2",
        &format!("{user}@{ip}"),
        command,
    ])
}

/// fixtures/deploy-app: the package `deb.deploy`, `deploy` and the benches ship.
pub(crate) fn deploy_app_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/deploy-app")
}

/// Copy the tree `from` into `to` (a project made from a fixture).
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    for e in fs_err::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            fs_err::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            fs_err::copy(e.path(), &dest).unwrap();
        }
    }
}

/// Run dfab in `dir` with `args`, recording every command it shows or runs (`DFAB_TRACE`):
/// the outcome and the `[host] verb: command` lines, in order.
pub(crate) fn traced(dir: &Path, args: &[&str]) -> (Outcome, Vec<String>) {
    let trace = dir.join(format!(".trace-{}", SEQ.fetch_add(1, Ordering::SeqCst)));
    let out = Dfab::new(dir)
        .env("DFAB_TRACE", &trace.display().to_string())
        .args(args)
        .run();
    let lines = fs_err::read_to_string(&trace)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect();
    let _ = fs_err::remove_file(&trace);
    (out, lines)
}

/// The calls `-n` recorded on the hosts equal the calls the real run made, host by host and in order; a
/// `<placeholder>` in a recorded call stands for what the real run read from the host.
pub(crate) fn assert_same_calls(dry: &[String], real: &[String]) {
    let by_host = |lines: &[String]| {
        let mut m = std::collections::BTreeMap::<String, Vec<String>>::new();
        // The hosts' calls; this machine's effects (the journal) are shown, not compared.
        for l in lines.iter().filter(|l| !l.starts_with("[localhost]")) {
            let host = l.split("] ").next().unwrap_or_default().to_string();
            m.entry(host).or_default().push(l.clone());
        }
        m
    };
    let (d, r) = (by_host(dry), by_host(real));
    assert_eq!(
        d.keys().collect::<Vec<_>>(),
        r.keys().collect::<Vec<_>>(),
        "-n and the run reached different hosts:\n-n:\n{}\nrun:\n{}",
        dry.join("\n"),
        real.join("\n")
    );
    for (host, want) in &d {
        let got = &r[host];
        let same =
            want.len() == got.len() && want.iter().zip(got).all(|(w, g)| placeholder_match(w, g));
        assert!(
            same,
            "{host}: -n recorded\n{}\n\nbut the run made\n{}",
            want.join("\n"),
            got.join("\n")
        );
    }
}

/// `want` equals `got`, each `<...>` in `want` matching any text (a placeholder quoted as one
/// shell word, `'<kept-deb>'`, matches the real word quoted or not).
fn placeholder_match(want: &str, got: &str) -> bool {
    let unquoted = unquote_placeholders(want);
    let want = unquoted.as_str();
    let mut parts = Vec::new();
    let mut rest = want;
    // A placeholder is `<` and a letter, then words up to `>` (not a shell redirection).
    let mut from = 0;
    while let Some(i) = rest[from..].find('<').map(|i| i + from) {
        let inner = &rest[i + 1..];
        let end = inner.find('>');
        let ok = inner.starts_with(|c: char| c.is_ascii_alphabetic())
            && end.is_some_and(|j| !inner[..j].contains(['<', '\'', '"', '$', ';', '|', '&']));
        match (ok, end) {
            (true, Some(j)) => {
                parts.push(&rest[..i]);
                rest = &inner[j + 1..];
                from = 0;
            }
            _ => from = i + 1,
        }
    }
    parts.push(rest);
    if parts.len() == 1 {
        return want == got;
    }
    let Some(mut g) = got.strip_prefix(parts[0]) else {
        return false;
    };
    for (k, p) in parts.iter().enumerate().skip(1) {
        if k == parts.len() - 1 {
            return g.ends_with(p);
        }
        match g.find(p) {
            Some(i) => g = &g[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// The builder's own checks: a mismatch can fail, and all of them show at once.
mod checks {
    use super::{diff, project, Dfab};

    /// The message `f` panics with.
    fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> String {
        let err = std::panic::catch_unwind(f).expect_err("the check should have failed");
        err.downcast_ref::<String>()
            .cloned()
            .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    // The -n/run comparison: a placeholder stands for what the run read, quoted or not; the
    // rest must be equal, and a shell redirection is not a placeholder.
    #[test]
    fn a_placeholder_matches_the_value_the_run_read() {
        use super::placeholder_match as m;
        assert!(m(
            "[h] sudo: install '<kept-deb>' '<v>' -",
            "[h] sudo: install a_1.0_all.deb 1.0 -"
        ));
        assert!(m("[h] read: x <sha256> y", "[h] read: x 0123abcd y"));
        assert!(m(
            r"[h] sudo: sh -c 'psql -d '\''<temporary-database>'\'''",
            "[h] sudo: sh -c 'psql -d app_dfab_new_0a1b2c3d'"
        ));
        assert!(!m("[h] read: x <sha256> y", "[h] read: x 0123abcd z"));
        assert!(!m("[h] run: sort < a > b", "[h] run: sort < c > b"));
        assert!(m("[h] run: sort < a > b", "[h] run: sort < a > b"));
    }

    #[test]
    fn run_checked_reports_every_mismatch_at_once() {
        let dir = project(&[]);
        let path = dir.path().to_path_buf();
        let msg = panic_message(move || {
            Dfab::new(&path)
                .args(["p", "t"])
                .stdout_is("planned\n")
                .stderr_has("no such text")
                .stderr_lacks("error: ")
                .run_checked();
        });
        for part in [
            "dfab p t: output mismatch\n",
            "bad status: expected 0, got 2\n",
            "bad stdout (- expected, + got):\n- planned\n",
            "bad stderr: it lacks \"no such text\"\n",
            "bad stderr: it holds \"error: \", which it must not\n",
            "--- stderr\nerror: no environments.py or dfab.toml in",
        ] {
            assert!(msg.contains(part), "{part:?} not in:\n{msg}");
        }
        // What matched passes, and the outcome comes back.
        let out = Dfab::new(dir.path())
            .args(["p", "t"])
            .status(2)
            .no_stdout()
            .stderr_has("no environments.py or dfab.toml in")
            .stderr_lacks("warning")
            .run_checked();
        assert_eq!(out.code, 2);
    }

    #[test]
    fn an_error_status_alone_is_not_a_check() {
        let dir = project(&[]);
        let path = dir.path().to_path_buf();
        let msg = panic_message(move || {
            Dfab::new(&path)
                .args(["p", "t"])
                .status(2)
                .no_stdout()
                .run_checked();
        });
        assert!(msg.contains("without saying what stderr holds"), "{msg}");
    }

    #[test]
    fn diff_marks_each_line_and_a_missing_last_newline() {
        assert_eq!(
            diff("a\nb\nc\n", "a\nx\nc"),
            "  a\n- b\n- c\n+ x\n+ c\n\\ no newline at end\n"
        );
        assert_eq!(diff("", "x\n"), "+ x\n");
    }
}

/// `'<word>'` as `<word>`: the shell quotes a placeholder, not the plain word it stands for.
fn unquote_placeholders(s: &str) -> String {
    // Inside `sh -c '…'` (a command run as another user) a quoted word reads `'\''<x>'\''`.
    let nested = s.replace(r"'\''<", "'<").replace(r">'\''", ">'");
    let mut out = String::with_capacity(s.len());
    let mut rest = nested.as_str();
    while let Some(i) = rest.find("'<") {
        let inner = &rest[i + 1..];
        match inner.find(">'") {
            Some(j) if !inner[..j].contains('\'') => {
                out.push_str(&rest[..i]);
                out.push_str(&inner[..=j]);
                rest = &inner[j + 2..];
            }
            _ => {
                out.push_str(&rest[..i + 2]);
                rest = &rest[i + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `git` in `dir` as a test user, which must succeed; its stdout, trimmed.
pub(crate) fn git(dir: &Path, args: &[&str]) -> String {
    let o = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=dfab test",
            "-c",
            "user.email=t@example.com",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// `dir` made a git repository on branch `main` with everything in it committed ("first").
pub(crate) fn git_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "first"]);
}
