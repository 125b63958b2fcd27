//! What `make demo` shows, as a test: the fixture's own environments.py (its container names,
//! addresses and template renamed for this test) deploys djdemo with dfab's built-ins into two
//! containers, and the app answers over HTTP as the demo says: rows read from the database, the 503
//! splash in maintenance, staging serving production's rows after `db_clone`, an upgrade and a
//! rollback. A broken demo fails `make test` here too.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::djdemo::{
    attach_ok, copy_fixture, deb_build, get, require_root_and_tools, wait_200, SharedTemplate,
    FIXTURE,
};
use crate::support::{Dfab, Reserved};

/// `text` with `from` replaced by `to`, which must occur (the fixture changed otherwise).
#[track_caller]
fn swap(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "the fixture no longer says {from:?}");
    text.replace(from, to)
}

/// The fixture in `dir`, its two envs moved onto this test's containers and addresses.
fn demo_project(dir: &Path, prod: &Reserved, staging: &Reserved, template: &str) {
    copy_fixture(dir);
    let envs = fs_err::read_to_string(Path::new(FIXTURE).join("environments.py")).unwrap();
    let envs = swap(&envs, "'djdemo-production'", &format!("'{}'", prod.name));
    let envs = swap(&envs, "'djdemo-staging'", &format!("'{}'", staging.name));
    let envs = swap(&envs, "'djdemo-template'", &format!("'{template}'"));
    let envs = swap(&envs, "10.0.3.201", &prod.ip);
    let envs = swap(&envs, "10.0.3.202", &staging.ip);
    fs_err::write(dir.join("environments.py"), envs).unwrap();
    for (file, fixture_ip, ip) in [
        ("debconf.production.dat", "10.0.3.201", &prod.ip),
        ("debconf.staging.dat", "10.0.3.202", &staging.ip),
    ] {
        let dat = fs_err::read_to_string(Path::new(FIXTURE).join(file)).unwrap();
        fs_err::write(dir.join(file), swap(&dat, fixture_ip, ip)).unwrap();
    }
}

