//! `database.push`: a dump restored into a fresh temporary database on the host, checked against
//! its sidecar's row counts, sanitised, then swapped in; the live database is touched only by the
//! swap.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::exec::record::read;
use crate::report::Reporter;
use crate::transport::cmd::{quote, Cmd};
use crate::transport::Transport;

use super::props;
use super::quiet;
use super::session;
use super::sidecar;
use super::sql;
use super::stream;
use super::target::Role;
use super::{CountDiff, DbError, DbTarget};

/// Everything a push does, decided from the env before anything runs.
#[derive(Debug, Clone)]
pub struct Push {
    pub db: DbTarget,
    /// Where the dump sits on the host while it is restored (`pg_restore -j` needs a file).
    pub remote: String,
    /// `pg_restore -j`.
    pub jobs: u32,
    /// `db_sanitize`, as SQL.
    pub sanitize: Option<String>,
    /// Keep the file on the host afterwards (so the next push of the same dump skips the upload).
    pub keep_remote: bool,
    /// What makes this run's temporary databases' names its own (see [`Push::for_run`]).
    pub run_id: String,
}

/// What was sent to the host, as the restore needs it.
#[derive(Debug, Clone)]
pub struct Payload {
    /// Bytes, for the restore's rate.
    pub size: u64,
    /// What the restored copy's row counts are checked against.
    pub counts: Counts,
}

/// What an upload sent.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    /// The SHA-256 of what passed through, as the host computed it too (empty under `-n`).
    pub sha256: String,
    /// Bytes sent.
    pub bytes: u64,
}

/// The row counts a restored copy must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counts {
    /// `schema.table` to rows, read in the dump's own snapshot (its sidecar, or the stream).
    Known(BTreeMap<String, u64>),
    /// `-n`, for a dump an earlier step of the run makes (with its sidecar): read, not compared.
    Pending,
    /// The dump has no sidecar: not checked.
    Absent,
}

impl Push {
    /// A push of `db` (the host file is named after the env and database).
    #[must_use]
    pub fn new(db: DbTarget, jobs: u32, sanitize: Option<String>, keep_remote: bool) -> Self {
        let remote = format!("/var/tmp/dfab-{}-{}.dump", db.env, db.name).replace(
            |c: char| !(c.is_ascii_alphanumeric() || "/-_.".contains(c)),
            "_",
        );
        Push {
            db,
            remote,
            jobs,
            sanitize,
            keep_remote,
            run_id: String::new(),
        }
    }

    /// This push for one run: its temporary databases get names no other run uses
    /// (`<db>_dfab_new_<8 hex>`), so two runs never drop each other's. Under `-n` the name is a
    /// placeholder for the one the run makes up.
    #[must_use]
    pub fn for_run(&self, recording: bool) -> Push {
        let run_id = if recording {
            String::new()
        } else {
            let seed = format!(
                "{}-{:?}-{}",
                std::process::id(),
                std::time::SystemTime::now(),
                self.db.name
            );
            crate::transport::sha256_hex(seed.as_bytes())[..8].to_string()
        };
        Push {
            run_id,
            ..self.clone()
        }
    }

