//! The djdemo fixture for real: `deb.build` packages the Django app with its wheels, a container
//! cloned from an `lxc.template` with `postgresql` and `nginx-light` installs it with debconf
//! answers, and nginx serves a row read from the database; `dpkg-buildpackage` is the oracle for
//! the file list.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dfab::environments::Project;

use crate::support::{Dfab, Reserved};

pub(crate) const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/djdemo");
const DEB: &str = "dist/djdemo_1.0_all.deb";

/// Held while `deb.build` runs: the tests share one wheel cache, and two builds filling it at
/// once replace each other's wheelhouse mid-read ("changed while being packaged").
pub(crate) static WHEEL_CACHE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `dfab <env> deb.build` in `project`, one build at a time.
pub(crate) fn deb_build(project: &Path, env: &str) {
    let _cache = WHEEL_CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    Dfab::new(project).args([env, "deb.build"]).run().ok();
}

/// Copies the fixture (without its build caches and output) to `dest`, sharing one wheel cache
/// between test runs so that pip downloads the wheels once.
pub(crate) fn copy_fixture(dest: &Path) {
    fn copy(from: &Path, to: &Path) {
        fs_err::create_dir_all(to).unwrap();
        for entry in fs_err::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == ".dfab" || name == "dist" {
                continue;
            }
            let (src, dst) = (entry.path(), to.join(&name));
            if entry.file_type().unwrap().is_dir() {
                copy(&src, &dst);
            } else {
                fs_err::copy(&src, &dst).unwrap();
            }
        }
    }
    copy(Path::new(FIXTURE), dest);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("djdemo-wheelhouse");
    fs_err::create_dir_all(&cache).unwrap();
    fs_err::create_dir_all(dest.join(".dfab")).unwrap();
    std::os::unix::fs::symlink(&cache, dest.join(".dfab/wheelhouse")).unwrap();
}

/// The fixture's environments, as dfab reads them.
pub(crate) fn fixture_project() -> Project {
    Project::load(&Path::new(FIXTURE).join("environments.py"), false).unwrap()
}

/// How many tests hold this process's djdemo template: the first builds it, the last destroys it.
static TEMPLATE_USERS: std::sync::Mutex<usize> = std::sync::Mutex::new(0);

/// The djdemo template: `lxc.template` with the fixture's `lxc_packages` (from the rootfs cache in
/// /var/cache/dfab after the first build on a machine), shared by the tests of this process that
/// run at the same time. Bind it before the test's containers, so that they are gone (a template
/// with clones cannot be destroyed) when it drops.
pub(crate) struct SharedTemplate {
    pub name: String,
}

impl SharedTemplate {
    pub(crate) fn acquire() -> SharedTemplate {
        let name = format!("dfab-it-djdemo-tpl-{}", std::process::id());
        let mut users = TEMPLATE_USERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *users == 0 {
            let packages = fixture_project()
                .activate("production")
                .unwrap()
                .str_list("lxc_packages")
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ");
            let dir = tempfile::Builder::new()
                .prefix("dfab-it-djdemo-tpl-")
                .tempdir()
                .unwrap();
            fs_err::write(
                dir.path().join("environments.py"),
                format!(
                    "environments = {{'t': {{'lxc': 'dfab-it-unused', 'lxc_template': '{name}', \
                     'lxc_packages': [{packages}]}}}}\n"
                ),
            )
            .unwrap();
            let t = Instant::now();
            let out = Dfab::new(dir.path()).args(["t", "lxc.template"]).run().ok();
            eprintln!(
                "djdemo: template {name} in {:.1?} ({})",
                t.elapsed(),
                if out.stdout.contains("debootstrap ") {
                    "debootstrap"
                } else {
                    "from the cached rootfs"
                }
            );
        }
        *users += 1;
        SharedTemplate { name }
    }
}

impl Drop for SharedTemplate {
    fn drop(&mut self) {
        let mut users = TEMPLATE_USERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *users -= 1;
        if *users > 0 {
            return;
        }
        let destroyed = Command::new("lxc-destroy")
            .args(["-n", &self.name])
            .output()
            .is_ok_and(|o| o.status.success());
        if !destroyed {
            eprintln!(
                "djdemo: could not destroy the test template {}; lxc-destroy -n it",
                self.name
            );
        }
    }
}

