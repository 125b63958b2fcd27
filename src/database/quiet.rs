//! Running the database steps' commands without echo: the command is shown with `-v`, its output
//! lines only with `-v` too; a failure is an error with the command and its last lines.

use crate::error::Result;
use crate::exec::record::exec;
use crate::report::{Reporter, Stream};
use crate::transport::cmd::{Cmd, Program};
use crate::transport::{check, Output, Transport};

use super::session::ServerError;
use super::DbError;

/// `cmd` as it runs on `t` (no sudo wrapper for root), and the verb it is shown with.
fn shown(t: &dyn Transport, cmd: &Cmd) -> (Cmd, &'static str) {
    let cmd = cmd.clone().without_sudo_if_root(t.login_user());
    let verb = match (t.is_local(), cmd.sudo.is_some()) {
        (true, _) => "local",
        (false, true) => "sudo",
        (false, false) => "run",
    };
    (cmd, verb)
}

/// Run `cmd` and hand back its output, whatever its exit status; its lines are shown only with
/// `-v`. Under `-n` an empty success.
fn exec_shown(t: &mut dyn Transport, cmd: &Cmd, rep: &dyn Reporter) -> Result<(Cmd, Output)> {
    let (cmd, verb) = shown(t, cmd);
    let out = exec(t, rep, verb, cmd.clone())?;
    if rep.verbose() {
        for (stream, text) in [(Stream::Out, &out.stdout), (Stream::Err, &out.stderr)] {
            for line in String::from_utf8_lossy(text).lines() {
                rep.line(t.host(), stream, line);
            }
        }
    }
    Ok((cmd, out))
}

/// Run `cmd` on `t`; a non-zero exit is the error [`checked`] builds.
pub(super) fn run(t: &mut dyn Transport, cmd: &Cmd, rep: &dyn Reporter) -> Result<Output> {
    let (cmd, out) = exec_shown(t, cmd, rep)?;
    checked(t.host(), &cmd, out)
}

/// [`check`], but a failure whose stderr carries the server's SQLSTATE is that error
/// ([`DbError::Server`]), not the tool's exit status.
pub(super) fn checked(host: &str, cmd: &Cmd, out: Output) -> Result<Output> {
    if !out.exit().success() {
        if let Some(error) = ServerError::find(&out.stderr_str()) {
            return Err(DbError::Server {
                host: host.to_string(),
                what: match &cmd.program {
                    Program::Argv(a) => format!("`{}`", a.first().map_or("", String::as_str)),
                    Program::Shell(_) => "the command".into(),
                },
                error,
            }
            .into());
        }
    }
    check(host, cmd, out)
}

/// Run `cmd` on `t` as [`run`] does, but never show its output lines (the row counts: one line
/// per table).
pub(super) fn read(t: &mut dyn Transport, cmd: &Cmd, rep: &dyn Reporter) -> Result<Output> {
    let (cmd, verb) = shown(t, cmd);
    let out = exec(t, rep, verb, cmd.clone())?;
    checked(t.host(), &cmd, out)
}

/// A clean-up after a failure or at the end: a non-zero exit is a warning, not an error.
pub(super) fn tidy(t: &mut dyn Transport, cmd: &Cmd, rep: &dyn Reporter) -> bool {
    match exec_shown(t, cmd, rep) {
        Ok((_, out)) if out.exit().success() => true,
        Ok((cmd, out)) => {
            rep.warn(&format!(
                "[{}] clean-up failed ({}): {cmd}",
                t.host(),
                out.exit()
            ));
            false
        }
        Err(e) => {
            rep.warn(&format!("[{}] clean-up failed: {e}", t.host()));
            false
        }
    }
}
