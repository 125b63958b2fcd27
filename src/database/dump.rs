//! `database.dump`: the host's database streamed in custom format into `dumps/<env>.dump`,
//! accepted only after `pg_restore --list` reads it, the previous dump kept as `.dump.1`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::transport::local::Local;
use crate::transport::{check, Transport};

use super::session::ServerError;
use super::sidecar::{self, Sidecar};
use super::sql::{self, MARK_COUNT, MARK_SESSION, MARK_VERSION};
use super::stream;
use super::{DbError, DbTarget};

/// `dumps/<env>.dump` under the project.
#[must_use]
pub fn local_path(project_dir: &Path, env: &str) -> PathBuf {
    project_dir.join("dumps").join(format!("{env}.dump"))
}

/// The command that streams the dump (and the counts, on stderr) from the host.
#[must_use]
pub fn command(db: &DbTarget) -> Cmd {
    db.wrap(Cmd::shell(sql::dump_script(db)))
}

/// `pg_restore --list FILE >/dev/null` on this machine: does the file read as a whole
/// custom-format dump? (The table of contents is not wanted, only the verdict.)
#[must_use]
pub fn verify_command(file: &Path) -> Cmd {
    Cmd::shell(format!(
        "pg_restore --list {} >/dev/null",
        crate::transport::cmd::quote(&file.display().to_string())
    ))
}

/// Run the verification (shown as `[localhost] check: ...`); a refusal names the file and keeps
/// the exit.
pub fn verify(file: &Path, rep: &dyn Reporter) -> Result<()> {
    let cmd = verify_command(file);
    rep.command("localhost", "check", &cmd);
    let out = Local::new().exec(&cmd, None)?;
    let exit = out.exit();
    if exit.success() {
        return Ok(());
    }
    Err(DbError::NotADump {
        file: file.to_path_buf(),
        exit,
        stderr: out.stderr_str(),
    }
    .into())
}

/// What one dump produced.
#[derive(Debug)]
pub struct Dumped {
    pub sidecar: Sidecar,
    pub elapsed: f64,
}

impl Dumped {
    /// `4 tables, 3.8 MiB`.
    #[must_use]
    pub fn contents(&self) -> String {
        format!(
            "{} tables, {}",
            self.sidecar.tables.len(),
            stream::size(self.sidecar.size)
        )
    }

    /// `4 tables, 3.8 MiB in 1.2 s (3.2 MiB/s)` (the rate only where it says something).
    #[must_use]
    pub fn contents_and_rate(&self) -> String {
        format!(
            "{} tables, {}",
            self.sidecar.tables.len(),
            stream::rate(self.sidecar.size, self.elapsed)
        )
    }
}

/// Stream the dump of `db` from `host` into `w`, returning the sidecar data read alongside.
pub fn stream_into(
    host: &mut dyn Transport,
    db: &DbTarget,
    w: &mut (dyn Write + Send),
    rep: &dyn Reporter,
) -> Result<(String, std::collections::BTreeMap<String, u64>)> {
    let cmd = command(db);
    rep.command(
        host.host(),
        "read",
        &cmd.clone().without_sudo_if_root(host.login_user()),
    );
    let out = stream::exec_io(host, &cmd, None, Some(w))?;
    let stderr = out.stderr_str();
    let mut version = String::new();
    let mut counts = String::new();
    let mut other = String::new();
    let mut session = String::new();
    for line in stderr.lines() {
        if let Some(l) = line
            .strip_prefix(MARK_SESSION)
            .and_then(|l| l.strip_prefix('\t'))
        {
            session.push_str(l);
            session.push('\n');
            continue;
        }
        if let Some(v) = line
            .strip_prefix(MARK_VERSION)
            .and_then(|l| l.strip_prefix('\t'))
        {
            version = v.to_string();
        } else if let Some(c) = line
            .strip_prefix(MARK_COUNT)
            .and_then(|l| l.strip_prefix('\t'))
        {
            counts.push_str(c);
            counts.push('\n');
        } else {
            other.push_str(line);
            other.push('\n');
        }
    }
    let ended = ServerError::find(&session);
    if let Some(error) = ended.clone().filter(|_| !out.exit().success()) {
        return Err(DbError::Server {
            host: host.host().to_string(),
            what: format!("the dump of `{}`: its snapshot session", db.name),
            error,
        }
        .into());
    }
    if let Some(error) = ended {
        // pg_dump had imported the snapshot and finished: the dump is whole.
        rep.warn(&format!(
            "[{}] the dump's snapshot session was ended by the server after pg_dump had taken \
             its snapshot ({error}); the dump is complete",
            host.host()
        ));
    } else if !session.trim().is_empty() && !out.exit().success() {
        other.push_str(&session);
    }
    let shown = Cmd::new("pg_dump", ["-Fc", "-d", db.name.as_str()]);
    check(
        host.host(),
        &shown,
        crate::transport::Output {
            stderr: other.into_bytes(),
            ..out
        },
    )
    .map_err(|e| with_hint(e, db))?;
    Ok((version, sidecar::parse_counts(&counts)))
}

