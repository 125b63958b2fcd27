//! The per-database lock: a session on the target's server holds an advisory lock keyed by the
//! database's name for the whole of an operation, so a second one is refused, naming the first
//! (its `application_name`, role, client and start). The session reads its stdin from dfab: when
//! dfab ends, however it ends, the channel closes, psql exits, and the server frees the lock.

use std::io::BufRead;

use crate::error::Result;
use crate::report::Reporter;
use crate::transport::Transport;

use super::session::PSQL;
use super::sql::literal;
use super::stream;
use super::target::Role;
use super::{quiet, DbError, DbTarget};

/// The lock's first key: "dfab" in ASCII, so other applications' advisory locks do not meet it.
const CLASS: u32 = 0x6466_6162;

/// Whether an operation writes the database (alone) or reads it (beside other readers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// push, `force_push`, `db_clone`'s target: no other operation at all.
    Write,
    /// dump, `db_clone`'s source: other readers may run, no writer.
    Read,
}

/// `dfab <task> <env> <user>@<machine> pid <pid>`: what the lock session calls itself.
#[must_use]
pub fn application_name(task: &str, env: &str) -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "?".into());
    let machine = fs_err::read_to_string("/proc/sys/kernel/hostname")
        .map_or_else(|_| "?".into(), |s| s.trim().to_string());
    super::sql::app_name(&format!(
        "dfab {task} {env} {user}@{machine} pid {}",
        std::process::id()
    ))
}

/// The lock session's script: name the session, try the lock, say `granted` or who holds it.
fn script(db: &DbTarget, mode: Mode, app: &str) -> String {
    let key = format!("{CLASS}, hashtext({}) & 2147483647", literal(&db.name));
    let take = match mode {
        Mode::Write => format!("pg_try_advisory_lock({key})"),
        Mode::Read => format!("pg_try_advisory_lock_shared({key})"),
    };
    format!(
        "SET application_name = {app};\n\
         SELECT 'dfab-lock' || E'\\t' || CASE WHEN {take} THEN 'granted' ELSE coalesce((\
         SELECT string_agg(format('%s (pid %s, role %s, from %s, since %s, %s)', \
         coalesce(nullif(a.application_name, ''), 'a session'), a.pid, a.usename, \
         coalesce(host(a.client_addr), 'the local socket'), \
         to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ'), \
         CASE WHEN l.mode = 'ShareLock' THEN 'reading' ELSE 'writing' END), '; ') \
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.classid = {CLASS} \
         AND l.objid = (hashtext({name}) & 2147483647) AND l.objsubid = 2 AND l.granted \
         AND l.pid <> pg_backend_pid()), 'another session') END;\n",
        app = literal(app),
        name = literal(&db.name),
    )
}

/// Run `work` while holding the lock of `db` on the server `lock_host` reaches (a connection
/// of its own: the session lives as long as `work`). Refused with [`DbError::Busy`] when another
/// operation holds it. Under `-n` the lock session is shown and `work` runs.
pub fn holding<T>(
    lock_host: &mut dyn Transport,
    db: &DbTarget,
    mode: Mode,
    task: &str,
    rep: &dyn Reporter,
    work: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let app = application_name(task, &db.env);
    // Readers lock as the owner (a dump over TCP has only its password), writers as the admin;
    // both in the `postgres` database, where advisory locks share one namespace. When psql
    // ends (refused, or its connection failed), the shell says so on stdout: dfab's end of the
    // session's stdin is open until then.
    let role = match mode {
        Mode::Write => Role::Admin,
        Mode::Read => Role::Owner,
    };
    let psql = format!(
        "psql {} {} -q -d postgres; printf 'dfab-lock\\tended %s\\n' \"$?\"",
        db.flags_sh(role),
        PSQL.map(crate::transport::cmd::quote).join(" ")
    );
    let cmd = db.wrap(crate::transport::cmd::Cmd::shell(psql));
    let shown = cmd.clone().without_sudo_if_root(lock_host.login_user());
    let verb = if shown.sudo.is_some() { "sudo" } else { "run" };
    rep.command(lock_host.host(), verb, &shown);
    let host = lock_host.host().to_string();
    let recording = lock_host.recording();
    let (stdin_r, mut stdin_w) = stream::pipe();
    let (stdout_r, stdout_w) = stream::pipe();
    std::io::Write::write_all(&mut stdin_w, script(db, mode, &app).as_bytes())?;
    std::thread::scope(|s| {
        let session = s.spawn(move || {
            let (mut input, mut output) = (stdin_r, stdout_w);
            stream::exec_io(lock_host, &cmd, Some(&mut input), Some(&mut output))
                .map(|out| (cmd, out))
        });
        let mut line = String::new();
        let mut reader = std::io::BufReader::new(stdout_r);
        // The first line the session prints (or none, when it ended first).
        while reader.read_line(&mut line)? > 0 && !line.starts_with("dfab-lock\t") {
            line.clear();
        }
        let answer = line
            .strip_prefix("dfab-lock\t")
            .map(|a| a.trim().to_string());
        let result = match answer.as_deref() {
            Some("granted") => {
                let r = work();
                drop(stdin_w);
                r
            }
            _ if recording => {
                drop(stdin_w);
                work()
            }
            _ if answer.as_deref().is_none_or(|a| a.starts_with("ended ")) => {
                drop(stdin_w);
                let (cmd, out) = session.join().expect("lock session thread")?;
                // psql's own status, as the shell reported it.
                let code = answer
                    .as_deref()
                    .and_then(|a| a.strip_prefix("ended "))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1);
                let out = crate::transport::Output::new(
                    crate::transport::Exit::Code(code),
                    out.stdout,
                    out.stderr,
                );
                quiet::checked(&host, &cmd, out).map_err(|e| super::dump::with_hint(e, db))?;
                return Err(crate::error::Error::Other {
                    message: format!(
                        "[{host}] {task}: the lock session on database `{}` ended without an answer",
                        db.name
                    ),
                    hint: Some("run with -v to see the session".into()),
                });
            }
            holder => {
                let holder = holder.unwrap_or("another session");
                drop(stdin_w);
                Err(DbError::Busy {
                    host: host.clone(),
                    task: task.to_string(),
                    database: db.name.clone(),
                    holder: holder.to_string(),
                }
                .into())
            }
        };
        // The rest of the session's output, so it never waits on a full pipe.
        std::io::copy(&mut reader, &mut std::io::sink())?;
        let ended = session.join().expect("lock session thread");
        if let (Ok(_), Ok((_, out))) = (&result, &ended) {
            if !out.exit().success() {
                rep.warn(&format!(
                    "[{host}] the lock session on `{}` ended early ({}): {}",
                    db.name,
                    out.exit(),
                    out.stderr_str().trim()
                ));
            }
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::application_name;

    #[test]
    fn the_session_name_fits_the_servers_63_bytes() {
        let n = application_name(&"x".repeat(80), "staging");
        assert!(n.len() <= 63, "{n}");
        assert!(n.starts_with("dfab xxx"), "{n}");
    }
}
