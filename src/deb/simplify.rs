//! dpkg-gencontrol's pass over a binary package's relationship fields (`scripts/dpkg-gencontrol.pl`
//! with `Dpkg::Deps`): restrictions evaluated, relations implied by others dropped, union fields
//! merged and sorted.
//!
//! Pre-Depends, Depends, Recommends and Suggests are "normal" fields: within one, a relation that
//! another implies is dropped (`Dpkg::Deps::AND::simplify_deps`), and so is one an earlier normal
//! field implies, or that the package itself or its `Provides` satisfy (`KnownFacts`). The other
//! fields (Enhances, Conflicts, Breaks, Replaces, Provides, Built-Using, Static-Built-Using) are
//! "union" fields: simple relations only, a name's versioned entries merged into the weakest
//! (`Dpkg::Deps::Union`), then sorted (`Dpkg::Deps::deps_compare`).

use std::cmp::Ordering;
use std::collections::VecDeque;

use super::arch;
use super::relation::{self, Alternatives, Op, Relation};
use super::version::{self, Version};

/// The fields dpkg-gencontrol simplifies against each other (`dependency => 'normal'`).
const NORMAL: [&str; 4] = ["Pre-Depends", "Depends", "Recommends", "Suggests"];

/// What dpkg-gencontrol knows about the package whose fields it writes.
#[derive(Debug, Clone, Copy)]
pub struct Package<'a> {
    pub name: &'a str,
    pub version: &'a str,
    /// The `Architecture` written: `all` or the host's.
    pub arch: &'a str,
    /// The host's architecture, for `[arch]` restrictions.
    pub host_arch: &'a str,
    /// The `Multi-Arch` field, as written.
    pub multi_arch: Option<&'a str>,
    /// The active build profiles (dpkg reads `DEB_BUILD_PROFILES`).
    pub profiles: &'a [String],
}

/// Why the fields cannot be written as dpkg-gencontrol writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// dpkg-gencontrol refuses the field too; the message says why.
    Invalid { field: String, message: String },
    /// dfab cannot evaluate what the field says (an architecture wildcard on a host whose dpkg
    /// tuple it does not know).
    Unevaluated { field: String, message: String },
}

/// The fields as dpkg-gencontrol writes them, and what it warns about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Simplified {
    /// `(name, value)` in the order given; a field left empty is dropped.
    pub fields: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Simplifies `fields` (substitution done), given in dpkg's order (`Pre-Depends`, `Depends`,
/// `Recommends`, `Suggests`, `Enhances`, `Conflicts`, `Breaks`, `Replaces`, `Provides`,
/// `Built-Using`, `Static-Built-Using`), as dpkg-gencontrol does for `pkg`.
pub fn fields(pkg: &Package<'_>, fields: &[(&str, &str)]) -> Result<Simplified, Refusal> {
    let mut out = Simplified::default();
    let provides = fields
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("Provides"))
        .map(|(_, value)| *value);
    let facts = Facts::new(pkg, provides);
    let mut seen: Vec<Vec<Alternatives>> = Vec::new();
    for &(name, value) in fields {
        let invalid = |message: String| Refusal::Invalid {
            field: name.to_owned(),
            message,
        };
        let items = relation::parse(value, &mut out.warnings).map_err(invalid)?;
        let reduce_arch = (pkg.arch != "all").then_some(pkg.host_arch);
        let items =
            reduce(items, reduce_arch, pkg.profiles).map_err(|message| Refusal::Unevaluated {
                field: name.to_owned(),
                message,
            })?;
        let items = if NORMAL.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            let items = simplify_and(items, &facts, &seen).map_err(invalid)?;
            seen.push(items.clone());
            items
        } else {
            let mut simple = Vec::new();
            for mut alts in items {
                if alts.len() != 1 {
                    return Err(invalid(
                        "a union field can only contain simple relations (no `|`)".into(),
                    ));
                }
                simple.push(alts.remove(0));
            }
            let mut merged = merge_union(simple);
            merged.sort_by(union_order);
            merged.into_iter().map(|r| vec![r]).collect()
        };
        if let Some(r) = items.iter().flatten().find(|r| r.arches.is_some()) {
            return Err(invalid(format!(
                "`{r}` is restricted to architectures, but the package is `Architecture: all` \
                 (dpkg-gencontrol refuses it too)"
            )));
        }
        let value = relation::format(&items);
        if !value.is_empty() {
            out.fields.push((name.to_owned(), value));
        }
    }
    Ok(out)
}

