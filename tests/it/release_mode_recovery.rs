//! Release mode's paths beside the happy one, on real containers (fixtures/deploy-app, as in
//! `release_mode.rs`): a deploy of what `current` already runs is nothing to do and new answers
//! reconfigure it without a new release; a release failing its health check after the switch
//! is switched back, marked failed and cleaned first; production's rollback asks first; an
//! interrupted wrapped deploy resumes to the end.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::release_mode::{current, get, web, App, DEBCONF, SETUP, START};
use crate::support::TestHost;

/// The releases of `inst` on `h`, by name.
fn releases(h: &TestHost, inst: &str) -> Vec<String> {
    h.check("root", &format!("ls /srv/deploy-app/{inst}/releases"))
        .lines()
        .map(String::from)
        .collect()
}

/// How many times `inst` was (re)started on `h`.
fn restarts(h: &TestHost, inst: &str) -> usize {
    h.check(
        "root",
        &format!("cat /srv/deploy-app/{inst}/shared/restarts 2>/dev/null || true"),
    )
    .lines()
    .count()
}

/// The project's debconf answers with `site` as the site name.
fn answer_site(app: &App, site: &str) {
    fs_err::write(
        app.path().join("debconf.dat"),
        DEBCONF.replace("shop.example.com", site),
    )
    .unwrap();
}

// Gap of issue 21: a `deb.deploy` or `deploy` of the build `current` already runs made a new
// release each time (a venv built, a switch, a restart), where dpkg mode says "nothing to
// deploy". The right behaviour: the same build and answers as current's release is nothing to
// do, said so; changed answers re-render the config in place and restart, no new release.
#[test]
fn release_mode_an_unchanged_deploy_is_nothing_and_new_answers_reconfigure_in_place() {
    let h = TestHost::new();
    web(&h);
    let app = App::new(&h, &format!("{SETUP}deploy = [\"deb.deploy\"]\n"));
    app.build("1.0-1", "1.0");
    app.run(&["staging", "deb.deploy"])
        .stdout_has("current → 1.0-1-")
        .run_checked();
    let first = current(&h, "staging");

    app.run(&["staging", "deb.deploy"])
        .stdout_has("nothing to deploy: current release 1.0-1-")
        .stdout_has("has this build (sha256 ")
        .run_checked();
    app.run(&["staging", "deploy"])
        .stdout_has("deploy: nothing to deploy: the current release of every host has this build")
        .stdout_lacks("→")
        .run_checked();
    assert_eq!(releases(&h, "staging").len(), 1, "a new release was made");
    assert_eq!(current(&h, "staging"), first);
    assert_eq!(restarts(&h, "staging"), 1, "a no-op restarted the instance");

    // New answers: the config re-rendered, the setup commands re-run in current, a restart.
    answer_site(&app, "new.example.com");
    app.run(&["staging", "deb.deploy"])
        .stdout_has("reconfigured current release 1.0-1-")
        .stdout_has("(no new release)")
        .run_checked();
    assert!(
        h.check("root", "cat /srv/deploy-app/staging/shared/app.conf")
            .starts_with("site=new.example.com "),
        "the config was not re-rendered"
    );
    // Into current's own config (release mode's layout), live through the shared link.
    assert_eq!(
        h.check(
            "root",
            "readlink /srv/deploy-app/staging/shared/debconf.env; \
             grep SITE_NAME /srv/deploy-app/staging/shared/debconf.env"
        ),
        "../current/.dfab/debconf.env\nDEPLOY_APP_SITE_NAME=new.example.com\n"
    );
    assert_eq!(releases(&h, "staging").len(), 1, "a new release was made");
    assert_eq!(current(&h, "staging"), first);
    assert_eq!(
        restarts(&h, "staging"),
        2,
        "one restart for the new answers"
    );
    app.run(&["staging", "deb.deploy"])
        .stdout_has("nothing to deploy")
        .run_checked();
    // The wrapped deploy does the same, without its other stages.
    answer_site(&app, "third.example.com");
    app.run(&["staging", "deploy"])
        .stdout_has("only the debconf answers changed")
        .stdout_has("reconfigured current release 1.0-1-")
        .run_checked();
    assert!(h
        .check("root", "cat /srv/deploy-app/staging/shared/app.conf")
        .starts_with("site=third.example.com "));
    assert_eq!(restarts(&h, "staging"), 3);
    assert!(
        h.check("root", "cat /srv/deploy-app/staging/.dfab/history")
            .contains("\treconfigure\t1.0-1-"),
        "no history line for the reconfigure"
    );
    // Production, the other instance, never moved.
    assert_eq!(
        h.check(
            "root",
            "ls -A /srv/deploy-app/production 2>/dev/null || true"
        ),
        ""
    );
    // A new build is a new release again.
    app.build("2.0-1", "2.0");
    app.run(&["staging", "deploy"])
        .stdout_has("→ 2.0-1-")
        .run_checked();
    assert_eq!(releases(&h, "staging").len(), 2);
    assert_eq!(get(&h, "staging"), "2.0\n");
}

