//! Fault kinds of issue 19 in recovering a wrapped deploy: resume after a rebuild (15), a daemon
//! started by a maintainer script (17), a killed deploy (18), and the area's "Also" items (a
//! frozen host, Ctrl-C over ssh, `test_commands` roles).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{installed, App, Strategy};
use crate::support::{Outcome, TestHost};

/// Run dfab in `dir`, its output to files (a pipe a stray process keeps open would hang the
/// reader); `None` when it had not ended after `limit` (it is then killed).
fn within(dir: &Path, args: &[&str], limit: Duration) -> Option<Outcome> {
    let out = tempfile::tempdir().unwrap();
    let (o, e) = (out.path().join("out"), out.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_dfab"))
        .current_dir(dir)
        .env_remove("DFAB_ENVIRONMENTS")
        .args(args)
        .stdin(Stdio::null())
        .stdout(fs_err::File::create(&o).unwrap().into_parts().0)
        .stderr(fs_err::File::create(&e).unwrap().into_parts().0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            child.wait().unwrap();
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Some(Outcome {
        code: status.code().unwrap_or(-1),
        stdout: fs_err::read_to_string(&o).unwrap(),
        stderr: fs_err::read_to_string(&e).unwrap(),
    })
}

/// `h` holds no deploy lock and is not in maintenance.
#[track_caller]
fn released(h: &TestHost) {
    assert!(
        !h.ssh("root", "test -e /var/lib/dfab/deploy-app/deploy.lock")
            .status
            .success(),
        "{}: lock left",
        h.ip
    );
    assert!(
        !h.ssh("root", "test -e /srv/app/maintenance.on")
            .status
            .success(),
        "{}: still in maintenance",
        h.ip
    );
}

/// Wait (up to two minutes) until `probe` succeeds on `h`.
#[track_caller]
fn wait_for(h: &TestHost, probe: &str, what: &str) {
    let start = Instant::now();
    while !h.ssh("root", probe).status.success() {
        assert!(start.elapsed() < Duration::from_secs(120), "{what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The fixture's postinst starts a daemon the way many do: in the background, in a new session,
/// closing none of the descriptors it inherits.
fn daemon_postinst(dir: &Path) {
    let p = dir.join("debian/postinst");
    let text = fs_err::read_to_string(&p).unwrap();
    let text = text.replace("#DEBHELPER#", "db_stop\nsetsid sleep 300 &\n\n#DEBHELPER#");
    fs_err::write(&p, text).unwrap();
}

/// Each descriptor of the oldest `sleep 300` on `h` and where it points: `(fd, target)`.
fn daemon_fds(h: &TestHost) -> Vec<(u32, String)> {
    h.check(
        "root",
        "p=$(pgrep -o -x -f 'sleep 300') && for f in /proc/$p/fd/*; do echo \"${f##*/} $(readlink \"$f\")\"; done",
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(n, t)| (n.parse().unwrap(), t.to_string()))
    .collect()
}

// Kind 17: a daemon started by postinst inherited the install lock's descriptor (every later
// deploy was refused while it lived) and the session's stdout (dfab hung after dpkg finished).
// The right behaviour: the deploy ends when dpkg does, the daemon holds neither the lock nor any
// pipe or socket of dfab's session, and the next deploy goes through while it lives.
#[test]
fn k17_a_daemon_started_by_postinst_keeps_neither_the_lock_nor_the_output() {
    let limit = Duration::from_secs(90);
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k17_a_daemon_started_by_postinst_keeps_neither_the_lock_nor_the_output",
                "release mode never runs postinst (release_setup_commands stand in for it)",
            );
            continue;
        }
        let h = TestHost::new();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "deploy = [\"deb.deploy\"]\n",
        );
        daemon_postinst(app.path());
        app.build("1.0-1", "a");
        let out = within(app.path(), &["staging", "deb.deploy"], limit).unwrap_or_else(|| {
            panic!("{s:?}: deb.deploy still running after {limit:?}: dfab waits on a descriptor the postinst's daemon keeps")
        });
        assert_eq!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
        // The daemon runs (the fixture did start one), holding neither the install lock nor
        // dfab's session as its input or output (fd 3 is debconf's own pipe, not dfab's).
        let fds = daemon_fds(&h);
        assert!(!fds.is_empty(), "{s:?}: the postinst started no daemon");
        for (n, f) in &fds {
            assert!(
                f != "/var/lib/dfab/deploy-app/lock"
                    && (*n > 2 || !(f.starts_with("pipe:") || f.starts_with("socket:"))),
                "{s:?}: the postinst's daemon keeps {f} as fd {n} (all: {fds:?})"
            );
        }
        // The wrapped deploy of the next build, while the daemon lives.
        app.build("1.0-2", "b");
        let out = within(app.path(), &["staging", "deploy"], limit)
            .unwrap_or_else(|| panic!("{s:?}: deploy still running after {limit:?}"));
        assert_eq!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(installed(&h), "1.0-2 ii", "{s:?}");
    }
}

// Kind 18: after `kill -9` of dfab mid-deploy, `deploy:resume=yes` said "nothing to resume
// (status: running)" with the site in maintenance and the lock held. The right behaviour: a
// journal left `running` by a process that is gone is resumable, a new deploy says how, and the
// resume takes over the dead deploy's lock, finishes, goes live and releases the lock.
#[test]
fn k18_a_deploy_killed_mid_way_is_resumable() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k18_a_deploy_killed_mid_way_is_resumable",
                "it kills dpkg's install; release mode's killed deploy and its resume are release_mode_recovery::release_mode_a_killed_deploy_resumes_to_the_end",
            );
            continue;
        }
        let h = TestHost::new();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "remote_path = \"/srv/app/\"\nmaintenance = \"always\"\nmaintenance_check_url = false\n\
             deploy = [\"web_mode:maintenance\", \"deb.deploy\", \"slow\", \"web_mode:live\"]\n\
             [tasks.slow]\nsteps = [{ run = \"sleep 21\" }]\n",
        );
        app.build("1.0-1", "a");
        let mut child = super::background(app.path(), &["staging", "deploy"]);
        wait_for(
            &h,
            "pgrep -x -f 'sleep 21'",
            "the deploy never reached `slow`",
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let lock = "test -e /var/lib/dfab/deploy-app/deploy.lock";
        let flag = "test -e /srv/app/maintenance.on";
        assert!(h.ssh("root", lock).status.success(), "{s:?}");
        assert!(h.ssh("root", flag).status.success(), "{s:?}");

        // A new deploy is refused by the dead deploy's lock, and says what to do.
        let out = app.dfab(&["staging", "deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}", out.stdout);
        assert!(
            out.stderr.contains("is no longer running")
                && out.stderr.contains("dfab staging deploy:resume=yes"),
            "{s:?}: {}",
            out.stderr
        );
        let out = app.dfab(&["staging", "deploy:resume=yes"]);
        assert_eq!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stdout.contains("is no longer running: resuming it"),
            "{s:?}: {}",
            out.stdout
        );
        assert!(!h.ssh("root", lock).status.success(), "{s:?}: lock left");
        assert!(
            !h.ssh("root", flag).status.success(),
            "{s:?}: still in maintenance"
        );
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
        let j: serde_json::Value = serde_json::from_slice(
            &fs_err::read(app.path().join(".dfab/state/staging.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(j["status"], "done", "{s:?}");
    }
}

// Kind 15: web1 got build A of 1.1, web2 failed; after a rebuild of 1.1 (build B),
// `deploy:resume=yes,force=yes` reported both hosts upgraded while web1 kept build A's files.
// The right behaviour: resume checks each host's installed build against the build it ships,
// and reinstalls (force) or refuses, naming the host and both builds.
#[test]
fn k15_resume_after_a_rebuild_leaves_every_host_on_one_build() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k15_resume_after_a_rebuild_leaves_every_host_on_one_build",
                "it fails web2's dpkg install and reinstalls through dpkg; in release mode each host's current is judged by the .deb's sha256 it records (k09)",
            );
            continue;
        }
        let (h1, h2) = (TestHost::new(), TestHost::new());
        let app = App::new(
            s,
            &[h1.ip.clone(), h2.ip.clone()],
            "deploy = [\"deb.deploy\"]\n",
        );
        app.build("1.1-1", "a");
        h2.check("root", "touch /etc/deploy-app-fail");
        let out = app.dfab(&["staging", "deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}", out.stdout);
        assert_eq!(installed(&h1), "1.1-1 ii", "{s:?}");
        h2.check("root", "rm /etc/deploy-app-fail");
        app.build("1.1-1", "b");
        let out = app.dfab(&["staging", "deploy:resume=yes,force=yes"]);
        assert_eq!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        for h in [&h1, &h2] {
            assert_eq!(installed(h), "1.1-1 ii", "{s:?} {}", h.ip);
            assert_eq!(
                h.check("root", "cat /usr/share/deploy-app/VERSION"),
                "1.1-1\nb",
                "{s:?} {}: {}",
                h.ip,
                out.stdout
            );
        }
        assert!(
            out.stdout.contains(&format!("[{}]", h1.ip))
                && out.stdout.contains("from another build")
                && out.stdout.contains("reinstalling"),
            "{s:?}: {}",
            out.stdout
        );
    }
}