/// `deps_parse`'s `reduce_arch` (when `host` is given) and `reduce_profiles`: alternatives whose
/// restrictions exclude this build are dropped, the others lose their restrictions; an item left
/// without alternatives is dropped.
fn reduce(
    items: Vec<Alternatives>,
    host: Option<&str>,
    profiles: &[String],
) -> Result<Vec<Alternatives>, String> {
    let mut out = Vec::new();
    for alts in items {
        let mut kept = Vec::new();
        for mut r in alts {
            if let (Some(host), Some(arches)) = (host, &r.arches) {
                let concerned = arch::is_concerned(host, arches).ok_or_else(|| {
                    format!(
                        "the architecture restriction in `{r}` on {host}, an architecture whose \
                         dpkg tuple dfab does not know"
                    )
                })?;
                if !concerned {
                    continue;
                }
                r.arches = None;
            }
            if let Some(formula) = &r.profiles {
                if !profiles_hold(formula, profiles) {
                    continue;
                }
                r.profiles = None;
            }
            kept.push(r);
        }
        if !kept.is_empty() {
            out.push(kept);
        }
    }
    Ok(out)
}

/// `evaluate_restriction_formula`: some conjunction has every profile set (or, negated, unset).
fn profiles_hold(formula: &[Vec<String>], active: &[String]) -> bool {
    formula.iter().any(|list| {
        list.iter().all(|term| {
            let (negated, name) = match term.strip_prefix('!') {
                Some(name) if !name.is_empty() => (true, name),
                _ => (false, term.as_str()),
            };
            active.iter().any(|a| a == name) != negated
        })
    })
}

/// `Dpkg::Deps::KnownFacts` as dpkg-gencontrol fills it: the package itself, installed, and the
/// virtual packages its `Provides` names.
struct Facts<'a> {
    pkg: &'a Package<'a>,
    /// `(name, version)` of each provided package; `Provides` allows no other operator than `=`.
    provided: Vec<(String, Option<String>)>,
}

