//! The differential test of `deb.build`: generated `debian/` trees built by dfab's native path
//! and by dpkg-buildpackage + debhelper 13 with the same `SOURCE_DATE_EPOCH`, compared member by
//! member. A difference fails naming the input, shrunk to the fewest items that still differ and
//! written out as a project for a regression test. `make fuzz` runs it unbounded
//! (`DFAB_DEB_FUZZ_SEED`, `DFAB_DEB_FUZZ_TREES`).

mod compare;
mod generator;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use dfab::deb::{self, BuildOptions};

use crate::deb::require;
use generator::Spec;

/// The timestamp both builders get.
const EPOCH: u64 = 1_700_000_000;

/// What building one spec both ways gave.
#[derive(Debug)]
struct Outcome {
    /// Differences, one line each, prefixed with the package.
    diffs: Vec<String>,
    /// dfab's one-line reason when it handed the build to dpkg-buildpackage.
    handed_over: Option<String>,
}

fn require_tools() {
    require("dpkg-buildpackage", "dpkg-dev");
    require("dh", "debhelper");
    require("fakeroot", "fakeroot");
    require("gcc", "gcc");
}

/// The `.deb` files directly in `dir`, by package name (`-dbgsym` packages, which dfab does not
/// build, left out).
fn debs_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out: Vec<(String, PathBuf)> = fs_err::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            (name.split('_').next().unwrap().to_owned(), p)
        })
        .filter(|(n, _)| !n.ends_with("-dbgsym"))
        .collect();
    out.sort();
    out
}

/// Builds `spec` natively and with dpkg-buildpackage, and compares.
fn build_both(spec: &Spec) -> Outcome {
    let tmp = tempfile::tempdir().unwrap();
    let (ours_dir, theirs_dir) = (tmp.path().join("dfab/gsrc"), tmp.path().join("dpkg/gsrc"));
    spec.write(&ours_dir);
    spec.write(&theirs_dir);
    let opts = BuildOptions {
        project_dir: ours_dir.clone(),
        out_dir: tmp.path().join("out"),
        source_date_epoch: Some(EPOCH),
        build_commands: spec.build_commands(),
        ..BuildOptions::default()
    };
    let mut warnings = Vec::new();
    let ours = deb::build_with(&opts, &mut |w| warnings.push(w.to_owned()));
    let out = Command::new("dpkg-buildpackage")
        // A fresh copy: no clean first (-nc), and no build-dependency check (-d), to save time.
        .args(["-rfakeroot", "-us", "-uc", "-b", "-nc", "-d"])
        .env("SOURCE_DATE_EPOCH", EPOCH.to_string())
        .current_dir(&theirs_dir)
        .output()
        .unwrap();
    let handed_over = warnings
        .iter()
        .find_map(|w| w.strip_prefix("building with dpkg-buildpackage: "))
        .map(str::to_owned);
    let mut diffs = Vec::new();
    match (ours, out.status.success()) {
        (Err(e), true) => diffs.push(format!("dfab failed where dpkg-buildpackage built: {e}")),
        (Ok(_), false) => diffs.push(format!(
            "dpkg-buildpackage failed where dfab built: {}",
            tail(&out.stderr)
        )),
        (Err(_), false) => {}
        (Ok(_), true) => {
            let (a, b) = (
                debs_in(&opts.out_dir),
                debs_in(theirs_dir.parent().unwrap()),
            );
            let names =
                |v: &[(String, PathBuf)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
            if names(&a) != names(&b) {
                diffs.push(format!(
                    "packages: dfab {:?} / dpkg-buildpackage {:?}",
                    names(&a),
                    names(&b)
                ));
            }
            for (name, ours) in &a {
                if let Some((_, theirs)) = b.iter().find(|(n, _)| n == name) {
                    if ours.file_name() != theirs.file_name() {
                        diffs.push(format!(
                            "{name}: file name {:?} / {:?}",
                            ours.file_name(),
                            theirs.file_name()
                        ));
                    }
                    diffs.extend(
                        compare::differences(ours, theirs)
                            .into_iter()
                            .map(|d| format!("{name}: {d}")),
                    );
                }
            }
        }
    }
    Outcome { diffs, handed_over }
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(6)..].join("\n")
}

/// Drops items (then resets the changelog, then drops unused packages) while the build still differs: the smallest input
/// that shows the difference.
fn shrink(spec: &Spec) -> Spec {
    let mut best = spec.clone();
    loop {
        let mut smaller = None;
        for i in 0..best.items.len() {
            let mut s = best.clone();
            s.items.remove(i);
            if !build_both(&s).diffs.is_empty() {
                smaller = Some(s);
                break;
            }
        }
        if smaller.is_none()
            && (best.date, best.version) != ("Mon, 02 Nov 2026 10:00:00 +0000", "1.0-1")
        {
            let mut s = best.clone();
            (s.date, s.version) = ("Mon, 02 Nov 2026 10:00:00 +0000", "1.0-1");
            if !build_both(&s).diffs.is_empty() {
                smaller = Some(s);
            }
        }
        let used = best.items.iter().map(|it| it.pkg + 1).max().unwrap_or(1);
        if smaller.is_none() && used < best.packages {
            let mut s = best.clone();
            s.packages = used;
            if !build_both(&s).diffs.is_empty() {
                smaller = Some(s);
            }
        }
        match smaller {
            Some(s) => best = s,
            None => return best,
        }
    }
}