// Gaps of issue 21: the health-fail path had no test on a real host, and `rollback` of
// production in release mode switched `current` back without asking, where dpkg mode asks. The
// right behaviour: a release that does not answer after the switch is switched back, marked
// failed and removed first by `clean_releases`; production's rollback asks (refused without a
// terminal, `-y` answers).
#[test]
fn release_mode_an_unhealthy_release_is_switched_back_and_production_rollback_asks() {
    let h = TestHost::new();
    web(&h);
    // An app that does not come up: a release whose VERSION says `unhealthy` stops answering
    // when started (its file goes), so the health URL gives 404 after the switch.
    let start = format!(
        "{START}; if grep -q unhealthy usr/share/deploy-app/VERSION; then rm usr/share/deploy-app/VERSION; fi"
    );
    let app = App::with_start(&h, SETUP, &start, 1);
    // The instance's first release does not come up: no current release is left (before, the
    // failed one stayed current).
    app.build("0.9-1", "unhealthy");
    app.run(&["staging", "deb.deploy"])
        .status(1)
        .stderr_has("it was the instance's first, so there is no current release again")
        .run_checked();
    h.check("root", "test ! -e /srv/deploy-app/staging/current");
    app.build("1.0-1", "1.0");
    for inst in ["staging", "production"] {
        app.run(&[inst, "deb.deploy"]).run_checked();
    }
    let good = current(&h, "staging");
    app.build("2.0-1", "unhealthy");
    app.run(&["staging", "deb.deploy"])
        .status(1)
        .stderr_has("release 2.0-1-")
        .stderr_has("did not pass its health check after the switch; current is back on 1.0-1-")
        .stderr_has("did not answer 2xx within 1 s")
        .run_checked();
    assert_eq!(
        current(&h, "staging"),
        good,
        "current stayed on the bad release"
    );
    assert_eq!(get(&h, "staging"), "1.0\n");
    // Started again in the good release after the switch back.
    let log = h.check("root", "cat /srv/deploy-app/staging/shared/restarts");
    let last: Vec<&str> = log.lines().rev().take(2).collect();
    assert!(
        last[0].contains("/releases/1.0-1-") && last[1].contains("/releases/2.0-1-"),
        "{log}"
    );
    app.run(&["staging", "releases"])
        .stdout_has("(failed)")
        .run_checked();
    let bad: Vec<String> = releases(&h, "staging")
        .into_iter()
        .filter(|r| r.starts_with("2.0-1-"))
        .collect();
    assert_eq!(bad.len(), 1);
    app.run(&["staging", "clean_releases"])
        .stdout_has(format!("removed {} (failed)", bad[0]))
        .run_checked();
    assert_eq!(
        releases(&h, "staging"),
        [good.trim().rsplit('/').next().unwrap()]
    );

    // The rollback target after a switch back is the release before the good one (the
    // history stack popped the failed switch), never the good one current runs again.
    app.build("1.1-1", "1.1");
    app.run(&["production", "deb.deploy"]).run_checked();
    app.run(&["staging", "deb.deploy"]).run_checked();
    app.build("2.1-1", "unhealthy");
    app.run(&["staging", "deb.deploy"])
        .status(1)
        .stderr_has("current is back on 1.1-1-")
        .run_checked();
    app.run(&["staging", "rollback"])
        .stdout_has("rolled back current 1.1-1-")
        .run_checked();
    assert_eq!(get(&h, "staging"), "1.0\n");

    // Production: two good releases, then a rollback asks first.
    let before = current(&h, "production");
    app.run(&["production", "rollback"])
        .status(2)
        .stderr_has("Roll back deploy-app instance production on ")
        .stderr_has("of the production env `production`? (refused: no terminal to ask on)")
        .stderr_has("pass -y to confirm")
        .run_checked();
    assert_eq!(
        current(&h, "production"),
        before,
        "an unconfirmed rollback switched"
    );
    assert_eq!(get(&h, "production"), "1.1\n");
    app.run(&["-y", "production", "rollback"])
        .stdout_has("rolled back current 1.1-1-")
        .run_checked();
    assert_eq!(get(&h, "production"), "1.0\n");
    // Staging, not protected, is not asked.
    app.run(&["staging", "releases"]).run_checked();
}

