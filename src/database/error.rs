//! Errors of the database tasks: each names the dump file or the host it is about, keeps its
//! cause, and knows a hint. A pg tool that fails is [`crate::error::Error::CommandFailed`].

use std::fmt;
use std::path::PathBuf;

use crate::transport::Exit;

use super::session::ServerError;

/// What can go wrong in a dump, push or clone besides a command failing.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `pg_restore --list` on this machine does not read the file as a whole custom-format dump.
    #[error("{}: pg_restore --list rejects it ({exit}): {}", file.display(), stderr.trim())]
    NotADump {
        file: PathBuf,
        exit: Exit,
        stderr: String,
    },

    /// The JSON beside a dump is not a sidecar dfab wrote.
    #[error("{}: not a dfab dump sidecar", path.display())]
    BadSidecar {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// A dump's bytes are not the ones its sidecar recorded.
    #[error("{}: does not match its sidecar: sha256 {got}, the sidecar says {want}", file.display())]
    NotTheSidecars {
        file: PathBuf,
        got: String,
        want: String,
    },

    /// The host's copy of an upload has another checksum than the bytes sent.
    #[error("[{host}] checksum mismatch uploading the dump: sent {sent}, host has {got}")]
    ChecksumMismatch {
        host: String,
        sent: String,
        got: String,
    },

    /// `db_clone`: the bytes the source dumped are not the bytes sent to the target.
    #[error(
        "[{host}] the dump changed between dump and upload: dumped sha256 {dumped}, sent {sent}"
    )]
    DumpChanged {
        host: String,
        dumped: String,
        sent: String,
    },

    /// The restored copy's row counts are not the ones read in the dump's snapshot.
    #[error(
        "[{host}] row counts of the restored copy differ from the dump's: {}",
        diff.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    CountsDiffer { host: String, diff: Vec<CountDiff> },

    /// The server refused a statement or ended one of dfab's sessions: its SQLSTATE and words.
    #[error("[{host}] {what}: the server said {error}")]
    Server {
        host: String,
        /// The step, e.g. `the swap`, `the dump's snapshot session`.
        what: String,
        error: ServerError,
    },

    /// The source and the target of a copy are one database, as their servers say.
    #[error(
        "{task}: the source (env `{source_env}`) and the target (env `{target_env}`) are the same \
         database: {identity}"
    )]
    SameDatabase {
        task: String,
        source_env: String,
        target_env: String,
        identity: String,
    },

    /// The target is a protected env's database, reached through another env's settings.
    #[error(
        "{task}: the database of env `{target_env}` is the database of protected env \
         `{protected}` ({identity}); refusing to write into it from env `{target_env}`"
    )]
    ProtectedTarget {
        task: String,
        target_env: String,
        protected: String,
        identity: String,
    },

    /// A protected env's server could not be asked whether it holds the target database, so
    /// the write could reach it unseen.
    #[error(
        "{task}: could not ask the server of protected env `{protected}` whether it holds the \
         database of env `{target_env}`, so this write might reach `{protected}`'s database: \
         {cause}"
    )]
    ProtectedUnverified {
        task: String,
        target_env: String,
        protected: String,
        /// Why the server could not be asked.
        cause: String,
    },

    /// Another operation holds the target database's lock.
    #[error("[{host}] {task}: database `{database}` is busy: {holder} holds it")]
    Busy {
        host: String,
        task: String,
        database: String,
        holder: String,
    },
}

/// One table whose row count differs between the dump and the restored copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDiff {
    /// `schema.table`.
    pub table: String,
    /// Its rows in the dump; `None`: the table is not in the dump.
    pub dump: Option<u64>,
    /// Its rows in the restored copy; `None`: the table is not there.
    pub restored: Option<u64>,
}

impl fmt::Display for CountDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.dump, self.restored) {
            (None, _) => write!(f, "{}: not in the dump", self.table),
            (Some(d), Some(r)) => write!(f, "{}: dump {d}, restored {r}", self.table),
            (Some(d), None) => write!(f, "{}: dump {d}, restored none", self.table),
        }
    }
}

