//! Fleets of real LXC containers behind a real nginx balancer: `lxc.bake`, `fleet.create`,
//! bluegreen and serial deploys under a steady request load, `rollback`, a release that fails
//! its health check, and `fleet.suspend`. One fleet of 4 serves every step of one test. The
//! fixture app, the env and the request load here serve `lxc_fleet_remote` too.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{claim_ip, copy_tree, deploy_app_fixture, project, sh, Dfab};

const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n";

/// The members' first-boot script: the app (python's http.server over the package's `www`)
/// started now and at every later boot (the test base's init starts only sshd), and a mark.
const USER_DATA: &str = r#"#!/bin/sh
set -e
echo "user_data ran on $(hostname)" > /var/lib/dfab/user-data.ran
cat > /usr/local/sbin/fleet-app <<'APP'
#!/bin/sh
cd /usr/share/deploy-app/www
setsid python3 -m http.server 8000 --bind 0.0.0.0 >/var/log/fleet-app.log 2>&1 </dev/null &
APP
chmod 0755 /usr/local/sbin/fleet-app
sed -i 's|^exec /usr/sbin/sshd|/usr/local/sbin/fleet-app\nexec /usr/sbin/sshd|' /sbin/dfab-test-init
/usr/local/sbin/fleet-app
"#;

/// One HTTP/1.0 GET (the oracle: not dfab's own client): status and body.
pub(crate) fn get(addr: &str, path: &str) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: fleet\r\n\r\n").map_err(|e| e.to_string())?;
    let mut text = String::new();
    s.read_to_string(&mut text).map_err(|e| e.to_string())?;
    let code = text
        .get(9..12)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not HTTP: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.trim().to_owned());
    Ok((code, body.unwrap_or_default()))
}

/// A steady request loop against the balancer (one request every 5 ms, at most 60 s), its
/// answers collected.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<Result<(u16, String), String>>>,
}

impl Load {
    pub(crate) fn start(addr: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let (s, addr) = (stop.clone(), addr.to_owned());
        let thread = std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(60);
            let mut got = Vec::new();
            while !s.load(Ordering::SeqCst) && Instant::now() < end {
                got.push(get(&addr, "/version"));
                std::thread::sleep(Duration::from_millis(5));
            }
            got
        });
        Load { stop, thread }
    }

    /// Stop, and check that every answer was a 200 from one of `versions`.
    #[track_caller]
    pub(crate) fn check(self, versions: &[&str], what: &str) -> usize {
        self.stop.store(true, Ordering::SeqCst);
        let got = self.thread.join().unwrap();
        let bad: Vec<_> = got
            .iter()
            .filter(|r| !matches!(r, Ok((200, b)) if versions.contains(&b.as_str())))
            .collect();
        assert!(
            bad.is_empty() && got.len() > 20,
            "{what}: {} of {} requests failed or answered another version, e.g. {:?}",
            bad.len(),
            got.len(),
            bad.iter().take(5).collect::<Vec<_>>()
        );
        got.len()
    }
}

/// The project, the env's addresses (freed on drop) and, on drop, the fleet destroyed.
pub(crate) struct FleetApp {
    dir: tempfile::TempDir,
    pub(crate) env: String,
    /// Where clients reach the balancer.
    pub(crate) listen: String,
    /// The claimed addresses and their lock files (freed on drop).
    ips: Vec<(String, PathBuf)>,
    /// The env's `fleet` line and the lines that go with it (`configure` writes them).
    fleet: String,
}

impl FleetApp {
    /// A fleet of 4 behind nginx on this machine, 12 addresses.
    fn new() -> FleetApp {
        FleetApp::with("", 12, |app| {
            format!(
                "fleet = {{ size = 4, balancer = \"host\", port = 8000, listen = \"{}\", addresses = [{}] }}",
                app.listen,
                app.addresses()
            )
        })
    }