// Gap of issue 21: `deploy:resume=yes` after a release-mode deploy was killed. The right
// behaviour: the resume finishes the deploy (one new release current, healthy), the release the
// killed run left half-prepared is marked failed (it stayed `preparing`, which `clean_releases`
// never removes, before) and cleaned, and the lock is gone.
#[test]
fn release_mode_a_killed_deploy_resumes_to_the_end() {
    let h = TestHost::new();
    web(&h);
    // A setup command that waits while the release's VERSION says `slow`, so the deploy can
    // be killed inside the prepare.
    let setup = format!(
        "{}  \"if grep -q slow usr/share/deploy-app/VERSION; then sleep 6; fi\",\n]\n\
         deploy = [\"deb.deploy\"]\n",
        SETUP.trim_end().trim_end_matches(']')
    );
    let app = App::new(&h, &setup);
    app.build("1.0-1", "1.0");
    app.run(&["staging", "deploy"]).run_checked();
    app.build("2.0-1", "2.0 slow");
    let mut child = Command::new(env!("CARGO_BIN_EXE_dfab"))
        .current_dir(app.path())
        .env_remove("DFAB_ENVIRONMENTS")
        .args(["staging", "deploy"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !h.ssh("root", "pgrep -x -f 'sleep 6'").status.success() {
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "the deploy never reached its setup command"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL, mid-prepare
    child.wait().unwrap();
    h.check(
        "root",
        "while pgrep -x -f 'sleep 6' >/dev/null; do sleep 0.2; done",
    );
    assert_eq!(get(&h, "staging"), "1.0\n");
    let half: Vec<String> = releases(&h, "staging")
        .into_iter()
        .filter(|r| r.starts_with("2.0-1-"))
        .collect();
    assert_eq!(half.len(), 1, "{half:?}");

    // A rebuild since: the resume is refused, and its hint names release mode's way back
    // (`deploy:revert=yes` is dpkg mode's, refused here), not the revert.
    app.build("2.0-1", "2.0 other");
    app.run(&["staging", "deploy:resume=yes"])
        .status(1)
        .stderr_has("the build changed since the failed deploy")
        .stderr_has("`dfab staging deploy:resume=yes,force=yes` continues with the new build")
        .stderr_has("`dfab staging rollback` switches `current` back")
        .stderr_lacks("revert=yes")
        .run_checked();
    app.build("2.0-1", "2.0 slow");

    let out = app
        .run(&["staging", "deploy:resume=yes"])
        .stdout_has("is no longer running: resuming it")
        .stdout_has(format!(
            "release {} was left half-prepared by an interrupted run: marked failed",
            half[0]
        ))
        .stdout_has("→ 2.0-1-")
        .run_checked();
    assert!(out.stdout.contains("deploy: done"), "{}", out.stdout);
    assert_eq!(get(&h, "staging"), "2.0 slow\n");
    assert_ne!(
        current(&h, "staging").trim_end(),
        format!("releases/{}", half[0])
    );
    assert!(
        !h.ssh("root", "test -e /srv/deploy-app/staging/.dfab/deploy.lock")
            .status
            .success(),
        "the deploy lock was left"
    );
    // The resume's own clean removed it first.
    assert!(
        out.stdout
            .contains(&format!("removed {} (failed)", half[0])),
        "{}",
        out.stdout
    );
    assert!(!releases(&h, "staging").contains(&half[0]));
    // Resumed again: nothing left to do.
    app.run(&["staging", "deploy:resume=yes"])
        .status(1)
        .stderr_has("nothing to resume")
        .run_checked();
}