// Also (issue 19): `test_commands` steps took `roles`, parsed and then ignored: a step for the db
// hosts ran on the web hosts. The right behaviour: a step with `roles` runs on the hosts of
// those roles only, and one without on the call's hosts (`test`'s default: the web role).
#[test]
fn also_test_commands_steps_run_on_the_hosts_of_their_roles() {
    let (web, db) = (TestHost::new(), TestHost::new());
    let app = App::new(
        Strategy::DpkgPush,
        &[web.ip.clone(), db.ip.clone()],
        &format!(
            "roledefs = {{ web = [\"{}\"], db = [\"{}\"] }}\n\
             test_commands = [{{ run = \"touch /tmp/dfab-k-db\", roles = [\"db\"] }}, \
             {{ run = \"touch /tmp/dfab-k-plain\" }}]\n",
            web.ip, db.ip
        ),
    );
    let out = app.dfab(&["staging", "test"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let has = |h: &TestHost, f: &str| h.ssh("root", &format!("test -e {f}")).status.success();
    assert!(has(&db, "/tmp/dfab-k-db"), "{}", out.stdout);
    assert!(
        !has(&web, "/tmp/dfab-k-db"),
        "the db step ran on the web host"
    );
    assert!(has(&web, "/tmp/dfab-k-plain"), "{}", out.stdout);
    assert!(!has(&db, "/tmp/dfab-k-plain"), "{}", out.stdout);
    // An unknown role is an error before anything runs.
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&web.ip),
        "roledefs = { web = [\"x\"] }\ntest_commands = [{ run = \"true\", roles = [\"dbb\"] }]\n",
    );
    let out = app.dfab(&["staging", "test"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr
            .contains("role `dbb` is not in the env's `roledefs`"),
        "{}",
        out.stderr
    );
}

// Also (issue 19): the README said Ctrl-C reaches the remote commands, but over ssh nothing
// forwards it. What holds, and what the README now says: Ctrl-C (SIGINT to dfab's process group,
// as a terminal sends it) lets the remote step in progress run to its end, then the deploy stops
// before the next step and releases the lock.
#[test]
fn also_ctrl_c_lets_the_remote_step_finish_and_the_readme_says_so() {
    use std::os::unix::process::CommandExt as _;
    let readme = fs_err::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        !readme.contains("remote commands get the signal too")
            && readme.contains("Ctrl-C\n  does not reach the remote commands"),
        "the README's Ctrl-C promise"
    );
    let h = TestHost::new();
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "deploy = [\"slow\", \"after\"]\n\
         [tasks.slow]\nsteps = [{ run = \"sleep 3; touch /tmp/dfab-slow-done\" }]\n\
         [tasks.after]\nsteps = [{ run = \"touch /tmp/dfab-after\" }]\n",
    );
    let child = Command::new(env!("CARGO_BIN_EXE_dfab"))
        .current_dir(app.path())
        .env_remove("DFAB_ENVIRONMENTS")
        .args(["staging", "deploy"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    wait_for(&h, "pgrep -x 'sleep'", "the deploy never reached `slow`");
    let pgid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory preconditions; the group is our child's.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        h.ssh("root", "test -e /tmp/dfab-slow-done")
            .status
            .success(),
        "the remote step in progress did not run to its end: {stderr}"
    );
    assert!(
        !h.ssh("root", "test -e /tmp/dfab-after").status.success(),
        "the step after Ctrl-C ran"
    );
    assert!(!h
        .ssh("root", "test -e /var/lib/dfab/deploy-app/deploy.lock")
        .status
        .success());
}

