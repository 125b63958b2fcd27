//! Release mode's fixes from the review of issues 20, 21 and 24, against a real container:
//! `manage` and the `test` step's check run in the instance's release (never dpkg mode's
//! /opt paths), `deb.reconfigure` reconfigures `current`, `services` acts on the instance,
//! `-n` says "would" and the real restart says its health, and the wrapped deploy's summary
//! says what changed.

use std::path::Path;

use crate::release_mode::{web, DEBCONF};
use crate::support::{copy_tree, deploy_app_fixture, project, Dfab, Outcome, TestHost, KEY};

/// A stand-in for the release's venv python: says where it ran, as whom, and with what.
const FAKE_PY: &str = "#!/bin/sh\necho \"fakepy $0 $* in $PWD; release=$DFAB_RELEASE \
instance=$DFAB_INSTANCE config=$DFAB_CONFIG user=$(id -un)\"\n";

/// The env `name` on `h`: release mode, the answers rendered into shared/app.conf, a fake venv
/// python put into each release by a setup command, restarts counted in shared/restarts.
fn env(h: &TestHost, name: &str) -> String {
    format!(
        "[environments.{name}]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\npackage_name = \"deploy-app\"\n\
         app_user = \"root\"\ninstall_mode = \"release\"\nkeep_releases = 3\n\
         health_url = \"http://127.0.0.1/{name}/VERSION\"\nhealth_timeout = 5\n\
         deploy = [\"deb.deploy\", \"test\"]\n\
         release_start_command = \"echo \\\"$DFAB_RELEASE\\\" >> \\\"$DFAB_SHARED/restarts\\\"\"\n\
         release_setup_commands = [\n\
         \"set -a; . \\\"$DFAB_CONFIG/debconf.env\\\"; printf 'site=%s\\\\n' \\\"$DEPLOY_APP_SITE_NAME\\\" > \\\"$DFAB_SHARED/app.conf\\\"\",\n\
         \"install -D -m 0755 usr/share/deploy-app/fakepy opt/deploy-app/venv/bin/python\",\n]\n",
        ip = h.ip
    )
}

fn dfab(p: &Path, args: &[&str]) -> Outcome {
    Dfab::new(p).args(args).run()
}

/// stdout and stderr of a run that must succeed.
#[track_caller]
fn said(p: &Path, args: &[&str]) -> String {
    let out = dfab(p, args).ok();
    out.stdout + &out.stderr
}

fn build(p: &Path, version: &str) {
    fs_err::write(p.join("share/VERSION"), format!("{version}\n")).unwrap();
    said(p, &["staging", &format!("deb.build:version={version}")]);
}

fn current(h: &TestHost, inst: &str) -> String {
    let l = h.check(
        "root",
        &format!("readlink /srv/deploy-app/{inst}/current || true"),
    );
    l.trim().trim_start_matches("releases/").to_string()
}

