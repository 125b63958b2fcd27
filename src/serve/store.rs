//! The `SQLite` store under `.dfab/serve.sqlite3`: users (argon2 hashes), sessions (hashed ids),
//! jobs, their log lines (redacted before they are written) and each env's last `releases`.
//! The file and its `-wal` and `-shm` are readable by their owner only (0600).

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::error::Error;

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, user TEXT, csrf TEXT NOT NULL,
    created INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, env TEXT NOT NULL, action TEXT NOT NULL,
    words TEXT NOT NULL, who TEXT NOT NULL, status TEXT NOT NULL, queued INTEGER NOT NULL,
    started INTEGER, finished INTEGER, failure TEXT, resumes INTEGER);
CREATE TABLE IF NOT EXISTS lines (job INTEGER NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (job, seq));
CREATE TABLE IF NOT EXISTS snapshots (env TEXT PRIMARY KEY, text TEXT NOT NULL, taken INTEGER NOT NULL);
";

/// A job's state: `queued`, `running`, `succeeded`, `failed`, `interrupted`.
pub type Status = &'static str;

/// One job row.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub env: String,
    /// The action's name as the page offers it (`deploy`, `web_mode:maintenance`, ...).
    pub action: String,
    /// The task words given to `dfab` (`deploy:resume=yes`).
    pub words: String,
    /// The account that started it (`local` in single-user mode).
    pub who: String,
    pub status: String,
    /// Seconds since the epoch.
    pub queued: i64,
    pub started: Option<i64>,
    pub finished: Option<i64>,
    /// The first `error:` line the run printed, redacted.
    pub failure: Option<String>,
    /// The job this one resumes.
    pub resumes: Option<i64>,
}

impl Job {
    /// How long it ran (or has run so far), in seconds.
    #[must_use]
    pub fn seconds(&self, now: i64) -> Option<i64> {
        self.started.map(|s| self.finished.unwrap_or(now) - s)
    }
}

/// The database, one connection behind a mutex (every query is short).
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
    tightened: Vec<(PathBuf, u32)>,
}

/// The store's files: the database, its write-ahead log and its shared-memory index.
fn files(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut p = path.as_os_str().to_os_string();
        p.push(suffix);
        PathBuf::from(p)
    };
    [path.to_path_buf(), with("-wal"), with("-shm")]
}

/// Make each of the store's files that exists owner-only (0600); returns those that were not,
/// with their mode before (permission bits).
fn tighten(path: &Path) -> std::io::Result<Vec<(PathBuf, u32)>> {
    let mut out = Vec::new();
    for f in files(path) {
        let Ok(meta) = fs_err::metadata(&f) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            fs_err::set_permissions(&f, std::fs::Permissions::from_mode(0o600))?;
            out.push((f, mode));
        }
    }
    Ok(out)
}

/// Seconds since the epoch.
#[must_use]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

const JOB_COLS: &str =
    "id, env, action, words, who, status, queued, started, finished, failure, resumes";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        env: r.get(1)?,
        action: r.get(2)?,
        words: r.get(3)?,
        who: r.get(4)?,
        status: r.get(5)?,
        queued: r.get(6)?,
        started: r.get(7)?,
        finished: r.get(8)?,
        failure: r.get(9)?,
        resumes: r.get(10)?,
    })
}