    /// The app, its env named `fl<tag><pid>` with `ips` claimed addresses (each `"a.b.c.d/24"` in
    /// `addresses()`), its `fleet` line (and any lines that go with it) from `fleet`; `listen`
    /// is a free loopback port until the caller sets it.
    pub(crate) fn with(tag: &str, ips: usize, fleet: impl FnOnce(&FleetApp) -> String) -> FleetApp {
        crate::support::require_host_setup();
        assert!(
            sh(&["sh", "-c", "command -v nginx"]).status.success(),
            "this test needs nginx: run `sudo bash scripts/setup-host` (or apt-get install nginx-light)"
        );
        let env = format!("fl{tag}{}", std::process::id());
        let ips: Vec<(String, PathBuf)> = (0..ips).map(|_| claim_ip(&env)).collect();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let listen = format!("127.0.0.1:{port}");
        let dir = project(&[("debconf.dat", DEBCONF), ("user_data.sh", USER_DATA)]);
        copy_tree(&deploy_app_fixture(), dir.path());
        fs_err::remove_dir_all(dir.path().join("share")).unwrap();
        fs_err::create_dir_all(dir.path().join("www")).unwrap();
        fs_err::write(
            dir.path().join("debian/install"),
            "etc/deploy-app etc\nwww usr/share/deploy-app\n",
        )
        .unwrap();
        let mut app = FleetApp {
            dir,
            env,
            listen,
            ips,
            fleet: String::new(),
        };
        app.fleet = fleet(&app);
        app.configure("bluegreen", &app.addresses(), "");
        app
    }

    /// Claimed address `i` (no prefix).
    pub(crate) fn ip(&self, i: usize) -> &str {
        &self.ips[i].0
    }

