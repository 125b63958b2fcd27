//! Fault kinds of issue 19 in installing a release: what "unchanged", "changed", rollback's
//! target and a downgrade mean, judged by dpkg and the build's sha256, never by the version.

use super::{history, installed, App, Strategy};
use crate::support::TestHost;

// Kind 9: "unchanged" was judged by the version alone. A build of the same version with other
// content was "already installed: nothing to do" and the hosts kept the old files. The right
// behaviour: refuse (naming the other build) or, with force=yes, install it, by deb.deploy and by
// the wrapped deploy alike.
#[test]
fn k09_another_build_of_the_installed_version_is_never_nothing_to_do() {
    for &s in Strategy::ALL {
        let h = TestHost::new();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "deploy = [\"deb.deploy\"]\n",
        );
        app.build("1.0-1", "a");
        app.dfab(&["staging", "deb.deploy"]).ok();
        app.build("1.0-1", "b");
        if s == Strategy::Release {
            // Release mode: each release records its .deb's sha256, so another build of the
            // version `current` runs is a new release (no version clash to refuse), by
            // deb.deploy and by the wrapped deploy alike, never "nothing to deploy".
            for (task, salt) in [("deb.deploy", "b"), ("deploy", "c")] {
                if salt != "b" {
                    app.build("1.0-1", salt);
                }
                let out = app.dfab(&["staging", task]);
                assert_eq!(out.code, 0, "{s:?} {task}: {}\n{}", out.stdout, out.stderr);
                assert!(
                    !out.stdout.contains("nothing to") && out.stdout.contains("→ 1.0-1-"),
                    "{s:?} {task}: {}",
                    out.stdout
                );
                assert_eq!(s.served(&h), format!("1.0-1\n{salt}"), "{s:?} {task}");
            }
            continue;
        }
        for task in ["deb.deploy", "deploy"] {
            let out = app.dfab(&["staging", task]);
            assert_ne!(out.code, 0, "{s:?} {task}: {}\n{}", out.stdout, out.stderr);
            assert!(
                out.stderr.contains("installed from another build"),
                "{s:?} {task}: {}",
                out.stderr
            );
            assert!(
                !out.stdout.contains("nothing to do"),
                "{s:?} {task}: {}",
                out.stdout
            );
            assert_eq!(
                h.check("root", "cat /usr/share/deploy-app/VERSION"),
                "1.0-1\na",
                "{s:?} {task}"
            );
        }
        app.dfab(&["staging", "deb.deploy:force=yes"]).ok();
        assert_eq!(
            h.check("root", "cat /usr/share/deploy-app/VERSION"),
            "1.0-1\nb"
        );
        assert_eq!(installed(&h), "1.0-1 ii");
        assert_eq!(history(&h).last().unwrap()[5], "ok");
    }
}

/// Start `sh -c command` on `h` in the background, detached from the ssh session; its pid.
fn spawn_on(h: &TestHost, command: &str) -> String {
    h.check(
        "root",
        &format!("setsid sh -c '{command}' </dev/null >/dev/null 2>&1 & echo $!"),
    )
    .trim()
    .to_string()
}

// Kind 10: rollback after a failed deploy went two releases back. History 1.0 ok, 1.1 ok, 1.2
// failed (dpkg `iF 1.2`): `rollback` installed 1.0. The target is the last release installed and
// working before the failed one (1.1), and `releases` names the same target.
#[test]
fn k10_rollback_after_a_failed_deploy_goes_to_the_last_release_that_worked() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k10_rollback_after_a_failed_deploy_goes_to_the_last_release_that_worked",
                "dpkg's half-configured state (iF) has no counterpart: a release that fails never becomes current, and rollback's target is the release before the switch (release_mode_recovery)",
            );
            continue;
        }
        let h = TestHost::new();
        let app = App::new(s, std::slice::from_ref(&h.ip), "");
        for v in ["1.0-1", "1.1-1"] {
            app.build(v, "");
            app.dfab(&["staging", "deb.deploy"]).ok();
        }
        h.check("root", "touch /etc/deploy-app-fail");
        app.build("1.2-1", "");
        let out = app.dfab(&["staging", "deb.deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(installed(&h), "1.2-1 iF", "{s:?}");
        h.check("root", "rm /etc/deploy-app-fail");
        let out = app.dfab(&["staging", "releases"]).ok();
        assert!(
            out.stdout
                .contains("deploy-app: rollback goes back to 1.1-1"),
            "{s:?}: {}",
            out.stdout
        );
        let out = app.dfab(&["staging", "rollback"]).ok();
        assert!(
            out.stdout.contains("rolled back to deploy-app 1.1-1"),
            "{s:?}: {}",
            out.stdout
        );
        assert_eq!(installed(&h), "1.1-1 ii", "{s:?}");
        assert_eq!(
            h.check("root", "head -n1 /usr/share/deploy-app/VERSION"),
            "1.1-1\n"
        );
        // Rolled back once: the next rollback undoes 1.1 (deploy order), to 1.0.
        app.dfab(&["staging", "rollback"]).ok();
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
    }
}

