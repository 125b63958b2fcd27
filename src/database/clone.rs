//! `db_clone`: the source env's database streamed from its host through dfab to this env's host,
//! then restored and swapped in as `database.push` does.

use std::path::{Path, PathBuf};

use crate::environments::{Env, Project};
use crate::error::Result;
use crate::exec::Connector;
use crate::report::Reporter;
use crate::settings::Roles;
use crate::transport::cmd::Cmd;
use crate::transport::Transport;

use super::push::{Counts, Payload, Push};
use super::{dump, quiet, stream, DbError, DbTarget};

/// Where the copy comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Dump the source env's database now (`keep`: also into `dumps/<src>.dump`).
    Live {
        env: Box<Env>,
        db: DbTarget,
        keep: Option<PathBuf>,
    },
    /// `cached=yes`: the last local dump of the source.
    Cached(PathBuf),
}

/// The source env's database: the first host of its `db` role, else its first host.
pub fn source_target(project: &Project, name: &str) -> Result<(Env, DbTarget)> {
    let env = project.activate(name)?;
    if let Some(container) = env.str("lxc") {
        // An LXC source: its container, started (or cloned) when the clone runs.
        let db = DbTarget::from_env(&env, Some(container))?;
        return Ok((env, db));
    }
    let role = Roles::from_env(&env)
        .get("db")
        .and_then(|h| h.first())
        .cloned();
    let host = role.or_else(|| env.str_list("hosts").into_iter().next());
    let db = DbTarget::from_env(&env, host.as_deref())?;
    Ok((env, db))
}

/// Carry out the clone into `target` (this env's database host); local paths are shown from
/// `base`, the project directory.
pub fn run(
    source: &Source,
    push: &Push,
    target: &mut dyn Transport,
    connector: &dyn Connector,
    base: &Path,
    rep: &dyn Reporter,
) -> Result<()> {
    let payload = match source {
        Source::Cached(file) => return super::push_file(push, file, base, target, rep),
        Source::Live {
            env,
            db,
            keep: Some(file),
        } => {
            let mut src = connector.connect_env(env, &db.host, rep)?;
            let shown = crate::fsutil::shown(file, base);
            rep.info(&match dump::run(src.as_mut(), db, file, base, rep)? {
                Some(d) => format!(
                    "[{}] dumped `{}` into {shown}: {}",
                    src.host(),
                    db.name,
                    d.contents_and_rate()
                ),
                None => format!("[{}] would dump `{}` into {shown}", src.host(), db.name),
            });
            return super::push_file(push, file, base, target, rep);
        }
        Source::Live {
            env,
            db,
            keep: None,
        } => {
            let mut src = connector.connect_env(env, &db.host, rep)?;
            let started = std::time::Instant::now();
            // Source stdout -> pipe -> target stdin: nothing lands on this machine.
            let (mut reader, writer) = stream::pipe();
            let (dumped, sent) = std::thread::scope(|s| {
                let dumping = s.spawn(move || {
                    let mut w = stream::Hashing::new(writer);
                    let r = dump::stream_into(src.as_mut(), db, &mut w, rep);
                    let (sha, n) = (w.hex(), w.bytes);
                    drop(w);
                    r.map(|(_version, t)| (t, sha, n))
                });
                let sent = push.upload(target, &mut reader, rep);
                drop(reader);
                (dumping.join().expect("dump thread"), sent)
            });
            let (tables, sha256, size) = match dumped {
                Ok(d) => d,
                Err(e) => {
                    quiet::tidy(target, &push.remove_cmd(), rep);
                    return Err(e);
                }
            };
            let sent = sent?;
            let from = format!("`{}` from {} ({})", db.name, db.host, db.env);
            if target.recording() {
                rep.info(&format!("[{}] would stream {from}", target.host()));
            } else if sent.sha256 != sha256 {
                return Err(DbError::DumpChanged {
                    host: target.host().to_string(),
                    dumped: sha256,
                    sent: sent.sha256,
                }
                .into());
            } else {
                // The dump and the upload are one stream: it ended when both had.
                rep.info(&format!(
                    "[{}] streamed {from}: {}",
                    target.host(),
                    stream::rate(size, started.elapsed().as_secs_f64())
                ));
            }
            Payload {
                size,
                counts: Counts::Known(tables),
            }
        }
    };
    quiet::run(target, &push.verify_remote_cmd(), rep)?;
    push.restore_and_swap(target, &payload, rep)
}

/// `dump::verify_command`, on the host's copy.
impl Push {
    /// `pg_restore --list` of the host's copy.
    #[must_use]
    pub fn verify_remote_cmd(&self) -> Cmd {
        self.db.wrap(Cmd::shell(format!(
            "pg_restore --list {} >/dev/null",
            crate::transport::cmd::quote(&self.remote)
        )))
    }
}
