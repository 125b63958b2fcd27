//! `DbTarget`: the database an env names (`db_*` keys, `dba`) and how its tools connect to it.

use crate::environments::Env;
use crate::error::Result;
use crate::secret::Secret;
use crate::transport::cmd::{quote, Cmd};

/// Where an env's database lives and who may touch it. An empty string in the env means unset,
/// as in dragonfab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbTarget {
    /// The env it came from.
    pub env: String,
    /// The host the tools run on: the first of the `db` role, else the first host.
    pub host: String,
    /// `db_user`: the owner role of the database (and the role a dump connects as over TCP).
    pub user: Option<String>,
    /// `dba`: the admin role (default `postgres`); over the local socket, also the system user
    /// the tools run as (peer authentication).
    pub dba: String,
    pub password: Option<Secret>,
    /// `db_host`/`db_port` as seen from `host`; unset: the local socket and the default port.
    pub db_host: Option<String>,
    pub db_port: Option<String>,
    pub name: String,
}

/// Whether a command acts as the owner (dump, counts) or as the admin (create, restore, swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
}

fn setting(env: &Env, key: &str) -> Option<String> {
    env.vars
        .get(key)
        .map(crate::environments::value::Value::to_plain_string)
        .filter(|s| !s.is_empty())
}

impl DbTarget {
    /// Read the env's database settings; `host` is the host the call resolved (db role first).
    pub fn from_env(env: &Env, host: Option<&str>) -> Result<Self> {
        let name = setting(env, "db_name").ok_or_else(|| {
            env.key_error(
                "db_name",
                format!("environment `{}` names no database", env.name),
                Some(format!(
                    "set `db_name` in the env or `__all__`, e.g. {}",
                    env.example("db_name", "'myapp'")
                )),
            )
        })?;
        let host = host.map(String::from).ok_or_else(|| {
            env.key_error(
                "hosts",
                format!(
                    "environment `{}` has no host to reach its database",
                    env.name
                ),
                Some("set `hosts` (or a `db` role in `roledefs`)".into()),
            )
        })?;
        Ok(DbTarget {
            env: env.name.clone(),
            host,
            user: setting(env, "db_user"),
            dba: setting(env, "dba").unwrap_or_else(|| "postgres".into()),
            password: setting(env, "db_password").map(Secret::new),
            db_host: setting(env, "db_host"),
            db_port: setting(env, "db_port"),
            name,
        })
    }

    /// True over TCP (`db_host` set), where the password matters; else the local socket.
    #[must_use]
    pub fn tcp(&self) -> bool {
        self.db_host.is_some()
    }

    /// The role a command logs in as.
    #[must_use]
    pub fn role(&self, role: Role) -> &str {
        match (role, self.tcp()) {
            (Role::Owner, true) => self.user.as_deref().unwrap_or(&self.dba),
            _ => &self.dba,
        }
    }

    /// The system user the tools run as: the dba over the socket (peer authentication), root
    /// over TCP (so it can read the root-owned dump file).
    #[must_use]
    pub fn os_user(&self) -> Option<String> {
        (!self.tcp()).then(|| self.dba.clone())
    }

    /// Connection flags, shell-quoted: `-h`, `-p`, `-U`.
    #[must_use]
    pub fn flags(&self, role: Role) -> Vec<String> {
        let mut f = Vec::new();
        if let Some(h) = &self.db_host {
            f.push("-h".into());
            f.push(h.clone());
        }
        if let Some(p) = &self.db_port {
            f.push("-p".into());
            f.push(p.clone());
        }
        f.push("-U".into());
        f.push(self.role(role).to_string());
        f
    }

    /// `flags` as one shell-quoted string, for scripts.
    #[must_use]
    pub fn flags_sh(&self, role: Role) -> String {
        self.flags(role)
            .iter()
            .map(|a| quote(a))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Wrap a command so it runs as the right system user with the password in its environment
    /// (fed on stdin by [`Cmd::secret_env`], never on a command line).
    #[must_use]
    pub fn wrap(&self, cmd: Cmd) -> Cmd {
        let os_user = self.os_user();
        // As `dba` over the socket, start in `/`: the login user's directory (root's /root) is
        // not `dba`'s to enter, and every pg tool said so on stderr.
        let cmd = match (&os_user, &cmd.cwd) {
            (Some(_), None) => cmd.cwd("/"),
            _ => cmd,
        };
        let mut cmd = cmd
            .env("PGCONNECT_TIMEOUT", "10")
            .env("PGOPTIONS", super::session::PGOPTIONS)
            .sudo(os_user);
        if let Some(pw) = &self.password {
            cmd = cmd.secret_env("PGPASSWORD", pw.clone());
        }
        cmd
    }

    /// A pg tool (`psql`, `pg_restore`, `createdb`, …) with the connection flags.
    #[must_use]
    pub fn tool<I, S>(&self, program: &str, role: Role, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.wrap(Cmd::new(program, self.flags(role)).args(args))
    }

    /// Whether two targets' settings name one database in the same words (host, server and
    /// name): refused before anything runs. Settings that differ may still reach one database
    /// (`10.0.3.5` and `root@10.0.3.5:22`); only the server can say (see
    /// [`super::identity`]).
    #[must_use]
    pub fn same_settings(&self, other: &DbTarget) -> bool {
        let host = |h: &str| h.rsplit_once('@').map_or(h, |(_, x)| x).to_string();
        host(&self.host) == host(&other.host)
            && self.db_host == other.db_host
            && self.db_port == other.db_port
            && self.name == other.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(db_host: Option<&str>) -> DbTarget {
        DbTarget {
            env: "staging".into(),
            host: "root@10.0.3.202".into(),
            user: Some("app".into()),
            dba: "postgres".into(),
            password: None,
            db_host: db_host.map(String::from),
            db_port: None,
            name: "app".into(),
        }
    }

    // Regression: every pg tool run as `postgres` from root's login printed
    // `could not change directory to "/root": Permission denied` on stderr.
    #[test]
    fn socket_tools_start_in_the_root_directory() {
        let local = target(None).wrap(Cmd::new("psql", ["-l"]));
        assert_eq!(
            local.to_shell(),
            "sudo -n -H -u postgres -- sh -c 'cd / && env PGCONNECT_TIMEOUT=10 \
             PGOPTIONS='\\''-c idle_in_transaction_session_timeout=0 -c idle_session_timeout=0 \
             -c statement_timeout=0 -c lock_timeout=60s'\\'' psql -l'"
        );
        let own_dir = target(None).wrap(Cmd::new("psql", ["-l"]).cwd("/srv"));
        assert!(own_dir.to_shell().contains("cd /srv && "), "{own_dir}");
        let tcp = target(Some("db.example")).wrap(Cmd::new("psql", ["-l"]));
        assert!(!tcp.to_shell().contains("cd /"), "{tcp}");
    }
}