    /// `<db>_dfab_<kind>_`: the prefix of this database's temporary databases (the name cut to
    /// fit the server's 63 bytes).
    fn temp_prefix(&self, kind: &str) -> String {
        let mut end = self.db.name.len().min(63 - 19);
        while !self.db.name.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}_dfab_{kind}_", &self.db.name[..end])
    }

    /// The temporary database restored into.
    #[must_use]
    pub fn new_db(&self) -> String {
        if self.run_id.is_empty() {
            return "<temporary-database>".into();
        }
        format!("{}{}", self.temp_prefix("new"), self.run_id)
    }

    fn old_db(&self) -> String {
        if self.run_id.is_empty() {
            return "<old-database>".into();
        }
        format!("{}{}", self.temp_prefix("old"), self.run_id)
    }

    /// `new_db`, as the lines of a run say it.
    fn new_shown(&self) -> String {
        if self.run_id.is_empty() {
            "a temporary database".into()
        } else {
            format!("`{}`", self.new_db())
        }
    }

    fn admin_sql(&self, database: &str, sql: String) -> Cmd {
        let mut args: Vec<&str> = session::PSQL.to_vec();
        args.extend(["-q", "-d", database]);
        self.db.tool("psql", Role::Admin, args).stdin(sql)
    }

    /// `sha256sum` of the host's copy, if any (empty output when absent).
    #[must_use]
    pub fn check_cmd(&self) -> Cmd {
        Cmd::shell(format!(
            "sha256sum {} 2>/dev/null | cut -d' ' -f1; true",
            quote(&self.remote)
        ))
        .sudo(None)
    }

    /// Receive the dump on stdin into the host file (temp, checksum printed, rename). Unless
    /// the copy is kept (`keep_remote`), a guard on the host removes it when dfab's ssh
    /// connection ends (the connection's `sshd` process is gone), so a run ended by `kill -9`
    /// leaves no copy of the data behind; a later run's copy (another inode) is left alone.
    #[must_use]
    pub fn receive_cmd(&self) -> Cmd {
        let owner = self.db.os_user().unwrap_or_else(|| "root".into());
        let guard = if self.keep_remote {
            String::new()
        } else {
            format!(
                "; i=$(stat -c %i {r}); p=$$; while [ \"$p\" -gt 1 ]; do \
                 case $(cat /proc/$p/comm 2>/dev/null || true) in sshd*) break ;; esac; \
                 p=$(cut -d' ' -f4 /proc/$p/stat 2>/dev/null || echo 1); done; \
                 if [ \"$p\" -gt 1 ]; then (trap '' HUP INT TERM; \
                 while kill -0 \"$p\" 2>/dev/null; do sleep 1; done; \
                 [ \"$(stat -c %i {r} 2>/dev/null)\" != \"$i\" ] || rm -f {r}) \
                 </dev/null >/dev/null 2>&1 & fi",
                r = quote(&self.remote),
            )
        };
        Cmd::shell(format!(
            "set -e; umask 077; t=$(mktemp {r}.dfab-XXXXXX); trap 'rm -f \"$t\"' EXIT; {signals}; \
             cat > \"$t\"; \
             chown {o} \"$t\"; sha256sum \"$t\" | cut -d' ' -f1; mv -f \"$t\" {r}; trap - EXIT{guard}",
            r = quote(&self.remote),
            o = quote(&owner),
            signals = crate::transport::cmd::EXIT_ON_SIGNALS,
        ))
        .sudo(None)
    }

    /// Drop the temporary databases that runs killed before their clean-up left (safe: this
    /// run holds the database's lock, so none of them is in use), and create this run's, owned
    /// by `db_user`, with the live database's encoding and locale (see [`props::create`]).
    #[must_use]
    pub fn create_cmd(&self) -> Cmd {
        let leftovers = format!("^{}[0-9a-f]{{8}}$", regex_escape(&self.temp_prefix("new")));
        self.admin_sql(
            "postgres",
            format!(
                "SELECT format('DROP DATABASE %I%s', datname, CASE WHEN \
                 current_setting('server_version_num')::int >= 130000 THEN ' WITH (FORCE)' \
                 ELSE '' END) FROM pg_database WHERE datname ~ {} \\gexec\n{}",
                sql::literal(&leftovers),
                props::create(&self.db.name, &self.new_db(), self.db.user.as_deref()),
            ),
        )
    }

    /// `pg_restore -j` into the temporary database, objects owned by `db_user`.
    #[must_use]
    pub fn restore_cmd(&self) -> Cmd {
        let mut args = vec![
            format!("--jobs={}", self.jobs),
            "--no-owner".into(),
            "--no-acl".into(),
            "--exit-on-error".into(),
        ];
        if let Some(u) = &self.db.user {
            args.push(format!("--role={u}"));
        }
        args.extend(["-d".into(), self.new_db(), self.remote.clone()]);
        self.db.tool("pg_restore", Role::Admin, args)
    }

    /// Per-table row counts of the temporary database.
    #[must_use]
    pub fn counts_cmd(&self) -> Cmd {
        let new = self.new_db();
        let mut args: Vec<&str> = session::PSQL.to_vec();
        args.extend(["-d", &new]);
        self.db
            .tool("psql", Role::Admin, args)
            .stdin(sql::counts_stdin())
    }

    /// `db_sanitize`, in one transaction, in the temporary database.
    #[must_use]
    pub fn sanitize_cmd(&self) -> Option<Cmd> {
        self.sanitize.as_ref().map(|s| {
            let new = self.new_db();
            let mut args: Vec<&str> = session::PSQL.to_vec();
            args.extend(["-q", "-1", "-d", &new]);
            self.db.tool("psql", Role::Admin, args).stdin(s.clone())
        })
    }

    /// Terminate connections, rename the live database aside and the new one in, drop the old.
    #[must_use]
    pub fn swap_cmd(&self) -> Cmd {
        self.admin_sql(
            "postgres",
            sql::swap(&self.db.name, &self.new_db(), &self.old_db()),
        )
    }

    /// After a failure: the temporary database goes; the live one was never touched.
    #[must_use]
    pub fn discard_cmd(&self) -> Cmd {
        self.admin_sql(
            "postgres",
            format!("DROP DATABASE IF EXISTS {};\n", sql::ident(&self.new_db())),
        )
    }

    /// Remove the host's copy.
    #[must_use]
    pub fn remove_cmd(&self) -> Cmd {
        Cmd::new("rm", ["-f", self.remote.as_str()]).sudo(None)
    }

    /// Does the host already hold this dump? Under `-n` the answer is unknown, and the push
    /// uploads.
    pub fn host_has(
        &self,
        t: &mut dyn Transport,
        sha256: &str,
        rep: &dyn Reporter,
    ) -> Result<bool> {
        Ok(read(t, rep, "read", self.check_cmd())?
            .known()
            .is_some_and(|o| o.stdout_str().trim() == sha256))
    }

    /// Send the dump from `input` to the host file, verifying the checksum the host computes
    /// against what passed through (returned, with the size; the caller says what was sent).
    pub fn upload(
        &self,
        t: &mut dyn Transport,
        input: &mut (dyn Read + Send),
        rep: &dyn Reporter,
    ) -> Result<Sent> {
        let cmd = self.receive_cmd();
        rep.command(
            t.host(),
            "put",
            &Cmd::new("put", ["(dump)", self.remote.as_str()]),
        );
        let mut counting = Counting {
            inner: input,
            sha: sha2::Digest::new(),
            bytes: 0,
        };
        let out = stream::exec_io(t, &cmd, Some(&mut counting), None)?;
        if t.recording() {
            // `-n`: nothing was sent, so no sum to compare.
            return Ok(Sent::default());
        }
        let out = crate::transport::check(t.host(), &cmd, out)?;
        let sent = crate::transport::hex(&sha2::Digest::finalize(counting.sha.clone()));
        let got = out.stdout_str().trim().to_string();
        if got != sent {
            return Err(DbError::ChecksumMismatch {
                host: t.host().to_string(),
                sent,
                got,
            }
            .into());
        }
        Ok(Sent {
            sha256: sent,
            bytes: counting.bytes,
        })
    }

    /// Restore, check, sanitise and swap; on any failure before the swap, drop the temporary
    /// database and say that the live one is untouched. Under `-n` every line says what would
    /// be done, with no figures.
    pub fn restore_and_swap(
        &self,
        t: &mut dyn Transport,
        payload: &Payload,
        rep: &dyn Reporter,
    ) -> Result<()> {
        let host = t.host().to_string();
        let dry = t.recording();
        let (new, live) = (self.new_shown(), &self.db.name);
        let result = (|| {
            quiet::run(t, &self.create_cmd(), rep)?;
            let started = Instant::now();
            quiet::run(t, &self.restore_cmd(), rep)?;
            rep.info(&if dry {
                format!(
                    "[{host}] would restore {} into {new} with {} jobs",
                    self.remote, self.jobs
                )
            } else {
                format!(
                    "[{host}] restored into {new} with {} jobs: {}",
                    self.jobs,
                    stream::rate(payload.size, started.elapsed().as_secs_f64())
                )
            });
            self.check_counts(t, payload, rep)?;
            if let Some(c) = self.sanitize_cmd() {
                quiet::run(t, &c, rep)?;
                rep.info(&if dry {
                    format!("[{host}] would run db_sanitize in {new}")
                } else {
                    format!("[{host}] db_sanitize ran in {new}")
                });
            }
            Ok::<_, Error>(())
        })();
        if let Err(e) = result {
            let dropped = quiet::tidy(t, &self.discard_cmd(), rep);
            let removed = self.cleanup(t, rep);
            let left = match (dropped, removed) {
                (true, true) => format!("the temporary {new} was dropped"),
                (false, true) => {
                    format!("the temporary {new} may remain: the next copy into `{live}` drops it")
                }
                (true, false) => format!(
                    "the temporary {new} was dropped; the dump {} may remain on the host",
                    self.remote
                ),
                (false, false) => format!(
                    "the temporary {new} and the dump {} may remain on the host: the next copy \
                     into `{live}` drops the database; remove the dump by hand",
                    self.remote
                ),
            };
            rep.warn(&format!(
                "[{host}] the copy failed before the swap: the live database `{live}` is untouched ({left})",
            ));
            return Err(e);
        }
        let swapped = quiet::run(t, &self.swap_cmd(), rep);
        self.cleanup(t, rep);
        match swapped {
            Ok(_) if dry => rep.info(&format!(
                "[{host}] would swap {new} in as `{live}` (its settings kept, its connections \
                 ended)"
            )),
            Ok(out) => {
                let out = out.stdout_str();
                let carried = props::carried(&out);
                if !carried.is_empty() {
                    rep.info(&format!(
                        "[{host}] carried over {} database-level setting(s) of `{live}` \
                         (-v shows them)",
                        carried.len()
                    ));
                }
                rep.info(&format!(
                    "[{host}] swapped {new} in as `{live}`{}",
                    terminated(&out)
                ));
            }
            Err(e) => {
                quiet::tidy(t, &self.discard_cmd(), rep);
                rep.warn(&format!(
                    "[{host}] the swap failed and was rolled back: the live database `{live}` is untouched"
                ));
                return Err(e);
            }
        }
        Ok(())
    }

    /// Remove the host's copy of the dump (unless kept); false when that failed.
    fn cleanup(&self, t: &mut dyn Transport, rep: &dyn Reporter) -> bool {
        self.keep_remote || quiet::tidy(t, &self.remove_cmd(), rep)
    }

    fn check_counts(
        &self,
        t: &mut dyn Transport,
        payload: &Payload,
        rep: &dyn Reporter,
    ) -> Result<()> {
        let want = match &payload.counts {
            Counts::Absent => {
                let (host, not) = (t.host(), if t.recording() { "would not be" } else { "not" });
                rep.warn(&format!(
                    "[{host}] the dump has no sidecar: its row counts {not} checked"
                ));
                return Ok(());
            }
            Counts::Pending => None,
            Counts::Known(c) => Some(c),
        };
        let out = quiet::read(t, &self.counts_cmd(), rep)?;
        // `-n`: the counts are read, and compared with the dump's in the real run.
        let Some(want) = want.filter(|_| !t.recording()) else {
            return Ok(());
        };
        let got = sidecar::parse_counts(&out.stdout_str());
        if got == *want {
            rep.info(&format!(
                "[{}] row counts match the dump's ({} tables)",
                t.host(),
                got.len()
            ));
            return Ok(());
        }
        let diff = want
            .iter()
            .filter(|(k, v)| got.get(*k) != Some(v))
            .map(|(k, v)| CountDiff {
                table: k.clone(),
                dump: Some(*v),
                restored: got.get(k).copied(),
            })
            .chain(
                got.iter()
                    .filter(|(k, _)| !want.contains_key(*k))
                    .map(|(k, v)| CountDiff {
                        table: k.clone(),
                        dump: None,
                        restored: Some(*v),
                    }),
            )
            .collect();
        Err(DbError::CountsDiffer {
            host: t.host().to_string(),
            diff,
        }
        .into())
    }
}

