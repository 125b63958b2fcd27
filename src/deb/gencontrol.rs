//! The binary `DEBIAN/control`, assembled like `dh_gencontrol`/dpkg-gencontrol: fields taken from
//! the source and binary paragraphs, variables substituted, relations simplified (`simplify`),
//! empty fields dropped, dpkg's order.

use super::deb822::Paragraph;
use super::simplify::{self, Package, Refusal};
use super::substvars::Substvars;

/// Relationship fields, in dpkg's output order (which is also the order dpkg-gencontrol
/// simplifies them in, `field_list_pkg_dep`).
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
    /// `all`, or the host's architecture.
    pub(crate) arch: &'a str,
    /// The host's architecture, for `[arch]` restrictions in relations.
    pub(crate) host_arch: &'a str,
    /// The active build profiles, for `<profile>` restrictions in relations.
    pub(crate) profiles: &'a [String],
    pub(crate) installed_size: u64,
}

/// Renders the control file; unknown `${var}`s are added to `unknown`, what dpkg-gencontrol
/// would warn about to `warnings`. Refuses relation fields dpkg-gencontrol refuses (or dfab
/// cannot evaluate).
pub(crate) fn generate(
    source: &Paragraph,
    binary: &Paragraph,
    resolved: &Resolved<'_>,
    substvars: &Substvars,
    unknown: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<String, Refusal> {
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
    let relations: Vec<(&str, String)> = RELATION_FIELDS
        .iter()
        .filter_map(|&name| Some((name, sub(binary.get(name)?))))
        .collect();
    let pkg = Package {
        name: &package,
        version: resolved.version,
        arch: resolved.arch,
        host_arch: resolved.host_arch,
        multi_arch: binary.get("Multi-Arch"),
        profiles: resolved.profiles,
    };
    let relations: Vec<(&str, &str)> = relations.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let simplified = simplify::fields(&pkg, &relations)?;
    warnings.extend(
        simplified
            .warnings
            .into_iter()
            .map(|w| format!("{package}: {w}")),
    );
    fields.extend(simplified.fields);
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
    Ok(out)
}

/// `XB-Foo` and `XBS-Foo` go to the binary package as `Foo`.
fn user_field_for_binary(name: &str) -> Option<&str> {
    let (prefix, rest) = name.split_once('-')?;
    let flags = prefix.strip_prefix(['X', 'x'])?;
    (flags.contains(['B', 'b']) && flags.chars().all(|c| "BbSsCc".contains(c))).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::super::deb822;
    use super::*;
    use std::path::Path;

    fn resolved(arch: &str) -> Resolved<'_> {
        Resolved {
            version: "1.0-1",
            arch,
            host_arch: "amd64",
            profiles: &[],
            installed_size: 12,
        }
    }

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
        let out = generate(
            &ps[0],
            &ps[1],
            &resolved("all"),
            &s,
            &mut unknown,
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(
            out,
            "Package: app\nSource: src\nVersion: 1.0-1\nArchitecture: all\nMaintainer: M <m@x>\nInstalled-Size: 12\nDepends: debconf (>= 0.5) | debconf-2.0, nginx\nSection: web\nPriority: optional\nDescription: App\n Long.\nCustom: 1\n"
        );
        assert_eq!(unknown, ["nothing"]);
    }

    // Regression: dfab's own control (`Depends: ${shlibs:Depends}, ${misc:Depends}, liblxc1,
    // openssh-client`) listed liblxc1 twice, as shlibs gave it and as written; dpkg-gencontrol
    // keeps only the versioned one.
    #[test]
    fn relations_are_simplified_as_dpkg_gencontrol_does() {
        let ps = deb822::parse(
            Path::new("control"),
            "Source: dfab\n\nPackage: dfab\nArchitecture: any\nDepends: ${shlibs:Depends}, ${misc:Depends}, liblxc1, openssh-client\nRecommends: liblxc1, lxc\nBreaks: old (<< 2), old (<< 1)\nDescription: x\n",
        )
        .unwrap();
        let mut s = Substvars::default();
        s.add("shlibs:Depends", "libc6 (>= 2.34), liblxc1 (>= 1:5.0.0)");
        s.add("misc:Depends", "");
        let out = generate(
            &ps[0],
            &ps[1],
            &resolved("amd64"),
            &s,
            &mut Vec::new(),
            &mut Vec::new(),
        )
        .unwrap();
        assert!(
            out.contains(
                "\nDepends: libc6 (>= 2.34), liblxc1 (>= 1:5.0.0), openssh-client\n\
                 Recommends: lxc\nBreaks: old (<< 2)\n"
            ),
            "{out}"
        );
    }
}
