//! `deb.deploy`, `releases` and `rollback` against real containers over ssh, with a fixture
//! package whose postinst writes a config file from its debconf answers.

use std::path::{Path, PathBuf};

use crate::faults::{history, installed};
use crate::support::{
    copy_tree, deploy_app_fixture, project, Dfab, Outcome, Reserved, TestHost, KEY,
};

const SECRET: &str = "s3cret-pw-XYZ";

const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n\n\
Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
Value: s3cret-pw-XYZ\nOwners: deploy-app\nFlags: seen\n";

/// A copy of fixtures/deploy-app with a dfab.toml env `staging` reaching `hosts`.
struct App {
    dir: tempfile::TempDir,
}

impl App {
    fn new(hosts: &[String], extra: &str) -> App {
        let list: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        let toml = format!(
            "[environments.staging]\nhosts = [{}]\nuser = \"deploy\"\nkey_filename = \"{KEY}\"\n\
             known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
             package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\n{extra}",
            list.join(", ")
        );
        let dir = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
        copy_tree(&deploy_app_fixture(), dir.path());
        App { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Build `version`, with its VERSION file saying so.
    fn build(&self, version: &str) {
        fs_err::write(self.path().join("share/VERSION"), format!("{version}\n")).unwrap();
        self.dfab(&["staging", &format!("deb.build:version={version}")])
            .ok();
    }

    fn dfab(&self, args: &[&str]) -> Outcome {
        let out = Dfab::new(self.path()).args(args).run();
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "a debconf secret was printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        out
    }

    fn deb(&self, version: &str) -> PathBuf {
        self.path()
            .join(format!("dist/deploy-app_{version}_all.deb"))
    }
}

fn kept(h: &TestHost) -> String {
    h.check("root", "ls /var/lib/dfab/deploy-app/releases/")
}

/// The host shows no sign of a deploy: at most the host program (`/var/lib/dfab/bin`), which
/// the preflight puts there on its first call.
#[track_caller]
fn untouched(h: &TestHost) {
    assert_eq!(installed(h), "", "deploy-app got installed");
    let o = h.ssh("root", "ls -A /var/lib/dfab 2>/dev/null");
    let there = String::from_utf8_lossy(&o.stdout);
    assert!(
        there.is_empty() || there == "bin\n",
        "/var/lib/dfab holds more than the host program: {there}"
    );
}

#[test]
fn fresh_install_then_the_same_build_again_is_a_no_op() {
    let h = TestHost::new();
    let app = App::new(std::slice::from_ref(&h.ip), "");
    app.build("1.0-1");
    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    // The postinst wrote the answers (and the default of the unanswered question).
    assert_eq!(
        h.check("root", "cat /var/lib/deploy-app/config"),
        format!(
            "site_name=shop.example.com\nworkers=1\npassword_length={}\n",
            SECRET.len()
        )
    );
    assert_eq!(installed(&h), "1.0-1 ii");
    assert!(
        out.stdout.contains("installed deploy-app 1.0-1"),
        "{}",
        out.stdout
    );
    // The debconf temp file is gone (the digest of the answers applied is kept, root-only);
    // the release is kept; one history line.
    assert_eq!(
        h.check("root", "ls -A /var/lib/dfab/deploy-app"),
        "answers\nhistory\nlock\nreleases\n"
    );
    assert_eq!(kept(&h), "deploy-app_1.0-1_all.deb\n");
    let hist = history(&h);
    assert_eq!(hist.len(), 1);
    assert_eq!(hist[0][1], "1.0-1");
    assert_eq!(hist[0][5], "ok");
    // The host's copy has the local file's sha256.
    let sum = h.check("root", "sha256sum /var/lib/dfab/deploy-app/releases/*.deb");
    let local = dfab::deploy::record::sha256_file(&app.deb("1.0-1")).unwrap();
    assert!(sum.starts_with(&local), "{sum} vs {local}");

    // Same build again: no upload, no install (dpkg rewrites the package's file list on every
    // unpack, so its change time stands still only when nothing was installed).
    let list_ctime = || h.check("root", "stat -c %Z.%z /var/lib/dpkg/info/deploy-app.list");
    let before = list_ctime();
    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    assert!(!out.stdout.contains("uploaded"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("deploy-app 1.0-1 is already installed: nothing to do"),
        "{}",
        out.stdout
    );
    assert_eq!(list_ctime(), before, "deploy-app was unpacked again");
    let hist = history(&h);
    assert_eq!(hist.len(), 2);
    assert_eq!(hist[1][5], "unchanged");

    // force=yes reinstalls the same version (apt would call it the newest already).
    let out = app.dfab(&["staging", "deb.deploy:force=yes"]).ok();
    assert!(
        out.stdout.contains("installed deploy-app 1.0-1"),
        "{}",
        out.stdout
    );
    assert_ne!(list_ctime(), before, "force=yes did not unpack deploy-app");
    assert_eq!(installed(&h), "1.0-1 ii");
    let hist = history(&h);
    assert_eq!(hist.len(), 3);
    assert_eq!(hist[2][5], "ok");
}

#[test]
fn keep_releases_prunes_the_oldest_kept_release_never_the_installed_one() {
    let h = TestHost::new();
    let app = App::new(std::slice::from_ref(&h.ip), "keep_releases = 2\n");
    for v in ["1.0-1", "2.0-1", "3.0-1"] {
        app.build(v);
        app.dfab(&["staging", "deb.deploy"]).ok();
        assert_eq!(installed(&h), format!("{v} ii"));
    }
    assert_eq!(
        kept(&h),
        "deploy-app_2.0-1_all.deb\ndeploy-app_3.0-1_all.deb\n"
    );
    // A rollback to 2.0 prunes nothing: 3.0 stays kept beside it (1.0 is gone for good).
    app.dfab(&["staging", "rollback"]).ok();
    assert_eq!(installed(&h), "2.0-1 ii");
    assert_eq!(
        kept(&h),
        "deploy-app_2.0-1_all.deb\ndeploy-app_3.0-1_all.deb\n"
    );
    let outcomes: Vec<String> = history(&h)
        .iter()
        .map(|l| format!("{} {} {}", l[1], l[5], l[6]))
        .collect();
    assert_eq!(
        outcomes,
        [
            "1.0-1 ok deploy",
            "2.0-1 ok deploy",
            "3.0-1 ok deploy",
            "2.0-1 ok rollback"
        ]
    );
    // Again: the release before 2.0 in deploy order is 1.0, pruned; never forward to 3.0.
    let out = app.dfab(&["staging", "rollback"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "no earlier release to roll back to: the releases before 2.0-1 (1.0-1) are no \
             longer kept (installed: 2.0-1; kept: 2.0-1, 3.0-1)"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(installed(&h), "2.0-1 ii");
}

/// Rollback used to pick the most recent other good release: after a rollback to 2.0, a second
/// rollback went forward to the 3.0 just rolled back from, instead of back to 1.0.
#[test]
fn rollback_twice_goes_back_two_deploys_never_forward_to_the_reverted_release() {
    let h = TestHost::new();
    let app = App::new(std::slice::from_ref(&h.ip), "");
    for v in ["1.0-1", "2.0-1", "3.0-1"] {
        app.build(v);
        app.dfab(&["staging", "deb.deploy"]).ok();
    }
    for v in ["2.0-1", "1.0-1"] {
        let out = app.dfab(&["staging", "rollback"]).ok();
        assert!(
            out.stdout
                .contains(&format!("rollback: rolled back to deploy-app {v}")),
            "{}",
            out.stdout
        );
        assert_eq!(installed(&h), format!("{v} ii"));
        assert_eq!(
            h.check("root", "cat /usr/share/deploy-app/VERSION"),
            format!("{v}\n")
        );
    }
    // 1.0 was the first deploy: nothing is below it, although 2.0 and 3.0 are kept.
    let out = app.dfab(&["staging", "rollback"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "no earlier release to roll back to: 1.0-1 is the first release in this host's \
             history (installed: 1.0-1; kept: 1.0-1, 2.0-1, 3.0-1)"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(installed(&h), "1.0-1 ii");
}

#[test]
fn upgrade_then_rollback_brings_the_old_version_and_files_back() {
    let h = TestHost::new();
    let app = App::new(std::slice::from_ref(&h.ip), "");
    app.build("1.0-1");
    app.dfab(&["staging", "deb.deploy"]).ok();
    // The admin changes the conffile; 2.0 ships a changed one too: dfab keeps the admin's.
    h.check("root", "echo 'listen = 9000' > /etc/deploy-app/app.conf");
    fs_err::write(
        app.path().join("etc/deploy-app/app.conf"),
        "listen = 8080\n",
    )
    .unwrap();
    app.build("2.0-1");
    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    assert_eq!(installed(&h), "2.0-1 ii");
    assert_eq!(
        h.check("root", "cat /usr/share/deploy-app/VERSION"),
        "2.0-1\n"
    );
    assert_eq!(
        h.check("root", "cat /etc/deploy-app/app.conf"),
        "listen = 9000\n"
    );
    assert!(
        out.stdout
            .contains("kept the locally changed conffile /etc/deploy-app/app.conf"),
        "{}",
        out.stdout
    );

    let out = app.dfab(&["staging", "rollback"]).ok();
    assert!(
        out.stdout.contains("rolled back to deploy-app 1.0-1"),
        "{}",
        out.stdout
    );
    assert_eq!(installed(&h), "1.0-1 ii");
    assert_eq!(
        h.check("root", "cat /usr/share/deploy-app/VERSION"),
        "1.0-1\n"
    );
    assert_eq!(
        h.check("root", "cat /var/lib/deploy-app/config"),
        format!(
            "site_name=shop.example.com\nworkers=1\npassword_length={}\n",
            SECRET.len()
        )
    );
    let hist = history(&h);
    let steps: Vec<(&str, &str, &str)> = hist
        .iter()
        .map(|l| (l[6].as_str(), l[1].as_str(), l[5].as_str()))
        .collect();
    assert_eq!(
        steps,
        [
            ("deploy", "1.0-1", "ok"),
            ("deploy", "2.0-1", "ok"),
            ("rollback", "1.0-1", "ok")
        ]
    );
    let out = app.dfab(&["staging", "releases"]).ok();
    let p = format!("[{}] deploy-app: ", h.ip);
    assert!(
        out.stdout.contains(&format!("{p}installed 1.0-1\n")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("{p}kept releases: 1.0-1, 2.0-1\n")),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.stdout.matches(&format!("{p}history: ")).count(),
        3,
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(" rollback 1.0-1 ok by "),
        "{}",
        out.stdout
    );

    // A version that is not kept: the error names what is.
    let out = app.dfab(&["staging", "rollback:version=0.9-1"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("release 0.9-1 is not kept on this host (kept: 1.0-1, 2.0-1)"),
        "{}",
        out.stderr
    );
    // An explicit kept version works, and is an upgrade again.
    app.dfab(&["staging", "rollback:version=2.0-1"]).ok();
    assert_eq!(installed(&h), "2.0-1 ii");
}

#[test]
fn failing_postinst_is_recorded_the_previous_release_kept_and_other_hosts_reported() {
    let a = TestHost::new();
    let b = TestHost::new();
    let app = App::new(&[a.ip.clone(), b.ip.clone()], "");
    app.build("1.0-1");
    app.dfab(&["staging", "deb.deploy"]).ok();
    b.check("root", "touch /etc/deploy-app-fail");
    app.build("2.0-1");
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("1 of 2 hosts failed"), "{}", out.stderr);
    // The summary names each host's outcome: b's error with dpkg's last lines, a's success.
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!("[{}] FAILED in task deb.deploy", b.ip)),
        "{all}"
    );
    // Every dependency is installed, so dpkg -i ran (apt-get would exit 100).
    assert!(
        all.contains("installing deploy-app 2.0-1 failed (exit status 1)"),
        "{all}"
    );
    assert!(all.contains("postinst fails on purpose"), "{all}");
    assert!(all.contains(&format!("[{}] ok", a.ip)), "{all}");
    assert!(
        all.contains(&format!(
            "[{}] deb.deploy: upgraded deploy-app 1.0-1 → 2.0-1",
            a.ip
        )),
        "{all}"
    );
    assert_eq!(installed(&a), "2.0-1 ii");
    assert!(!installed(&b).starts_with("2.0-1 ii"), "{}", installed(&b));
    let hist = history(&b);
    assert_eq!(hist.last().unwrap()[1], "2.0-1");
    assert_eq!(hist.last().unwrap()[5], "failed");
    assert_eq!(
        kept(&b),
        "deploy-app_1.0-1_all.deb\ndeploy-app_2.0-1_all.deb\n"
    );
}

#[test]
fn a_missing_dependency_goes_to_apt_and_nothing_is_unpacked() {
    let h = TestHost::new();
    let app = App::new(std::slice::from_ref(&h.ip), "");
    let control = app.path().join("debian/control");
    let text = fs_err::read_to_string(&control).unwrap().replace(
        "Depends: ${misc:Depends}",
        "Depends: ${misc:Depends}, dfab-no-such-package",
    );
    fs_err::write(&control, text).unwrap();
    app.build("1.0-1");
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    // apt-get (exit 100) named the dependency; dpkg -i would have left the package unpacked.
    assert!(
        all.contains("installing deploy-app 1.0-1 failed (exit status 100)"),
        "{all}"
    );
    assert!(all.contains("dfab-no-such-package"), "{all}");
    assert!(
        !all.lines()
            .any(|l| l.trim() == "dfab: every dependency is installed: dpkg -i"),
        "{all}"
    );
    assert_eq!(installed(&h), "", "deploy-app was unpacked");
}

#[test]
fn refused_before_any_host_changes() {
    let h = TestHost::new();
    let good = h.ip.clone();

    // A missing debconf file.
    let app = App::new(std::slice::from_ref(&good), "");
    app.build("1.0-1");
    fs_err::remove_file(app.path().join("debconf.dat")).unwrap();
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // Named where the env sets it: the environments file, the line and the key.
    assert!(
        out.stderr
            .contains("key `staging.debconf`: the debconf file")
            && out.stderr.contains("debconf.dat does not exist"),
        "{}",
        out.stderr
    );
    untouched(&h);

    // A misspelt question: file:line and the nearest name.
    fs_err::write(
        app.path().join("debconf.dat"),
        DEBCONF.replace("Name: deploy-app/site_name", "Name: deploy-app/site_nmae"),
    )
    .unwrap();
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "debconf.dat:1:1: `deploy-app/site_nmae` is not a question of the packages being deployed"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `deploy-app/site_name`?"),
        "{}",
        out.stderr
    );
    untouched(&h);
    // Misspelt in both `Name` and `Template`.
    fs_err::write(
        app.path().join("debconf.dat"),
        DEBCONF.replace("deploy-app/site_name", "deploy-app/site_nmae"),
    )
    .unwrap();
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("debconf.dat:1:1: `deploy-app/site_nmae` is not a question of the packages being deployed"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `deploy-app/site_name`?"),
        "{}",
        out.stderr
    );
    untouched(&h);
    fs_err::write(app.path().join("debconf.dat"), DEBCONF).unwrap();

    // A tampered .deb.
    let deb = app.deb("1.0-1");
    let mut bytes = fs_err::read(&deb).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 0xff;
    fs_err::write(&deb, &bytes).unwrap();
    let out = app.dfab(&["staging", "deb.deploy"]);
    // Bad input found before any host changed: exit 2, as a bad debconf file.
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("checksum mismatch: the build record says sha256"),
        "{}",
        out.stderr
    );
    untouched(&h);
    app.build("1.0-1");

    // An unreachable host (an address no container holds), after a good one.
    let nobody = Reserved::new();
    let app2 = App::new(&[good.clone(), nobody.ip.clone()], "");
    app2.build("1.0-1");
    let out = app2.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!("[{}] FAILED in task deb.deploy", nobody.ip)),
        "{all}"
    );
    untouched(&h);

    // A login whose sudo wants a password.
    let app3 = App::new(&[good.clone(), format!("nosudo@{good}")], "");
    app3.build("1.0-1");
    let out = app3.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let all = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        all.contains(&format!(
            "[nosudo@{good}] preflight: sudo wants a password for `nosudo`"
        )),
        "{all}"
    );
    assert!(all.contains("before any host is changed"), "{all}");
    untouched(&h);
}