/// A difference's kind: its first line without the package, path and values.
fn kind_of(diff: &str) -> String {
    let first = diff.lines().next().unwrap_or(diff);
    let rest = first.split_once(": ").map_or(first, |(_, r)| r);
    let words: Vec<&str> = rest.split_whitespace().take(3).collect();
    match words.as_slice() {
        ["data", path, ..] => format!(
            "data {}",
            path.trim_end_matches(':').rsplit('/').next().unwrap_or("")
        ),
        [a, b, ..] => format!("{a} {}", b.trim_end_matches(':')),
        _ => rest.to_owned(),
    }
}

/// Builds trees `0..count` of `seed` (`None`: without end), two at a time; the first difference
/// panics with the input named, shrunk, and written out under `target/deb-differential/`
/// (with `keep_going`, differences are counted by kind instead, and reported at the end).
/// Returns how many trees each reason of a hand-over took.
fn run_trees(seed: u64, count: Option<u64>) -> std::collections::BTreeMap<String, u64> {
    let keep_going = std::env::var_os("DFAB_DEB_FUZZ_KEEP_GOING").is_some();
    let kinds = std::sync::Mutex::new(std::collections::BTreeMap::<String, (u64, String)>::new());
    require_tools();
    let next = std::sync::atomic::AtomicU64::new(0);
    let handed = std::sync::Mutex::new(std::collections::BTreeMap::new());
    let failure = std::sync::Mutex::new(None::<String>);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if count.is_some_and(|c| index >= c) || failure.lock().unwrap().is_some() {
                    return;
                }
                let spec = Spec::generate(seed, index);
                let outcome = build_both(&spec);
                if let Some(why) = outcome.handed_over {
                    let kind = why.split(" (").next().unwrap_or(&why).to_owned();
                    *handed.lock().unwrap().entry(kind).or_insert(0) += 1;
                }
                if (index + 1).is_multiple_of(50) {
                    eprintln!(
                        "deb differential: handed to dpkg-buildpackage so far: {:?}",
                        handed.lock().unwrap()
                    );
                    eprintln!(
                        "deb differential: seed {seed}: {} trees in {:.0?}",
                        index + 1,
                        start.elapsed()
                    );
                }
                if !outcome.diffs.is_empty() && keep_going {
                    let mut kinds = kinds.lock().unwrap();
                    let mut seen = std::collections::BTreeSet::new();
                    for d in &outcome.diffs {
                        if seen.insert(kind_of(d)) {
                            eprintln!("deb differential: {}: {}", spec.name, kind_of(d));
                            let e = kinds.entry(kind_of(d)).or_insert((0, spec.name.clone()));
                            e.0 += 1;
                        }
                    }
                    continue;
                }
                if !outcome.diffs.is_empty() {
                    let mut slot = failure.lock().unwrap();
                    if slot.is_none() {
                        *slot = Some(report(&spec, &outcome.diffs));
                    }
                    return;
                }
            });
        }
    });
    if let Some(message) = failure.into_inner().unwrap() {
        panic!("{message}");
    }
    let kinds = kinds.into_inner().unwrap();
    assert!(
        kinds.is_empty(),
        "differences by kind (trees, first input): {kinds:#?}"
    );
    handed.into_inner().unwrap()
}

/// The failure message: the input, its differences, and the shrunk tree written out.
fn report(spec: &Spec, diffs: &[String]) -> String {
    let small = shrink(spec);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/deb-differential")
        .join(small.name.replace(' ', "-"));
    if dir.exists() {
        fs_err::remove_dir_all(&dir).unwrap();
    }
    small.write(&dir.join("gsrc"));
    let small_diffs = build_both(&small).diffs;
    format!(
        "dfab's package differs from dpkg-buildpackage's for the generated input\n{}\
         differences:\n  {}\nshrunk to\n{}differences:\n  {}\nthe shrunk tree is in {} \
         (build it with SOURCE_DATE_EPOCH={EPOCH})",
        spec.describe(),
        diffs.join("\n  "),
        small.describe(),
        small_diffs.join("\n  "),
        dir.display()
    )
}