// Kind 14: the dpkg install path and the apt path disagreed. Deploying an older version, `dpkg
// -i` downgraded (and ignored an `apt-mark hold`) where apt refuses both. One policy on both
// paths: deb.deploy refuses a downgrade unless allow_downgrade=yes, and never changes a held
// package; the host is left as it was, and the refusal says why.
#[test]
fn k14_deb_deploy_refuses_a_downgrade_and_a_held_package_on_every_path() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k14_deb_deploy_refuses_a_downgrade_and_a_held_package_on_every_path",
                "apt's hold and downgrade rules are about dpkg's one installed version; release mode leaves dpkg's database alone and any release may be current",
            );
            continue;
        }
        let h = TestHost::new();
        let app = App::new(s, std::slice::from_ref(&h.ip), "");
        app.build("1.1-1", "");
        app.dfab(&["staging", "deb.deploy"]).ok();
        app.build("1.0-1", "");
        let out = app.dfab(&["staging", "deb.deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("a downgrade, refused")
                && out.stderr.contains("allow_downgrade=yes"),
            "{s:?}: {}",
            out.stderr
        );
        assert_eq!(installed(&h), "1.1-1 ii", "{s:?}");
        let out = app
            .dfab(&["staging", "deb.deploy:allow_downgrade=yes"])
            .ok();
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
        // Said as what it was (review of issue 19: it read "installed deploy-app 1.0-1").
        assert!(
            out.stdout
                .contains("deb.deploy: downgraded deploy-app 1.1-1 → 1.0-1"),
            "{s:?}: {}",
            out.stdout
        );
        // A held package: apt refuses to change it, and so must the dpkg -i path.
        h.check("root", "apt-mark hold deploy-app");
        app.build("1.2-1", "");
        let out = app.dfab(&["staging", "deb.deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("is on hold") && out.stderr.contains("apt-mark unhold deploy-app"),
            "{s:?}: {}",
            out.stderr
        );
        assert_eq!(installed(&h), "1.0-1 hi", "{s:?}");
        h.check("root", "apt-mark unhold deploy-app");
        app.dfab(&["staging", "deb.deploy"]).ok();
        assert_eq!(installed(&h), "1.2-1 ii", "{s:?}");
    }
}

// Kind 16: a host counted as changed when nothing changed. With dpkg's frontend lock held by
// another process, the install failed at once with dpkg unchanged, yet the wrapped deploy said
// "these hosts were changed" (and would have left maintenance on). Changed means dpkg's state
// changed: the error says the host is unchanged and the deploy stops as before any change.
#[test]
fn k16_a_failed_install_that_left_dpkg_as_it_was_changed_no_host() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k16_a_failed_install_that_left_dpkg_as_it_was_changed_no_host",
                "it holds dpkg's frontend lock, which release mode never takes (dpkg-deb -x); a failed release install always leaves current as it was",
            );
            continue;
        }
        let h = TestHost::new();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "deploy = [\"deb.deploy\"]\n",
        );
        app.build("1.0-1", "");
        app.dfab(&["staging", "deb.deploy"]).ok();
        app.build("1.1-1", "");
        // dpkg's locks are fcntl locks (flock(1) takes another kind, which dpkg never sees):
        // held as apt or another dpkg holds them.
        let pid = spawn_on(
            &h,
            "exec python3 -c \"import fcntl, time; f = open(\\\"/var/lib/dpkg/lock-frontend\\\", \\\"w\\\"); fcntl.lockf(f, fcntl.LOCK_EX); open(\\\"/run/dfab-lock-held\\\", \\\"w\\\"); time.sleep(120)\"",
        );
        // The lock is taken before dfab runs.
        h.check(
            "root",
            "for i in $(seq 50); do test -e /run/dfab-lock-held && exit 0; sleep 0.1; done; exit 1",
        );
        for task in ["deb.deploy", "deploy"] {
            let out = app.dfab(&["staging", task]);
            assert_ne!(out.code, 0, "{s:?} {task}: {}\n{}", out.stdout, out.stderr);
            assert!(
                out.stderr.contains("the host is unchanged"),
                "{s:?} {task}: {}",
                out.stderr
            );
            assert!(
                !out.stderr.contains("these hosts were changed"),
                "{s:?} {task}: {}",
                out.stderr
            );
            assert_eq!(installed(&h), "1.0-1 ii", "{s:?} {task}");
        }
        let out = app.dfab(&["staging", "deploy"]);
        assert!(
            out.stderr.contains("before any host changed"),
            "{s:?}: {}",
            out.stderr
        );
        h.check("root", &format!("kill {pid}"));
        app.dfab(&["staging", "deploy"]).ok();
        assert_eq!(installed(&h), "1.1-1 ii", "{s:?}");
    }
}

