//! Release mode (`install_mode = 'release'`) against a real container: two instances of
//! fixtures/deploy-app (staging and production) on one host behind one nginx, each location
//! serving its own `current`; deployed, switched under a request loop, rolled back, prepared
//! with `setup_release`, a failed release cleaned, and a package refused for its postinst.

use std::path::Path;
use std::time::Instant;

use crate::support::{copy_tree, deploy_app_fixture, project, Dfab, Outcome, TestHost, KEY};

pub(crate) const SECRET: &str = "rel-s3cret-pw";

pub(crate) const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n\n\
Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
Value: rel-s3cret-pw\nOwners: deploy-app\nFlags: seen\n";

/// What deploy-app's postinst does, taken over in the release: the config from the rendered
/// answers into shared/, and a check that fails for a release whose VERSION says `broken`.
pub(crate) const SETUP: &str = r#"release_setup_commands = [
  "set -a; . \"$DFAB_CONFIG/debconf.env\"; . \"$DFAB_CONFIG/debconf-secrets.env\"; printf 'site=%s workers=%s pwlen=%s\\n' \"$DEPLOY_APP_SITE_NAME\" \"$DEPLOY_APP_WORKERS\" \"${#DEPLOY_APP_ADMIN_PASSWORD}\" > \"$DFAB_SHARED/app.conf\"",
  "! grep -q broken usr/share/deploy-app/VERSION",
]
"#;

/// What starts an instance in these tests: a line per restart in `shared/restarts`, naming the
/// release it ran in.
pub(crate) const START: &str = "echo \\\"$DFAB_RELEASE\\\" >> \\\"$DFAB_SHARED/restarts\\\"";

/// The env `name` on `h` in release mode, `start` its `release_start_command` (TOML-escaped),
/// `health` its `health_timeout` (seconds), `setup` more lines.
fn env(h: &TestHost, name: &str, setup: &str, start: &str, health: u32) -> String {
    format!(
        "[environments.{name}]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\npackage_name = \"deploy-app\"\n\
         install_mode = \"release\"\nshared_paths = [\"var/log/deploy-app\"]\nkeep_releases = 2\n\
         health_url = \"http://127.0.0.1/{name}/VERSION\"\nhealth_timeout = {health}\n\
         release_start_command = \"{start}\"\n{setup}",
        ip = h.ip
    )
}

pub(crate) struct App {
    dir: tempfile::TempDir,
}

impl App {
    /// deploy-app with envs `staging` and `production` on `h`, `setup` added to both.
    pub(crate) fn new(h: &TestHost, setup: &str) -> App {
        App::with_start(h, setup, START, 5)
    }

