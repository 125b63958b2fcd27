//! Which database an env's settings reach, as its server says: the cluster's
//! `system_identifier`, port, data directory and start time, and the database's name. Two envs whose texts
//! differ (`10.0.3.5` and `root@10.0.3.5:22`) can reach one database; only the server knows.

use std::fmt;

use crate::environments::{Env, Project};
use crate::error::Result;
use crate::exec::record::read;
use crate::exec::Connector;
use crate::report::Reporter;
use crate::settings::Protection;
use crate::transport::Transport;

use super::session::PSQL;
use super::target::Role;
use super::{quiet, DbError, DbTarget};

/// One database as its server names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `pg_control_system().system_identifier`: one per cluster (and its physical copies).
    pub system_identifier: String,
    /// The cluster's `port`.
    pub port: String,
    /// The cluster's `data_directory` (empty when the role may not read it).
    pub data_directory: String,
    /// `pg_postmaster_start_time()`, to the microsecond: clusters made from one image share
    /// their identifier, port and directory, but not the moment they started.
    pub started: String,
    /// The database's name.
    pub database: String,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "database `{}` of cluster {} (port {}, started {}",
            self.database, self.system_identifier, self.port, self.started
        )?;
        if !self.data_directory.is_empty() {
            write!(f, ", {}", self.data_directory)?;
        }
        write!(f, ")")
    }
}

impl Identity {
    /// One database: the same cluster (identifier, port and start; the data directory when
    /// both could read it) and the same name.
    #[must_use]
    pub fn same(&self, other: &Identity) -> bool {
        self.system_identifier == other.system_identifier
            && self.port == other.port
            && self.started == other.started
            && (self.data_directory.is_empty()
                || other.data_directory.is_empty()
                || self.data_directory == other.data_directory)
            && self.database == other.database
    }
}

/// The query: `identifier|port|data_directory|start`.
const QUERY: &str =
    "SELECT 'dfab-identity' || '|' || (SELECT system_identifier FROM pg_control_system()) \
     || '|' || current_setting('port') || '|' || coalesce((SELECT setting FROM pg_settings \
     WHERE name = 'data_directory'), '') || '|' || to_char(pg_postmaster_start_time() \
     AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"');\n";

/// Ask the server of `db` who it is. `role`: the admin connects to the `postgres` database (the
/// target of a push may not exist yet), the owner to the database itself. Under `-n`, `None`.
pub fn read_identity(
    t: &mut dyn Transport,
    db: &DbTarget,
    role: Role,
    rep: &dyn Reporter,
) -> Result<Option<Identity>> {
    let database = match role {
        Role::Admin => "postgres",
        Role::Owner => db.name.as_str(),
    };
    let mut args: Vec<&str> = PSQL.to_vec();
    args.extend(["-d", database]);
    let cmd = db.tool("psql", role, args).stdin(QUERY);
    let Some(out) = read(t, rep, "read", cmd.clone())?.known() else {
        return Ok(None);
    };
    let out = quiet::checked(t.host(), &cmd, out)?;
    let text = out.stdout_str();
    let fields: Vec<&str> = text
        .lines()
        .find_map(|l| l.strip_prefix("dfab-identity|"))
        .map(|l| l.split('|').collect())
        .unwrap_or_default();
    let [sysid, port, dir, started] = fields[..] else {
        return Err(crate::error::Error::Other {
            message: format!(
                "[{}] the server's identity could not be read from: {}",
                t.host(),
                text.trim()
            ),
            hint: Some("shell output in the login? run with -v".into()),
        });
    };
    Ok(Some(Identity {
        system_identifier: sysid.to_string(),
        port: port.to_string(),
        data_directory: dir.to_string(),
        started: started.to_string(),
        database: db.name.clone(),
    }))
}

