//! `Cmd`: one external command as data, so dry-runs, logs and tests print the same value.

use std::fmt::{self, Write as _};

use crate::secret::Secret;

/// Shell traps that turn a hangup, Ctrl-C, a write to dfab's closed pipe (dfab gone) or a
/// TERM into an `exit`, so that the script's `EXIT` trap (its temp files' removal) runs: a
/// shell killed by a signal it does not trap runs no `EXIT` trap.
pub const EXIT_ON_SIGNALS: &str =
    "trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 141' PIPE; trap 'exit 143' TERM";
/// What to run: an argument vector, or a shell script whose interpolated values are already quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Program {
    Argv(Vec<String>),
    Shell(String),
}

/// A value for an environment variable of the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Plain(String),
    Secret(Secret),
}

/// Run as another user through `sudo -n` (never prompting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sudo {
    pub user: Option<String>,
}

/// One command to run on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: Program,
    pub env: Vec<(String, EnvValue)>,
    pub cwd: Option<String>,
    pub sudo: Option<Sudo>,
    /// Bytes to feed on standard input.
    pub stdin: Option<Vec<u8>>,
    /// What [`Display`](fmt::Display) shows instead of the shell line: one readable line for a
    /// command whose shell text is plumbing (a host-program call, see `crate::hostside`).
    /// [`Cmd::to_shell`] is always the real line.
    pub label: Option<String>,
}

impl Cmd {
    /// A command from a program and its arguments.
    pub fn new<I, S>(program: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut argv = vec![program.into()];
        argv.extend(args.into_iter().map(Into::into));
        Cmd::from_program(Program::Argv(argv))
    }

    /// A program with no arguments yet; add them with [`Cmd::arg`] and [`Cmd::args`].
    pub fn of(program: impl Into<String>) -> Self {
        Cmd::from_program(Program::Argv(vec![program.into()]))
    }

    /// A shell snippet, run by `sh -c`. Callers quote interpolated values with [`quote`].
    pub fn shell(script: impl Into<String>) -> Self {
        Cmd::from_program(Program::Shell(script.into()))
    }

    fn from_program(program: Program) -> Self {
        Cmd {
            program,
            env: Vec::new(),
            cwd: None,
            sudo: None,
            stdin: None,
            label: None,
        }
    }

    /// Append an argument (to an argument vector; to a shell script, quoted).
    #[must_use]
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        match &mut self.program {
            Program::Argv(argv) => argv.push(arg.into()),
            Program::Shell(s) => {
                s.push(' ');
                s.push_str(&quote(&arg.into()));
            }
        }
        self
    }

    /// Append arguments, as [`Cmd::arg`].
    #[must_use]
    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(self, args: I) -> Self {
        args.into_iter().fold(self, Cmd::arg)
    }

    #[must_use]
    pub fn cwd(mut self, dir: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cwd = Some(dir.as_ref().to_string_lossy().into_owned());
        self
    }

    #[must_use]
    pub fn sudo(mut self, user: Option<String>) -> Self {
        self.sudo = Some(Sudo { user });
        self
    }

    #[must_use]
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), EnvValue::Plain(value.into())));
        self
    }

    #[must_use]
    pub fn secret_env(mut self, key: impl Into<String>, value: Secret) -> Self {
        self.env.push((key.into(), EnvValue::Secret(value)));
        self
    }

    #[must_use]
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Show `label` instead of the shell line (see the field `label`). Set it last: the
    /// arguments added after it are not in it.
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Drop the sudo wrapper when the login user is root already (minimal hosts lack sudo).
    #[must_use]
    pub fn without_sudo_if_root(mut self, login_user: &str) -> Self {
        if login_user == "root" && self.sudo.as_ref().is_none_or(|s| s.user.is_none()) {
            self.sudo = None;
        }
        self
    }

    /// The command as one POSIX shell line. Secrets are read from standard input first (see
    /// [`Cmd::stdin_bytes`]), so they never appear on a command line or in `ps`.
    #[must_use]
    pub fn to_shell(&self) -> String {
        self.render(false)
    }

    /// [`Cmd::to_shell`] for a transport's own `sh -c`: the final program is `exec`ed, so the
    /// shell's exit is the program's own and a signal that kills it is reported as that signal
    /// (a shell in between turns it into the code 128 + n). A [`Cmd::shell`] script with no
    /// `env` or sudo runs as it is: the transport's shell is its shell.
    #[must_use]
    pub fn to_shell_exec(&self) -> String {
        self.render(true)
    }

    /// Bytes for standard input: each secret on its own line, then the command's own stdin.
    #[must_use]
    pub fn stdin_bytes(&self) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        for (_, v) in &self.env {
            if let EnvValue::Secret(s) = v {
                out.extend_from_slice(s.expose().as_bytes());
                out.push(b'\n');
            }
        }
        match (&self.stdin, out.is_empty()) {
            (None, true) => None,
            (stdin, _) => {
                out.extend_from_slice(stdin.as_deref().unwrap_or_default());
                Some(out)
            }
        }
    }

    fn render(&self, exec: bool) -> String {
        let mut inner = String::new();
        for (k, v) in &self.env {
            if let EnvValue::Secret(_) = v {
                // Read from stdin: `IFS= read -r K && export K`.
                let _ = write!(inner, "IFS= read -r {k} && export {k} && ");
            }
        }
        if let Some(dir) = &self.cwd {
            let _ = write!(inner, "cd {} && ", quote(dir));
        }
        let plain: Vec<String> = self
            .env
            .iter()
            .filter_map(|(k, v)| match v {
                EnvValue::Plain(p) => Some(format!("{k}={}", quote(p))),
                EnvValue::Secret(_) => None,
            })
            .collect();
        let raw_script =
            matches!(self.program, Program::Shell(_)) && plain.is_empty() && self.sudo.is_none();
        let body = match &self.program {
            Program::Argv(argv) => argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
            Program::Shell(s) if raw_script => s.clone(),
            Program::Shell(s) => format!("sh -c {}", quote(s)),
        };
        let body = if plain.is_empty() {
            body
        } else {
            format!("env {} {body}", plain.join(" "))
        };
        // One simple command from here on (a raw script aside): `exec` may replace the shell.
        let exec = if exec && !raw_script { "exec " } else { "" };
        let needs_sh = inner.contains("&&");
        let body = match &self.sudo {
            None => body,
            Some(Sudo { user }) => {
                let u = user
                    .as_ref()
                    .map(|u| format!("-u {} ", quote(u)))
                    .unwrap_or_default();
                if needs_sh {
                    // sudo must run the whole chain, cd and secrets included.
                    let chain = format!("{inner}{exec}{body}");
                    inner.clear();
                    format!("sudo -n -H {u}-- sh -c {}", quote(&chain))
                } else {
                    format!("sudo -n -H {u}-- {body}")
                }
            }
        };
        format!("{inner}{exec}{body}")
    }
}