impl Store {
    /// Open (creating) the store at `path`, its folder made if missing. A new database is
    /// created 0600 (`SQLite` gives its `-wal` and `-shm` the database's mode); an existing
    /// one readable by others is made 0600, and [`Store::tightened`] says which files were.
    pub fn open(path: &Path) -> Result<Store, Error> {
        let err = |source| Error::Store {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        // An empty file is a new database to SQLite: made here, so it is never world-readable.
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                let why = format!("cannot create {}: {e}", path.display());
                return Err(std::io::Error::new(e.kind(), why).into());
            }
        }
        let mut tightened = tighten(path)?;
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        // The log and index made by the schema's first write, should a umask or an older
        // SQLite have left them open.
        tightened.extend(tighten(path)?);
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            tightened,
        })
    }

    /// The files that were readable by others when opened, and their mode then: now 0600.
    #[must_use]
    pub fn tightened(&self) -> &[(PathBuf, u32)] {
        &self.tightened
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, Error> {
        let conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&conn).map_err(|source| Error::Store {
            path: self.path.clone(),
            source,
        })
    }

    /// Add or replace a user.
    pub fn put_user(&self, name: &str, hash: &str, role: &str) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO users (name, hash, role) VALUES (?1, ?2, ?3)",
                params![name, hash, role],
            )
            .map(drop)
        })
    }

    /// A user's hash and role.
    pub fn user(&self, name: &str) -> Result<Option<(String, String)>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT hash, role FROM users WHERE name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// Whether there is any account (asked on every request: one indexed read).
    pub fn has_users(&self) -> Result<bool, Error> {
        self.with(|c| c.query_row("SELECT EXISTS (SELECT 1 FROM users)", [], |r| r.get(0)))
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record a session: its id's hash, its user (none before login), its CSRF token.
    pub fn put_session(&self, id_hash: &str, user: Option<&str>, csrf: &str) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO sessions (id_hash, user, csrf, created) VALUES (?1, ?2, ?3, ?4)",
                params![id_hash, user, csrf, now()],
            )
            .map(drop)
        })
    }

    /// A session younger than `max_age` seconds: its user and CSRF token.
    pub fn session(
        &self,
        id_hash: &str,
        max_age: i64,
    ) -> Result<Option<(Option<String>, String)>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT user, csrf FROM sessions WHERE id_hash = ?1 AND created > ?2",
                params![id_hash, now() - max_age],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }

    /// Forget a session (logout, or its id rotated at login).
    pub fn drop_session(&self, id_hash: &str) -> Result<(), Error> {
        self.with(|c| {
            c.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])
                .map(drop)
        })
    }

    /// Queue a job; returns its id.
    pub fn add_job(
        &self,
        env: &str,
        action: &str,
        words: &str,
        who: &str,
        resumes: Option<i64>,
    ) -> Result<i64, Error> {
        self.with(|c| {
            c.execute(
                "INSERT INTO jobs (env, action, words, who, status, queued, resumes) VALUES (?1, ?2, ?3, ?4, 'queued', ?5, ?6)",
                params![env, action, words, who, now(), resumes],
            )?;
            Ok(c.last_insert_rowid())
        })
    }

    /// One job.
    pub fn job(&self, id: i64) -> Result<Option<Job>, Error> {
        self.with(|c| {
            c.query_row(
                &format!("SELECT {JOB_COLS} FROM jobs WHERE id = ?1"),
                [id],
                job_row,
            )
            .optional()
        })
    }

    /// The newest `limit` jobs, newest first; of one env when `env` is given.
    pub fn jobs(&self, env: Option<&str>, limit: i64) -> Result<Vec<Job>, Error> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {JOB_COLS} FROM jobs WHERE ?1 IS NULL OR env = ?1 ORDER BY id DESC LIMIT ?2"
            ))?;
            let rows = st.query_map(params![env, limit], job_row)?;
            rows.collect()
        })
    }

    /// Every job in `status`, oldest first.
    pub fn jobs_in(&self, status: &str) -> Result<Vec<Job>, Error> {
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {JOB_COLS} FROM jobs WHERE status = ?1 ORDER BY id"
            ))?;
            let rows = st.query_map([status], job_row)?;
            rows.collect()
        })
    }

    /// The newest finished job of each env among those whose action is one of `actions`.
    pub fn last_finished_of(&self, actions: &[&str]) -> Result<Vec<Job>, Error> {
        let marks = vec!["?"; actions.len()].join(", ");
        self.with(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {JOB_COLS} FROM jobs WHERE id IN (SELECT max(id) FROM jobs \
                 WHERE status IN ('succeeded', 'failed', 'interrupted') \
                 AND action IN ({marks}) GROUP BY env)"
            ))?;
            let rows = st.query_map(rusqlite::params_from_iter(actions), job_row)?;
            rows.collect()
        })
    }

    /// Mark a job running.
    pub fn start_job(&self, id: i64) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET status = 'running', started = ?2 WHERE id = ?1",
                params![id, now()],
            )
            .map(drop)
        })
    }

    /// Mark a job finished with `status`, and the failure line if any.
    pub fn finish_job(&self, id: i64, status: Status, failure: Option<&str>) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET status = ?2, finished = ?3, failure = ?4 WHERE id = ?1",
                params![id, status, now(), failure],
            )
            .map(drop)
        })
    }

    /// Jobs left `running` by a server that is gone become `interrupted`; returns them.
    pub fn interrupt_running(&self) -> Result<Vec<Job>, Error> {
        let running = self.jobs_in("running")?;
        self.with(|c| {
            c.execute(
                "UPDATE jobs SET status = 'interrupted', finished = ?1 WHERE status = 'running'",
                [now()],
            )
            .map(drop)
        })?;
        Ok(running)
    }

    /// Append a (redacted) log line; returns its sequence number (1, 2, ...).
    pub fn add_line(&self, job: i64, text: &str) -> Result<i64, Error> {
        self.with(|c| {
            let seq: i64 = c.query_row(
                "SELECT coalesce(max(seq), 0) + 1 FROM lines WHERE job = ?1",
                [job],
                |r| r.get(0),
            )?;
            c.execute(
                "INSERT INTO lines (job, seq, text) VALUES (?1, ?2, ?3)",
                params![job, seq, text],
            )?;
            Ok(seq)
        })
    }

    /// A job's lines after `after`, as `(seq, text)`.
    pub fn lines(&self, job: i64, after: i64) -> Result<Vec<(i64, String)>, Error> {
        self.with(|c| {
            let mut st =
                c.prepare("SELECT seq, text FROM lines WHERE job = ?1 AND seq > ?2 ORDER BY seq")?;
            let rows = st.query_map(params![job, after], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect()
        })
    }

    /// Keep what `releases` printed for `env`.
    pub fn put_snapshot(&self, env: &str, text: &str) -> Result<(), Error> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO snapshots (env, text, taken) VALUES (?1, ?2, ?3)",
                params![env, text, now()],
            )
            .map(drop)
        })
    }

    /// What `releases` printed for `env` last, and when.
    pub fn snapshot(&self, env: &str) -> Result<Option<(String, i64)>, Error> {
        self.with(|c| {
            c.query_row(
                "SELECT text, taken FROM snapshots WHERE env = ?1",
                [env],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
        })
    }
}