// Also (issue 19): a frozen host (`lxc-freeze`) made a step give up after about a minute with
// "the remote process has terminated". The right behaviour: the error names the host and says
// that it stopped answering, and after how long.
#[test]
fn also_a_frozen_host_is_said_to_have_stopped_answering() {
    let h = TestHost::new();
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "[tasks.slow]\nsteps = [{ run = \"sleep 120\" }]\n",
    );
    let dir = app.path().to_path_buf();
    let run =
        std::thread::spawn(move || within(&dir, &["staging", "slow"], Duration::from_secs(150)));
    wait_for(&h, "pgrep -x -f 'sleep 120'", "the task never started");
    let frozen = Command::new("lxc-freeze")
        .args(["-n", &h.name])
        .output()
        .unwrap();
    assert!(frozen.status.success(), "lxc-freeze: {frozen:?}");
    let out = run.join().unwrap();
    let _ = Command::new("lxc-unfreeze").args(["-n", &h.name]).output();
    let out = out.expect("dfab still waiting on a frozen host after 150 s");
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains(&h.ip)
            && out
                .stderr
                .contains("the host stopped answering: no reply to ssh's keepalives for 45 s"),
        "{}",
        out.stderr
    );
}

/// The fixture's postinst takes `secs` seconds (a `sleep <secs>` a test can wait for and kill
/// dfab during): the install is running when dfab goes.
fn slow_postinst(dir: &Path, secs: u32) {
    let p = dir.join("debian/postinst");
    let text = fs_err::read_to_string(&p).unwrap();
    let text = text.replace("#DEBHELPER#", &format!("sleep {secs}\n\n#DEBHELPER#"));
    fs_err::write(&p, text).unwrap();
}