// Kind 20: an option did the opposite of what it said. deb_conffiles = 'new' ran `dpkg -i
// --force-confdef --force-confnew`; with confdef, dpkg keeps a locally changed conffile (its
// default), so the admin's copy stayed while dfab said 'new' installs the package's. 'new'
// installs the package's conffile (the admin's kept as .dpkg-old); 'old' keeps the admin's.
#[test]
fn k20_deb_conffiles_new_installs_the_packages_conffile_and_old_keeps_the_admins() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k20_deb_conffiles_new_installs_the_packages_conffile_and_old_keeps_the_admins",
                "conffiles are dpkg's; a release is a fresh tree, the admin's config lives in shared/",
            );
            continue;
        }
        for (mode, after, beside) in [
            ("new", "listen = 8001\n", ".dpkg-old"),
            ("old", "admin = yes\n", ".dpkg-dist"),
        ] {
            let h = TestHost::new();
            let app = App::new(
                s,
                std::slice::from_ref(&h.ip),
                &format!("deb_conffiles = \"{mode}\"\n"),
            );
            let conf = app.path().join("etc/deploy-app/app.conf");
            fs_err::write(&conf, "listen = 8000\n").unwrap();
            app.build("1.0-1", "");
            app.dfab(&["staging", "deb.deploy"]).ok();
            h.check("root", "echo 'admin = yes' > /etc/deploy-app/app.conf");
            fs_err::write(&conf, "listen = 8001\n").unwrap();
            app.build("1.1-1", "");
            let out = app.dfab(&["staging", "deb.deploy"]).ok();
            assert_eq!(installed(&h), "1.1-1 ii", "{s:?} {mode}");
            assert_eq!(
                h.check("root", "cat /etc/deploy-app/app.conf"),
                after,
                "{s:?} {mode}: {}",
                out.stdout
            );
            h.check("root", &format!("test -f /etc/deploy-app/app.conf{beside}"));
            // With the step's prefix, as its other lines (review of issue 19).
            let said = if mode == "new" {
                "deb.deploy: replaced the locally changed conffile /etc/deploy-app/app.conf"
            } else {
                "deb.deploy: kept the locally changed conffile /etc/deploy-app/app.conf"
            };
            assert!(out.stdout.contains(said), "{s:?} {mode}: {}", out.stdout);
        }
    }
}

// Kind 20, found beside it: `host_key_checking = 'yes'` (or 'no', or a typo) fell through to
// ssh's accept-new, silently another policy than the one written. An unknown value is refused
// before anything connects.
#[test]
fn k20_an_unknown_host_key_checking_is_refused_not_read_as_accept_new() {
    let dir = crate::support::project(&[(
        "dfab.toml",
        "[environments.s]\nhosts = [\"10.0.3.250\"]\nhost_key_checking = \"yes\"\n",
    )]);
    crate::support::Dfab::new(dir.path())
        .args(["s", "releases"])
        .status(2)
        .stderr_has("key `s.host_key_checking`: unknown value `yes`")
        .stderr_has("'strict' (StrictHostKeyChecking=yes)")
        .run_checked();
}

