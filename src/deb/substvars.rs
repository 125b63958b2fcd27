//! `${name}` substitution variables: dpkg-gencontrol's and debhelper's, as dfab fills them.

use std::collections::BTreeMap;

/// Substitution variables for one binary package.
#[derive(Debug, Clone, Default)]
pub(crate) struct Substvars {
    vars: BTreeMap<String, String>,
}

impl Substvars {
    /// Sets `name`; a relation variable (`*:Depends`, ...) already set is extended with `, `.
    pub(crate) fn add(&mut self, name: &str, value: &str) {
        let value = value.trim();
        match self.vars.get_mut(name) {
            Some(old) if !old.is_empty() && !value.is_empty() && is_relation_var(name) => {
                old.push_str(", ");
                old.push_str(value);
            }
            Some(_) if value.is_empty() => {}
            _ => {
                self.vars.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    /// Replaces every `${name}` in `text`; unknown variables become empty and are reported in
    /// `unknown`, as dpkg-gencontrol warns about them.
    pub(crate) fn substitute(&self, text: &str, unknown: &mut Vec<String>) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            match (name, self.vars.get(name)) {
                (_, Some(v)) => out.push_str(v),
                ("Newline", None) => out.push('\n'),
                ("Space", None) => out.push(' '),
                ("Tab", None) => out.push('\t'),
                ("", None) => out.push('$'),
                _ => {
                    if !unknown.iter().any(|u| u == name) {
                        unknown.push(name.to_owned());
                    }
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

fn is_relation_var(name: &str) -> bool {
    let field = name.rsplit(':').next().unwrap_or(name);
    super::gencontrol::RELATION_FIELDS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_reports_unknown() {
        let mut s = Substvars::default();
        s.add("misc:Depends", "debconf");
        s.add("misc:Depends", "python3-venv");
        s.add("shlibs:Depends", "");
        let mut unknown = Vec::new();
        let out = s.substitute(
            "${misc:Depends}, ${shlibs:Depends}, ${foo:Bar}, x",
            &mut unknown,
        );
        assert_eq!(out, "debconf, python3-venv, , , x");
        assert_eq!(unknown, ["foo:Bar"]);
    }
}
