//! The JSON a dynamic inventory prints for `--list` (Ansible's contract, as
//! `ansible-inventory --list` prints it): groups with `hosts`, `children` and `vars`, and
//! `_meta.hostvars`.

use super::{Group, Inventory, Var};

/// Read `--list` JSON; the error says what is wrong in a few words.
pub fn parse(text: &str) -> Result<Inventory, String> {
    let top: Var = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let Var::Object(top) = top else {
        return Err("expected a JSON object of groups".into());
    };
    let mut inv = Inventory::default();
    for (name, g) in &top {
        if name == "_meta" {
            let hv = g.get("hostvars").and_then(Var::as_object);
            for (h, vars) in hv.into_iter().flatten() {
                let vars = vars
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                inv.hostvars.insert(h.clone(), vars);
            }
            continue;
        }
        let group = inv.group(name);
        match g {
            // The old form: a group as a bare list of hosts.
            Var::Array(hosts) => {
                group.hosts = strings(hosts);
            }
            Var::Object(o) => {
                *group = Group {
                    hosts: o
                        .get("hosts")
                        .and_then(Var::as_array)
                        .map(|a| strings(a))
                        .unwrap_or_default(),
                    children: o
                        .get("children")
                        .and_then(Var::as_array)
                        .map(|a| strings(a))
                        .unwrap_or_default(),
                    vars: o
                        .get("vars")
                        .and_then(Var::as_object)
                        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                        .unwrap_or_default(),
                };
            }
            _ => return Err(format!("group `{name}` is neither an object nor a list")),
        }
    }
    let hosts: Vec<String> = inv.groups.values().flat_map(|g| g.hosts.clone()).collect();
    for h in hosts {
        inv.hostvars.entry(h).or_default();
    }
    Ok(inv)
}

fn strings(a: &[Var]) -> Vec<String> {
    a.iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_children_and_hostvars() {
        let inv = super::parse(
            r#"{"_meta": {"hostvars": {"a": {"ansible_port": 2222}}},
                "all": {"children": ["ungrouped", "web"]},
                "web": {"hosts": ["a", "b"], "vars": {"x": "1"}}}"#,
        )
        .unwrap();
        assert_eq!(inv.members("all"), ["a", "b"]);
        assert_eq!(inv.members("web"), ["a", "b"]);
        assert_eq!(inv.vars_of("a")["ansible_port"], 2222);
        assert_eq!(inv.vars_of("b")["x"], "1");
        assert!(super::parse("[1]").is_err());
    }
}