// Kind 10, the same kind in the wrapped deploy: its revert went back to dpkg's `ii` release from
// before the deploy, not to the last release that worked. History 1.0 ok, 1.1 failed (dpkg `iF
// 1.1`, a postinst that failed), then `deploy` of 1.2: installed, a later step fails, and the
// revert said "deploy-app was not installed before this deploy: left installed" (1.1 was not
// `ii`), leaving 1.2 on the host. The revert follows rollback's rule: undoing 1.2, the last
// release installed and working before it is 1.0 (1.1 never worked), so the host ends on 1.0
// `ii`, by `on_failure = 'revert'` and by `deploy:revert=yes` alike, and a second
// `deploy:revert=yes` does not walk further back.
#[test]
fn k10_a_wrapped_deploys_revert_goes_back_to_the_last_release_that_worked() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k10_a_wrapped_deploys_revert_goes_back_to_the_last_release_that_worked",
                "the wrapped deploy's revert reinstalls through dpkg and is refused in release mode (rollback switches current back)",
            );
            continue;
        }
        for revert in ["on_failure", "revert=yes"] {
            let h = TestHost::new();
            let on_failure = if revert == "on_failure" {
                "on_failure = \"revert\"\n"
            } else {
                ""
            };
            let app = App::new(
                s,
                std::slice::from_ref(&h.ip),
                &format!(
                    "deploy = [\"deb.deploy\", \"k10fail\"]\n{on_failure}\n\
                     [tasks.k10fail]\nsteps = [{{ run = \"test ! -e /etc/deploy-app-k10-step\" }}]\n"
                ),
            );
            app.build("1.0-1", "");
            app.dfab(&["staging", "deb.deploy"]).ok();
            h.check("root", "touch /etc/deploy-app-fail");
            app.build("1.1-1", "");
            let out = app.dfab(&["staging", "deb.deploy"]);
            assert_ne!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
            assert_eq!(installed(&h), "1.1-1 iF", "{s:?}");
            h.check(
                "root",
                "rm /etc/deploy-app-fail && touch /etc/deploy-app-k10-step",
            );
            app.build("1.2-1", "");
            let mut out = app.dfab(&["staging", "deploy"]);
            assert_ne!(
                out.code, 0,
                "{s:?} {revert}: {}\n{}",
                out.stdout, out.stderr
            );
            if revert == "revert=yes" {
                assert_eq!(installed(&h), "1.2-1 ii", "{s:?} {revert}");
                out = app.dfab(&["staging", "deploy:revert=yes"]);
                assert_eq!(
                    out.code, 0,
                    "{s:?} {revert}: {}\n{}",
                    out.stdout, out.stderr
                );
            } else {
                assert!(
                    out.stderr.contains("was reverted"),
                    "{s:?} {revert}: {}",
                    out.stderr
                );
            }
            assert!(
                !out.stderr.contains("left installed"),
                "{s:?} {revert}: {}",
                out.stderr
            );
            assert!(
                out.stdout.contains(&format!(
                    "[{}] reverted to the previous release (deploy-app 1.0-1)",
                    h.ip
                )),
                "{s:?} {revert}: {}",
                out.stdout
            );
            assert_eq!(installed(&h), "1.0-1 ii", "{s:?} {revert}");
            assert_eq!(
                h.check("root", "head -n1 /usr/share/deploy-app/VERSION"),
                "1.0-1\n"
            );
            // Reverting again keeps to the same release (not one further back).
            if revert == "revert=yes" {
                let out = app.dfab(&["staging", "deploy:revert=yes"]);
                assert_eq!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
                assert_eq!(installed(&h), "1.0-1 ii", "{s:?} {revert}");
            }
        }
    }
}