#[test]
fn dry_run_lists_every_command_per_host_and_connects_nowhere() {
    let a = Reserved::new();
    let b = Reserved::new();
    let app = App::new(&[a.ip.clone(), b.ip.clone()], "");
    app.build("1.0-1");
    let out = app.dfab(&["-n", "-v", "staging", "deb.deploy"]).ok();
    for ip in [&a.ip, &b.ip] {
        for want in [
            "check: dfab-host preflight /var/lib/dfab/deploy-app/releases/deploy-app_1.0-1_all.deb",
            // The .deb streams into the install's own session.
            "sudo: dfab-host install --skip-same --debconf --deb-size ",
        ] {
            assert!(
                out.stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("[{ip}] ")) && l.contains(want)),
                "no `{want}` for {ip}:\n{}",
                out.stdout
            );
        }
    }
    assert!(
        out.stdout.contains("deploy-app_1.0-1_all.deb"),
        "{}",
        out.stdout
    );
}

#[test]
fn deploys_to_eight_containers() {
    let hosts: Vec<TestHost> = (0..8).map(|_| TestHost::new()).collect();
    let ips: Vec<String> = hosts.iter().map(|h| h.ip.clone()).collect();
    let app = App::new(&ips, "");
    app.build("1.0-1");
    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    for h in &hosts {
        assert_eq!(installed(h), "1.0-1 ii", "{}", h.ip);
        assert!(
            out.stdout.contains(&format!(
                "[{}] deb.deploy: installed deploy-app 1.0-1",
                h.ip
            )),
            "{}",
            out.stdout
        );
    }
}