/// Hints for the usual connection failures.
pub(crate) fn with_hint(e: Error, db: &DbTarget) -> Error {
    let Error::CommandFailed {
        host,
        cmd,
        exit,
        stderr,
        ..
    } = e
    else {
        return e;
    };
    let hint = if stderr.contains("password authentication failed") {
        Some(format!(
            "check `db_password`, and that role `{}` exists (env `{}`)",
            db.role(super::target::Role::Owner),
            db.env
        ))
    } else if stderr.contains("does not exist") && stderr.contains("role") {
        Some(format!(
            "create the role on the server, or fix `db_user`/`dba` in env `{}`",
            db.env
        ))
    } else if stderr.contains("could not connect")
        || stderr.contains("timeout expired")
        || stderr.contains("Connection refused")
    {
        Some(format!("is PostgreSQL running and reachable from {host}? check `db_host`/`db_port` in env `{}`", db.env))
    } else {
        None
    };
    Error::CommandFailed {
        host,
        cmd,
        exit,
        stderr,
        hint,
    }
}

/// `database.dump` on one host: stream into `<dest>.tmp` (mode 0600), verify, keep the previous
/// dump as `.dump.1`, rename into place, write the sidecar. On a recorder (`-n`) the dump is
/// shown and no file here is touched: `None`. The caller says what was done (a failure is
/// warned of here, `dest` shown from `base`, the project directory).
pub fn run(
    host: &mut dyn Transport,
    db: &DbTarget,
    dest: &Path,
    base: &Path,
    rep: &dyn Reporter,
) -> Result<Option<Dumped>> {
    if host.recording() {
        stream_into(host, db, &mut std::io::sink(), rep)?;
        // The check `verify` shows; there is no file to check here.
        rep.command("localhost", "check", &verify_command(&tmp_path(dest)));
        return Ok(None);
    }
    let dir = dest.parent().expect("dumps/<env>.dump has a parent");
    fs_err::create_dir_all(dir)?;
    let tmp = tmp_path(dest);
    let started = Instant::now();
    let result = (|| {
        let file = private_file(&tmp)?;
        let mut w = stream::Hashing::new(std::io::BufWriter::with_capacity(1 << 20, file));
        let (version, tables) = stream_into(host, db, &mut w, rep)?;
        w.flush()?;
        let sha = w.hex();
        let bytes = w.bytes;
        w.inner
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?
            .sync_all()?;
        verify(&tmp, rep)?;
        Ok::<_, Error>((version, tables, sha, bytes))
    })();
    let (server_version, tables, sha256, size) = match result {
        Ok(v) => v,
        Err(e) => {
            let _ = fs_err::remove_file(&tmp);
            rep.warn(&unchanged(host.host(), dest, base));
            return Err(e);
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    rotate(dest)?;
    fs_err::rename(&tmp, dest)?;
    let sidecar = Sidecar {
        source_env: db.env.clone(),
        database: db.name.clone(),
        time: sidecar::rfc3339(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        ),
        server_version,
        sha256,
        size,
        tables,
    };
    sidecar.write(dest)?;
    Ok(Some(Dumped { sidecar, elapsed }))
}

/// The warning of a dump that failed: what `dest` holds now (shown from `base`), `the current
/// dump X is unchanged` or `no dump was written to X`.
#[must_use]
pub fn unchanged(host: &str, dest: &Path, base: &Path) -> String {
    let shown = crate::fsutil::shown(dest, base);
    if dest.exists() {
        format!("[{host}] the dump failed; the current dump {shown} is unchanged")
    } else {
        format!("[{host}] the dump failed; no dump was written to {shown}")
    }
}

/// `<dest>.tmp`.
#[must_use]
pub fn tmp_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// A new file only its owner may read.
pub fn private_file(p: &Path) -> Result<fs_err::File> {
    use fs_err::os::unix::fs::OpenOptionsExt;
    let f = fs_err::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(p)?;
    sidecar::set_private(p)?;
    Ok(f)
}

/// Keep the current dump (and its sidecar) as `.1`.
fn rotate(dest: &Path) -> Result<()> {
    if !dest.exists() {
        return Ok(());
    }
    let mut one = dest.as_os_str().to_owned();
    one.push(".1");
    let one = PathBuf::from(one);
    fs_err::rename(dest, &one)?;
    let side = sidecar::path_for(dest);
    if side.exists() {
        fs_err::rename(&side, sidecar::path_for(&one))?;
    }
    Ok(())
}
