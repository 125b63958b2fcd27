//! dfab's own database sessions: the settings each needs whatever the server's defaults say, and
//! the server's own words (SQLSTATE and message) when it refuses a statement or ends a session.

/// `PGOPTIONS` of every pg tool dfab runs: the server's (or the database's, or the role's)
/// timeouts are for applications, not for a dump's snapshot session idling in its transaction
/// while `pg_dump` works, nor for a lock session idling for the whole operation. Waiting on a
/// lock is bounded (a minute), so a swap behind a stuck transaction fails instead of hanging.
pub const PGOPTIONS: &str = "-c idle_in_transaction_session_timeout=0 \
     -c idle_session_timeout=0 -c statement_timeout=0 -c lock_timeout=60s";

/// psql's flags for every session: no `.psqlrc`, unaligned tuples only, stop at the first
/// error, and errors with their SQLSTATE (`ERROR:  42704: role "x" does not exist`).
pub const PSQL: [&str; 6] = [
    "-X",
    "-At",
    "-v",
    "ON_ERROR_STOP=1",
    "-v",
    "VERBOSITY=verbose",
];

/// What the server said when it refused a statement or ended a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerError {
    /// `ERROR`, `FATAL` or `PANIC`.
    pub severity: String,
    /// The five-character SQLSTATE, e.g. `25P03`.
    pub sqlstate: String,
    /// The server's message.
    pub message: String,
}

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.severity, self.sqlstate, self.message)
    }
}

impl ServerError {
    /// The first `ERROR:  XXXXX: message` (or `FATAL`, `PANIC`) line of psql's stderr under
    /// `VERBOSITY=verbose`, wherever psql put it (`psql:<stdin>:3: ERROR: …` too).
    #[must_use]
    pub fn find(stderr: &str) -> Option<ServerError> {
        stderr.lines().find_map(|line| {
            ["ERROR:", "FATAL:", "PANIC:"].iter().find_map(|sev| {
                let at = line.find(sev)?;
                let rest = line[at + sev.len()..].trim_start();
                let (code, message) = rest.split_once(": ")?;
                let sqlstate = code.len() == 5
                    && code
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
                sqlstate.then(|| ServerError {
                    severity: sev.trim_end_matches(':').to_string(),
                    sqlstate: code.to_string(),
                    message: message.trim().to_string(),
                })
            })
        })
    }

    /// What the user can do, by SQLSTATE (class first, then the few codes worth their own).
    #[must_use]
    pub fn hint(&self) -> String {
        match self.sqlstate.as_str() {
            "25P03" => {
                "the server ended an idle transaction (idle_in_transaction_session_timeout); \
                        dfab's own sessions turn it off, so another client's setting reached it: \
                        check ALTER ROLE/DATABASE … SET on the server"
                    .into()
            }
            "57014" => "a statement was cancelled (statement_timeout, or pg_cancel_backend)".into(),
            "55P03" => "a lock was not granted in time (lock_timeout): another session holds \
                        the database; see pg_stat_activity"
                .into(),
            "57P01" | "57P02" | "57P03" => {
                "the server ended the session (an administrator, or a shutdown); run again".into()
            }
            "53300" => "too many connections: raise max_connections or free some".into(),
            "3D000" => "the database does not exist on that server: check `db_name`".into(),
            "42704" => "create the role on the server, or fix `db_user`/`dba`".into(),
            "42501" => "the role lacks a privilege: dfab acts as `dba` (a superuser) there".into(),
            s if s.starts_with("08") => {
                "the connection to the server failed: is PostgreSQL running?".into()
            }
            _ => format!("SQLSTATE {} is in PostgreSQL's Appendix A", self.sqlstate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ServerError;

    #[test]
    fn the_sqlstate_and_message_are_read_from_psqls_verbose_errors() {
        let e = ServerError::find(
            "psql:<stdin>:2: ERROR:  42704: role \"ghost\" does not exist\nLOCATION:  x\n",
        )
        .unwrap();
        assert_eq!(e.sqlstate, "42704");
        assert_eq!(e.message, "role \"ghost\" does not exist");
        let e = ServerError::find(
            "FATAL:  25P03: terminating connection due to idle-in-transaction timeout\n",
        )
        .unwrap();
        assert_eq!(
            e.to_string(),
            "FATAL 25P03: terminating connection due to idle-in-transaction timeout"
        );
        assert!(e.hint().contains("idle_in_transaction_session_timeout"));
        assert_eq!(ServerError::find("ERROR:  no code here"), None);
    }
}