// A rebuild with other contents but the same version was reported installed ("already
// installed: nothing to do", and the wrapped deploy's summary said "upgraded") while the host
// kept the old bytes, and the kept .deb was overwritten, so a later rollback to that version
// would have installed another package. dpkg compares versions, not contents: dfab refuses.
#[test]
fn another_build_under_the_installed_version_is_refused_and_the_kept_release_stays() {
    let h = TestHost::new();
    let app = App::new(std::slice::from_ref(&h.ip), "");
    app.build("1.0-1");
    app.dfab(&["staging", "deb.deploy"]).ok();
    let kept = || {
        h.check(
            "root",
            "sha256sum /var/lib/dfab/deploy-app/releases/deploy-app_1.0-1_all.deb",
        )
    };
    let before = kept();
    // The same version, other bytes.
    fs_err::write(app.path().join("share/VERSION"), "1.0-1, patched\n").unwrap();
    app.dfab(&["staging", "deb.build:version=1.0-1"]).ok();
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("deploy-app 1.0-1 is installed from another build"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("give the new build a new version"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("nothing to do"), "{}", out.stdout);
    // The host is as it was: the old bytes installed and kept.
    assert_eq!(
        h.check("root", "cat /usr/share/deploy-app/VERSION"),
        "1.0-1\n"
    );
    assert_eq!(kept(), before);
    // force=yes installs this build over it, as asked.
    app.dfab(&["staging", "deb.deploy:force=yes"]).ok();
    assert_eq!(
        h.check("root", "cat /usr/share/deploy-app/VERSION"),
        "1.0-1, patched\n"
    );
}

// `releases` on a host without the package printed `djdemo: installed not installed`.
#[test]
fn releases_of_a_package_never_installed_says_not_installed() {
    let h = TestHost::new();
    let toml = format!(
        "[environments.__all__]\npackage_name = \"dfab-never-installed\"\n\n{}",
        h.env_toml("staging", "root")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    Dfab::new(dir.path())
        .args(["staging", "releases"])
        .stdout_has(format!("[{}] dfab-never-installed: not installed\n", h.ip))
        .stdout_lacks("installed not installed")
        .stderr_lacks("error")
        .run_checked();
}