/// Polls `ip{path}` until it answers `status` with `needle` in the body; panics with the last
/// answer after 30 s (a restart may be under way after an install).
#[track_caller]
fn expect(ip: &str, path: &str, status: u16, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = get(ip, path);
        if let Ok((s, _, body)) = &got {
            if *s == status && body.contains(needle) {
                return body.clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "http://{ip}{path}: expected {status} with {needle:?}, got {got:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs dfab, which must succeed; its stdout and stderr together.
fn dfab(project: &Path, args: &[&str]) -> String {
    let out = Dfab::new(project).args(args).run().ok();
    out.stdout + &out.stderr
}

// The demo's four commands with the built-ins, in the order the demo runs them, each checked
// over HTTP.
#[test]
fn djdemo_demo_flow_deploy_maintenance_db_clone_upgrade_rollback() {
    require_root_and_tools(&["lxc-attach", "debootstrap"]);
    let template = SharedTemplate::acquire();
    let (prod, staging) = (Reserved::new(), Reserved::new());
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-djdemo-flow-")
        .tempdir()
        .unwrap();
    let project = dir.path().join("djdemo");
    demo_project(&project, &prod, &staging, &template.name);
    let started = Instant::now();

    // 1. The first deploy, split where the demo's sequence is in maintenance: the new release is
    // installed and migrated behind the splash (/health stays open), then goes live.
    deb_build(&project, "production");
    let out = dfab(
        &project,
        &["production", "init", "web_mode:maintenance", "deb.deploy"],
    );
    assert!(!out.contains("no maintenance snippet at /etc/"), "{out}");
    // Production's debconf answers say migrate=false: the postinst left the migration to the
    // deploy, and the password answer is the one the app logs in with.
    assert_eq!(
        attach_ok(
            &prod.name,
            "djdemo-manage migrate --check >/dev/null 2>&1; echo $?"
        )
        .trim(),
        "1",
        "unapplied migrations after deb.deploy"
    );
    assert_eq!(
        attach_ok(
            &prod.name,
            "python3 -c 'import json; print(json.load(open(\"/etc/djdemo/settings.json\"))[\"db_password\"])'"
        )
        .trim(),
        "prod-s3cret"
    );
    dfab(&project, &["production", "db_migrate"]);
    let splash = expect(&prod.ip, "/", 503, "Down for maintenance");
    assert!(splash.contains("will be back shortly"), "{splash}");
    assert_eq!(expect(&prod.ip, "/health", 200, "ok"), "ok\n");
    dfab(&project, &["production", "test", "web_mode:live"]);
    let body = expect(&prod.ip, "/", 200, "release 1.0<");
    assert!(body.contains("<h1>Notes (production)</h1>"), "{body}");
    assert!(body.contains("no notes yet"), "{body}");
    // The fixture's user task writes through psql; the page reads it from PostgreSQL.
    let note = format!("flow test {} wrote this", std::process::id());
    dfab(&project, &["production", &format!("note:text={note}")]);
    let body = expect(
        &prod.ip,
        "/",
        200,
        &format!("<li class=\"note\">{note}</li>"),
    );
    assert!(body.contains("1 note from PostgreSQL 15"), "{body}");

    // 2. Maintenance with a message, then live again.
    dfab(
        &project,
        &["production", "web_mode:maintenance,message=Back <soon>"],
    );
    let splash = expect(&prod.ip, "/", 503, "Back &lt;soon&gt;");
    assert!(!splash.contains(&note), "{splash}");
    dfab(&project, &["production", "web_mode:live"]);
    expect(&prod.ip, "/", 200, &note);

    // 3. Staging: its own answers, an empty database, then production's rows.
    // Regression: before `init` installs the snippet, maintenance said "on" and the site stayed
    // live without a word; now it is refused, saying why (issue 19, kind 12).
    let refused = Dfab::new(&project)
        .args(["staging", "web_mode:maintenance"])
        .run();
    assert_ne!(refused.code, 0, "{refused:?}");
    let out = refused.stdout + &refused.stderr;
    assert!(
        out.contains(
            "no maintenance snippet at /etc/djdemo/nginx.d/maintenance.conf (web_snippet_path)"
        ),
        "{out}"
    );
    dfab(&project, &["staging", "web_mode:live"]);
    dfab(&project, &["staging", "init", "deb.deploy"]);
    let body = expect(&staging.ip, "/", 200, "<h1>Notes (staging)</h1>");
    assert!(body.contains("no notes yet"), "{body}");
    dfab(&project, &["staging", "db_clone"]);
    let body = expect(&staging.ip, "/", 200, &note);
    assert!(body.contains("<h1>Notes (staging)</h1>"), "{body}");
    // Production is the source, never a target.
    let refused = Dfab::new(&project).args(["production", "db_clone"]).run();
    assert_eq!(refused.code, 2, "{refused:?}");
    assert!(refused.stderr.contains("production"), "{}", refused.stderr);

    // 4. A new release in debian/changelog and the wrapped `deploy` (build, maintenance,
    // install, migrate, test, live) upgrades; then the history, and a rollback to the release
    // before.
    let changelog = project.join("debian/changelog");
    let old = fs_err::read_to_string(&changelog).unwrap();
    fs_err::write(
        &changelog,
        format!(
            "djdemo (1.1) unstable; urgency=medium\n\n  * An upgrade.\n\n \
             -- dfab tests <dfab@example.org>  Tue, 01 Dec 2026 10:00:00 +0000\n\n{old}"
        ),
    )
    .unwrap();
    let deployed = {
        let _cache = crate::djdemo::WHEEL_CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        dfab(&project, &["production", "deploy"])
    };
    assert!(
        deployed.contains("] upgraded djdemo 1.0 → 1.1"),
        "{deployed}"
    );
    let body = expect(&prod.ip, "/", 200, "release 1.1<");
    assert!(body.contains(&note), "{body}");
    expect(&prod.ip, "/health", 200, "ok");
    let releases = dfab(&project, &["production", "releases"]);
    assert!(releases.contains("kept releases: 1.0, 1.1"), "{releases}");
    dfab(&project, &["-y", "production", "rollback"]);
    let body = expect(&prod.ip, "/", 200, "release 1.0<");
    assert!(body.contains(&note), "{body}");
    let releases = dfab(&project, &["production", "releases"]);
    assert!(releases.contains("installed 1.0"), "{releases}");
    assert!(releases.contains("rollback"), "{releases}");
    wait_200(&prod.ip, "/health", Duration::from_secs(30));
    eprintln!("djdemo flow: {:.1?}", started.elapsed());
}