/// Refuse when `target` (the database `task` writes into, of the run's env) is the database of
/// another env that is protected. Each such env's server is asked with that env's own settings;
/// one that cannot be asked is refused too ([`DbError::ProtectedUnverified`]: the write could
/// reach its database unseen), unless `unverified` (`<task>:unverified=yes`), which makes it a
/// warning. `known`: envs already asked (the clone's source). Under `-n` (`target` unknown) the
/// same questions are asked and nothing is compared.
#[allow(clippy::too_many_arguments)] // the run's context, spelled out
pub fn refuse_protected(
    task: &str,
    project: &Project,
    run_env: &Env,
    target: Option<&Identity>,
    known: &[(String, Option<Identity>)],
    connector: &dyn Connector,
    rep: &dyn Reporter,
    unverified: bool,
) -> Result<()> {
    for name in project.env_names() {
        if name == run_env.name {
            continue;
        }
        let Ok(env) = project.activate(name) else {
            continue;
        };
        if !Protection::of(&env).is_protected() || env.str("db_name").is_none() {
            continue;
        }
        let id = match known.iter().find(|(n, _)| n == name) {
            Some((_, id)) => id.clone(),
            None => match protected_identity(project, name, connector, rep) {
                Ok(id) => id,
                Err(e) if unverified => {
                    rep.warn(&format!(
                        "{task}: could not ask the server of protected env `{name}` whether it \
                         holds this database (unverified=yes: writing anyway): {e}"
                    ));
                    continue;
                }
                Err(e) => {
                    return Err(DbError::ProtectedUnverified {
                        task: task.to_string(),
                        target_env: run_env.name.clone(),
                        protected: name.to_string(),
                        cause: crate::error::describe(&e).trim_end().to_string(),
                    }
                    .into())
                }
            },
        };
        if let Some(target) = target.filter(|t| id.is_some_and(|id| id.same(t))) {
            return Err(DbError::ProtectedTarget {
                task: task.to_string(),
                target_env: run_env.name.clone(),
                protected: name.to_string(),
                identity: target.to_string(),
            }
            .into());
        }
    }
    Ok(())
}

fn protected_identity(
    project: &Project,
    name: &str,
    connector: &dyn Connector,
    rep: &dyn Reporter,
) -> Result<Option<Identity>> {
    let (env, db) = super::clone::source_target(project, name)?;
    if env.str("lxc").is_some() {
        // An LXC env's container is dfab's own and reached by name, not aliased by an address
        // in another env's hosts; asking would start it.
        return Ok(None);
    }
    let mut t = connector.connect_env(&env, &db.host, rep)?;
    read_identity(t.as_mut(), &db, Role::Owner, rep)
}

#[cfg(test)]
mod tests {
    use super::Identity;

    fn id(sysid: &str, port: &str, dir: &str, db: &str) -> Identity {
        Identity {
            system_identifier: sysid.into(),
            port: port.into(),
            data_directory: dir.into(),
            started: "2026-12-01T10:00:00.123456Z".into(),
            database: db.into(),
        }
    }

    #[test]
    fn one_database_is_one_cluster_port_and_name() {
        let a = id("7716", "5432", "/var/lib/postgresql/15/main", "app");
        assert!(a.same(&id("7716", "5432", "", "app")));
        assert!(!a.same(&id("7716", "5433", "", "app")));
        assert!(!a.same(&id("7717", "5432", "", "app")));
        assert!(!a.same(&id("7716", "5432", "", "other")));
        assert!(!a.same(&id("7716", "5432", "/srv/pg", "app")));
        // A clone of one image: same identifier, port and directory, started at another time.
        let clone = Identity {
            started: "2026-12-01T10:00:07.5Z".into(),
            ..a.clone()
        };
        assert!(!a.same(&clone));
        assert_eq!(
            a.to_string(),
            "database `app` of cluster 7716 (port 5432, started 2026-12-01T10:00:00.123456Z, \
             /var/lib/postgresql/15/main)"
        );
    }
}
