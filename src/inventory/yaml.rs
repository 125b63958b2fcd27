//! Ansible's YAML inventory format: groups (`all` at the top) with `hosts` (a map of host to
//! its variables), `children` (a map of group to group) and `vars`.

use std::collections::BTreeMap;

use super::{Inventory, Var};

/// Read a YAML inventory; the error says what is wrong.
pub fn parse(text: &str) -> Result<Inventory, String> {
    let doc: serde_norway::Value =
        serde_norway::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let json: Var = serde_json::to_value(&doc).map_err(|e| e.to_string())?;
    let Var::Object(top) = json else {
        return Err("expected a mapping of groups (`all:` at the top)".into());
    };
    if top.contains_key("plugin") {
        return Err("it names an inventory plugin (a dynamic inventory)".into());
    }
    let mut inv = Inventory::default();
    for (name, g) in &top {
        group(&mut inv, name, g)?;
    }
    Ok(inv)
}

fn group(inv: &mut Inventory, name: &str, g: &Var) -> Result<(), String> {
    inv.group(name);
    if g.is_null() {
        return Ok(());
    }
    let Var::Object(g) = g else {
        return Err(format!("group `{name}` is not a mapping"));
    };
    for key in g.keys() {
        if !["hosts", "children", "vars"].contains(&key.as_str()) {
            return Err(format!(
                "group `{name}` has `{key}`: a group has `hosts`, `children` and `vars`"
            ));
        }
    }
    if let Some(hosts) = g.get("hosts").filter(|h| !h.is_null()) {
        let Var::Object(hosts) = hosts else {
            return Err(format!("the hosts of `{name}` are not a mapping"));
        };
        for (h, vars) in hosts {
            let vars: BTreeMap<String, Var> = vars
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            inv.add_host(name, h, vars);
        }
    }
    if let Some(vars) = g.get("vars").and_then(Var::as_object) {
        let vars: Vec<(String, Var)> = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        inv.group(name).vars.extend(vars);
    }
    if let Some(children) = g.get("children").filter(|c| !c.is_null()) {
        let Var::Object(children) = children else {
            return Err(format!("the children of `{name}` are not a mapping"));
        };
        for (c, cg) in children {
            let parent = inv.group(name);
            if !parent.children.contains(c) {
                parent.children.push(c.clone());
            }
            group(inv, c, cg)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn ansibles_yaml_format() {
        let inv = super::parse(
            "all:\n  hosts:\n    mail.example.com:\n  children:\n    web:\n      hosts:\n        \
             a.example.com:\n          ansible_port: 2222\n      vars:\n        ansible_user: deploy\n",
        )
        .unwrap();
        assert_eq!(inv.members("all"), ["mail.example.com", "a.example.com"]);
        assert_eq!(inv.members("web"), ["a.example.com"]);
        let v = inv.vars_of("a.example.com");
        assert_eq!(
            (v["ansible_port"].clone(), v["ansible_user"].clone()),
            (2222.into(), "deploy".into())
        );
        assert!(super::parse("plugin: aws_ec2\n")
            .unwrap_err()
            .contains("plugin"));
    }
}