// Kind 16, its messages (review of issue 19): a failed install's hint said "`dfab <env>
// releases` shows them" (`<env>` unfilled) even when dpkg's lock was held by another process
// (the useful hint: wait for it, then run again); the host program's own lines
// (`dfab-received<TAB>…`, `dfab: every dependency is installed: dpkg -i`) were shown as
// apt/dpkg's output; the wrapped deploy's summary line ended at "the last lines of apt/dpkg:"
// and its error read "deploy failed in deb.deploy: error: [host] …". The right behaviour: the
// first line says why, the hint names the env or the process to wait for, only apt/dpkg's
// lines are shown as theirs.
#[test]
fn k16_a_failed_install_says_why_on_its_first_line_and_what_to_do() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k16_a_failed_install_says_why_on_its_first_line_and_what_to_do",
                "its faults are dpkg's and apt's (the frontend lock, their output lines)",
            );
            continue;
        }
        let a = TestHost::new();
        let b = TestHost::new();
        let app = App::new(
            s,
            &[a.ip.clone(), b.ip.clone()],
            "deploy = [\"deb.deploy\"]\n",
        );
        app.build("1.0-1", "");
        app.dfab(&["staging", "deb.deploy"]).ok();
        app.build("1.1-1", "");
        // A postinst that fails on b: a changed, b failed.
        b.check("root", "touch /etc/deploy-app-fail");
        let out = app.dfab(&["staging", "deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}", out.stdout);
        let e = &out.stderr;
        assert!(
            e.contains(&format!(
                "error: deploy failed in deb.deploy: [{}] installing deploy-app 1.1-1 failed \
                 (exit status 1): installed deploy-app package post-installation script \
                 subprocess returned error exit status 1",
                b.ip
            )),
            "{s:?}: {e}"
        );
        assert!(
            !e.contains("dfab-received")
                && !e.contains("every dependency is installed")
                && !e.contains("<env>")
                && e.contains("`dfab staging releases`")
                && e.contains("`dfab staging deploy:resume=yes`"),
            "{s:?}: {e}"
        );
        assert!(
            out.stdout.contains(&format!(
                "[{}] FAILED in deb.deploy: installing deploy-app 1.1-1 failed (exit status 1): \
                 installed deploy-app package post-installation script",
                b.ip
            )),
            "{s:?}: {}",
            out.stdout
        );
        b.check("root", "rm /etc/deploy-app-fail");
        app.dfab(&["staging", "deploy:revert=yes"]).ok();
        // dpkg's lock held by another process on a.
        let pid = spawn_on(
            &a,
            "exec python3 -c \"import fcntl, time; f = open(\\\"/var/lib/dpkg/lock-frontend\\\", \\\"w\\\"); fcntl.lockf(f, fcntl.LOCK_EX); open(\\\"/run/dfab-lock-held\\\", \\\"w\\\"); time.sleep(120)\"",
        );
        a.check(
            "root",
            "for i in $(seq 50); do test -e /run/dfab-lock-held && exit 0; sleep 0.1; done; exit 1",
        );
        for task in ["deb.deploy", "deploy"] {
            let out = app.dfab(&["staging", task]);
            assert_ne!(out.code, 0, "{s:?} {task}: {}", out.stdout);
            // With two hosts, deb.deploy's per-host errors are in its summary (stdout).
            let e = &format!("{}{}", out.stdout, out.stderr);
            assert!(
                e.contains("locked by another process with pid")
                    && e.contains(&format!("wait for it to end (`ps -p {pid}` there)"))
                    && !e.contains("<env>")
                    && !e.contains("dfab-received")
                    && !e.contains("error: deploy failed in deb.deploy: error:"),
                "{s:?} {task}: {e}"
            );
            if task == "deploy" {
                let line = out
                    .stdout
                    .lines()
                    .find(|l| l.contains(&format!("[{}] FAILED in deb.deploy", a.ip)))
                    .unwrap_or_default();
                assert!(
                    line.contains("locked by another process") && !line.ends_with(':'),
                    "{s:?}: {}",
                    out.stdout
                );
            }
        }
        a.check("root", &format!("kill {pid}"));
    }
}

// Kinds 10 and 16, what a host had (review of issue 19): on a host left `iF` by an earlier
// failed deb.deploy, a wrapped deploy's summary said "installed (nothing of it was installed
// before)", because its journal recorded only `ii` versions as what a host had. The journal
// records dpkg's status with the version, and the summary and the install's line say it:
// "upgraded deploy-app 1.1-1 (half-configured, dpkg iF) → 1.2-1".
#[test]
fn k10_a_deploy_over_a_half_configured_release_says_what_was_there() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k10_a_deploy_over_a_half_configured_release_says_what_was_there",
                "dpkg's half-configured state (iF) has no counterpart in release mode",
            );
            continue;
        }
        let h = TestHost::new();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "deploy = [\"deb.deploy\"]\n",
        );
        h.check("root", "touch /etc/deploy-app-fail");
        app.build("1.1-1", "");
        let out = app.dfab(&["staging", "deb.deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert_eq!(installed(&h), "1.1-1 iF", "{s:?}");
        h.check("root", "rm /etc/deploy-app-fail");
        app.build("1.2-1", "");
        let out = app.dfab(&["staging", "deploy"]).ok();
        assert_eq!(installed(&h), "1.2-1 ii", "{s:?}");
        let was = "upgraded deploy-app 1.1-1 (half-configured, dpkg iF) → 1.2-1";
        assert!(
            out.stdout.contains(&format!("[{}] {was}", h.ip))
                && out
                    .stdout
                    .contains(&format!("[{}] deb.deploy: {was}", h.ip))
                && !out.stdout.contains("nothing of it was installed"),
            "{s:?}: {}",
            out.stdout
        );
    }
}