/// An app on `hosts` at 1.9-1 (deployed) whose next build, 2.0-1, has a postinst of `secs`
/// seconds; then a wrapped deploy of it (in a process group of its own with `group`), returned
/// once every host is in that postinst: the app and the running dfab.
fn deploy_into_slow_postinst(
    hosts: &[&TestHost],
    secs: u32,
    group: bool,
) -> (App, std::process::Child) {
    use std::os::unix::process::CommandExt as _;
    let app = App::new(
        Strategy::DpkgPush,
        &hosts.iter().map(|h| h.ip.clone()).collect::<Vec<_>>(),
        "remote_path = \"/srv/app/\"\nmaintenance = \"always\"\nmaintenance_check_url = false\n\
         deploy = [\"web_mode:maintenance\", \"deb.deploy\", \"web_mode:live\"]\n",
    );
    app.build("1.9-1", "a");
    let out = app.dfab(&["staging", "deploy"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    slow_postinst(app.path(), secs);
    app.build("2.0-1", "b");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dfab"));
    cmd.current_dir(app.path())
        .env_remove("DFAB_ENVIRONMENTS")
        .args(["staging", "deploy"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if group {
        cmd.process_group(0);
    }
    let child = cmd.spawn().unwrap();
    for h in hosts {
        wait_for(
            h,
            &format!("pgrep -x -f 'sleep {secs}'"),
            "the deploy never reached the postinst",
        );
    }
    (app, child)
}

/// The journal of `staging` in `app`.
fn journal(app: &App) -> serde_json::Value {
    serde_json::from_slice(&fs_err::read(app.path().join(".dfab/state/staging.json")).unwrap())
        .unwrap()
}

/// Whether `h`'s history has an `ok` line for deploy-app `version`.
fn history_has_ok(h: &TestHost, version: &str) -> bool {
    super::history(h).iter().any(|r| {
        r.get(1).map(String::as_str) == Some(version) && r.get(5).map(String::as_str) == Some("ok")
    })
}

// Kind 18, the issue's own scenario: `kill -9` of dfab while the installs ran. dpkg finished
// (2.0-1 ii) but the host program, writing to a dfab that was gone, ended before its history
// line; the resume then called the hosts' build unknown, said "before any host changed" and
// left a journal no hinted command could use. The right behaviour: the host writes its history
// line whatever happened to dfab, and `deploy:resume=yes` finishes (exit 0), the lock gone.
#[test]
fn k18_a_deploy_killed_during_the_install_is_resumed_to_the_end() {
    let (h1, h2) = (TestHost::new(), TestHost::new());
    let (app, mut child) = deploy_into_slow_postinst(&[&h1, &h2], 8, false);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The installs run to their end on the hosts, dfab gone.
    for h in [&h1, &h2] {
        wait_for(
            h,
            "! pgrep -f 'bin/[d]fab-host' >/dev/null",
            "the host program never ended",
        );
        assert_eq!(installed(h), "2.0-1 ii", "{}", h.ip);
        assert!(
            history_has_ok(h, "2.0-1"),
            "{}: no history line for the install dfab did not see end: {:?}",
            h.ip,
            super::history(h)
        );
    }
    // h2 as a host program that did not live to write the line left it: the release it keeps
    // tells which build it has.
    h2.check(
        "root",
        "sed -i '/\t2.0-1\t/d' /var/lib/dfab/deploy-app/history",
    );
    let out = app.dfab(&["staging", "deploy:resume=yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("is no longer running: resuming it")
            && out.stdout.contains(&format!(
                "[{}] deb.deploy: has this deploy's build already (by its kept release's sha256",
                h2.ip
            ))
            && !out.stderr.contains("before any host changed"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    for h in [&h1, &h2] {
        assert_eq!(installed(h), "2.0-1 ii", "{}", h.ip);
        assert!(history_has_ok(h, "2.0-1"), "{}", h.ip);
        released(h);
    }
    assert_eq!(journal(&app)["status"], "done");
}

// Kind 18: a resume refused (here: the build changed since the killed deploy) rewrote the
// journal as `failed` with nothing to resume, so both commands its hint named then failed
// ("did not stop part-way", "installed nothing"). The right behaviour: a refused resume leaves
// the journal as it was, and the hinted commands work: `resume=yes,force=yes` would resume, and
// `revert=yes` puts the hosts the killed deploy changed back on 1.9-1.
#[test]
fn k18_a_refused_resume_leaves_the_journal_to_the_hinted_commands() {
    let (h1, h2) = (TestHost::new(), TestHost::new());
    let (app, mut child) = deploy_into_slow_postinst(&[&h1, &h2], 7, false);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for h in [&h1, &h2] {
        wait_for(
            h,
            "! pgrep -f 'bin/[d]fab-host' >/dev/null",
            "the host program never ended",
        );
    }
    app.build("2.0-1", "c"); // another build of 2.0-1
    let path = app.path().join(".dfab/state/staging.json");
    let before = fs_err::read(&path).unwrap();
    let out = app.dfab(&["staging", "deploy:resume=yes"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("deploy:resume=yes,force=yes")
            && out.stderr.contains("deploy:revert=yes"),
        "{}",
        out.stderr
    );
    assert_eq!(
        String::from_utf8_lossy(&fs_err::read(&path).unwrap()),
        String::from_utf8_lossy(&before),
        "a refused resume changed the journal"
    );
    // The first hinted command would resume (a dry run, which changes nothing).
    let out = app.dfab(&["-n", "staging", "deploy:resume=yes,force=yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // The second goes back.
    let out = app.dfab(&["staging", "deploy:revert=yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    for h in [&h1, &h2] {
        assert_eq!(installed(h), "1.9-1 ii", "{}: {}", h.ip, out.stdout);
        released(h);
    }
}

// Kind 18, Ctrl-C: SIGINT to dfab's process group during the install let the installs finish,
// then said "error: deploy failed in deb.deploy: error: interrupted (Ctrl-C)" and "fix the
// cause". The right behaviour: one "error:", the interruption said as such, and a hint to
// resume or revert; the resume then finishes.
#[test]
fn k18_ctrl_c_during_the_install_says_how_to_resume() {
    let h = TestHost::new();
    let (app, child) = deploy_into_slow_postinst(&[&h], 4, true);
    let pgid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill has no memory preconditions; the group is our child's.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C)")
            && !stderr.contains("fix the cause")
            && stderr.contains("dfab staging deploy:resume=yes")
            && stderr.contains("dfab staging deploy:revert=yes"),
        "{stderr}"
    );
    assert_eq!(installed(&h), "2.0-1 ii");
    let out = app.dfab(&["staging", "deploy:resume=yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(history_has_ok(&h, "2.0-1"));
    assert!(!h
        .ssh("root", "test -e /srv/app/maintenance.on")
        .status
        .success());
}