/// `s` with the characters a POSIX regular expression gives a meaning escaped.
fn regex_escape(s: &str) -> String {
    s.chars().fold(String::new(), |mut out, c| {
        if "\\.^$|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
        out
    })
}

/// The SHA-256 and size of a local file, read in chunks.
pub fn file_digest(p: &Path) -> Result<(String, u64)> {
    let mut f = fs_err::File::open(p)?;
    let mut w = stream::Hashing::new(std::io::sink());
    std::io::copy(&mut f, &mut w)?;
    Ok((w.hex(), w.bytes))
}

struct Counting<'a> {
    inner: &'a mut (dyn Read + Send),
    sha: sha2::Sha256,
    bytes: u64,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        sha2::Digest::update(&mut self.sha, &buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// `: N connection(s) terminated`, from the swap's `terminated N connection(s) to …` line
/// (nothing when the line is missing).
fn terminated(out: &str) -> String {
    let n = out.lines().find_map(|l| {
        l.trim()
            .strip_prefix("terminated ")?
            .split_once(' ')?
            .0
            .parse::<u64>()
            .ok()
    });
    match n {
        Some(1) => ": 1 connection terminated".into(),
        Some(n) => format!(": {n} connections terminated"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::terminated;

    #[test]
    fn the_swap_line_counts_the_connections_it_terminated() {
        let out = "terminated 2 connection(s) to app\ndatabase app swapped in\n";
        assert_eq!(terminated(out), ": 2 connections terminated");
        assert_eq!(
            terminated("terminated 1 connection(s) to app"),
            ": 1 connection terminated"
        );
        assert_eq!(terminated("database app swapped in"), "");
    }
}
