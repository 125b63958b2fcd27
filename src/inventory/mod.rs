//! Ansible inventories as an env's hosts and roles: `inventory = 'inventory.ini'` (INI or YAML,
//! as Ansible reads them) or `inventory_command = '...'` (the JSON of any `--list`). Read with
//! Ansible's own `ansible-inventory --list` when it is installed, so dfab sees what Ansible
//! sees; without it, a static INI or YAML file is read here and a dynamic one is refused.
//! Groups become roles, `ansible_host`/`ansible_user`/`ansible_port` the host string,
//! `ansible_ssh_private_key_file` the key, and `env_group` picks the group that is the env.

pub mod apply;
pub mod ini;
pub mod json;
pub mod yaml;

pub use apply::apply;

use std::collections::BTreeMap;

/// A variable's value as Ansible gives it (strings, numbers, lists, …).
pub type Var = serde_json::Value;

/// One group: its own hosts, its child groups and its variables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub vars: BTreeMap<String, Var>,
}

/// A whole inventory, in the shape of `ansible-inventory --list`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// Group name to group, `all` and `ungrouped` included.
    pub groups: BTreeMap<String, Group>,
    /// Host name to its own variables.
    pub hostvars: BTreeMap<String, BTreeMap<String, Var>>,
}

/// The groups Ansible makes itself: every host, and the hosts of no other group.
pub const IMPLICIT: [&str; 2] = ["all", "ungrouped"];

impl Inventory {
    fn group(&mut self, name: &str) -> &mut Group {
        self.groups.entry(name.to_string()).or_default()
    }

    /// Add `host` to `group` (once), its variables merged over what it had.
    fn add_host(&mut self, group: &str, host: &str, vars: BTreeMap<String, Var>) {
        let g = self.group(group);
        if !g.hosts.iter().any(|h| h == host) {
            g.hosts.push(host.to_string());
        }
        self.hostvars
            .entry(host.to_string())
            .or_default()
            .extend(vars);
    }

    /// The hosts of `group` and of its children, in order, each once.
    #[must_use]
    pub fn members(&self, group: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        self.collect(group, &mut out, &mut seen);
        if group == "all" {
            // Every host, in whatever group (a static file's hosts are all under `all`).
            for h in self.hostvars.keys() {
                if !out.contains(h) {
                    out.push(h.clone());
                }
            }
        }
        out
    }

    fn collect(&self, group: &str, out: &mut Vec<String>, seen: &mut Vec<String>) {
        if seen.iter().any(|s| s == group) {
            return;
        }
        seen.push(group.to_string());
        let Some(g) = self.groups.get(group) else {
            return;
        };
        for h in &g.hosts {
            if !out.contains(h) {
                out.push(h.clone());
            }
        }
        for c in &g.children {
            self.collect(c, out, seen);
        }
    }

    /// The groups `host` is in, parents before children (so a child's variables win).
    fn groups_of(&self, host: &str) -> Vec<&str> {
        let mut out: Vec<(usize, &str)> = self
            .groups
            .keys()
            .filter(|g| g.as_str() != "all" && self.members(g).iter().any(|h| h == host))
            .map(|g| (self.depth(g), g.as_str()))
            .collect();
        out.sort_unstable();
        out.into_iter().map(|(_, g)| g).collect()
    }

    /// How many groups lie between `all` and `group` (its longest chain of parents).
    fn depth(&self, group: &str) -> usize {
        let mut d = 0;
        let mut level = vec![group.to_string()];
        while d < self.groups.len() {
            let parents: Vec<String> = self
                .groups
                .iter()
                .filter(|(_, g)| g.children.iter().any(|c| level.contains(c)))
                .map(|(n, _)| n.clone())
                .collect();
            if parents.is_empty() {
                break;
            }
            level = parents;
            d += 1;
        }
        d
    }

    /// A host's variables as Ansible resolves them: `all`'s, then its groups' (parents first),
    /// then its own.
    #[must_use]
    pub fn vars_of(&self, host: &str) -> BTreeMap<String, Var> {
        let mut v = BTreeMap::new();
        if let Some(all) = self.groups.get("all") {
            v.extend(all.vars.clone());
        }
        for g in self.groups_of(host) {
            v.extend(self.groups[g].vars.clone());
        }
        if let Some(own) = self.hostvars.get(host) {
            v.extend(own.clone());
        }
        v
    }
}

/// A variable as a string (Ansible's INI values are strings, YAML's may be numbers).
#[must_use]
pub fn text(v: &Var) -> Option<String> {
    match v {
        Var::String(s) => Some(s.clone()),
        Var::Number(n) => Some(n.to_string()),
        Var::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
