//! The wrapped `deploy` against real containers: nginx with dfab's maintenance snippet in front,
//! the deploy-app fixture package installed with apt, the journal, the lock, rolling batches.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{
    assert_same_calls, copy_tree, deploy_app_fixture, project, traced, Dfab, Outcome, TestHost, KEY,
};

const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n";

/// The site: nginx on :80 serving /srv/www, `/health` from the installed package's file.
const SITE: &str = "server {
    listen 80 default_server;
    include /etc/nginx/snippets/dfab-*.conf;
    root /srv/www;
    location = /health { alias /usr/share/deploy-app/health; }
}
";

/// A web host with nginx running (the snippet comes from `dfab <env> init`).
fn web_host() -> TestHost {
    let h = TestHost::new();
    h.check(
        "root",
        &format!(
            "set -e; mkdir -p /srv/www; echo app-ok > /srv/www/index.html\n\
             cat > /etc/nginx/sites-enabled/default <<'SITE'\n{SITE}SITE\nnginx"
        ),
    );
    h
}

/// A copy of fixtures/deploy-app whose env `name` reaches `hosts`; `extra` is more env TOML,
/// `tasks` the project's tasks.
struct App {
    dir: tempfile::TempDir,
    env: String,
}

impl App {
    fn new(env: &str, hosts: &[&TestHost], extra: &str, tasks: &str) -> App {
        let list: Vec<String> = hosts.iter().map(|h| format!("\"{}\"", h.ip)).collect();
        let toml = format!(
            "[environments.{env}]\nhosts = [{}]\nuser = \"deploy\"\nkey_filename = \"{KEY}\"\n\
             known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
             package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\nremote_path = \"/srv/app/\"\n\
             app_user = \"app\"\npackage_name = \"deploy-app\"\nmaintenance_allow = [\"/health\"]\n\
             health_url = \"http://127.0.0.1/health\"\nhealth_timeout = 3\n\
             test_commands = [{{ run = \"true\" }}]\n{extra}\n{tasks}",
            list.join(", ")
        );
        let dir = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
        copy_tree(&deploy_app_fixture(), dir.path());
        let app = App {
            dir,
            env: env.to_string(),
        };
        app.run(&["init"]).ok();
        app
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Set the next build's version; `healthy`: the package ships the file `/health` serves.
    fn version(&self, version: &str, healthy: bool) {
        fs_err::write(self.path().join("share/VERSION"), format!("{version}\n")).unwrap();
        fs_err::write(self.path().join("share/health"), "ok\n").unwrap();
        let mut install = "etc/deploy-app etc\nshare/VERSION usr/share/deploy-app\n".to_string();
        if healthy {
            install.push_str("share/health usr/share/deploy-app\n");
        }
        fs_err::write(self.path().join("debian/install"), install).unwrap();
        let log = format!(
            "deploy-app ({version}) unstable; urgency=medium\n\n  * Test release.\n\n -- Dfab Tests <dfab@example.org>  Mon, 02 Nov 2026 10:00:00 +0000\n"
        );
        fs_err::write(self.path().join("debian/changelog"), log).unwrap();
    }

    fn run(&self, args: &[&str]) -> Outcome {
        let mut all = vec![self.env.as_str()];
        all.extend_from_slice(args);
        Dfab::new(self.path()).args(all).run()
    }

    fn journal(&self) -> serde_json::Value {
        let p = self.path().join(format!(".dfab/state/{}.json", self.env));
        serde_json::from_slice(&fs_err::read(p).unwrap()).unwrap()
    }
}

fn installed(h: &TestHost) -> String {
    String::from_utf8_lossy(
        &h.ssh(
            "root",
            "dpkg-query -W -f='${Version}' deploy-app 2>/dev/null",
        )
        .stdout,
    )
    .trim()
    .to_string()
}

/// The HTTP status of `/` on the host, asked from this machine.
fn status(h: &TestHost) -> String {
    let o = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--max-time",
            "5",
        ])
        .arg(format!("http://{}/", h.ip))
        .output()
        .expect("curl (apt-get install curl)");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A project task that records, on the host, the status `/` answers at that point of the deploy.