    /// The claimed addresses as a TOML list's items (all but the first `skip`).
    pub(crate) fn addresses_from(&self, skip: usize) -> String {
        self.ips
            .iter()
            .skip(skip)
            .map(|(ip, _)| format!("\"{ip}/24\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The claimed addresses as a TOML list's items.
    fn addresses(&self) -> String {
        self.ips
            .iter()
            .map(|(ip, _)| format!("\"{ip}/24\""))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Write the env: `strategy`, the members' `addresses` (with the `fleet` line of `new`),
    /// `extra` lines.
    fn configure(&self, strategy: &str, addresses: &str, extra: &str) {
        let fleet = self.fleet.replace(&self.addresses(), addresses);
        self.write_env(&fleet, strategy, extra);
    }

    /// Write the env with its `fleet` line(s), `strategy` and `extra` lines.
    pub(crate) fn write_env(&self, fleet: &str, strategy: &str, extra: &str) {
        fs_err::write(
            self.path().join("dfab.toml"),
            format!(
                "[environments.{env}]\nlxc_template = \"dfab-test-base\"\npackage_dir = \"dist/\"\n\
                 debconf = \"debconf.dat\"\n{fleet}\n\
                 health_url = \"http://127.0.0.1:8000/health\"\nhealth_timeout = 5\n\
                 user_data = \"user_data.sh\"\nbake_commands = [\"echo baked > /etc/fleet-baked\"]\n\
                 deploy = [\"deb.deploy\"]\ndeploy_strategy = \"{strategy}\"\n{extra}\n",
                env = self.env,
            ),
        )
        .unwrap();
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn dfab(&self, args: &[&str]) -> Dfab {
        let mut all = vec![self.env.as_str()];
        all.extend_from_slice(args);
        Dfab::new(self.path()).args(all)
    }

    /// Build `version` (its `www/version` saying so; `www/health` only when `healthy`).
    pub(crate) fn build(&self, version: &str, healthy: bool) {
        let www = self.path().join("www");
        fs_err::write(www.join("version"), format!("{version}\n")).unwrap();
        if healthy {
            fs_err::write(www.join("health"), "ok\n").unwrap();
        } else {
            let _ = fs_err::remove_file(www.join("health"));
        }
        self.dfab(&[&format!("deb.build:version={version}")])
            .run_checked();
    }

    /// What the balancer serves now.
    #[track_caller]
    pub(crate) fn serves(&self) -> String {
        let (code, body) = get(&self.listen, "/version").expect("the balancer answers");
        assert_eq!(code, 200, "the balancer answered {code} {body}");
        body
    }

    /// The balancer config's generation (one more per reload).
    pub(crate) fn generation(&self) -> u64 {
        get(&self.listen, "/__dfab/generation")
            .unwrap()
            .1
            .parse()
            .unwrap()
    }

    /// `deploy` of `version` (built first) under a request load, bluegreen: every answer a 200
    /// from `from` or `version`, then the fleet serving `version` on `size` members after one
    /// reload. `what` names the run in a failure. Returns how many requests were answered.
    #[track_caller]
    pub(crate) fn bluegreen_under_load(
        &self,
        from: &str,
        version: &str,
        size: usize,
        what: &str,
    ) -> usize {
        self.build(version, true);
        let g = self.generation();
        let load = Load::start(&self.listen);
        self.dfab(&["deploy"])
            .stdout_has("in one reload")
            .stdout_has(format!("now serves {version} on {size} members (bluegreen"))
            .run_checked();
        let n = load.check(&[from, version], what);
        assert_eq!(self.serves(), version);
        assert_eq!(self.generation(), g + 1, "one reload");
        n
    }

    /// `rollback` under a request load, from `from` back to `to`: every answer a 200 from
    /// either, then `to` served after one reload. `what` names the run in a failure.
    #[track_caller]
    pub(crate) fn rollback_under_load(&self, from: &str, to: &str, what: &str) {
        let g = self.generation();
        let load = Load::start(&self.listen);
        self.dfab(&["rollback"])
            .stdout_has("in one reload")
            .stdout_has(format!("serves {to} again"))
            .run_checked();
        load.check(&[to, from], what);
        assert_eq!(self.serves(), to);
        assert_eq!(self.generation(), g + 1, "one reload");
    }

    /// This env's containers (members and bakes), from lxc-ls.
    pub(crate) fn containers(&self) -> Vec<String> {
        let out = sh(&["lxc-ls", "-1"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(&format!("{}-", self.env)))
            .map(str::to_owned)
            .collect()
    }

    /// The running members, from lxc-ls.
    pub(crate) fn running_members(&self) -> Vec<String> {
        let out = sh(&["lxc-ls", "-1", "--running"]);
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with(&format!("{}-m", self.env)))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for FleetApp {
    fn drop(&mut self) {
        let _ = self.dfab(&["-y", "fleet.destroy:bakes=yes"]).run();
        // Whatever a failed step left: its containers, its balancer. Twice: a bake cannot go
        // while a member cloned from it exists.
        for _ in 0..2 {
            for c in self.containers() {
                let _ = sh(&["lxc-stop", "-k", "-n", &c]);
                let _ = sh(&["lxc-destroy", "-n", &c]);
            }
        }
        let pid = self
            .path()
            .join(".dfab/balancer")
            .join(&self.env)
            .join("nginx.pid");
        if let Ok(pid) = fs_err::read_to_string(pid) {
            let _ = sh(&["kill", "-QUIT", pid.trim()]);
        }
        for (_, lock) in &self.ips {
            let _ = fs_err::remove_file(lock);
        }
    }
}

/// The stdout of `cmd` in container `member` (by `lxc-attach`); it must succeed.
pub(crate) fn attach(member: &str, cmd: &str) -> String {
    let o = sh(&[
        "lxc-attach",
        "-n",
        member,
        "--clear-env",
        "--",
        "sh",
        "-c",
        cmd,
    ]);
    assert!(o.status.success(), "{member}: {cmd}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn a_fleet_is_baked_created_deployed_bluegreen_and_serially_rolled_back_and_suspended() {
    let t = Instant::now();
    // Where the time goes, with --nocapture.
    let mark = |what: &str| eprintln!("lxc_fleet: {:>5.1}s {what}", t.elapsed().as_secs_f64());
    let app = FleetApp::new();
    mark("bake");
    // lxc.bake: the build with the env's debconf answers and bake_commands; twice: a no-op.
    app.build("1.0", true);
    app.dfab(&["lxc.bake"])
        .stdout_has("lxc.bake: baked ")
        .run_checked();
    app.dfab(&["lxc.bake"])
        .stdout_has("is baked already (the same build): nothing to do")
        .run_checked();
    let bakes = app.containers();
    assert_eq!(bakes.len(), 1, "one bake: {bakes:?}");

    mark("fleet.create");
    // fleet.create: 4 members in parallel, each with its log and user_data, then the balancer.
    // Each member's log named as the user finds it from the project directory.
    app.dfab(&["fleet.create"])
        .stdout_has("fleet.create: 4 members")
        .stdout_has("balancer: nginx started")
        .stdout_has(format!("; log .dfab/logs/{}/{}-m", app.env, app.env))
        .run_checked();
    assert_eq!(app.serves(), "1.0");
    let first = app.running_members();
    assert_eq!(first.len(), 4, "{first:?}");
    let logs = app.path().join(".dfab/logs").join(&app.env);
    for m in &first {
        assert_eq!(
            attach(m, "cat /var/lib/dfab/user-data.ran"),
            format!("user_data ran on {m}\n")
        );
        assert_eq!(attach(m, "cat /etc/fleet-baked"), "baked\n");
        assert!(attach(m, "cat /var/lib/deploy-app/config").contains("site_name=shop.example.com"));
        let log = fs_err::read_to_string(logs.join(format!("{m}.log"))).unwrap();
        assert!(
            log.contains("user_data done") && log.contains("healthy"),
            "{log}"
        );
    }
    assert_eq!(
        fs_err::read_dir(&logs).unwrap().count(),
        4,
        "one log per member"
    );
    app.dfab(&["fleet.status"])
        .stdout_has("health 200, in the balancer")
        .run_checked();

    mark("bluegreen");
    // Bluegreen to 1.1 under load: every answer a 200 from 1.0 or 1.1.
    let n = app.bluegreen_under_load("1.0", "1.1", 4, "bluegreen 1.0 -> 1.1");
    let second = app.running_members();
    assert!(second.iter().all(|m| !first.contains(m)), "{second:?}");
    let all = app.containers();
    assert!(
        first.iter().all(|m| all.contains(m)),
        "the old members are kept (stopped) for rollback: {all:?}"
    );

    mark("rollback");
    // Rollback: the kept 1.0 members, switched back in one reload, with no failed request.
    app.rollback_under_load("1.1", "1.0", "rollback to 1.0");
    // And forward again.
    app.dfab(&["rollback"])
        .stdout_has("serves 1.1 again")
        .run_checked();
    assert_eq!(app.serves(), "1.1");

    mark("failing health");
    // 1.2 fails its health check: 1.1 still serves, the balancer is unchanged, the new members
    // are named with their logs and removed.
    app.build("1.2", false);
    let g = app.generation();
    let before = app.containers();
    app.dfab(&["deploy"])
        .status(1)
        .stderr_has("of the new members failed, the balancer is unchanged")
        .stderr_has("not healthy after 5 s")
        .stderr_has(format!("(log: .dfab/logs/{}/", app.env))
        .stderr_has(format!("(log .dfab/logs/{}/", app.env))
        .run_checked();
    assert_eq!(app.serves(), "1.1");
    assert_eq!(app.generation(), g, "no reload");
    let after: Vec<String> = app
        .containers()
        .into_iter()
        .filter(|c| c.starts_with(&format!("{}-m", app.env)))
        .collect();
    assert!(
        after.iter().all(|c| before.contains(c)),
        "the failed members were removed: {after:?} vs {before:?}"
    );
    // With keep_failed, the failed members stay, with no traffic, until the next deploy.
    app.configure("bluegreen", &app.addresses(), "keep_failed = true");
    app.dfab(&["deploy"])
        .status(1)
        .stderr_has("the failed members are kept (keep_failed)")
        .run_checked();
    assert_eq!(app.serves(), "1.1");
    assert_eq!(app.generation(), g, "no reload");
    let kept = app.running_members().len();
    assert_eq!(kept, 8, "4 live and 4 failed members run");
    app.dfab(&["fleet.status"])
        .stdout_has("health 404, no traffic")
        .run_checked();

    mark("serial");
    // Serial to 1.3 under load: one member at a time (one reload each), no failed request.
    app.configure("serial", &app.addresses(), "keep_bakes = 1");
    app.build("1.3", true);
    let g = app.generation();
    let load = Load::start(&app.listen);
    app.dfab(&["deploy"])
        .stdout_has("now serves 1.3 on 4 members (serial, 1 at a time")
        .run_checked();
    load.check(&["1.1", "1.3"], "serial 1.1 -> 1.3");
    assert_eq!(app.serves(), "1.3");
    assert_eq!(
        app.running_members().len(),
        4,
        "the failed members were removed"
    );
    assert_eq!(app.generation(), g + 4, "one reload per member");
    // keep_bakes = 1: the newest bake and one more stay, and the 1.0 bake the kept members came
    // from; 1.1's, which no member uses any more, is removed.
    let bakes: Vec<String> = app
        .containers()
        .into_iter()
        .filter(|c| !c.starts_with(&format!("{}-m", app.env)))
        .collect();
    let of = |v: &str| {
        bakes
            .iter()
            .any(|b| b.starts_with(&format!("{}-{v}-", app.env)))
    };
    assert!(
        of("1.0") && !of("1.1") && of("1.2") && of("1.3") && bakes.len() == 3,
        "{bakes:?}"
    );

    mark("suspend");
    // Suspended: a deploy refuses, naming who and since when; resumed, dfab may change it.
    app.dfab(&["fleet.suspend:reason=load test"])
        .stdout_has("suspended by ")
        .run_checked();
    app.dfab(&["deploy"])
        .status(1)
        .stderr_has("is suspended by ")
        .stderr_has(" since ")
        .stderr_has("(load test): nothing changed")
        .run_checked();
    // A second run that would change the fleet while one holds it is refused at once.
    let lock = app
        .path()
        .join(".dfab/fleet")
        .join(format!("{}.lock", app.env));
    let held = fs_err::File::open(&lock).unwrap();
    // SAFETY: flock on a descriptor this test owns; released when `held` is dropped.
    let got = unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(held.file()),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    };
    assert_eq!(got, 0, "the test takes the fleet's lock");
    app.dfab(&["fleet.resume"])
        .status(1)
        .stderr_has("another dfab run is changing the fleet")
        .run_checked();
    drop(held);
    app.dfab(&["fleet.resume"])
        .stdout_has("resumed")
        .run_checked();

    mark("migrations");
    // Pending migrations (the check fails in a new member): maintenance on, the migration run
    // once, in one new member, then the switch and maintenance off.
    app.configure(
        "bluegreen",
        &app.addresses(),
        "migrate_check_command = \"test -e /etc/fleet-migrated\"\n\
         migrate_command = \"touch /etc/fleet-migrated\"",
    );
    app.build("1.4", true);
    app.dfab(&["deploy"])
        .stdout_has("balancer: maintenance on (migrations are pending)")
        .stdout_has("migrations ran once")
        .stdout_has("balancer: maintenance off")
        .run_checked();
    assert_eq!(app.serves(), "1.4", "maintenance is off");
    let migrated = || {
        app.running_members()
            .iter()
            .filter(|m| {
                sh(&[
                    "lxc-attach",
                    "-n",
                    m,
                    "--",
                    "test",
                    "-e",
                    "/etc/fleet-migrated",
                ])
                .status
                .success()
            })
            .count()
    };
    assert_eq!(migrated(), 1, "the migration ran in one member");

    mark("create with migrations");
    // fleet.create on a database without its schema: the migration runs once, in one new member,
    // before the balancer sends any traffic (the members of a real fleet share the database).
    app.dfab(&["-y", "fleet.destroy"]).run_checked();
    app.dfab(&["fleet.create"])
        .stdout_has("migrations are pending: run once, before any member takes traffic")
        .stdout_has("migrations ran once")
        .stdout_has("fleet.create: 4 members")
        .run_checked();
    assert_eq!(app.serves(), "1.4");
    assert_eq!(
        migrated(),
        1,
        "fleet.create ran the migration in one member"
    );
    eprintln!(
        "lxc_fleet: {} requests in the bluegreen load, whole test {:.1}s",
        n,
        t.elapsed().as_secs_f64()
    );
}
