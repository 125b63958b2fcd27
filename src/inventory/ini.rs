//! Ansible's INI inventory format: `[group]` sections of host lines (`name key=value ...`),
//! `[group:vars]` of `key=value` lines, `[group:children]` of group names; hosts before any
//! section are `ungrouped`; `#` and `;` start comments; `web[01:03]` is a numeric range.

use std::collections::BTreeMap;

use super::{Inventory, Var};

/// Read an INI inventory; an error gives the line and what is wrong.
pub fn parse(text: &str) -> Result<Inventory, (usize, String)> {
    let mut inv = Inventory::default();
    inv.group("all");
    // (group, kind: "hosts" | "vars" | "children")
    let mut section = ("ungrouped".to_string(), "hosts");
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        if let Some(head) = l.strip_prefix('[') {
            let Some(head) = head.strip_suffix(']') else {
                return Err((line, format!("a section header without `]`: {l}")));
            };
            let (name, kind) = match head.split_once(':') {
                Some((n, "vars")) => (n, "vars"),
                Some((n, "children")) => (n, "children"),
                Some((_, k)) => {
                    return Err((
                        line,
                        format!("unknown section kind `:{k}` (`:vars` or `:children`)"),
                    ))
                }
                None => (head, "hosts"),
            };
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err((line, format!("bad group name `{name}`")));
            }
            inv.group(name);
            section = (name.to_string(), kind);
            continue;
        }
        match section.1 {
            "vars" => {
                let Some((k, v)) = l.split_once('=') else {
                    return Err((
                        line,
                        format!("expected `key=value` in [{}:vars]", section.0),
                    ));
                };
                inv.group(&section.0)
                    .vars
                    .insert(k.trim().to_string(), Var::String(unquote(v.trim())));
            }
            "children" => {
                let child = l.to_string();
                inv.group(&child);
                let g = inv.group(&section.0);
                if !g.children.contains(&child) {
                    g.children.push(child);
                }
            }
            _ => {
                let mut words = split_words(l).into_iter();
                let name = words.next().unwrap_or_default();
                let mut vars = BTreeMap::new();
                for w in words {
                    let Some((k, v)) = w.split_once('=') else {
                        return Err((
                            line,
                            format!("expected `key=value` after the host, got `{w}`"),
                        ));
                    };
                    vars.insert(k.to_string(), Var::String(unquote(v)));
                }
                // `host:port` is Ansible's shorthand for ansible_port.
                let (name, port) = match name.rsplit_once(':') {
                    Some((h, p)) if !h.contains(':') && p.parse::<u16>().is_ok() => {
                        (h.to_string(), Some(p.to_string()))
                    }
                    _ => (name, None),
                };
                if let Some(p) = port {
                    vars.entry("ansible_port".into()).or_insert(Var::String(p));
                }
                for host in expand(&name).map_err(|m| (line, m))? {
                    inv.add_host(&section.0, &host, vars.clone());
                }
            }
        }
    }
    // `all` has every group no other group has as a child.
    let tops: Vec<String> = inv
        .groups
        .keys()
        .filter(|g| g.as_str() != "all" && !inv.groups.values().any(|p| p.children.contains(g)))
        .cloned()
        .collect();
    inv.group("all").children = tops;
    Ok(inv)
}

/// Words split at blanks, a quoted part kept whole (`a="b c"`), up to a `#` that starts a word
/// (a comment, as Ansible's shlex reading has it).
fn split_words(l: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in l.chars() {
        match (quote, c) {
            (None, '#') if cur.is_empty() => break,
            (Some(q), c) if c == q => {
                quote = None;
                cur.push(c);
            }
            (None, '\'' | '"') => {
                quote = Some(c);
                cur.push(c);
            }
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A value less its surrounding quotes.
fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

/// `web[01:03].x` as `web01.x`, `web02.x`, `web03.x` (numeric ranges keep their width).
fn expand(name: &str) -> Result<Vec<String>, String> {
    let (Some(open), Some(close)) = (name.find('['), name.find(']')) else {
        return Ok(vec![name.to_string()]);
    };
    let range = &name[open + 1..close];
    let Some((a, b)) = range.split_once(':') else {
        return Err(format!(
            "bad host range `[{range}]`: expected `[first:last]`"
        ));
    };
    let (Ok(from), Ok(to)) = (a.parse::<u64>(), b.parse::<u64>()) else {
        return Err(format!(
            "only numeric host ranges are read here: `[{range}]`"
        ));
    };
    let width = a.len();
    let mut out = Vec::new();
    for n in from..=to {
        for rest in expand(&name[close + 1..])? {
            out.push(format!("{}{n:0width$}{rest}", &name[..open]));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansibles_ini_format() {
        let inv = parse(
            "mail.example.com\n\n[web]\nweb[01:02].example.com ansible_user=deploy\n\
             db.example.com:2222 # comment\n\n[db]\ndb.example.com ansible_host=10.0.0.5\n\n\
             [prod:children]\nweb\ndb\n\n[prod:vars]\nansible_user=ops\n",
        )
        .unwrap();
        assert_eq!(
            inv.members("prod"),
            ["web01.example.com", "web02.example.com", "db.example.com"]
        );
        assert_eq!(inv.members("ungrouped"), ["mail.example.com"]);
        assert_eq!(inv.members("all").len(), 4);
        let v = inv.vars_of("web01.example.com");
        assert_eq!(v["ansible_user"], "deploy", "the host's own wins");
        let v = inv.vars_of("db.example.com");
        assert_eq!(v["ansible_user"], "ops");
        assert_eq!(v["ansible_port"], "2222");
        assert_eq!(v["ansible_host"], "10.0.0.5");
        assert_eq!(inv.groups["all"].children, ["prod", "ungrouped"]);
        let e = parse("[web\nx\n").unwrap_err();
        assert_eq!(e.0, 1);
        let e = parse("[web]\nh port\n").unwrap_err();
        assert_eq!((e.0, e.1.contains("key=value")), (2, true));
    }
}
