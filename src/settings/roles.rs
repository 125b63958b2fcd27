//! `Roles`: the env's `roledefs` (role name to hosts) and the one resolver of role names to hosts.

use crate::environments::value::Value;
use crate::environments::Env;

/// `roledefs`, in file order (a role written twice keeps its first place and its last hosts, as
/// a Python dict does).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roles {
    defs: Vec<(String, Vec<String>)>,
}

/// A role name `roledefs` does not define.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role `{role}` is not in `roledefs`")]
pub struct UnknownRole {
    /// The name asked for.
    pub role: String,
    /// The roles `roledefs` does define, for the hint.
    pub known: Vec<String>,
}

impl UnknownRole {
    /// "did you mean `web`?", or the list of known roles.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        crate::suggestion::hint(&self.role, self.known.iter().map(String::as_str), "roles")
    }
}

impl Roles {
    /// Read `roledefs` (its shape was checked when the env was activated).
    #[must_use]
    pub fn from_env(env: &Env) -> Roles {
        let mut defs: Vec<(String, Vec<String>)> = Vec::new();
        let entries = env
            .vars
            .get("roledefs")
            .and_then(Value::as_dict)
            .unwrap_or_default();
        for (k, v) in entries {
            let Some(name) = k.as_str() else { continue };
            let hosts: Vec<String> = v
                .as_seq()
                .unwrap_or_default()
                .iter()
                .filter_map(|h| h.as_str().map(String::from))
                .collect();
            match defs.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = hosts,
                None => defs.push((name.to_string(), hosts)),
            }
        }
        Roles { defs }
    }

    /// The defined role names, in file order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.defs.iter().map(|(n, _)| n.as_str())
    }

    /// The hosts of one role, if it is defined.
    #[must_use]
    pub fn get(&self, role: &str) -> Option<&[String]> {
        self.defs
            .iter()
            .find(|(n, _)| n == role)
            .map(|(_, h)| h.as_slice())
    }

    /// The hosts of `roles`, in order, each once; the first role `roledefs` lacks is an error.
    pub fn hosts<S: AsRef<str>>(&self, roles: &[S]) -> Result<Vec<String>, UnknownRole> {
        let mut out = Vec::new();
        for role in roles {
            let role = role.as_ref();
            let hosts = self.get(role).ok_or_else(|| UnknownRole {
                role: role.to_string(),
                known: self.names().map(String::from).collect(),
            })?;
            push_new(&mut out, hosts);
        }
        Ok(out)
    }

    /// The hosts of those of `roles` that are defined, in order, each once (a built-in's default
    /// roles: an env without them runs the task on every host).
    #[must_use]
    pub fn hosts_of_defined<S: AsRef<str>>(&self, roles: &[S]) -> Vec<String> {
        let mut out = Vec::new();
        for hosts in roles.iter().filter_map(|r| self.get(r.as_ref())) {
            push_new(&mut out, hosts);
        }
        out
    }
}

fn push_new(out: &mut Vec<String>, hosts: &[String]) {
    for h in hosts {
        if !out.contains(h) {
            out.push(h.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Roles, UnknownRole};
    use crate::settings::testing::env;

    fn roles() -> Roles {
        Roles::from_env(&env(
            "'roledefs': {'web': ['w1', 'w2'], 'db': ['d1', 'w1'], 'worker': [], 'web': ['w2', 'w3']},",
        ))
    }

    #[test]
    fn hosts_of_roles_in_order_each_once() {
        let r = roles();
        assert_eq!(r.names().collect::<Vec<_>>(), ["web", "db", "worker"]);
        assert_eq!(r.get("web").unwrap(), ["w2", "w3"], "the last `web` wins");
        assert_eq!(r.hosts(&["db", "web"]).unwrap(), ["d1", "w1", "w2", "w3"]);
        assert_eq!(r.hosts(&["worker"]).unwrap(), Vec::<String>::new());
        assert_eq!(r.hosts::<&str>(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(r.hosts_of_defined(&["nope", "db"]), ["d1", "w1"]);
    }

    #[test]
    fn an_unknown_role_suggests_the_nearest_or_lists_them() {
        let e = roles().hosts(&["web", "wbe"]).unwrap_err();
        assert_eq!(e.role, "wbe");
        assert_eq!(e.to_string(), "role `wbe` is not in `roledefs`");
        assert_eq!(e.hint().as_deref(), Some("did you mean `web`?"));
        let e = roles().hosts(&["frontend"]).unwrap_err();
        assert_eq!(e.hint().as_deref(), Some("known roles: web, db, worker"));
        let none = Roles::from_env(&env("'hosts': ['h'],"));
        assert_eq!(
            none.hosts(&["db"]),
            Err(UnknownRole {
                role: "db".into(),
                known: Vec::new()
            })
        );
        assert_eq!(none.hosts(&["db"]).unwrap_err().hint(), None);
        assert!(none.hosts_of_defined(&["db"]).is_empty());
    }
}
