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

/// What dfab resolves from each environment, in the oracle's form: `{env: {key: tagged}}`,
/// keys sorted, with a known key left out when dfab would not act on it (unset, `False`, empty).
fn dfab_settings(file: &Path) -> String {
    use dfab::environments::keys::shape;
    use dfab::environments::value::Kind;
    let project = dfab::environments::Project::load(file, false).expect("dfab loads the file");
    let mut out = serde_json::Map::new();
    for name in project.env_names() {
        let env = project
            .activate(name)
            .unwrap_or_else(|e| panic!("env {name}: {e}"));
        let mut vars = serde_json::Map::new();
        for (k, v) in &env.vars {
            let off = matches!(&v.kind, Kind::Bool(false) | Kind::Int(0))
                || v.as_seq().is_some_and(<[_]>::is_empty);
            if k == "env_name" || (shape(k).is_some() && off) {
                continue;
            }
            // A path key is made absolute against the project at activation (issue 19, kind 7):
            // compare it as written, relative to the file's directory.
            if let (Some(dfab::environments::keys::Shape::LocalPath(_)), Some(p)) =
                (shape(k), v.as_str())
            {
                let rel = Path::new(p)
                    .strip_prefix(&project.file_dir)
                    .map_or_else(|_| p.to_owned(), |r| r.display().to_string());
                let written = dfab::environments::value::Value::new(Kind::Str(rel), v.pos);
                vars.insert(k.clone(), written.to_tagged_json());
                continue;
            }
            vars.insert(k.clone(), v.to_tagged_json());
        }
        out.insert(name.to_owned(), serde_json::Value::Object(vars));
    }
    serde_json::Value::Object(out).to_string()
}

// dragonfab projects leave optional keys as '' or None; dfab refused the whole file ("expected a
// port number (1-65535), got str ''") where dragonfab simply did not pass the option.
#[test]
fn dragonfab_empty_values_resolve_as_dragonfab_used_them() {
    let file = corpus().join("ok/dragonfab_empty_values.py");
    let known = dfab::environments::keys::KEYS.iter().map(|(k, _, _)| *k);
    let out = Command::new(python())
        .arg(corpus().join("dragonfab_settings.py"))
        .arg(&file)
        .args(known)
        .output()
        .expect("the compat test needs Python: apt-get install python3");
    assert!(
        out.status.success(),
        "oracle: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = String::from_utf8(out.stdout).expect("UTF-8");
    assert_eq!(dfab_settings(&file), expected.trim_end());
}