const PROBE: &str = "[tasks.probe]\nsteps = [{ run = \"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1/ > /tmp/seen\" }]\n";

fn seen(h: &TestHost) -> String {
    h.check("root", "cat /tmp/seen")
}

#[track_caller]
fn has(out: &str, what: &str) {
    assert!(out.contains(what), "expected {what:?} in:\n{out}");
}

#[test]
fn maintenance_always_gives_503_during_and_200_after() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"probe\", \"test\", \"web_mode:live\"]";
    let app = App::new("production", &[&h], seq, PROBE);
    app.version("1.0-1", true);
    let out = app.run(&["deploy"]).ok();
    assert_eq!(seen(&h), "503", "the probe during the deploy");
    assert_eq!(status(&h), "200");
    assert_eq!(installed(&h), "1.0-1");
    has(&out.stdout, "Deploy summary:");
    let j = app.journal();
    assert_eq!(j["status"], "done");
    assert_eq!(j["build"]["sha256"].as_str().unwrap().len(), 64);
    // The lock's token (its release key) travels on stdin, never shown; its dpkg report is not
    // echoed.
    let token = j["token"].as_str().expect("the journal keeps the token");
    assert_eq!(token.len(), 32);
    assert!(!out.stdout.contains(token), "{}", out.stdout);
    assert!(
        !out.stdout.contains("out: dfab-installed"),
        "{}",
        out.stdout
    );
    has(
        &out.stdout,
        "deploy: lock acquired /var/lib/dfab/deploy-app/deploy.lock",
    );
    // The lock is released.
    assert!(!h
        .ssh("root", "test -e /var/lib/dfab/deploy-app/deploy.lock")
        .status
        .success());
}

#[test]
fn maintenance_auto_stays_live_without_pending_migrations_and_enters_with_them() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"migrate\", \"test\", \"web_mode:live\"]\n\
               maintenance = \"auto\"\nmigrate_check_command = \"test ! -e /etc/pending-migration || { cat /etc/pending-migration >&2; exit 1; }\"";
    let tasks = "[tasks.migrate]\nsteps = [{ run = \"curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1/ > /tmp/seen\" }]\n";
    let app = App::new("staging", &[&h], seq, tasks);
    app.version("1.0-1", true);
    let out = app.run(&["deploy"]).ok();
    has(&out.stdout, "no pending migration; the site stays live");
    assert_eq!(seen(&h), "200");
    assert!(
        !out.stdout.contains("maintenance on (flag"),
        "{}",
        out.stdout
    );
    assert_eq!(installed(&h), "1.0-1");

    h.check("root", "touch /etc/pending-migration");
    app.version("2.0-1", true);
    let out = app.run(&["deploy"]).ok();
    has(
        &out.stdout,
        "maintenance = 'auto': migrations are pending; entering maintenance",
    );
    assert!(!out.stderr.contains("cannot tell"), "{}", out.stderr);
    assert_eq!(seen(&h), "503");
    assert_eq!(status(&h), "200");
    assert_eq!(installed(&h), "2.0-1");

    // Exit 1 with errors (a traceback): not taken for "pending" in silence.
    h.check(
        "root",
        "echo 'Traceback: ImportError: boom' > /etc/pending-migration",
    );
    app.version("3.0-1", true);
    let out = app.run(&["deploy"]).ok();
    has(
        &out.stderr,
        "cannot tell whether migrations are pending; entering maintenance to be safe",
    );
    has(&out.stderr, "Traceback: ImportError: boom");
    assert!(
        !out.stdout.contains("migrations are pending;"),
        "{}",
        out.stdout
    );
    assert_eq!(seen(&h), "503");
    assert_eq!(installed(&h), "3.0-1");
}