impl DbError {
    /// What the user can do about it, shown under the error.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            DbError::NotADump {
                exit: Exit::Code(127),
                ..
            } => "install the PostgreSQL client tools on this machine: \
                  apt-get install postgresql-client"
                .into(),
            DbError::NotADump { .. } => {
                "the file is not a complete custom-format dump (pg_dump -Fc)".into()
            }
            DbError::BadSidecar { .. } => {
                "remove it to push the dump without checking row counts".into()
            }
            DbError::NotTheSidecars { .. } => {
                "the file changed or is damaged since it was dumped; dump again".into()
            }
            DbError::ChecksumMismatch { .. } | DbError::DumpChanged { .. } => {
                "the transfer was damaged; run again".into()
            }
            DbError::CountsDiffer { .. } => {
                "the dump or the restore is incomplete; dump again".into()
            }
            DbError::Server { error, .. } => error.hint(),
            DbError::SameDatabase { .. } => {
                "point `db_name`, `db_host`/`db_port` or the hosts of one env elsewhere".into()
            }
            DbError::ProtectedTarget { protected, .. } => format!(
                "fix this env's hosts or `db_*` keys; to replace that database on purpose, \
                 run it as `dfab {protected} database.force_push`"
            ),
            DbError::ProtectedUnverified {
                task,
                protected,
                target_env,
                ..
            } => format!(
                "make env `{protected}`'s database reachable with its own settings so dfab can \
                 tell; if it surely is elsewhere, `dfab {target_env} {task}:unverified=yes` \
                 writes without asking"
            ),
            DbError::Busy { holder, .. } => format!(
                "wait for it to finish; if its holder is gone, end that session on the server: \
                 {}",
                terminate(holder)
            ),
        })
    }
}

/// `SELECT pg_terminate_backend(PID)` for each server pid the holder text names (`(pid N, …`),
/// or the statement with the word `pid` in its place when none is named.
fn terminate(holder: &str) -> String {
    let pids: Vec<&str> = holder
        .split("(pid ")
        .skip(1)
        .filter_map(|rest| {
            let end = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            (end > 0).then(|| &rest[..end])
        })
        .collect();
    if pids.is_empty() {
        "SELECT pg_terminate_backend(pid) with the pid of its session in pg_stat_activity".into()
    } else {
        pids.iter()
            .map(|p| format!("SELECT pg_terminate_backend({p});"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl crate::error::DomainError for DbError {
    fn hint(&self) -> Option<String> {
        DbError::hint(self)
    }
}

crate::domain_error!(DbError);

#[cfg(test)]
mod tests {
    use super::{CountDiff, DbError};
    use crate::error::{render, Error};
    use crate::transport::Exit;

    #[test]
    fn a_busy_database_s_hint_names_the_holder_s_server_pid() {
        let busy = |holder: &str| {
            DbError::Busy {
                host: "db1".into(),
                task: "db_clone".into(),
                database: "demo".into(),
                holder: holder.into(),
            }
            .hint()
            .unwrap()
        };
        let h = busy("dfab database.push staging root@x pid 77 (pid 4242, role postgres, from the local socket, since 2026-12-07 10:00:00 UTC, writing)");
        assert!(h.ends_with("SELECT pg_terminate_backend(4242);"), "{h}");
        assert!(!h.contains("<pid>"), "{h}");
        assert!(busy("another session").contains("pg_stat_activity"));
    }

    #[test]
    fn a_count_difference_names_each_table_and_renders_with_its_host_and_hint() {
        let diff = |table: &str, dump, restored| CountDiff {
            table: table.into(),
            dump,
            restored,
        };
        let e = Error::from(DbError::CountsDiffer {
            host: "db1".into(),
            diff: vec![
                diff("public.a", Some(2), Some(1)),
                diff("public.b", Some(3), None),
                diff("public.c", None, Some(4)),
            ],
        });
        assert_eq!(e.code(), 1);
        assert_eq!(
            render(&e),
            "error: [db1] row counts of the restored copy differ from the dump's: \
             public.a: dump 2, restored 1; public.b: dump 3, restored none; \
             public.c: not in the dump\n\
             hint: the dump or the restore is incomplete; dump again\n"
        );
    }

    #[test]
    fn a_rejected_dump_keeps_its_exit_and_a_missing_tool_says_what_to_install() {
        let rejected = |exit| DbError::NotADump {
            file: "dumps/x.dump".into(),
            exit,
            stderr: "pg_restore: error: input file is too short\n".into(),
        };
        assert_eq!(
            rejected(Exit::Code(1)).to_string(),
            "dumps/x.dump: pg_restore --list rejects it (exit status 1): \
             pg_restore: error: input file is too short"
        );
        assert!(rejected(Exit::Code(127))
            .hint()
            .unwrap()
            .contains("postgresql-client"));
        assert!(rejected(Exit::Code(1))
            .hint()
            .unwrap()
            .contains("pg_dump -Fc"));
    }

    #[test]
    fn a_bad_sidecar_keeps_the_json_error_as_its_cause() {
        let source = serde_json::from_str::<serde_json::Value>("{").unwrap_err();
        let e = Error::from(DbError::BadSidecar {
            path: "dumps/x.dump.json".into(),
            source,
        });
        assert_eq!(
            render(&e),
            "error: dumps/x.dump.json: not a dfab dump sidecar\n  \
             caused by: EOF while parsing an object at line 1 column 1\n\
             hint: remove it to push the dump without checking row counts\n"
        );
    }
}
