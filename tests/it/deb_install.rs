//! deb.build's packages installed for real: `dpkg -i` in a container whose network route is
//! removed, maintainer scripts run, debconf answered from a preseed file, vendored wheels used.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::support::{Dfab, TestHost, KEY};

/// A copy of a fixture project with an environments.py reaching `host` as root.
fn project_for(fixture: &str, host: &TestHost, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-deb-")
        .tempdir()
        .unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(fixture);
    let ok = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let envs = format!(
        "environments = {{\n    'test': {{\n        'hosts': ['root@{ip}'],\n        'key_filename': '{KEY}',\n        \
         'known_hosts': '/dev/null',\n        'host_key_checking': 'accept',\n        'package_dir': 'dist/',\n        'wheel': {wheel},\n    }},\n}}\n\
         tasks = {{\n    'install': {{\n        'doc': 'Install built packages offline, debconf answered by a preseed file',\n        \
         'args': ['debs'],\n        'steps': [\n            {{'run': 'mkdir -p /root/debs'}},\n{extra}            \
         {{'run': 'ip route del default; ip route'}},\n            \
         {{'run': \"DEBCONF_DB_OVERRIDE='File{{{{/root/debconf.dat}}}}' DEBIAN_FRONTEND=noninteractive dpkg -i $(for d in {{debs}}; do printf '/root/debs/%s ' $d; done)\"}},\n        \
         ],\n    }},\n}}\n",
        ip = host.ip,
        // Wheels are built only when asked (dragonfab's semantics): ask where there are some.
        wheel = if src.join("requirements.txt").is_file() { "True" } else { "False" },
    );
    fs_err::write(dir.path().join("environments.py"), envs).unwrap();
    dir
}

fn built(dir: &Path) -> Vec<PathBuf> {
    let mut debs: Vec<PathBuf> = fs_err::read_dir(dir.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "deb"))
        .collect();
    debs.sort();
    debs
}

fn put_steps(debs: &[PathBuf]) -> String {
    let mut out = String::new();
    for d in debs {
        let name = d.file_name().unwrap().to_string_lossy();
        let _ = writeln!(
            out,
            "            {{'put': 'dist/{name}', 'to': '/root/debs/'}},"
        );
    }
    out
}

#[test]
fn django_app_installs_offline_with_debconf_answers_and_wheels() {
    let host = TestHost::new();
    // Build first (to know the file names), then install with a task that uploads them.
    let dir = project_for("django-app", &host, "");
    Dfab::new(dir.path()).args(["test", "deb.build"]).run().ok();
    let debs = built(dir.path());
    assert_eq!(debs.len(), 1, "{debs:?}");
    let dir2 = project_for(
        "django-app",
        &host,
        &(put_steps(&debs) + "            {'put': 'debconf.dat', 'to': '/root/'},\n"),
    );
    fs_err::create_dir_all(dir2.path().join("dist")).unwrap();
    fs_err::copy(
        &debs[0],
        dir2.path().join("dist").join(debs[0].file_name().unwrap()),
    )
    .unwrap();
    fs_err::write(
        dir2.path().join("debconf.dat"),
        "Name: django-app/site_name\nTemplate: django-app/site_name\nValue: preseeded.example\nOwners: django-app\nFlags: seen\n\n",
    )
    .unwrap();
    let name = debs[0].file_name().unwrap().to_string_lossy().into_owned();
    let out = Dfab::new(dir2.path())
        .args(["test", &format!("install:{name}")])
        .run()
        .ok();
    assert!(
        out.stdout.contains("Setting up django-app"),
        "{}",
        out.stdout
    );

    // The network really was gone during the install: no default route.
    assert!(!host.check("root", "ip route").contains("default"));
    // postinst ran and took the answer from the preseed file, not the template's default.
    assert_eq!(
        host.check("root", "cat /var/lib/django-app/site_name"),
        "preseeded.example\n"
    );
    // The vendored wheels were installed into the venv without PyPI, and the app imports.
    assert_eq!(
        host.check(
            "root",
            "/opt/django-app/venv/bin/python -c 'import six; print(six.__version__)'"
        ),
        "1.16.0\n"
    );
    let imports = "cd /usr/share/django-app/app && /opt/django-app/venv/bin/python -c 'import djapp, djapp.urls, six; print(\"ok\")'";
    assert_eq!(host.check("root", imports), "ok\n");
    // dh-style files landed where debhelper puts them.
    for f in [
        "/etc/cron.d/django-app",
        "/lib/systemd/system/django-app.service",
        "/etc/django-app/settings.py",
        "/usr/share/doc/django-app/copyright",
    ] {
        host.check("root", &format!("test -e {f}"));
    }
    assert_eq!(
        host.check("root", "dpkg-query -W -f='${Status}' django-app"),
        "install ok installed"
    );
    // The main debconf database kept nothing from the override.
    assert!(!host
        .check("root", "cat /var/cache/debconf/config.dat")
        .contains("preseeded.example"));
}

#[test]
fn two_package_source_and_minimal_install_and_remove_cleanly() {
    let host = TestHost::new();
    let mut projects = Vec::new();
    let mut debs = Vec::new();
    for fixture in ["two-packages", "minimal"] {
        let dir = project_for(fixture, &host, "");
        Dfab::new(dir.path()).args(["test", "deb.build"]).run().ok();
        debs.extend(built(dir.path()));
        projects.push(dir);
    }
    assert_eq!(debs.len(), 3, "{debs:?}");
    let dir = project_for("minimal", &host, &put_steps(&debs));
    fs_err::create_dir_all(dir.path().join("dist")).unwrap();
    for d in &debs {
        fs_err::copy(d, dir.path().join("dist").join(d.file_name().unwrap())).unwrap();
    }
    fs_err::write(dir.path().join("debconf.dat"), "").unwrap();
    let names: Vec<String> = debs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    Dfab::new(dir.path())
        .args(["test", &format!("install:{}", names.join(" "))])
        .run()
        .ok();
    for pkg in ["twopkg-web", "twopkg-worker", "minimal"] {
        assert_eq!(
            host.check("root", &format!("dpkg-query -W -f='${{Status}}' {pkg}")),
            "install ok installed",
            "{pkg}"
        );
    }
    host.check("root", "test -x /usr/bin/twopkg-worker || test -x /usr/sbin/twopkg-worker || dpkg -L twopkg-worker | grep -q worker");
    // Removal runs prerm/postrm and leaves no files of the package behind.
    host.check("root", "dpkg --purge twopkg-web twopkg-worker minimal");
    let left = host.check(
        "root",
        "dpkg-query -W twopkg-web twopkg-worker minimal 2>/dev/null || echo gone",
    );
    assert_eq!(left, "gone\n");
    assert!(
        !host.check("root", "ls /usr/share/doc").contains("twopkg"),
        "docs left behind"
    );
}