#[test]
fn release_mode_review_manage_reconfigure_services_dry_run_and_summary() {
    let h = TestHost::new();
    web(&h);
    let toml = format!("{}\n{}", env(&h, "staging"), env(&h, "production"));
    let dir = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
    let p = dir.path();
    copy_tree(&deploy_app_fixture(), p);
    fs_err::write(p.join("share/fakepy"), FAKE_PY).unwrap();
    let install = fs_err::read_to_string(p.join("debian/install")).unwrap();
    fs_err::write(
        p.join("debian/install"),
        format!("{install}share/fakepy usr/share/deploy-app\n"),
    )
    .unwrap();
    build(p, "1.0-1");
    said(p, &["staging", "deb.deploy"]);
    let r1 = current(&h, "staging");
    assert!(r1.starts_with("1.0-1-"), "{r1}");
    let rel1 = format!("/srv/deploy-app/staging/releases/{r1}");

    // Item 5: `manage` runs in current's venv and app dir with the instance's variables (was:
    // dpkg mode's /opt/deploy-app, "can't cd"), and the `test` step's default check too.
    let out = said(p, &["staging", "manage:check"]);
    assert!(
        out.contains(&format!(
            "fakepy {rel1}/opt/deploy-app/venv/bin/python {rel1}/opt/deploy-app/manage.py check in {rel1}/opt/deploy-app; release={rel1} instance=staging config={rel1}/.dfab user=root"
        )),
        "{out}"
    );
    let out = said(p, &["staging", "test"]);
    assert!(!out.contains("FAILED"), "{out}");
    // An instance without a current release: said, not dpkg's paths.
    let out = dfab(p, &["production", "manage:check"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("instance production has no current release in /srv/deploy-app/production"),
        "{}",
        out.stderr
    );

    // Item 4: deb.reconfigure reconfigures current with the new answers (was: "not installed",
    // rc 0); -n says it would; an instance with no current release is refused, rc 1.
    fs_err::write(
        p.join("debconf.dat"),
        DEBCONF.replace("shop.example.com", "two.example.com"),
    )
    .unwrap();
    let out = said(p, &["-n", "staging", "deb.reconfigure"]);
    assert!(out.contains("would reconfigure current release"), "{out}");
    assert!(
        h.check("root", "cat /srv/deploy-app/staging/shared/app.conf")
            .contains("site=shop.example.com"),
        "-n changed the config"
    );
    let out = said(p, &["staging", "deb.reconfigure"]);
    assert!(
        out.contains(&format!("reconfigured current release {r1}")),
        "{out}"
    );
    assert_eq!(
        h.check("root", "cat /srv/deploy-app/staging/shared/app.conf"),
        "site=two.example.com\n"
    );
    Dfab::new(p)
        .args(["-y", "production", "deb.reconfigure"])
        .status(1)
        .stderr_has("instance production has no current release")
        .stderr_has("deploy first")
        .run_checked();

    // Item 6: `services` acts on the instance (was: the host-wide unit, "inactive" / "not
    // found"): status asks health_url, restart restarts in current and waits; stop is refused.
    let out = said(p, &["staging", "services"]);
    assert!(
        out.contains(&format!(
            "instance staging: current release {r1}; http://127.0.0.1/staging/VERSION answered 200"
        )),
        "{out}"
    );
    let before = h.check("root", "wc -l < /srv/deploy-app/staging/shared/restarts");
    let out = said(p, &["staging", "services:restart"]);
    assert!(out.contains("restarted instance staging"), "{out}");
    let after = h.check("root", "wc -l < /srv/deploy-app/staging/shared/restarts");
    assert_ne!(
        before, after,
        "services:restart did not restart the instance"
    );
    Dfab::new(p)
        .args(["staging", "services:stop"])
        .status(2)
        .stderr_has("release mode")
        .run_checked();

    // Item 7: -n web_restart says "would" (was: "restarted instance"); the run says its health.
    let out = said(p, &["-n", "staging", "web_restart"]);
    assert!(out.contains("would restart instance staging"), "{out}");
    assert!(!out.contains("restarted instance"), "{out}");
    let out = said(p, &["staging", "web_restart"]);
    assert!(
        out.contains("health: http://127.0.0.1/staging/VERSION answered 200"),
        "{out}"
    );
    // ... and -n deb.deploy of a new build says it would switch (was: "current → …" as done).
    build(p, "1.1-1");
    let out = said(p, &["-n", "staging", "deb.deploy"]);
    assert!(out.contains("would switch current to 1.1-1-"), "{out}");
    assert!(!out.contains("deb.deploy: current"), "{out}");
    assert_eq!(current(&h, "staging"), r1, "-n switched current");
    let out = said(p, &["-n", "staging", "setup_release:keep_days=2"]);
    assert!(
        out.contains("would prepare release 1.1-1-<UTC time> (not current); would be kept"),
        "{out}"
    );

    // Item 11: the wrapped deploy's summary says what changed (was: "installed (what it had
    // before is not in the journal)"); its test step ran in the new release.
    let out = said(p, &["staging", "deploy"]);
    let r2 = current(&h, "staging");
    assert!(r2.starts_with("1.1-1-"), "{r2}");
    assert!(
        out.contains(&format!("switched current {r1} → {r2}")),
        "{out}"
    );
    assert!(!out.contains("not in the journal"), "{out}");

    // Item 5, release=: a release that is not current, by name; an unknown one is said.
    let out = said(p, &["staging", &format!("manage:check,release={r1}")]);
    assert!(out.contains(&format!("release={rel1} ")), "{out}");
    let out = dfab(
        p,
        &["staging", "manage:check,release=9.9-1-20000101T000000Z"],
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("no release 9.9-1-20000101T000000Z"),
        "{}",
        out.stderr
    );
}
