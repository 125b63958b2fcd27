//! The host program `host/dfab-host`: embedded in dfab, kept on a host under its sha256, called
//! by subcommand ([`call`]), and put on the host by [`exec`] the first time a call finds it
//! missing.
//!
//! A call runs `sh /var/lib/dfab/bin/dfab-host-<hash> <args>` behind a guard: when the file is
//! not there, the guard prints [`missing_line`] on stderr and exits [`MISSING_STATUS`] before
//! anything else runs. [`exec`] then sends the program and the call's own input in one session
//! that installs it (atomically, its sha256 checked on the host, as `Transport::put` does) and
//! runs the call: one extra session on a host's first call, none after.

use std::sync::OnceLock;

use crate::error::Result;
use crate::report::{Meter, Reporter, Stream};
use crate::transport::cmd::{quote, Cmd, Program, Sudo};
use crate::transport::{self, sha256_hex, Output, Transport};

/// The program, as the repository holds it.
pub const PROGRAM: &str = include_str!("../host/dfab-host");

/// Where hosts keep the program, one file per version.
pub const BIN_DIR: &str = "/var/lib/dfab/bin";

/// The exit status of a call that found the program missing (with [`missing_line`] on stderr):
/// `EX_UNAVAILABLE`. Not 127, the shell's "not found", which the ssh transport turns into an
/// error of its own.
pub const MISSING_STATUS: i32 = 69;

/// The name calls are shown with.
const NAME: &str = "dfab-host";

/// Where this build's program lives on a host: `/var/lib/dfab/bin/dfab-host-<first 16 hex of
/// its sha256>`.
#[must_use]
pub fn path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| format!("{BIN_DIR}/{NAME}-{}", &sha256_hex(PROGRAM.as_bytes())[..16]))
}

/// The line a call prints on stderr when the program is not on the host.
#[must_use]
pub fn missing_line() -> &'static str {
    static LINE: OnceLock<String> = OnceLock::new();
    LINE.get_or_init(|| format!("{NAME}: not installed: {}", path()))
}

/// The shell text before the program's arguments: the guard, then the program.
fn guard() -> &'static str {
    static GUARD: OnceLock<String> = OnceLock::new();
    GUARD.get_or_init(|| {
        format!(
            "[ -r {p} ] || {{ echo {m} >&2; exit {MISSING_STATUS}; }}; ",
            p = path(),
            m = quote(missing_line()),
        )
    })
}

/// A call of the program with `args`, shown as `dfab-host <args>`. It runs as the login user:
/// add `.sudo(None)` for what needs root. Run it with [`exec`].
pub fn call<I, S>(args: I) -> Cmd
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut shown = String::from(NAME);
    let mut script = format!("{}exec sh {}", guard(), path());
    for a in args {
        let q = quote(a.as_ref());
        for s in [&mut shown, &mut script] {
            s.push(' ');
            s.push_str(&q);
        }
    }
    Cmd::shell(script).label(shown)
}

/// `cmd` (a [`call`]) with `args` put before its own (`dfab-host <args> <its args>`), shown
/// so too; everything else of it kept. `None` for any other command.
#[must_use]
pub fn prefixed(cmd: &Cmd, args: &[&str]) -> Option<Cmd> {
    let rest = body(cmd)?.strip_prefix(&format!("exec sh {}", path()))?;
    let label = cmd.label.as_deref()?.strip_prefix(NAME)?;
    let mut script = format!("{}exec sh {}", guard(), path());
    let mut shown = String::from(NAME);
    for a in args {
        let q = quote(a);
        for s in [&mut shown, &mut script] {
            s.push(' ');
            s.push_str(&q);
        }
    }
    script.push_str(rest);
    shown.push_str(label);
    Some(Cmd {
        program: Program::Shell(script),
        label: Some(shown),
        ..cmd.clone()
    })
}

/// The part of a [`call`] after its guard (`exec sh <path> <args>`), or `None` for any other
/// command.
fn body(cmd: &Cmd) -> Option<&str> {
    match &cmd.program {
        Program::Shell(s) => s.strip_prefix(guard()),
        Program::Argv(_) => None,
    }
}

/// The call found the program missing (and so did nothing else).
fn missing(out: &Output) -> bool {
    out.status == MISSING_STATUS && out.stderr_str().lines().any(|l| l == missing_line())
}

/// `cmd` (a [`call`]) preceded by the program's install: the program and its sha256 line come
/// first on stdin, then the call's own input. As root, whoever the call runs as.
fn installing(cmd: &Cmd, body: &str) -> Cmd {
    let put = transport::put_script(path(), NAME, PROGRAM.len() as u64, 0o755, &[BIN_DIR.into()]);
    let mut stdin = PROGRAM.as_bytes().to_vec();
    stdin.extend_from_slice(sha256_hex(PROGRAM.as_bytes()).as_bytes());
    stdin.push(b'\n');
    stdin.extend_from_slice(cmd.stdin.as_deref().unwrap_or_default());
    Cmd {
        program: Program::Shell(format!("{put}; {body}")),
        sudo: Some(Sudo { user: None }),
        stdin: Some(stdin),
        ..cmd.clone()
    }
}

/// Run `cmd` on `t` as [`Transport::exec`] does; when it is a [`call`] that found the program
/// missing, install the program and run the call again, in one more session.
pub fn exec(t: &mut dyn Transport, cmd: &Cmd, echo: Option<&dyn Reporter>) -> Result<Output> {
    let Some(body) = body(cmd) else {
        return t.exec(cmd, echo);
    };
    let hide = echo.map(HideMissing);
    let out = t.exec(cmd, hide.as_ref().map(|h| h as &dyn Reporter))?;
    if !missing(&out) {
        return Ok(out);
    }
    // Not shown: the install is part of the call (and `-n`, which never finds the program
    // missing, shows the same calls as the run).
    let again = installing(cmd, body).without_sudo_if_root(t.login_user());
    t.exec(&again, echo)
}

