//! Relationship fields as dpkg-gencontrol writes them: dfab's simplification judged by
//! dpkg-gencontrol itself on generated fields, and by dpkg-buildpackage + debhelper on a fixture
//! package built natively.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

use dfab::deb::simplify::{self, Package, Refusal};
use dfab::deb::{self, Compression, WheelMode};

use crate::deb::{by_name, fields, fixture, host_arch, require, run};

/// The relation fields of a binary control file, in dpkg's order.
const RELATION_FIELDS: [&str; 11] = [
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

/// The version every generated package has (the changelog's).
const VERSION: &str = "2.0-1";

/// One binary package of the generated control file; `SELF` in a field is its own name.
#[derive(Debug, Clone)]
struct Case {
    arch_all: bool,
    multi_arch: Option<&'static str>,
    fields: Vec<(&'static str, String)>,
}

/// Cases written by hand, one rule each.
fn written() -> Vec<Case> {
    let case = |arch_all: bool, fields: &[(&'static str, &str)]| Case {
        arch_all,
        multi_arch: None,
        fields: fields.iter().map(|&(n, v)| (n, v.to_owned())).collect(),
    };
    let mut cases = vec![
        case(true, &[("Depends", "a, a (>= 1)")]),
        case(true, &[("Depends", "a (>= 1), a")]),
        case(true, &[("Depends", "a | b, c, a")]),
        case(true, &[("Depends", "a (>= 1) | b, c, a (>= 2)")]),
        case(true, &[("Depends", "a (>= 2), a (>= 1), a (>= 3)")]),
        case(true, &[("Depends", "a (= 1), a (>= 1), a (<< 2)")]),
        case(true, &[("Depends", "a (>= 1.0~rc1), a (>= 1.0)")]),
        case(true, &[("Depends", "a (>= 1:0), a (>= 5)")]),
        case(true, &[("Depends", "a (>= 1.0), a (>= 1.00)")]),
        case(true, &[("Depends", "a (> 1), a (>> 1), a (< 2)")]),
        case(true, &[("Depends", "a | b, a | b | c, b | a")]),
        case(true, &[("Depends", "a:any, a, a:any (>= 1)")]),
        case(true, &[("Depends", "a (>= x), a, a (>= y)")]),
        case(
            true,
            &[
                ("Pre-Depends", "a (>= 2)"),
                ("Depends", "a, b"),
                ("Recommends", "a (>= 1), b (>= 1), b"),
                ("Suggests", "b, c | a"),
            ],
        ),
        // An earlier field's first answer decides, even a "no" from dpkg's slip.
        case(
            true,
            &[
                ("Depends", "b (>= 1), b (<< 2)"),
                ("Recommends", "b (<< 3)"),
            ],
        ),
        case(
            true,
            &[
                (
                    "Depends",
                    "SELF, SELF (>= 1), SELF (>= 3), SELF (<< 3), SELF:any",
                ),
                ("Recommends", "virt, virt (>= 1), virt (= 3), a | virt"),
                ("Provides", "virt (= 2.0)"),
            ],
        ),
        case(
            true,
            &[("Depends", "virt, virt (>= 1)"), ("Provides", "virt")],
        ),
        case(true, &[("Depends", "virt"), ("Provides", "virt (>= 1)")]),
        case(
            true,
            &[
                ("Enhances", "b, a (>= 1), a"),
                ("Conflicts", "x (<< 2), x (<< 1), y, x (>= 3)"),
                ("Breaks", "b (<< 1.10), b (<< 1.9), a (= 1), a (= 1)"),
                ("Replaces", "z:any, z (<< 1)"),
                ("Provides", "p (= 1), o, p (= 1)"),
            ],
        ),
        case(true, &[("Conflicts", "a | b")]),
        case(true, &[("Depends", "a ((")]),
        case(true, &[("Depends", "a [amd64]")]),
        case(true, &[("Depends", "a, a [amd64]")]),
        case(false, &[("Depends", "a [amd64], b [!amd64], c [i386] | d")]),
        case(
            false,
            &[("Depends", "a [linux-any], b [any-amd64 any-i386]")],
        ),
        case(
            false,
            &[("Depends", "a <!nocheck>, b <nocheck>, c <!nocheck> <x>")],
        ),
        case(false, &[("Conflicts", "a [amd64] | b [!amd64]")]),
        case(false, &[("Provides", "v [amd64]"), ("Depends", "v")]),
        case(true, &[("Depends", " , a,, ,")]),
        case(true, &[("Suggests", "a |")]),
    ];
    cases.push(Case {
        arch_all: false,
        multi_arch: Some("allowed"),
        fields: vec![("Depends", "SELF:any, SELF:amd64 (>= 1), a".into())],
    });
    cases
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % n as u64).unwrap()
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn relation(rng: &mut Rng, arch_all: bool) -> String {
    let mut r = rng.pick(&["a", "b", "c", "SELF", "virt"]).to_owned();
    if rng.chance(5) {
        r.push_str(":any");
    }
    if rng.chance(55) {
        let op = rng.pick(&["<<", "<=", "=", ">=", ">>"]);
        let v = rng.pick(&["1", "1.0", "2", "1.0~rc1", "1:0", "2.0-1", "2.0-1+b1", "3"]);
        write!(r, " ({op} {v})").unwrap();
    }
    // Architecture all refuses restrictions; keep those cases rare.
    if rng.chance(if arch_all { 3 } else { 15 }) {
        let arches = rng.pick(&["amd64", "!amd64", "i386", "linux-any", "!i386 amd64"]);
        write!(r, " [{arches}]").unwrap();
    }
    if rng.chance(6) {
        r.push_str(rng.pick(&[" <!nocheck>", " <nocheck>"]));
    }
    r
}

fn generated(count: usize) -> Vec<Case> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|_| {
            let arch_all = rng.chance(50);
            let mut fields = Vec::new();
            for name in RELATION_FIELDS {
                let union = !["Pre-Depends", "Depends", "Recommends", "Suggests"].contains(&name);
                if !rng.chance(if name == "Depends" { 90 } else { 35 }) {
                    continue;
                }
                let items: Vec<String> = (0..rng.below(6))
                    .map(|_| {
                        if name == "Provides" {
                            let v = rng.pick(&["virt", "virt (= 2.0)", "virt (= 1)", "a"]);
                            return v.to_owned();
                        }
                        let mut item = relation(&mut rng, arch_all);
                        while !union && rng.chance(20) {
                            item.push_str(" | ");
                            item.push_str(&relation(&mut rng, arch_all));
                        }
                        item
                    })
                    .collect();
                fields.push((name, items.join(", ")));
            }
            Case {
                arch_all,
                multi_arch: rng.chance(10).then_some("allowed"),
                fields,
            }
        })
        .collect()
}

/// What dpkg-gencontrol writes for each case, from one control file with a package per case:
/// the relation fields, or `Err` with its stderr when it refuses.
fn dpkg_gencontrol(cases: &[Case]) -> Vec<Result<BTreeMap<String, String>, String>> {
    let dir = tempfile::tempdir().unwrap();
    let debian = dir.path().join("debian");
    fs_err::create_dir_all(debian.join("tmp")).unwrap();
    let mut control = String::from("Source: gen\nMaintainer: T <t@example.org>\n");
    for (i, case) in cases.iter().enumerate() {
        let name = format!("p{i}");
        write!(
            control,
            "\nPackage: {name}\nArchitecture: {}\n",
            if case.arch_all { "all" } else { "any" }
        )
        .unwrap();
        if let Some(ma) = case.multi_arch {
            writeln!(control, "Multi-Arch: {ma}").unwrap();
        }
        for (field, value) in &case.fields {
            writeln!(control, "{field}: {}", value.replace("SELF", &name)).unwrap();
        }
        control.push_str("Description: generated\n");
    }
    fs_err::write(debian.join("control"), control).unwrap();
    fs_err::write(
        debian.join("changelog"),
        format!(
            "gen ({VERSION}) unstable; urgency=medium\n\n  * Generated.\n\n \
             -- T <t@example.org>  Mon, 02 Nov 2026 10:00:00 +0000\n"
        ),
    )
    .unwrap();
    let mut script = String::from("mkdir -p out\n");
    for i in 0..cases.len() {
        writeln!(
            script,
            "dpkg-gencontrol -pp{i} -O -Pdebian/tmp >out/{i} 2>out/{i}.err; echo $? >out/{i}.rc"
        )
        .unwrap();
    }
    run(Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir.path())
        .env_remove("DEB_BUILD_PROFILES"));
    (0..cases.len())
        .map(|i| {
            let read = |ext: &str| fs_err::read_to_string(dir.path().join(format!("out/{i}{ext}")));
            if read(".rc").unwrap().trim() != "0" {
                return Err(read(".err").unwrap());
            }
            Ok(read("")
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once(": "))
                .filter(|(n, _)| RELATION_FIELDS.contains(n))
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect())
        })
        .collect()
}