    /// As [`App::new`], with `start` as the `release_start_command` and a `health_timeout` of
    /// `health` seconds.
    pub(crate) fn with_start(h: &TestHost, setup: &str, start: &str, health: u32) -> App {
        let toml = format!(
            "{}\n{}",
            env(h, "staging", setup, start, health),
            env(h, "production", setup, start, health)
        );
        let dir = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
        copy_tree(&deploy_app_fixture(), dir.path());
        App { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Build `version` with `body` as its VERSION file.
    pub(crate) fn build(&self, version: &str, body: &str) {
        fs_err::write(self.path().join("share/VERSION"), format!("{body}\n")).unwrap();
        self.dfab(&["staging", &format!("deb.build:version={version}")])
            .ok();
    }

    /// dfab in the project, its output checked for the secret by `run_checked`.
    pub(crate) fn run(&self, args: &[&str]) -> Dfab {
        Dfab::new(self.path())
            .args(args)
            .stdout_lacks(SECRET)
            .stderr_lacks(SECRET)
    }

    pub(crate) fn dfab(&self, args: &[&str]) -> Outcome {
        let out = Dfab::new(self.path()).args(args).run();
        assert!(
            !out.stdout.contains(SECRET) && !out.stderr.contains(SECRET),
            "a debconf secret was printed:\n{}\n{}",
            out.stdout,
            out.stderr
        );
        out
    }
}

/// nginx on :80 with one location per instance, each an alias into its `current`.
pub(crate) fn web(h: &TestHost) {
    h.check(
        "root",
        "set -e
cat > /etc/nginx/sites-enabled/default <<'SITE'
server {
    listen 80 default_server;
    location /staging/ { alias /srv/deploy-app/staging/current/usr/share/deploy-app/; }
    location /production/ { alias /srv/deploy-app/production/current/usr/share/deploy-app/; }
}
SITE
nginx",
    );
}

pub(crate) fn get(h: &TestHost, inst: &str) -> String {
    h.check("root", &format!("curl -sf http://127.0.0.1/{inst}/VERSION"))
}

pub(crate) fn current(h: &TestHost, inst: &str) -> String {
    h.check("root", &format!("readlink /srv/deploy-app/{inst}/current"))
}

#[test]
fn release_mode_two_instances_on_one_host_switch_roll_back_and_clean_independently() {
    let h = TestHost::new();
    web(&h);

    // Bad input first: deploy-app's postinst writes outside its tree, and nothing takes it over.
    let bare = App::new(&h, "");
    bare.build("1.0-1", "1.0");
    bare.run(&["staging", "deb.deploy"])
        .status(2)
        .stderr_has("deploy-app's maintainer scripts")
        .stderr_has("postinst:16: writes outside its tree (mkdir -p /var/lib/deploy-app)")
        .stderr_has("postinst:17: writes outside its tree")
        .stderr_has("release_setup_commands")
        .run_checked();
    assert_eq!(
        h.check(
            "root",
            "ls -A /srv 2>/dev/null; ls -A /var/lib/dfab 2>/dev/null || true"
        ),
        "",
        "a refused deploy touched the host"
    );
    // An unsafe instance name is refused naming its key.
    let evil = App::new(&h, "instance = \"../x\"\n");
    evil.run(&["staging", "releases"])
        .status(2)
        .stderr_has("key `staging.instance`: not a safe instance name")
        .run_checked();

    let app = App::new(&h, SETUP);
    app.build("1.0-1", "1.0");
    for inst in ["staging", "production"] {
        app.run(&[inst, "deb.deploy"])
            .stdout_has("current → 1.0-1-")
            .run_checked();
        assert_eq!(get(&h, inst), "1.0\n");
    }
    // The config rendered from the answers, the secret in a 0600 file; the shared path linked.
    assert_eq!(
        h.check("root", "cat /srv/deploy-app/staging/shared/app.conf"),
        format!("site=shop.example.com workers=1 pwlen={}\n", SECRET.len())
    );
    assert_eq!(
        h.check(
            "root",
            "stat -L -c '%a %n' /srv/deploy-app/staging/shared/debconf-secrets.env /srv/deploy-app/staging/shared/debconf.env"
        ),
        "600 /srv/deploy-app/staging/shared/debconf-secrets.env\n644 /srv/deploy-app/staging/shared/debconf.env\n"
    );
    assert_eq!(
        h.check(
            "root",
            "readlink /srv/deploy-app/staging/current/var/log/deploy-app"
        ),
        "/srv/deploy-app/staging/shared/var/log/deploy-app\n"
    );
    // Nothing went through dpkg.
    assert_eq!(
        h.check("root", "dpkg-query -W deploy-app 2>/dev/null || true"),
        ""
    );

    // 2.0 to staging under a request loop on both instances: no failed request, staging moves
    // from 1.0 to 2.0 once, production answers 1.0 throughout.
    app.build("2.0-1", "2.0");
    let prod_before = current(&h, "production");
    h.check(
        "root",
        "rm -f /tmp/loop.log /tmp/loop.stop
setsid nohup sh -c 'while [ ! -e /tmp/loop.stop ]; do for i in staging production; do
  printf \"%s %s\\n\" $i \"$(curl -s -w \" %{http_code}\" http://127.0.0.1/$i/VERSION | tr -d \"\\n\")\" >>/tmp/loop.log
done; done' >/dev/null 2>&1 </dev/null &
sleep 0.3",
    );
    app.run(&["staging", "deb.deploy"])
        .stdout_has("current 1.0-1-")
        .stdout_has("→ 2.0-1-")
        .run_checked();
    h.check("root", "sleep 0.3; touch /tmp/loop.stop; sleep 0.3");
    let log = h.check("root", "cat /tmp/loop.log");
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() > 20, "too few requests in the loop: {log}");
    let mut seen_new = false;
    for l in &lines {
        match *l {
            "production 1.0 200" | "staging 1.0 200" if !seen_new || !l.starts_with("staging") => {}
            "staging 2.0 200" => seen_new = true,
            other => panic!("a request failed or went back during the switch: {other}\n{log}"),
        }
    }
    assert!(seen_new, "staging never answered 2.0: {log}");
    assert_eq!(
        current(&h, "production"),
        prod_before,
        "production's current moved"
    );
    assert_eq!(get(&h, "production"), "1.0\n");

    // Rollback: one switch and a restart: no pip, no unpack, no dpkg (its speed is measured by
    // scripts/bench-release.sh, not asserted here).
    let t = Instant::now();
    let out = Dfab::new(app.path())
        .args(["-v", "staging", "rollback"])
        .run()
        .ok();
    let took = t.elapsed();
    assert!(
        out.stdout.contains("rolled back current 2.0-1-"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("pip") && !out.stderr.contains("pip"),
        "{}",
        out.stdout
    );
    for word in ["dpkg-deb -x", "dpkg -i", "-m venv", "pip install"] {
        assert!(
            !out.stdout.contains(word),
            "rollback ran {word}: {}",
            out.stdout
        );
    }
    eprintln!("release_mode: rollback took {took:.2?}");
    assert_eq!(get(&h, "staging"), "1.0\n");
    assert_eq!(get(&h, "production"), "1.0\n");
    let restarts = h.check("root", "cat /srv/deploy-app/staging/shared/restarts");
    assert_eq!(
        restarts.lines().count(),
        3,
        "one restart per switch: {restarts}"
    );
    assert!(
        restarts
            .lines()
            .last()
            .unwrap()
            .contains("/releases/1.0-1-"),
        "{restarts}"
    );
    assert_eq!(
        h.check("root", "wc -l < /srv/deploy-app/production/shared/restarts"),
        "1\n",
        "production was restarted by staging's runs"
    );
    // Back on the first release deployed: nothing before it to roll back to (never forward).
    app.run(&["staging", "releases"])
        .stdout_has("(current)")
        .stdout_lacks("(previous)")
        .run_checked();

    // A failed release never becomes current, and clean_releases removes it first.
    app.build("3.0-1", "broken");
    app.run(&["staging", "deb.deploy"])
        .status(1)
        .stderr_has("setup failed in release 3.0-1-")
        .run_checked();
    assert_eq!(get(&h, "staging"), "1.0\n");
    app.run(&["staging", "releases"])
        .stdout_has("(failed)")
        .run_checked();
    let out = app.dfab(&["staging", "clean_releases"]).ok();
    assert!(out.stdout.contains("removed 3.0-1-"), "{}", out.stdout);
    assert!(out.stdout.contains("(failed)"), "{}", out.stdout);
    let left = h.check("root", "ls /srv/deploy-app/staging/releases");
    assert!(!left.contains("3.0-1"), "{left}");
    assert_eq!(
        left.lines().count(),
        2,
        "current and its rollback target stay: {left}"
    );

    // setup_release on production: a release ready to run commands in, not current, kept by
    // keep_days through the clean after the next deploy.
    app.build("2.0-1", "2.0");
    let out = app.dfab(&["production", "setup_release:keep_days=2"]).ok();
    let path = out
        .stdout
        .lines()
        .find_map(|l| l.split("release path: ").nth(1))
        .unwrap_or_else(|| panic!("no release path: {}", out.stdout))
        .trim()
        .to_string();
    assert_eq!(
        h.check(
            "root",
            &format!("cd {path} && cat usr/share/deploy-app/VERSION")
        ),
        "2.0\n"
    );
    assert_eq!(current(&h, "production"), prod_before);
    app.dfab(&["production", "deb.deploy"]).ok();
    app.dfab(&["production", "clean_releases"]).ok();
    h.check("root", &format!("test -d {path}"));
    app.run(&["production", "releases"])
        .stdout_has("pinned-until-")
        .run_checked();
    assert_eq!(get(&h, "production"), "2.0\n");
    assert_eq!(get(&h, "staging"), "1.0\n");
}
