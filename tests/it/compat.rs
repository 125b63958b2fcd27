//! The environments.py compatibility corpus, judged by Python itself: every `ok/` case must
//! give the values `ast.literal_eval` gives, every `err/` case must fail where its `.expect`
//! file says.

use std::path::{Path, PathBuf};
use std::process::Command;

use dfab::environments::literal::{parse_module_bytes, tagged_module};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("environments.py-compat")
}

fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

/// Run the oracle on a file: its compact JSON, or `None` if Python refused the file.
fn oracle(file: &Path) -> Option<String> {
    let out = Command::new(python())
        .arg(corpus().join("oracle.py"))
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; the compat test needs Python: apt-get install python3",
                python()
            )
        });
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8(out.stdout)
            .expect("oracle prints UTF-8")
            .trim_end()
            .to_owned(),
    )
}

fn cases(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs_err::read_dir(corpus().join(dir))
        .expect("corpus directory")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    files
}

fn read(file: &Path) -> Vec<u8> {
    fs_err::read(file).expect("readable case")
}

#[test]
fn python_is_installed() {
    let ok = Command::new(python())
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "the compat test needs Python as its oracle: apt-get install python3"
    );
}

#[test]
fn ok_cases_match_python() {
    let files = cases("ok");
    assert!(files.len() >= 20, "the ok/ corpus is missing");
    let mut failures = Vec::new();
    for file in &files {
        let name = file.display();
        let Some(expected) = oracle(file) else {
            failures.push(format!("{name}: Python refused an ok/ case"));
            continue;
        };
        match parse_module_bytes(&read(file)) {
            Err(e) => failures.push(format!("{name}: dfab refused it: {e}")),
            // Compared as text: serde_json would refuse to parse the deepest cases back.
            Ok(module) => {
                let got = tagged_module(&module).to_string();
                if got != expected {
                    failures.push(format!("{name}:\n  dfab:   {got}\n  python: {expected}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} ok/ cases differ:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn err_cases_fail_where_expected() {
    let files = cases("err");
    assert!(files.len() >= 20, "the err/ corpus is missing");
    let mut failures = Vec::new();
    for file in &files {
        let name = file.display();
        let expect = String::from_utf8(read(&file.with_extension("expect"))).expect("UTF-8");
        let mut lines = expect.lines();
        let first = lines.next().unwrap_or_default();
        let (pos, substring) = first.split_once(' ').unwrap_or((first, ""));
        let dfab_only = lines.any(|l| l.starts_with("dfab-only:"));
        if !dfab_only && oracle(file).is_some() {
            failures.push(format!(
                "{name}: Python accepts it (mark it `dfab-only:` if meant)"
            ));
        }
        match parse_module_bytes(&read(file)) {
            Ok(_) => failures.push(format!("{name}: dfab accepted it")),
            Err(e) => {
                if e.pos.to_string() != pos || !e.message.contains(substring) {
                    failures.push(format!("{name}: got `{e}`, expected `{first}`"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} err/ cases wrong:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}
