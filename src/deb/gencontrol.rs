//! The binary `DEBIAN/control`, assembled like `dh_gencontrol`/dpkg-gencontrol: fields taken from
//! the source and binary paragraphs, variables substituted, empty relations dropped, dpkg's order.

use super::deb822::Paragraph;
use super::substvars::Substvars;

/// Relationship fields, in dpkg's output order.
pub(crate) const RELATION_FIELDS: [&str; 11] = [
    "Pre-Depends",
    "Depends",
    "Recommends",
    "Suggests",
    "Enhances",
    "Conflicts",
    "Breaks",
    "Replaces",
    "Provides",
    "Built-Using",
    "Static-Built-Using",
];

/// What is known about the binary package besides its paragraphs.
#[derive(Debug, Clone)]
pub(crate) struct Resolved<'a> {
    pub(crate) version: &'a str,
    pub(crate) arch: &'a str,
    pub(crate) installed_size: u64,
}

/// Renders the control file; unknown `${var}`s are added to `unknown`.
#[must_use]
pub(crate) fn generate(
    source: &Paragraph,
    binary: &Paragraph,
    resolved: &Resolved<'_>,
    substvars: &Substvars,
    unknown: &mut Vec<String>,
) -> String {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut sub = |v: &str| substvars.substitute(v, unknown);
    let package = binary.get("Package").unwrap_or_default().to_owned();
    fields.push(("Package".into(), package.clone()));
    if let Some(src) = source.get("Source") {
        if src != package {
            fields.push(("Source".into(), src.to_owned()));
        }
    }
    fields.push(("Version".into(), resolved.version.to_owned()));
    fields.push(("Architecture".into(), resolved.arch.to_owned()));
    for name in ["Essential", "Protected"] {
        if let Some(v) = binary.get(name) {
            fields.push((name.into(), sub(v)));
        }
    }
    if let Some(v) = source.get("Maintainer") {
        fields.push(("Maintainer".into(), sub(v)));
    }
    fields.push(("Installed-Size".into(), resolved.installed_size.to_string()));
    for name in RELATION_FIELDS {
        if let Some(v) = binary.get(name) {
            let v = normalise_relations(&sub(v));
            if !v.is_empty() {
                fields.push((name.into(), v));
            }
        }
    }
    for name in ["Section", "Priority", "Multi-Arch", "Homepage"] {
        let inherited = matches!(name, "Section" | "Priority" | "Homepage");
        let value = binary
            .get(name)
            .or_else(|| inherited.then(|| source.get(name)).flatten());
        if let Some(v) = value {
            fields.push((name.into(), sub(v)));
        }
    }
    if let Some(v) = binary.get("Description") {
        fields.push(("Description".into(), sub(v)));
    }
    for f in &binary.fields {
        if let Some(name) = user_field_for_binary(&f.name) {
            fields.push((name.to_owned(), sub(&f.value)));
        }
    }
    let mut out = String::new();
    // dpkg-gencontrol drops a field left empty by substitution.
    for (name, value) in fields.into_iter().filter(|(_, v)| !v.trim().is_empty()) {
        out.push_str(&name);
        out.push_str(": ");
        out.push_str(&value);
        out.push('\n');
    }
    out
}

/// `XB-Foo` and `XBS-Foo` go to the binary package as `Foo`.
fn user_field_for_binary(name: &str) -> Option<&str> {
    let (prefix, rest) = name.split_once('-')?;
    let flags = prefix.strip_prefix(['X', 'x'])?;
    (flags.contains(['B', 'b']) && flags.chars().all(|c| "BbSsCc".contains(c))).then_some(rest)
}

/// Joins a relation field onto one line, dropping empty and repeated entries.
#[must_use]
pub(crate) fn normalise_relations(value: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    for item in value.split(',') {
        let item = item.split_whitespace().collect::<Vec<_>>().join(" ");
        if !item.is_empty() && !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen.join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::deb822;
    use super::*;
    use std::path::Path;

    #[test]
    fn fields_in_dpkg_order_with_substitution() {
        let ps = deb822::parse(
            Path::new("control"),
            "Source: src\nMaintainer: M <m@x>\nSection: web\nPriority: optional\n\nPackage: app\nArchitecture: all\nDepends: ${misc:Depends},\n ${shlibs:Depends}, nginx\nSuggests: ${nothing}\nDescription: App\n Long.\nXB-Custom: 1\n",
        )
        .unwrap();
        let mut s = Substvars::default();
        s.add("misc:Depends", "debconf (>= 0.5) | debconf-2.0");
        s.add("shlibs:Depends", "");
        let mut unknown = Vec::new();
        let r = Resolved {
            version: "1.0-1",
            arch: "all",
            installed_size: 12,
        };
        let out = generate(&ps[0], &ps[1], &r, &s, &mut unknown);
        assert_eq!(
            out,
            "Package: app\nSource: src\nVersion: 1.0-1\nArchitecture: all\nMaintainer: M <m@x>\nInstalled-Size: 12\nDepends: debconf (>= 0.5) | debconf-2.0, nginx\nSection: web\nPriority: optional\nDescription: App\n Long.\nCustom: 1\n"
        );
        assert_eq!(unknown, ["nothing"]);
    }
}