/// Run a [`call`] whose standard input is streamed (`io`, after the call's own input): a
/// stream cannot be sent twice, so the program must be on the host already (an earlier call of
/// the run, the preflight, put it there); missing, it is an error.
pub fn exec_io(
    t: &mut dyn Transport,
    cmd: &Cmd,
    io: crate::transport::Io<'_>,
    echo: Option<&dyn Reporter>,
) -> Result<Output> {
    let out = t.exec_io(cmd, io, echo)?;
    if missing(&out) {
        return Err(crate::error::Error::Transport {
            host: t.host().to_string(),
            message: format!("the host program {} is missing", path()),
            hint: Some("it is put on the host by the preflight; run the task again".into()),
        });
    }
    Ok(out)
}

/// A reporter that passes everything on but the missing program's line (the call is run again
/// once the program is there).
struct HideMissing<'a>(&'a dyn Reporter);

impl Reporter for HideMissing<'_> {
    fn command(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.0.command(host, verb, cmd);
    }
    fn echo(&self, host: &str, verb: &str, cmd: &Cmd) {
        self.0.echo(host, verb, cmd);
    }
    fn line(&self, host: &str, stream: Stream, line: &str) {
        if !(stream == Stream::Err && line == missing_line()) {
            self.0.line(host, stream, line);
        }
    }
    fn info(&self, msg: &str) {
        self.0.info(msg);
    }
    fn warn(&self, msg: &str) {
        self.0.warn(msg);
    }
    fn verbose(&self) -> bool {
        self.0.verbose()
    }
    fn secret(&self, value: &str) {
        self.0.secret(value);
    }
    fn transfer(&self, host: &str, what: &str, total: u64) -> Box<dyn Meter> {
        self.0.transfer(host, what, total)
    }
}

/// Run a [`call`] here, with the repository's program in place of the host's copy and
/// `DFAB_ROOT` at `root`: for unit tests of the builders and the parsers of their output.
#[cfg(test)]
pub(crate) fn run_here(cmd: &Cmd, root: &std::path::Path) -> std::process::Output {
    use std::io::Write as _;
    let body = body(cmd).expect("a dfab-host call");
    let program = concat!(env!("CARGO_MANIFEST_DIR"), "/host/dfab-host");
    let script = body.replacen(path(), &quote(program), 1);
    let mut child = std::process::Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env("DFAB_ROOT", root)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sh");
    let input = cmd.stdin_bytes().unwrap_or_default();
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&input)
        .expect("write stdin");
    child.wait_with_output().expect("sh")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_shows_as_one_line_and_runs_behind_its_guard() {
        let c = call(["lock", "take", "app", "ann@pc", "deploy prod"]).sudo(None);
        assert_eq!(
            c.to_string(),
            "dfab-host lock take app ann@pc 'deploy prod'"
        );
        let s = c.to_shell();
        assert!(s.starts_with("sudo -n -H -- sh -c "), "{s}");
        assert!(s.contains(path()), "{s}");
        assert!(body(&c)
            .unwrap()
            .ends_with(" lock take app ann@pc 'deploy prod'"));
        assert_eq!(path().len(), BIN_DIR.len() + "/dfab-host-".len() + 16);
        assert!(body(&Cmd::shell("true")).is_none());
    }

    #[test]
    fn a_prefixed_call_runs_and_shows_its_new_arguments_first() {
        let c = call(["web", "live", "/srv/a flag"]).sudo(None);
        let p = prefixed(&c, &["lock", "release-after", "app"]).unwrap();
        assert_eq!(
            p.to_string(),
            "dfab-host lock release-after app web live '/srv/a flag'"
        );
        assert_eq!(
            body(&p).unwrap(),
            body(&call([
                "lock",
                "release-after",
                "app",
                "web",
                "live",
                "/srv/a flag"
            ]))
            .unwrap()
        );
        assert!(p.sudo.is_some());
        assert!(prefixed(&Cmd::shell("true"), &["x"]).is_none());
    }

    #[test]
    fn the_guard_says_missing_and_runs_nothing() {
        let c = call(["lock", "status", "app"]);
        let Program::Shell(s) = &c.program else {
            unreachable!()
        };
        let o = std::process::Command::new("sh")
            .arg("-c")
            .arg(s)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(MISSING_STATUS));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).trim_end(),
            missing_line()
        );
        assert!(o.stdout.is_empty());
    }

    #[test]
    fn the_install_puts_the_program_then_runs_the_call_with_its_input() {
        let dir = tempfile::tempdir().unwrap();
        let c = call(["lock", "release", "app"]).stdin("tok\n");
        let inst = installing(&c, body(&c).unwrap());
        assert_eq!(inst.to_string(), "dfab-host lock release app");
        assert!(inst.sudo.is_some());
        // Run the install here, with the paths moved into the temp directory.
        let Program::Shell(s) = &inst.program else {
            unreachable!()
        };
        let bin = dir.path().join("bin");
        let s = s.replace(BIN_DIR, &bin.display().to_string());
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .env("DFAB_ROOT", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), &inst.stdin_bytes().unwrap())
            .unwrap();
        drop(child.stdin.take());
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{o:?}");
        // The call ran with the token that followed the program: no lock, so "not held".
        assert_eq!(String::from_utf8_lossy(&o.stdout), "lock: not held\n");
        let name = path().rsplit('/').next().unwrap();
        assert_eq!(
            fs_err::read_to_string(bin.join(name)).unwrap(),
            PROGRAM,
            "the program was not put in place whole"
        );
    }
}