#[test]
fn a_failed_migration_leaves_maintenance_on_and_resume_finishes() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"migrate\", \"test\", \"web_mode:live\"]\nprotected = true";
    let tasks = "[tasks.migrate]\nsteps = [{ sudo = \"test ! -e /etc/fail-migrate && touch /var/tmp/migrated\" }]\n";
    let app = App::new("staging", &[&h], seq, tasks);
    h.check("root", "touch /etc/fail-migrate");
    app.version("1.0-1", true);
    let out = app.run(&["deploy"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    has(&out.stderr, "deploy:resume=yes");
    has(&out.stderr, "deploy:revert=yes");
    has(&out.stderr, &format!("these hosts were changed: {}", h.ip));
    has(&out.stderr, "The site stays in maintenance");
    assert_eq!(status(&h), "503");
    assert_eq!(installed(&h), "1.0-1");
    let j = app.journal();
    assert_eq!(j["status"], "failed");
    let next = usize::try_from(
        j["next"]
            .as_u64()
            .expect("the journal points at the failed step"),
    )
    .unwrap();
    assert_eq!(j["steps"][next]["task"], "migrate");
    assert!(j["steps"][next]["failed"][&h.ip].is_string(), "{j}");

    h.check("root", "rm /etc/fail-migrate");
    let out = app.run(&["deploy:resume=yes"]).ok();
    assert!(
        !out.stdout.contains("apt-get install"),
        "resume reinstalled:\n{}",
        out.stdout
    );
    h.check("root", "test -e /var/tmp/migrated");
    assert_eq!(status(&h), "200");
    assert_eq!(app.journal()["status"], "done");
}

#[test]
fn a_failure_before_any_host_changed_leaves_the_site_live() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"precheck\", \"deb.deploy\", \"web_mode:live\"]\nprotected = true";
    let tasks = "[tasks.precheck]\nsteps = [{ local = \"exit 3\" }]\n";
    let app = App::new("staging", &[&h], seq, tasks);
    app.version("1.0-1", true);
    let out = app.run(&["deploy"]);
    assert_ne!(out.code, 0);
    has(
        &out.stderr,
        "before any host changed: maintenance taken off again on",
    );
    assert_eq!(status(&h), "200");
    assert_eq!(installed(&h), "");
}

// A misspelt question in the debconf file was found only when `deb.deploy` started: production
// had gone into maintenance for nothing, and the summary said "ok" next to the error.
#[test]
fn a_bad_debconf_file_stops_the_deploy_before_maintenance() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"test\", \"web_mode:live\"]\nprotected = true";
    let app = App::new("production", &[&h], seq, "");
    app.version("1.0-1", true);
    // Line 7 names a question the package does not ask.
    fs_err::write(
        app.path().join("debconf.dat"),
        format!("{DEBCONF}\n{}", DEBCONF.replace("site_name", "sitename")),
    )
    .unwrap();
    let out = app.run(&["deploy"]);
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    has(
        &out.stderr,
        "debconf.dat:7:1: `deploy-app/sitename` is not a question of the packages being deployed",
    );
    has(&out.stderr, "did you mean `deploy-app/site_name`?");
    has(
        &out.stderr,
        "deploy failed in deb.deploy before any host changed; nothing to undo",
    );
    assert!(
        !out.stdout.contains("web_mode: maintenance on"),
        "{}",
        out.stdout
    );
    has(
        &out.stdout,
        &format!("[{}] not reached: left on its old release", h.ip),
    );
    assert!(
        !out.stdout.contains("ok, release unchanged"),
        "{}",
        out.stdout
    );
    assert!(!h
        .ssh("root", "test -e /srv/app/maintenance.on")
        .status
        .success());
    assert_eq!(status(&h), "200");
    assert_eq!(installed(&h), "");
    assert!(app.journal()["maintenance_on"]
        .as_array()
        .unwrap()
        .is_empty());

    // Fixed, the same deploy goes through, its checks reported once.
    fs_err::write(app.path().join("debconf.dat"), DEBCONF).unwrap();
    let out = app.run(&["deploy"]).ok();
    assert_eq!(
        out.stdout.matches(" verified)").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(installed(&h), "1.0-1");
    assert_eq!(status(&h), "200");
}

