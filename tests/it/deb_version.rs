//! dfab's Debian version order, judged by `dpkg --compare-versions` on a few hundred pairs.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::process::Command;

use dfab::deb::version::Version;

use crate::deb::{require, run};

/// Pairs that each exercise one rule of deb-version(5).
const TRICKY: &[(&str, &str)] = &[
    ("1.0~rc1", "1.0"),
    ("1.0~rc1", "1.0~rc2"),
    ("1.0~~", "1.0~"),
    ("1.0~", "1.0"),
    ("1:0", "0:1"),
    ("0:1.0", "1.0"),
    ("1:1.0", "1.0"),
    ("1.0-1", "1.0"),
    ("1.0-0", "1.0"),
    ("1.0-1", "1.0-1.1"),
    ("1.0-1", "1.0-01"),
    ("1.2a", "1.2+"),
    ("1.2a", "1.2."),
    ("1.2a", "1.2"),
    ("1.2+", "1.2"),
    ("1.2Z", "1.2a"),
    ("1.0", "1.00"),
    ("1.01", "1.1"),
    ("1.001", "1.1"),
    ("007", "7"),
    ("1.9", "1.10"),
    ("1.0.1", "1.0+1"),
    ("1.0+1", "1.0~1"),
    ("1.0a1", "1.0.1"),
    ("2.30-1", "2.30-1+b1"),
    ("2.30-1+deb12u1", "2.30-1+b1"),
    ("1:5.0.0", "5.0.0"),
    ("5.0.0-1ubuntu1", "5.0.0-1"),
    ("1.0-a", "1.0-1"),
    ("1.0-~", "1.0-0"),
    ("9.99999999999999999999", "9.99999999999999999998"),
    ("18446744073709551616", "18446744073709551615"),
    ("2147483647:1", "2147483646:9"),
    ("1:1.0-1-2", "1:1.0-1"),
    ("1:1.0:1-1", "1:1.0-1"),
    ("0", "0~"),
    ("0", "00"),
];

/// Versions compared with each other, every pair.
const POOL: &[&str] = &[
    "0",
    "0~",
    "0.0",
    "0.1",
    "1",
    "1.0",
    "1.0~rc1",
    "1.0~rc1-1",
    "1.0~~rc1",
    "1.0-1",
    "1.0-1~bpo1",
    "1.0-1+b1",
    "1.0-2",
    "1.0-10",
    "1.0.0",
    "1.0a",
    "1.0A",
    "1.0+dfsg",
    "1.0+dfsg-1",
    "1.00",
    "1.1",
    "1.10",
    "1.2a",
    "1.2+",
    "1:0",
    "1:1.0-1",
    "2:0.1",
    "10.0",
];

/// What `dpkg --compare-versions` says of each pair: `<`, `=` or `>`, one per line, from one
/// shell so the few hundred comparisons cost one process spawn here.
fn dpkg_says(pairs: &[(&str, &str)]) -> Vec<Ordering> {
    let mut script = String::new();
    for (a, b) in pairs {
        writeln!(
            script,
            "if dpkg --compare-versions '{a}' lt '{b}'; then echo '<'; \
             elif dpkg --compare-versions '{a}' eq '{b}'; then echo '='; else echo '>'; fi"
        )
        .unwrap();
    }
    let out = run(Command::new("sh").arg("-c").arg(script));
    out.lines()
        .map(|l| match l {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            _ => Ordering::Greater,
        })
        .collect()
}

#[test]
fn version_order_matches_dpkg_compare_versions() {
    require("dpkg", "dpkg");
    let mut pairs: Vec<(&str, &str)> = TRICKY.to_vec();
    for (i, a) in POOL.iter().enumerate() {
        for b in &POOL[i + 1..] {
            pairs.push((a, b));
        }
    }
    pairs.extend(TRICKY.iter().map(|&(a, b)| (b, a)));
    assert!(pairs.len() > 400, "{} pairs", pairs.len());
    let theirs = dpkg_says(&pairs);
    assert_eq!(theirs.len(), pairs.len(), "one answer per pair");
    let wrong: Vec<String> = pairs
        .iter()
        .zip(&theirs)
        .filter_map(|(&(a, b), &dpkg)| {
            let ours = Version::parse(a)
                .unwrap_or_else(|e| panic!("{e}"))
                .cmp(&Version::parse(b).unwrap_or_else(|e| panic!("{e}")));
            (ours != dpkg).then(|| format!("{a} vs {b}: dfab {ours:?}, dpkg {dpkg:?}"))
        })
        .collect();
    assert_eq!(wrong, Vec::<String>::new());
}
