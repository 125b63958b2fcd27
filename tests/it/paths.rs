//! Paths dfab derives (the project dir, `local_dir`, `package_dir`, `lcd`, put and get sources)
//! resolve the same whether `-f` is given relative or absolute, and `wheel` as in dragonfab.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{project, Dfab};

/// `fixtures/<name>` copied to `<tmp>/proj`; returns the temp dir and the project path.
fn copy_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::Builder::new()
        .prefix("dfab-it-")
        .tempdir()
        .expect("tempdir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    let proj = tmp.path().join("proj");
    let ok = Command::new("cp")
        .arg("-a")
        .arg(&src)
        .arg(&proj)
        .status()
        .expect("cp (coreutils)");
    assert!(ok.success());
    (tmp, proj)
}

/// `dpkg-deb --contents` of a package, the oracle for what a build shipped.
fn contents(deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .arg("--contents")
        .arg(deb)
        .output()
        .expect("dpkg-deb: apt-get install dpkg");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

// `dfab -f environments.py build deb.build` in the project dir failed with "failed to read
// directory ``": the project dir was the file's parent, empty for a bare name.
#[test]
fn bare_f_file_name_builds_in_the_project_dir() {
    for file in ["environments.py", "dfab.toml"] {
        let (tmp, proj) = copy_fixture("minimal");
        let text = if file == "dfab.toml" {
            "[environments.build]\n"
        } else {
            "environments = {'build': {}}\n"
        };
        fs_err::write(proj.join(file), text).unwrap();
        let out = Dfab::new(&proj)
            .args(["-f", file, "build", "deb.build"])
            .run()
            .ok();
        // dragonfab's default package_dir: the project's parent.
        let debs: Vec<_> = glob::glob(&format!("{}/*.deb", tmp.path().display()))
            .unwrap()
            .collect();
        assert_eq!(debs.len(), 1, "{file}: {debs:?}\n{out:?}");
    }
}

const TASKS: &str = "environments = {'p': {
    'hosts': ['h1'], 'local_dir': 'app/', 'package_dir': 'dist/',
}}
tasks = {'t': {'steps': [
    {'local': 'pwd', 'lcd': 'sub'},
    {'put': 'up.txt', 'to': '/tmp/'},
    {'get': '/tmp/down.txt', 'to': 'got/'},
]}}
";

// Every derived path, planned from a relative -f (here and from the parent dir) and an absolute
// one: the same absolute paths.
#[test]
fn relative_and_absolute_f_derive_the_same_paths() {
    let dir = project(&[("proj/environments.py", TASKS)]);
    let proj = dir.path().join("proj");
    let abs = proj.join("environments.py");
    let runs = [
        (proj.clone(), "environments.py".to_owned()),
        (proj.clone(), "./environments.py".to_owned()),
        (dir.path().to_path_buf(), "proj/environments.py".to_owned()),
        (proj.join("app"), "../environments.py".to_owned()),
        (PathBuf::from("/"), abs.display().to_string()),
    ];
    let app = proj.join("app");
    let expected = format!(
        "deb.build: would build debian with the native builder (gzip:6 compression) into dist\n\
         [localhost] local: cd {app}/sub && pwd\n\
         [h1] put: put {app}/up.txt /tmp/\n\
         [h1] get: get /tmp/down.txt {app}/got/\n",
        app = app.display()
    );
    fs_err::create_dir_all(&app).unwrap();
    for (cwd, f) in runs {
        eprintln!("-f {f} in {}", cwd.display());
        Dfab::new(&cwd)
            .args(["-n", "-f", &f, "p", "deb.build", "t"])
            .stdout_is(&expected)
            .stderr_is("")
            .run_checked();
    }
}

// A step's `lcd` really runs there with a relative -f given from another directory.
#[test]
fn lcd_runs_in_the_project_subdir_with_relative_f() {
    let dir = project(&[
        (
            "proj/environments.py",
            "environments = {'p': {}}\ntasks = {'t': {'steps': [{'local': 'pwd', 'lcd': 'sub'}]}}\n",
        ),
        ("proj/sub/.keep", ""),
    ]);
    let sub = dir.path().join("proj/sub");
    Dfab::new(dir.path())
        .args(["-f", "proj/environments.py", "p", "t"])
        .stdout_has(format!("[localhost] out: {}\n", sub.display()))
        .stderr_is("")
        .run_checked();
}

const GIT_REQUIREMENT: &str =
    "six==1.16.0\ngit+git://github.com/example/never-fetched.git#egg=never\n";

// A project with requirements.txt (one line a git+git:// URL) and no `wheel` key failed deb.build
// in `pip wheel`; dragonfab built wheels only when `wheel` was true.
#[test]
fn no_wheel_key_vendors_no_wheels_and_says_how_once() {
    let (tmp, proj) = copy_fixture("django-app");
    fs_err::write(proj.join("requirements.txt"), GIT_REQUIREMENT).unwrap();
    fs_err::write(
        proj.join("environments.py"),
        "environments = {'build': {'wheel': ''}}\n",
    )
    .unwrap();
    // Once, saying how.
    Dfab::new(&proj)
        .args(["-f", "environments.py", "build", "deb.build"])
        .stderr_is(
            "warning: requirements.txt is not vendored: wheels are built only when the env turns \
             `wheel` on (as in dragonfab); turn `wheel` off to silence this\n",
        )
        .run_checked();
    let deb = tmp.path().join("django-app_1.0-1_all.deb");
    let c = contents(&deb);
    assert!(!c.contains("wheelhouse/"), "{c}");
    assert!(!proj.join(".dfab/wheelhouse").exists(), "pip ran");
}

// `'wheel': True` still vendors them (the dragonfab way to ask).
#[test]
fn wheel_true_vendors_requirements() {
    let (tmp, proj) = copy_fixture("django-app");
    fs_err::write(
        proj.join("environments.py"),
        "environments = {'build': {'wheel': True}}\n",
    )
    .unwrap();
    // No "not vendored" warning, nor any other.
    Dfab::new(&proj)
        .args(["-f", "environments.py", "build", "deb.build"])
        .stderr_is("")
        .run_checked();
    let c = contents(&tmp.path().join("django-app_1.0-1_all.deb"));
    assert!(c.contains("./usr/share/django-app/wheelhouse/six-"), "{c}");
}