/// What dfab writes for each case.
fn dfab(cases: &[Case], host: &str) -> Vec<Result<BTreeMap<String, String>, Refusal>> {
    cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let name = format!("p{i}");
            let values: Vec<(&str, String)> = case
                .fields
                .iter()
                .map(|(n, v)| (*n, v.replace("SELF", &name)))
                .collect();
            let values: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let pkg = Package {
                name: &name,
                version: VERSION,
                arch: if case.arch_all { "all" } else { host },
                host_arch: host,
                multi_arch: case.multi_arch,
                profiles: &[],
            };
            simplify::fields(&pkg, &values).map(|s| s.fields.into_iter().collect())
        })
        .collect()
}

#[test]
fn relation_fields_match_dpkg_gencontrol() {
    require("dpkg-gencontrol", "dpkg-dev");
    let host = host_arch();
    let mut cases = written();
    let hand = cases.len();
    cases.extend(generated(150));
    let theirs = dpkg_gencontrol(&cases);
    let ours = dfab(&cases, &host);
    let mut wrong = Vec::new();
    let mut refused = 0;
    for (i, (ours, theirs)) in ours.iter().zip(&theirs).enumerate() {
        let agree = match (ours, theirs) {
            (Ok(a), Ok(b)) => a == b,
            (Err(Refusal::Invalid { .. }), Err(_)) => {
                refused += 1;
                true
            }
            _ => false,
        };
        if !agree {
            wrong.push(format!(
                "case {i}{}: {:?}\n  dfab: {ours:?}\n  dpkg: {theirs:?}",
                if i < hand { " (written)" } else { "" },
                cases[i],
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Both sides must have had something to agree on.
    assert!(
        refused > 3 && refused < cases.len() / 3,
        "{refused} refused"
    );
}

/// The fixture's packages, built by dfab natively and by dpkg-buildpackage.
#[test]
fn relation_fields_of_a_native_build_match_dpkg_buildpackage() {
    require("dpkg-buildpackage", "dpkg-dev");
    require("dh", "debhelper");
    require("fakeroot", "fakeroot");
    let (a, b) = (fixture("relations"), fixture("relations"));
    let mut opts = a.opts();
    opts.wheel = WheelMode::Off;
    opts.compression = Compression::Xz(6);
    let mut warnings = Vec::new();
    let ours = deb::build_with(&opts, &mut |w| warnings.push(w.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"));
    // No "building with dpkg-buildpackage" warning: the native builder made these.
    assert_eq!(warnings, Vec::<String>::new(), "built natively");
    let theirs = deb::dpkg_buildpackage::build(&b.opts()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(ours.len(), 2);
    assert_eq!(theirs.len(), 2);
    for package in ["relations", "relations-arch"] {
        let (mine, dpkg) = (
            fields(&by_name(&ours, package).path),
            fields(&by_name(&theirs, package).path),
        );
        for field in RELATION_FIELDS {
            assert_eq!(
                mine.get(field),
                dpkg.get(field),
                "{package} {field}: dfab (left) and dpkg-buildpackage (right)"
            );
        }
    }
    // What the comparison covers: dfab once listed `libc6` beside `libc6 (>= 2.30)`.
    let depends = &fields(&by_name(&ours, "relations").path)["Depends"];
    assert!(
        depends.starts_with("libc6 (>= 2.30), foo (>= 2.0),"),
        "{depends}"
    );
}

// dpkg-gencontrol refuses a relation it cannot parse; dfab wrote it into the package as it was.
#[test]
fn error_unparseable_relation() {
    let fx = fixture("relations");
    let control = fs_err::read_to_string(fx.project.join("debian/control")).unwrap();
    fx.write(
        "debian/control",
        &control.replace("Recommends: foo, baz,", "Recommends: foo (>= 1, baz,"),
    );
    fx.build_fails(
        "debian/control:18: Recommends of package `relations`: cannot parse the relation \
         `foo (>= 1`",
    );
}

// dpkg-gencontrol refuses an architecture restriction in an `Architecture: all` package.
#[test]
fn error_arch_restriction_in_arch_all_package() {
    let fx = fixture("relations");
    let control = fs_err::read_to_string(fx.project.join("debian/control")).unwrap();
    fx.write(
        "debian/control",
        &control.replace("Enhances: zeta,", "Enhances: zeta [amd64],"),
    );
    fx.build_fails(
        "debian/control:20: Enhances of package `relations`: `zeta [amd64]` is restricted to \
         architectures, but the package is `Architecture: all` (dpkg-gencontrol refuses it too)",
    );
}