#[test]
fn a_failed_health_check_with_on_failure_revert_restores_every_host_and_goes_live() {
    let (a, b) = (web_host(), web_host());
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"test\", \"web_mode:live\"]\n\
               protected = true\non_failure = \"revert\"";
    let app = App::new("staging", &[&a, &b], seq, "");
    app.version("1.0-1", true);
    app.run(&["deploy"]).ok();
    app.version("2.0-1", false);
    let out = app.run(&["deploy"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    has(&out.stderr, "was reverted");
    for h in [&a, &b] {
        assert_eq!(installed(h), "1.0-1");
        assert_eq!(status(h), "200");
        // The failed release stays on the host for debugging.
        h.check(
            "root",
            "test -e /var/lib/dfab/deploy-app/releases/deploy-app_2.0-1_all.deb",
        );
    }
    has(
        &out.stdout,
        &format!(
            "[{}] reverted to the previous release (deploy-app 1.0-1)",
            a.ip
        ),
    );
    assert_eq!(app.journal()["status"], "reverted");
}

#[test]
fn the_lock_refuses_a_concurrent_deploy_naming_the_holder_and_sigint_releases_it() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"deb.deploy\", \"slow\", \"after\"]";
    let tasks = "[tasks.slow]\nsteps = [{ run = \"sleep 4\" }]\n[tasks.after]\nsteps = [{ run = \"touch /tmp/after\" }]\n";
    let app = App::new("staging", &[&h], seq, tasks);
    let other = App::new("staging", &[&h], seq, tasks);
    app.version("1.0-1", true);
    let out = other.run(&["lock:acquire,message=hotfix in progress"]).ok();
    has(&out.stdout, "lock: acquired");
    let out = app.run(&["deploy"]);
    assert_ne!(out.code, 0);
    has(&out.stderr, "deploy refused, nothing done");
    has(&out.stderr, "held by");
    has(&out.stderr, "hotfix in progress");
    assert_eq!(installed(&h), "");
    // Only the holder releases it.
    let out = app.run(&["lock:release"]);
    assert_ne!(out.code, 0);
    let out = app.run(&["lock:status"]).ok();
    has(&out.stdout, "is held by");
    other.run(&["lock:release"]).ok();
    has(&app.run(&["lock:status"]).ok().stdout, "deploy-app is free");

    // Ctrl-C in the middle of the deploy: stops after the step and releases the lock.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_dfab"))
        .current_dir(app.path())
        .args(["staging", "deploy"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !h.ssh("root", "pgrep -f 'sleep 4'").status.success() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the deploy never reached `slow`"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(h
        .ssh("root", "test -e /var/lib/dfab/deploy-app/deploy.lock")
        .status
        .success());
    // SAFETY: kill has no memory preconditions; the pid is our child's.
    unsafe { libc::kill(i32::try_from(child.id()).unwrap(), libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    has(&stderr, "interrupted");
    assert!(
        !h.ssh("root", "test -e /var/lib/dfab/deploy-app/deploy.lock")
            .status
            .success(),
        "{stderr}"
    );
    assert_eq!(app.journal()["status"], "interrupted");
    assert!(
        !h.ssh("root", "test -e /tmp/after").status.success(),
        "the step after Ctrl-C ran"
    );
}

#[test]
fn rolling_over_four_hosts_stops_at_the_failed_batch() {
    let hosts: Vec<TestHost> = (0..4).map(|_| web_host()).collect();
    let refs: Vec<&TestHost> = hosts.iter().collect();
    let seq = "deploy = [\"deb.build\", \"deb.deploy\"]\ndeploy_strategy = \"rolling\"\nrolling_batch = 1\non_failure = \"revert\"";
    let app = App::new("staging", &refs, seq, "");
    app.version("1.0-1", true);
    app.run(&["deploy"]).ok();
    // Host 3's health URL breaks.
    hosts[2].check(
        "root",
        "sed -i 's|alias /usr/share/deploy-app/health;|return 500;|' /etc/nginx/sites-enabled/default && nginx -s reload",
    );
    app.version("2.0-1", true);
    let out = app.run(&["deploy"]);
    assert_ne!(out.code, 0, "{}", out.stdout);
    has(&out.stderr, "health check of rolling batch 3");
    // The checks on this machine run before the first batch and are not repeated per batch.
    assert_eq!(
        out.stdout.matches(" verified)").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(installed(&hosts[0]), "2.0-1");
    assert_eq!(installed(&hosts[1]), "2.0-1");
    assert_eq!(installed(&hosts[2]), "1.0-1", "host 3 reverted");
    assert_eq!(installed(&hosts[3]), "1.0-1", "host 4 untouched");
    has(&out.stdout, &format!("[{}] upgraded", hosts[0].ip));
    has(
        &out.stdout,
        &format!("[{}] reverted to the previous release", hosts[2].ip),
    );
    has(
        &out.stdout,
        &format!("[{}] not reached: left on its old release", hosts[3].ip),
    );
}

#[test]
fn roles_put_the_migration_on_the_db_host_only() {
    let (db, web) = (web_host(), web_host());
    let seq = format!(
        "deploy = [\"deb.build\", \"deb.deploy\", \"migrate\"]\nroledefs = {{ db = [\"{}\"], app = [\"{}\"], web = [\"{}\"] }}",
        db.ip, web.ip, web.ip
    );
    let tasks =
        "[tasks.migrate]\nsteps = [{ sudo = \"touch /var/tmp/migrated\", roles = [\"db\"] }]\n";
    let app = App::new("staging", &[&db, &web], &seq, tasks);
    app.version("1.0-1", true);
    app.run(&["deploy"]).ok();
    db.check("root", "test -e /var/tmp/migrated");
    assert!(!web
        .ssh("root", "test -e /var/tmp/migrated")
        .status
        .success());
    assert_eq!(installed(&web), "1.0-1");
    assert_eq!(installed(&db), "", "deb.deploy runs on app and web hosts");
}

#[test]
fn a_no_op_deploy_installs_nothing() {
    let h = web_host();
    let app = App::new(
        "staging",
        &[&h],
        "deploy = [\"deb.build\", \"deb.deploy\", \"web_restart\"]",
        "",
    );
    app.version("1.0-1", true);
    app.run(&["deploy"]).ok();
    let before = h.check("root", "wc -l < /var/lib/dfab/deploy-app/history");
    let out = app.run(&["deploy"]).ok();
    has(&out.stdout, "nothing to deploy");
    assert!(!out.stdout.contains("apt-get install"), "{}", out.stdout);
    assert!(!out.stdout.contains("nginx -s reload"), "{}", out.stdout);
    assert_eq!(
        h.check("root", "wc -l < /var/lib/dfab/deploy-app/history"),
        before
    );
    // A changed debconf answer is a deploy again.
    fs_err::write(
        app.path().join("debconf.dat"),
        DEBCONF.replace("shop.example.com", "new.example.com"),
    )
    .unwrap();
    let out = app.run(&["deploy"]).ok();
    assert!(!out.stdout.contains("nothing to deploy"), "{}", out.stdout);
}

#[test]
fn dry_run_prints_every_host_and_connects_nowhere() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.production]\nhosts = [\"10.0.3.251\", \"10.0.3.252\"]\nuser = \"deploy\"\ntimeout = 1\n\
         package_name = \"app\"\nremote_path = \"/srv/app/\"\napp_user = \"app\"\n\
         deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"migrate\", \"web_mode:live\"]\n\
         [tasks.migrate]\nsteps = [{ sudo = \"app-migrate\" }]\n",
    )]);
    // A project with a debian/ tree, never built: the record is the one `deb.build` makes.
    copy_tree(&deploy_app_fixture(), dir.path());
    let out = Dfab::new(dir.path())
        .args(["production", "deploy", "-n", "-v"])
        .run()
        .ok();
    for ip in ["10.0.3.251", "10.0.3.252"] {
        has(&out.stdout, &format!("[{ip}] sudo: "));
    }
    has(&out.stdout, "sudo: dfab-host lock take --preflight app ");
    has(&out.stdout, "app-migrate");
    has(&out.stdout, "maintenance.on");
    has(&out.stdout, ".dfab/state/production.json");
    // deb.deploy's checks on this machine come before maintenance, as the run does them.
    let checks = out.stdout.find("no build record yet").expect("the checks");
    assert!(
        checks < out.stdout.find("maintenance.on").unwrap(),
        "{}",
        out.stdout
    );
    assert!(
        !dir.path().join(".dfab").exists(),
        "a dry run wrote the journal"
    );
}

// -n was a second implementation beside the run (23 hand-kept describe() lists). Now it runs the
// same code against recorders: what it records must be what the run does, call for call.
#[test]
fn dry_run_records_the_calls_the_real_run_makes() {
    let h = web_host();
    let seq = "deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"test\", \"web_mode:live\"]";
    let app = App::new("production", &[&h], seq, "");
    let env = app.env.clone();
    let both = |args: &[&str]| {
        // `-y`: a rollback of a protected env (production) asks first.
        let mut all = vec!["-y", env.as_str()];
        all.extend_from_slice(args);
        let mut dry = vec!["-n"];
        dry.extend_from_slice(&all);
        let (d, dry_calls) = traced(app.path(), &dry);
        d.ok();
        let (r, real_calls) = traced(app.path(), &all);
        r.ok();
        assert!(!real_calls.is_empty(), "the run made no call");
        assert_same_calls(&dry_calls, &real_calls);
        real_calls
    };
    app.version("1.0-1", true);
    // The build record exists before -n, as it does for a deploy of what was built.
    app.run(&["deb.build"]).ok();
    let calls = both(&["deploy"]);
    // Remote sessions per host (every call is one): the lock with the preflight, maintenance,
    // the install with its upload, `test`'s command (`true`, this env's test_commands) and its
    // health check, live with the lock's release after it. Without test_commands (the bench's
    // env), 5.
    let on_host = |calls: &[String]| {
        calls
            .iter()
            .filter(|l| l.starts_with(&format!("[{}]", h.ip)))
            .count()
    };
    assert_eq!(on_host(&calls), 6, "{}", calls.join("\n"));
    assert!(
        calls
            .iter()
            .any(|c| c.contains("dfab-host lock release-after ") && c.contains(" web live ")),
        "{}",
        calls.join("\n")
    );
    assert_eq!(installed(&h), "1.0-1");
    app.version("1.1-1", true);
    app.run(&["deb.build"]).ok();
    let calls = both(&["deb.deploy"]);
    // deb.deploy alone: the preflight, then the install with its upload.
    assert_eq!(on_host(&calls), 2, "{}", calls.join("\n"));
    assert_eq!(installed(&h), "1.1-1");
    both(&["web_mode:maintenance"]);
    assert_eq!(status(&h), "503");
    both(&["web_mode:live"]);
    assert_eq!(status(&h), "200");
    // The rollback reads the host's history at run time: -n shows placeholders there.
    both(&["rollback"]);
    assert_eq!(installed(&h), "1.0-1");
}