/// Prints the shell line, or the label when the command has one; secrets are never in it (they
/// travel on stdin).
impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.label {
            Some(l) => f.write_str(l)?,
            None => f.write_str(&self.render(false))?,
        }
        for (k, v) in &self.env {
            if let EnvValue::Secret(s) = v {
                write!(f, "  # {k}={s} on stdin")?;
            }
        }
        Ok(())
    }
}

/// Quote a string for a POSIX shell: bare when it is safe, else in single quotes.
#[must_use]
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:,=+@%^".contains(&b));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc/d-e.f"), "abc/d-e.f");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("'; rm -rf / #"), r"''\''; rm -rf / #'");
        assert_eq!(quote("$HOME"), "'$HOME'");
    }

    #[test]
    fn argv_with_cwd_and_sudo() {
        let c = Cmd::new("ls", ["-l", "my dir"]).cwd("/srv/app").sudo(None);
        assert_eq!(
            c.to_shell(),
            "sudo -n -H -- sh -c 'cd /srv/app && ls -l '\\''my dir'\\'''"
        );
        let c = Cmd::new("id", Vec::<String>::new()).sudo(Some("postgres".into()));
        assert_eq!(c.to_shell(), "sudo -n -H -u postgres -- id");
    }

    #[test]
    fn root_needs_no_sudo() {
        let c = Cmd::shell("whoami").sudo(None).without_sudo_if_root("root");
        assert_eq!(c.to_shell(), "whoami");
        let c = Cmd::shell("whoami")
            .sudo(Some("www".into()))
            .without_sudo_if_root("root");
        assert!(c.to_shell().starts_with("sudo -n -H -u www -- sh -c"));
    }

    #[test]
    fn secrets_travel_on_stdin_and_are_redacted() {
        let c =
            Cmd::new("psql", ["-c", "select 1"]).secret_env("PGPASSWORD", Secret::new("s3cr3t"));
        let line = c.to_shell();
        assert!(!line.contains("s3cr3t"), "{line}");
        assert!(line.starts_with("IFS= read -r PGPASSWORD && export PGPASSWORD && psql"));
        assert!(!c.to_string().contains("s3cr3t"));
        assert!(c.to_string().contains("PGPASSWORD=(redacted)"));
        assert_eq!(c.stdin_bytes().unwrap(), b"s3cr3t\n");
    }

    #[test]
    fn a_label_is_what_is_shown_and_the_shell_line_is_what_runs() {
        let c = Cmd::shell("exec sh /opt/x 'a b'")
            .sudo(None)
            .label("x 'a b'");
        assert_eq!(c.to_string(), "x 'a b'");
        assert_eq!(
            c.to_shell(),
            r"sudo -n -H -- sh -c 'exec sh /opt/x '\''a b'\'''"
        );
    }

    #[test]
    fn a_transport_execs_the_final_program_and_prints_none_of_it() {
        let c = Cmd::new("ls", ["-l"]).cwd("/srv/app");
        assert_eq!(c.to_shell_exec(), "cd /srv/app && exec ls -l");
        assert_eq!(c.to_string(), "cd /srv/app && ls -l");
        let c = Cmd::new("ls", ["-l"]).cwd("/srv/app").sudo(None);
        assert_eq!(
            c.to_shell_exec(),
            "exec sudo -n -H -- sh -c 'cd /srv/app && exec ls -l'"
        );
        let c = Cmd::new("psql", ["-l"]).secret_env("PGPASSWORD", Secret::new("pw"));
        assert_eq!(
            c.to_shell_exec(),
            "IFS= read -r PGPASSWORD && export PGPASSWORD && exec psql -l"
        );
        let c = Cmd::shell("a; b").env("X", "1");
        assert_eq!(c.to_shell_exec(), "exec env X=1 sh -c 'a; b'");
        // A script is the transport's shell's own: nothing to exec.
        assert_eq!(Cmd::shell("a; b").to_shell_exec(), "a; b");
    }

    #[test]
    fn plain_env_is_quoted() {
        let c = Cmd::new("printenv", ["X"]).env("X", "a b");
        assert_eq!(c.to_shell(), "env X='a b' printenv X");
    }
}