/// One HTTP/1.0 GET to `ip:80`: status, headers and body.
pub(crate) fn get(ip: &str, path: &str) -> std::io::Result<(u16, String, String)> {
    get_as(ip, path, ip)
}

/// `get` with another `Host` header.
fn get_as(ip: &str, path: &str, host: &str) -> std::io::Result<(u16, String, String)> {
    let mut s =
        TcpStream::connect_timeout(&format!("{ip}:80").parse().unwrap(), Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, head.to_owned(), body.to_owned()))
}

/// `sh -c script` in container `name` (lxc-attach, the host's environment kept out).
fn attach(name: &str, script: &str) -> std::process::Output {
    Command::new("lxc-attach")
        .args(["-n", name, "--clear-env", "--", "sh", "-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[track_caller]
pub(crate) fn attach_ok(name: &str, script: &str) -> String {
    let out = attach(name, script);
    assert!(
        out.status.success(),
        "in {name}: {script}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A debconf database answering the package's questions (the format of the fixture's files).
fn debconf(answers: &[(&str, &str)]) -> String {
    answers.iter().fold(String::new(), |mut s, (q, v)| {
        let _ = write!(
            s,
            "Name: djdemo/{q}\nTemplate: djdemo/{q}\nValue: {v}\nOwners: djdemo\nFlags: seen\n\n"
        );
        s
    })
}

#[track_caller]
pub(crate) fn require_root_and_tools(tools: &[&str]) {
    // SAFETY: geteuid has no preconditions.
    assert_eq!(unsafe { libc::geteuid() }, 0, "this test needs root");
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            found,
            "this test needs `{tool}`: run `sudo bash scripts/setup-host`"
        );
    }
}

// The fixture's environments.py is what the demo deploys: two envs from one template, production
// protected, staging cloned from it, wheels on, and debconf answers for every question asked.
#[test]
fn djdemo_environments_describe_production_and_staging() {
    let project = fixture_project();
    let names: Vec<&str> = project.env_names().collect();
    assert_eq!(names, ["production", "staging"]);
    let templates = fs_err::read_to_string(Path::new(FIXTURE).join("debian/templates")).unwrap();
    let questions: BTreeSet<&str> = templates
        .lines()
        .filter_map(|l| l.strip_prefix("Template: "))
        .collect();
    for name in names {
        let env = project.activate(name).unwrap();
        assert_eq!(env.bool("wheel"), Some(true), "{name}: wheel");
        assert_eq!(env.str("package_name"), Some("djdemo"));
        assert_eq!(env.str("lxc_template"), Some("djdemo-template"));
        for pkg in ["postgresql", "nginx-light"] {
            assert!(
                env.str_list("lxc_packages").iter().any(|p| p == pkg),
                "{name}: {pkg}"
            );
        }
        let dat = env.str("debconf").unwrap();
        let text = fs_err::read_to_string(Path::new(FIXTURE).join(dat)).unwrap();
        let answered: BTreeSet<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("Name: "))
            .collect();
        assert_eq!(
            answered, questions,
            "{dat} answers every question, and only those"
        );
        // The env's db_password and the debconf answer are the same secret.
        let password = env.str("db_password").unwrap();
        assert!(text.contains(&format!("Value: {password}\n")), "{dat}");
        // health_url and the allowed_hosts answer name the pinned address.
        let ip = env.str("lxc_ipv4").unwrap().split('/').next().unwrap();
        assert_eq!(env.str("health_url"), Some(&*format!("http://{ip}/health")));
        assert!(
            text.contains(&format!("Value: {ip}\n")),
            "{dat} allows {ip}"
        );
    }
    let production = project.activate("production").unwrap();
    let staging = project.activate("staging").unwrap();
    assert_eq!(production.bool("protected"), Some(true));
    assert_eq!(staging.bool("protected"), None);
    assert_eq!(staging.str("db_clone_from"), Some("production"));
}

// The commands the fixture's environments.py documents plan (`-n`): its `test_commands` once held
// a bare string, which the user-task syntax reads as a task name, so `deploy` and `test` refused.
#[test]
fn djdemo_documented_commands_plan() {
    let dir = tempfile::tempdir().unwrap();
    copy_fixture(dir.path());
    for args in [
        &["production", "deploy"][..],
        &["production", "test"],
        &["production", "db_migrate"],
        // A fresh checkout has no build: `-n deb.deploy` alone refuses as the run does.
        &["staging", "deb.build", "deb.deploy"],
        &["staging", "db_clone"],
        &["staging", "deploy"],
    ] {
        let out = Dfab::new(dir.path()).args(["-n"]).args(args).run();
        assert_eq!(
            out.code,
            0,
            "dfab -n {}: {}{}",
            args.join(" "),
            out.stdout,
            out.stderr
        );
        // A plan a person reads: one line per step and host, none over 120 characters (the
        // commands are behind -v). The issue measured 60 lines and 8 over 200 here.
        if args == ["production", "deploy"] {
            let lines: Vec<&str> = out.stdout.lines().chain(out.stderr.lines()).collect();
            assert!(
                lines.iter().all(|l| l.chars().count() <= 120),
                "{}",
                out.stdout
            );
            assert!(lines.len() <= 20, "{}", out.stdout);
        }
    }
}

/// The test project: the fixture with an environments.py naming this test's container and
/// template, and a debconf file answering for this container's address.
fn test_project(dir: &Path, r: &Reserved, template: &str, password: &str) {
    copy_fixture(dir);
    let fixture = fixture_project().activate("production").unwrap();
    let packages = fixture
        .str_list("lxc_packages")
        .iter()
        .map(|p| format!("'{p}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let envs = format!(
        "environments = {{\n    'it': {{\n        'lxc': '{name}',\n        'lxc_template': '{template}',\n        \
         'lxc_ipv4': '{ip}/24',\n        'lxc_transport': 'attach',\n        'lxc_packages': [{packages}],\n        \
         'package_name': 'djdemo',\n        'package_dir': 'dist/',\n        'wheel': True,\n        \
         'venv_path': '/opt/djdemo/venv',\n    }},\n}}\n\
         tasks = {{\n    'install': {{\n        'doc': 'install the package with the test answers',\n        'steps': [\n            \
         {{'put': '{DEB}', 'to': '/root/'}},\n            {{'put': 'debconf.it.dat', 'to': '/root/'}},\n            \
         {{'run': 'timeout 60 systemctl is-system-running --wait; timeout 60 sh -c \"until pg_isready -q; do sleep 0.2; done\"'}},\n            \
         {{'run': \"DEBCONF_DB_OVERRIDE='File{{{{/root/debconf.it.dat}}}}' DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/djdemo_1.0_all.deb\"}},\n        \
         ],\n    }},\n}}\n",
        name = r.name,
        ip = r.ip,
    );
    fs_err::write(dir.join("environments.py"), envs).unwrap();
    let dat = debconf(&[
        ("site_name", "Notes under test"),
        ("db_password", password),
        ("allowed_hosts", &r.ip),
        ("migrate", "true"),
    ]);
    fs_err::write(dir.join("debconf.it.dat"), dat).unwrap();
}

/// Polls `ip{path}` until it answers 200 (the unit starts gunicorn asynchronously).
pub(crate) fn wait_200(ip: &str, path: &str, within: Duration) -> (u16, String, String) {
    let deadline = Instant::now() + within;
    loop {
        let got = get(ip, path);
        match got {
            Ok(r) if r.0 == 200 => return r,
            _ if Instant::now() >= deadline => panic!("http://{ip}{path}: {got:?}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

// The whole app in a container: built by deb.build, installed offline with debconf answers by
// apt-get, gunicorn under systemd, nginx in front, a row inserted into PostgreSQL shown on `/`.
// Then a reinstall (dpkg -i again) keeps the data and the secret key: the postinst is idempotent;
// and an upgrade and a downgrade each serve their release with the data kept.
#[test]
fn djdemo_installs_in_a_container_and_serves_postgres_rows_through_nginx() {
    require_root_and_tools(&["lxc-attach", "debootstrap"]);
    // Bound before the clone's reservation, so dropped after it.
    let template = SharedTemplate::acquire();
    let r = Reserved::new();
    // Quotes, a dollar and a backslash: the password must survive the shell, SQL and JSON.
    let password = format!("pw'\"$HOME\\ {}", std::process::id());
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-djdemo-")
        .tempdir()
        .unwrap();
    let project = dir.path().join("djdemo");
    test_project(&project, &r, &template.name, &password);

    let t = Instant::now();
    deb_build(&project, "it");
    let build = t.elapsed();
    assert!(project.join(DEB).is_file());

    let t = Instant::now();
    Dfab::new(&project).args(["it", "install"]).run().ok();
    let install = t.elapsed();

    let t = Instant::now();
    let health = wait_200(&r.ip, "/health", Duration::from_secs(30));
    let first_answer = t.elapsed();
    assert_eq!(health.2, "ok\n");
    assert!(health.1.contains("Server: nginx"), "{}", health.1);
    assert_eq!(
        attach_ok(&r.name, "systemctl is-active djdemo nginx postgresql"),
        "active\nactive\nactive\n"
    );
    assert_eq!(
        attach_ok(&r.name, "stat -c '%U:%G %a' /etc/djdemo/settings.json"),
        "root:djdemo 640\n"
    );
    // gunicorn listens where nginx sends requests, as the app's user.
    assert_eq!(
        attach_ok(&r.name, "ps -o user= -C gunicorn | sort -u"),
        "djdemo\n"
    );

    let (status, _, body) = get(&r.ip, "/").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("no notes yet"), "{body}");
    let note = format!("written by test {} in PostgreSQL", std::process::id());
    attach_ok(
        &r.name,
        &format!(
            "runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d djdemo \
             -c \"INSERT INTO notes_note (text, created) VALUES ('{note}', now())\""
        ),
    );
    let (status, _, body) = get(&r.ip, "/").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("<li class=\"note\">{note}</li>")),
        "{body}"
    );
    assert!(body.contains("<h1>Notes under test</h1>"), "{body}");
    assert!(body.contains("release 1.0"), "{body}");
    assert!(body.contains("1 note from PostgreSQL 15"), "{body}");
    let (status, head, css) = get(&r.ip, "/static/notes/style.css").unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(css.contains("djdemo's stylesheet"), "{css}");
    // The password reached PostgreSQL intact (the app logs in with it over TCP, scram).
    let secret_key = "python3 -c 'import json; print(json.load(open(\"/etc/djdemo/settings.json\"))[\"secret_key\"])' | sha256sum";
    let key_before = attach_ok(&r.name, secret_key);

    // Reinstall: the postinst runs again; the row, the role and the secret key survive.
    let t = Instant::now();
    attach_ok(
        &r.name,
        "DEBCONF_DB_OVERRIDE='File{/root/debconf.it.dat}' DEBIAN_FRONTEND=noninteractive dpkg -i /root/djdemo_1.0_all.deb",
    );
    let reinstall = t.elapsed();
    wait_200(&r.ip, "/health", Duration::from_secs(30));
    let (status, _, body) = get(&r.ip, "/").unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&note), "{body}");
    assert_eq!(attach_ok(&r.name, secret_key), key_before);

    // Django answers only the hosts debconf allowed (the address, the site name, localhost).
    let (status, _, _) = get_as(&r.ip, "/", "not-allowed.example").unwrap();
    assert_eq!(status, 400);

    // An upgrade to 1.1 restarts the unit on the new release and keeps the data; going back to
    // 1.0 (what a rollback does) works the same way.
    let t = Instant::now();
    Dfab::new(&project)
        .args(["it", "deb.build:version=1.1"])
        .run()
        .ok();
    for (version, action) in [("1.1", "install"), ("1.0", "install --allow-downgrades")] {
        let deb = fs_err::read(project.join(format!("dist/djdemo_{version}_all.deb"))).unwrap();
        let mut child = Command::new("lxc-attach")
            .args(["-n", &r.name, "--clear-env", "--", "sh", "-c"])
            .arg(format!("cat > /root/djdemo_{version}_all.deb"))
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&deb).unwrap();
        assert!(child.wait().unwrap().success());
        attach_ok(
            &r.name,
            &format!(
                "DEBCONF_DB_OVERRIDE='File{{/root/debconf.it.dat}}' DEBIAN_FRONTEND=noninteractive \
                 apt-get {action} -y -q /root/djdemo_{version}_all.deb"
            ),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        let body = loop {
            let (status, _, body) = get(&r.ip, "/").unwrap_or_default();
            if status == 200 && body.contains(&format!("release {version}<")) {
                break body;
            }
            assert!(
                Instant::now() < deadline,
                "release {version} never served: {status} {body}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(body.contains(&note), "{body}");
    }
    let upgrade = t.elapsed();

    eprintln!(
        "djdemo timings: deb.build {build:.1?}, \
         clone + install {install:.1?}, first 200 after install {first_answer:.1?}, reinstall {reinstall:.1?}, \
         build 1.1 + upgrade + downgrade {upgrade:.1?}"
    );
}

/// `dpkg-deb -c` as (mode, path) pairs.
fn contents(deb: &Path) -> BTreeSet<(String, String)> {
    let out = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_owned(), f[5].trim_end_matches('/').to_owned())
        })
        .collect()
}

fn control_members(deb: &Path) -> BTreeSet<String> {
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("dpkg-deb")
        .arg("-e")
        .arg(deb)
        .arg(dir.path().join("c"))
        .status()
        .unwrap();
    assert!(ok.success());
    fs_err::read_dir(dir.path().join("c"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn field(deb: &Path, name: &str) -> BTreeSet<String> {
    let out = Command::new("dpkg-deb")
        .arg("-f")
        .arg(deb)
        .arg(name)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split(',')
        .map(|d| d.trim().to_owned())
        .filter(|d| !d.is_empty())
        .collect()
}

// dpkg-buildpackage (debhelper 13) is the oracle: the same paths and modes, the same control
// members and dependencies, except what dfab adds for the vendored wheels (the wheelhouse, and
// python3-venv, which the fixture also lists itself).
#[test]
fn djdemo_deb_build_ships_what_dpkg_buildpackage_ships() {
    require_root_and_tools(&["dpkg-buildpackage", "dh", "fakeroot"]);
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-djdemo-")
        .tempdir()
        .unwrap();
    let ours = dir.path().join("ours/djdemo");
    let theirs = dir.path().join("theirs/djdemo");
    copy_fixture(&ours);
    copy_fixture(&theirs);
    Dfab::new(&ours)
        .args(["production", "deb.build"])
        .run()
        .ok();
    let t = Instant::now();
    let out = Command::new("dpkg-buildpackage")
        .args(["-us", "-uc", "-b"])
        .current_dir(&theirs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "dpkg-buildpackage: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dpkg_time = t.elapsed();
    let ours = ours.join(DEB);
    let theirs: PathBuf = dir.path().join("theirs/djdemo_1.0_all.deb");

    let wheelhouse = "./usr/share/djdemo/wheelhouse";
    let (with_wheels, without): (BTreeSet<_>, BTreeSet<_>) = contents(&ours)
        .into_iter()
        .partition(|(_, p)| p.starts_with(wheelhouse));
    assert!(
        with_wheels.iter().any(|(_, p)| p.contains("/django-4.2.")),
        "{with_wheels:?}"
    );
    assert_eq!(without, contents(&theirs));
    assert_eq!(control_members(&ours), control_members(&theirs));
    assert_eq!(field(&ours, "Depends"), field(&theirs, "Depends"));
    assert_eq!(field(&ours, "Recommends"), field(&theirs, "Recommends"));
    eprintln!("djdemo: dpkg-buildpackage took {dpkg_time:.1?}");
}