impl<'a> Facts<'a> {
    /// dpkg reads `Provides` with every restriction reduced; when that fails (a syntax error, an
    /// operator other than `=`, an alternative) it knows no provided package.
    fn new(pkg: &'a Package<'a>, provides: Option<&str>) -> Self {
        let provided = provides
            .and_then(|value| {
                let items = relation::parse(value, &mut Vec::new()).ok()?;
                let items = reduce(items, Some(pkg.host_arch), pkg.profiles).ok()?;
                items
                    .into_iter()
                    .map(|alts| match <[Relation; 1]>::try_from(alts) {
                        Ok([r]) if matches!(r.version, None | Some((Op::Equal, _))) => {
                            Some((r.name, r.version.map(|(_, v)| v)))
                        }
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
            })
            .unwrap_or_default();
        Self { pkg, provided }
    }

    /// `evaluate_simple_dep`: whether `r` is known to be satisfied (`Some` never means "known
    /// unsatisfied" here; dpkg-gencontrol only acts on "satisfied").
    fn satisfied(&self, r: &Relation) -> Result<bool, String> {
        let pkg = self.pkg;
        let found = r.name == pkg.name
            && match r.arch_qualifier.as_deref() {
                // The package's own architecture is the host's or `all`.
                None => true,
                Some("any") => pkg.multi_arch == Some("allowed"),
                Some(q) => pkg.arch == q,
            };
        if found {
            match &r.version {
                None => return Ok(true),
                Some((op, v)) => {
                    if relate(pkg.version, *op, v)? {
                        return Ok(true);
                    }
                }
            }
        }
        for (name, provided) in &self.provided {
            if *name != r.name {
                continue;
            }
            match (&r.version, provided) {
                (None, _) => return Ok(true),
                (Some(_), None) => {}
                (Some((op, v)), Some(p)) => {
                    if relate(p, *op, v)? {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// `get_evaluation` of an item: satisfied when one of its alternatives is.
    fn any_satisfied(&self, alts: &[Relation]) -> Result<bool, String> {
        for r in alts {
            if self.satisfied(r)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// `version_compare_relation`, which refuses invalid versions.
fn relate(a: &str, op: Op, b: &str) -> Result<bool, String> {
    let parse = |v: &str| Version::parse(v).map_err(|_| format!("{v} is not a valid version"));
    let ord = parse(a)?.cmp(&parse(b)?);
    Ok(match op {
        Op::Earlier => ord == Ordering::Less,
        Op::EarlierOrEqual => ord != Ordering::Greater,
        Op::Equal => ord == Ordering::Equal,
        Op::LaterOrEqual => ord != Ordering::Less,
        Op::Later => ord == Ordering::Greater,
    })
}

/// `implies` between two items (a simple relation, or an OR of alternatives).
fn item_implies(p: &[Relation], q: &[Relation]) -> Option<bool> {
    match (p, q) {
        ([p], [q]) => p.implies(q),
        // Simple::implies(OR): true if it implies an alternative, else false if it excludes one.
        ([p], q) => {
            let mut result = None;
            for alt in q {
                if let Some(i) = p.implies(alt) {
                    result = Some(i);
                    if i {
                        break;
                    }
                }
            }
            result
        }
        // OR::implies: only another OR, each of whose alternatives one of ours implies.
        (_, [_]) => None,
        (p, q) => p
            .iter()
            .all(|d| q.iter().any(|o| d.implies(o) == Some(true)))
            .then_some(true),
    }
}

/// `AND::implies` of an earlier field's list: the first of its items with an answer decides,
/// even a "no" before an item that would have said "yes".
fn and_implies(list: &[Alternatives], q: &[Relation]) -> Option<bool> {
    list.iter().find_map(|item| item_implies(item, q))
}

/// `AND::simplify_deps`: drops items satisfied by the facts, implied by an earlier field, by an
/// item kept, or by a later item (which then moves into the dropped item's place).
fn simplify_and(
    items: Vec<Alternatives>,
    facts: &Facts<'_>,
    seen: &[Vec<Alternatives>],
) -> Result<Vec<Alternatives>, String> {
    let mut list: VecDeque<Alternatives> = items.into();
    let mut kept: Vec<Alternatives> = Vec::new();
    while let Some(dep) = list.pop_front() {
        if facts.any_satisfied(&dep)? {
            continue;
        }
        if seen.iter().any(|s| and_implies(s, &dep) == Some(true))
            || kept.iter().any(|k| item_implies(k, &dep) == Some(true))
        {
            continue;
        }
        if let Some(i) = list
            .iter()
            .position(|o| item_implies(o, &dep) == Some(true))
        {
            let stronger = list.remove(i).unwrap_or_default();
            list.push_front(stronger);
            continue;
        }
        kept.push(dep);
    }
    Ok(kept)
}

/// `Union::simplify_deps`: each relation is merged into the first kept one that takes it.
fn merge_union(items: Vec<Relation>) -> Vec<Relation> {
    let mut kept: Vec<Relation> = Vec::new();
    'next: for r in items {
        for k in &mut kept {
            if merge_one(k, &r) {
                continue 'next;
            }
        }
        kept.push(r);
    }
    kept
}

/// `Simple::merge_union`: whether `o` is folded into `k`, which becomes the weaker of the two.
fn merge_one(k: &mut Relation, o: &Relation) -> bool {
    if k.name != o.name || k.arches.is_some() || o.arches.is_some() {
        return false;
    }
    if o.version.is_none() && k.version.is_some() {
        k.version = None;
        return true;
    }
    match k.implies(o) {
        Some(true) => {
            k.version.clone_from(&o.version);
            true
        }
        Some(false) => false,
        None => o.implies(k) == Some(true),
    }
}

/// `deps_compare` of two simple relations: name, operator (none, `>=`, `>>`, `=`, `<<`, `<=`),
/// then version (compared as versions, through `Dpkg::Version`'s overloaded `cmp`).
fn union_order(a: &Relation, b: &Relation) -> Ordering {
    fn rank(r: &Relation) -> u8 {
        match r.version.as_ref().map(|(op, _)| op) {
            None => 0,
            Some(Op::LaterOrEqual) => 1,
            Some(Op::Later) => 2,
            Some(Op::Equal) => 3,
            Some(Op::Earlier) => 4,
            Some(Op::EarlierOrEqual) => 5,
        }
    }
    let text = |r: &Relation| {
        r.version
            .as_ref()
            .map_or("", |(_, v)| v.as_str())
            .to_owned()
    };
    a.name
        .cmp(&b.name)
        .then_with(|| rank(a).cmp(&rank(b)))
        .then_with(|| version::compare_text(&text(a), &text(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg<'a>(arch: &'a str, profiles: &'a [String]) -> Package<'a> {
        Package {
            name: "self",
            version: "2.0-1",
            arch,
            host_arch: "amd64",
            multi_arch: None,
            profiles,
        }
    }

    fn run(arch: &str, input: &[(&str, &str)]) -> Vec<(String, String)> {
        fields(&pkg(arch, &[]), input)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .fields
    }

    fn field<'a>(out: &'a [(String, String)], name: &str) -> Option<&'a str> {
        out.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    // Regression: dfab's own Depends listed `liblxc1` twice, with and without the version
    // shlibs gave; dpkg-gencontrol keeps only the versioned one.
    #[test]
    fn unversioned_relation_implied_by_a_versioned_one_is_dropped() {
        let out = run(
            "amd64",
            &[(
                "Depends",
                "liblxc1 (>= 1:5.0.0), libc6 (>= 2.34), liblxc1, openssh-client",
            )],
        );
        assert_eq!(
            field(&out, "Depends"),
            Some("liblxc1 (>= 1:5.0.0), libc6 (>= 2.34), openssh-client")
        );
    }

    #[test]
    fn a_later_stronger_relation_takes_the_weaker_ones_place() {
        let out = run(
            "all",
            &[
                (
                    "Depends",
                    "libc6, libc6 (>= 2.30), foo (>= 1.0) | bar, x, foo (>= 2.0)",
                ),
                ("Recommends", "foo, baz, libc6 (<< 3)"),
                ("Suggests", "baz (>= 1), x | y"),
            ],
        );
        assert_eq!(
            field(&out, "Depends"),
            Some("libc6 (>= 2.30), foo (>= 2.0), x")
        );
        // `libc6 (>= 2.30)` answers "no" for `libc6 (<< 3)` (dpkg's slip), so it stays.
        assert_eq!(field(&out, "Recommends"), Some("baz, libc6 (<< 3)"));
        assert_eq!(field(&out, "Suggests"), Some("baz (>= 1)"));
    }

    #[test]
    fn the_package_itself_and_what_it_provides_are_satisfied() {
        let out = run(
            "all",
            &[
                (
                    "Depends",
                    "self (>= 1.0), self (>= 3), mta | other, virt (= 1), virt (= 2)",
                ),
                ("Provides", "virt (= 1), mta"),
            ],
        );
        assert_eq!(field(&out, "Depends"), Some("self (>= 3), virt (= 2)"));
        assert_eq!(field(&out, "Provides"), Some("mta, virt (= 1)"));
    }

    #[test]
    fn union_fields_merge_into_the_weakest_and_sort() {
        let out = run(
            "all",
            &[
                ("Enhances", "b, a"),
                (
                    "Breaks",
                    "zz (<< 2), aa (<< 1.0), aa (<< 2.0), zz, mm (>= 1), mm (<< 1)",
                ),
                ("Conflicts", "x (<< 1.10), x (<< 1.9)"),
            ],
        );
        assert_eq!(field(&out, "Enhances"), Some("a, b"));
        assert_eq!(
            field(&out, "Breaks"),
            Some("aa (<< 2.0), mm (>= 1), mm (<< 1), zz")
        );
        assert_eq!(field(&out, "Conflicts"), Some("x (<< 1.10)"));
    }

    #[test]
    fn restrictions_are_evaluated_for_this_build() {
        let nocheck = ["nocheck".to_owned()];
        let out = fields(
            &pkg("amd64", &nocheck),
            &[(
                "Depends",
                "a [amd64], b [!amd64], c [i386] | d, e <!nocheck>, f <nocheck>, g [linux-any] <nocheck>",
            )],
        )
        .unwrap()
        .fields;
        assert_eq!(field(&out, "Depends"), Some("a, d, f, g"));
        let out = run(
            "amd64",
            &[("Recommends", "x <!nocheck> <other>, y <pkg.z>")],
        );
        assert_eq!(field(&out, "Recommends"), Some("x"));
    }

    #[test]
    fn refusals() {
        let refuse = |arch: &str, host: &str, f: (&str, &str)| {
            let mut p = pkg(arch, &[]);
            p.host_arch = host;
            fields(&p, &[f]).unwrap_err()
        };
        assert!(matches!(
            refuse("all", "amd64", ("Depends", "a [amd64]")),
            Refusal::Invalid { message, .. } if message.contains("`Architecture: all`")
        ));
        assert!(matches!(
            refuse("amd64", "amd64", ("Conflicts", "a | b")),
            Refusal::Invalid { .. }
        ));
        assert!(matches!(
            refuse("amd64", "amd64", ("Depends", "a ((")),
            Refusal::Invalid { .. }
        ));
        assert!(matches!(
            refuse("sparc64", "sparc64", ("Depends", "a [linux-any]")),
            Refusal::Unevaluated { .. }
        ));
        assert!(matches!(
            refuse("all", "amd64", ("Depends", "self (>= x)")),
            Refusal::Invalid { message, .. } if message == "x is not a valid version"
        ));
        // Arch all: an unrestricted relation that implies the restricted one leaves none behind.
        assert_eq!(
            run("all", &[("Depends", "a, a [amd64]")]),
            [("Depends".to_owned(), "a".to_owned())]
        );
    }

    #[test]
    fn empty_fields_are_dropped_and_warnings_kept() {
        let out = fields(
            &pkg("all", &[]),
            &[("Depends", " , "), ("Suggests", "a (> 1)")],
        )
        .unwrap();
        assert_eq!(out.fields, [("Suggests".to_owned(), "a (>= 1)".to_owned())]);
        assert_eq!(out.warnings, ["relation > is deprecated: use >> or >="]);
    }
}