// Regression: `Wed, 24 June 2015 12:00:00 +0300` in the trailer made the native build die in
// dh_strip_nondeterminism's step (`Error parsing time`); with each date form dpkg-parsechangelog
// warns about (or reads), the package must equal dpkg-buildpackage's.
#[test]
fn changelog_dates_dpkg_only_warns_about_give_dpkg_buildpackages_package() {
    require_tools();
    for date in [
        "Wed, 24 June 2015 12:00:00 +0300",
        "24 Jun 2015 12:00:00 +0300",
        "Foo, 24 Jun 2015 12:00:00 +0300",
        "Wed, 24 jun 2015 12:00:00 +0300",
        "Wed, 24 Jun 2015 12:00:00 +0300 (EEST)",
    ] {
        let spec = Spec {
            name: format!("changelog date `{date}`"),
            packages: 1,
            version: "1.0-1",
            urgency: "medium",
            date,
            root_no: true,
            items: vec![generator::Item {
                pkg: 0,
                bare: true,
                kind: generator::Kind::Install {
                    name: generator::Name::TimestampedGz,
                    dest: 0,
                    mode: 0o644,
                    how: 0,
                },
            }],
        };
        let outcome = build_both(&spec);
        assert_eq!(outcome.handed_over, None, "{date}: built natively");
        assert_eq!(outcome.diffs, Vec::<String>::new(), "{}", spec.describe());
    }
}

/// The trees `make test` builds: enough for every generator feature to come up.
/// Seed 3759 is the first below 20,000 whose trees cover every feature within 25 (searched with
/// [`Spec::all_features`]); a few more trees for margin.
const CI_SEED: u64 = 3759;
const CI_TREES: u64 = 30;

#[test]
fn generated_trees_match_dpkg_buildpackage() {
    let covered: std::collections::BTreeSet<String> = (0..CI_TREES)
        .flat_map(|i| Spec::generate(CI_SEED, i).features())
        .collect();
    let missing: Vec<String> = Spec::all_features()
        .into_iter()
        .filter(|f| !covered.contains(f))
        .collect();
    assert!(
        missing.is_empty(),
        "trees 0..{CI_TREES} of seed {CI_SEED} leave generator features unused (raise CI_TREES \
         or pick another seed): {missing:?}"
    );
    let start = Instant::now();
    let handed = run_trees(CI_SEED, Some(CI_TREES));
    eprintln!(
        "deb differential: {CI_TREES} trees of seed {CI_SEED} in {:.0?}; handed to \
         dpkg-buildpackage: {handed:?}",
        start.elapsed()
    );
}

/// `make fuzz`: `DFAB_DEB_FUZZ_SEED` (default: from the clock) and `DFAB_DEB_FUZZ_TREES`
/// (default: without end).
#[test]
#[ignore = "unbounded; run by `make fuzz`"]
fn fuzz_generated_trees() {
    let seed = std::env::var("DFAB_DEB_FUZZ_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
                .into()
        },
        |s| s.parse().expect("DFAB_DEB_FUZZ_SEED is a number"),
    );
    let count = std::env::var("DFAB_DEB_FUZZ_TREES")
        .ok()
        .map(|s| s.parse().expect("DFAB_DEB_FUZZ_TREES is a number"));
    eprintln!("deb differential fuzz: seed {seed} (DFAB_DEB_FUZZ_SEED={seed} repeats it)");
    let start = Instant::now();
    let result = std::panic::catch_unwind(|| run_trees(seed, count));
    match result {
        Ok(handed) => eprintln!(
            "deb differential fuzz: seed {seed}: {} trees in {:.0?}, no difference; handed to \
             dpkg-buildpackage: {handed:?}",
            count.map_or("all".into(), |c| c.to_string()),
            start.elapsed()
        ),
        Err(e) => {
            eprintln!("deb differential fuzz: FAILED with seed {seed} (DFAB_DEB_FUZZ_SEED={seed})");
            std::panic::resume_unwind(e);
        }
    }
}

// Regression (fuzz seed 6611722265253914547, tree 423, shrunk): snippets marked
// `dfab/dh_installinit` where debhelper writes `dh_installinit/13.11.4` made the scripts a KiB
// shorter in `Installed-Size`.
#[test]
fn installed_size_counts_the_scripts_as_debhelper_writes_them() {
    require_tools();
    let item = |kind| generator::Item {
        pkg: 1,
        bare: false,
        kind,
    };
    let spec = Spec {
        name: "fuzz seed 6611722265253914547 tree 423, shrunk".into(),
        packages: 2,
        version: "1.0-1",
        urgency: "high",
        date: "Mon, 02 Nov 2026 10:00:00 +0000",
        root_no: true,
        items: vec![
            item(generator::Kind::Systemd(generator::Unit::Timer)),
            item(generator::Kind::Tmpfiles),
            item(generator::Kind::Maintscript {
                script: "postinst",
                token: true,
            }),
            item(generator::Kind::Init),
        ],
    };
    let outcome = build_both(&spec);
    assert_eq!(outcome.handed_over, None);
    assert_eq!(outcome.diffs, Vec::<String>::new(), "{}", spec.describe());
}
