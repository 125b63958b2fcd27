//! Day-two operations against real containers: ad-hoc commands after `--` on exactly the hosts
//! their keywords name (and refused on a protected env without confirmation), and on a deployed
//! djdemo: `manage` in the app's venv as its user with its exit status, `facts --json` against
//! what dpkg-query and /etc/os-release say, and `services:restart` restarting the unit and
//! waiting for health.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::djdemo::{
    attach_ok, copy_fixture, deb_build, require_root_and_tools, wait_200, SharedTemplate, FIXTURE,
};
use crate::support::{project, Dfab, Reserved, TestHost, KEY};

/// `dfab.toml` with two envs over the same two hosts (`web` and `db` roles): `staging`, and
/// `production`, which is protected by its name.
fn two_host_envs(web: &TestHost, db: &TestHost, user: &str) -> String {
    let mut out = String::new();
    for env in ["staging", "production"] {
        let _ = write!(
            out,
            "[environments.{env}]\nhosts = [\"{w}\", \"{d}\"]\nuser = \"{user}\"\n\
             key_filename = \"{KEY}\"\nknown_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\n\
             roledefs = {{ web = [\"{w}\"], db = [\"{d}\"] }}\n",
            w = web.ip,
            d = db.ip
        );
    }
    out
}

/// Whether `path` exists on `host` (the oracle: plain ssh).
fn exists(host: &TestHost, path: &str) -> bool {
    host.ssh("root", &format!("test -e {path}"))
        .status
        .success()
}

// `dfab <env>[:keywords] -- command` (Fabric 1): every host of the env, or exactly those its
// keywords name; output prefixed and summed up; sudo=yes as root; a protected env asks first.
#[test]
fn adhoc_commands_reach_exactly_the_hosts_their_keywords_name() {
    let (web, db) = (TestHost::new(), TestHost::new());
    let dir = project(&[("dfab.toml", &two_host_envs(&web, &db, "deploy"))]);
    let mark = format!("/tmp/dfab-adhoc-{}", std::process::id());

    // Every host: each one's output under its own prefix, then the summary.
    let out = Dfab::new(dir.path())
        .args([
            "staging",
            "--",
            "echo",
            "from",
            "$(hostname)",
            "as",
            "$(id",
            "-un)",
        ])
        .stdout_has(format!(
            "[{}] run: echo from $(hostname) as $(id -un)\n",
            web.ip
        ))
        .stdout_has(format!("[{}] out: from {} as deploy\n", web.ip, web.name))
        .stdout_has(format!("[{}] out: from {} as deploy\n", db.ip, db.name))
        .stdout_has(format!(
            "Summary:\n  [{}] ok (the command `echo from $(hostname) as $(id -un)`)",
            web.ip
        ))
        .run_checked();
    assert!(
        out.stdout.contains(&format!("[{}] ok", db.ip)),
        "{}",
        out.stdout
    );

    // A role: that role's host only.
    Dfab::new(dir.path())
        .args(["staging:roles=web", "--", "touch", &mark])
        .stdout_has(format!("[{}] run: touch {mark}\n", web.ip))
        .stdout_lacks(db.ip.as_str())
        .run_checked();
    assert!(exists(&web, &mark), "the web host ran it");
    assert!(!exists(&db, &mark), "the db host did not");

    // A host by name, and exclude_hosts: the other host only.
    Dfab::new(dir.path())
        .args([
            &format!("staging:exclude_hosts={}", web.ip),
            "--",
            "touch",
            &mark,
        ])
        .stdout_lacks(format!("[{}]", web.ip))
        .run_checked();
    assert!(exists(&db, &mark), "exclude_hosts left the db host");

    // Keywords that leave no host: refused.
    Dfab::new(dir.path())
        .args(["staging:hosts=", "--", "true"])
        .status(2)
        .stderr_has("its host keywords leave no host")
        .no_stdout()
        .run_checked();
    // sudo=yes: as root (the login user is `deploy`).
    Dfab::new(dir.path())
        .args([
            &format!("staging:host={},sudo=yes", db.ip),
            "--",
            "id",
            "-un",
        ])
        .stdout_has(format!("[{}] out: root\n", db.ip))
        .stdout_lacks(format!("[{}]", web.ip))
        .run_checked();

    // An unknown role: refused before anything runs.
    Dfab::new(dir.path())
        .args(["staging:roles=wbe", "--", "touch", &format!("{mark}-role")])
        .status(2)
        .stderr_has("role `wbe` is not in the `roledefs` of environment `staging`")
        .no_stdout()
        .run_checked();

    // Production without -y, and no terminal to ask on: refused, nothing ran anywhere.
    let prod_mark = format!("{mark}-production");
    Dfab::new(dir.path())
        .args(["production", "--", "touch", &prod_mark])
        .status(2)
        .stderr_has(format!(
            "error: run `touch {prod_mark}` on 2 hosts of production (it is production)? \
             (refused: no terminal to ask on)\nhint: pass -y to confirm\n"
        ))
        .no_stdout()
        .run_checked();
    assert!(!exists(&web, &prod_mark) && !exists(&db, &prod_mark));
    // With -y: both.
    Dfab::new(dir.path())
        .args(["-y", "production", "--", "touch", &prod_mark])
        .run_checked();
    assert!(exists(&web, &prod_mark) && exists(&db, &prod_mark));

    // services on a host without systemd as PID 1 (the test base's tiny init): said, and the
    // init script does it; only on the hosts of the default roles (`web` here, no `app`).
    web.check(
        "root",
        "printf '%s\\n' '#!/bin/sh' 'f=/run/dfab-it-svc.state' \
         'case $1 in start) echo on > $f; echo start >> /run/dfab-it-svc.log;;' \
         'stop) rm -f $f; echo stop >> /run/dfab-it-svc.log;;' \
         'restart) $0 stop; $0 start;;' 'status) [ -e $f ] || exit 3;; esac' \
         > /etc/init.d/dfab-it-svc && chmod 755 /etc/init.d/dfab-it-svc",
    );
    let with_services = project(&[(
        "dfab.toml",
        &two_host_envs(&web, &db, "deploy").replace(
            "[environments.production]",
            "services = [\"dfab-it-svc\"]\n[environments.production]",
        ),
    )]);
    Dfab::new(with_services.path())
        .args(["staging", "services:restart"])
        .stdout_has(format!(
            "[{}] services: dfab-it-svc restarted, active",
            web.ip
        ))
        .stdout_lacks(format!("[{}]", db.ip))
        .stderr_has(format!(
            "warning: [{}] services: systemd is not PID 1 on this host (",
            web.ip
        ))
        .stderr_has("); using the package's init script or service(8)\n")
        .run_checked();
    assert_eq!(
        web.check("root", "cat /run/dfab-it-svc.log"),
        "stop\nstart\n"
    );
    Dfab::new(with_services.path())
        .args(["staging", "services:stop"])
        .stdout_has("dfab-it-svc stopped, inactive")
        .run_checked();
    Dfab::new(with_services.path())
        .args(["staging", "services:status,name=dfab-it-svc.service"])
        .stdout_has("dfab-it-svc inactive")
        .run_checked();

    // A failing command: the summary names the host and dfab fails.
    Dfab::new(dir.path())
        .args([
            "staging",
            "--",
            "test",
            "-e",
            &format!("{mark}-x"),
            "||",
            "exit",
            "7",
        ])
        .status(1)
        .stdout_has("FAILED in the command `test -e")
        .stderr_has("2 of 2 hosts failed")
        .run_checked();
}

/// The fixture in `dir` with its production env on this test's container and address.
fn production_project(dir: &Path, prod: &Reserved, template: &str) {
    copy_fixture(dir);
    let swap = |text: &str, from: &str, to: &str| {
        assert!(text.contains(from), "the fixture no longer says {from:?}");
        text.replace(from, to)
    };
    let envs = fs_err::read_to_string(Path::new(FIXTURE).join("environments.py")).unwrap();
    let envs = swap(&envs, "'djdemo-production'", &format!("'{}'", prod.name));
    let envs = swap(&envs, "'djdemo-template'", &format!("'{template}'"));
    let envs = swap(&envs, "10.0.3.201", &prod.ip);
    fs_err::write(dir.join("environments.py"), envs).unwrap();
    let dat = fs_err::read_to_string(Path::new(FIXTURE).join("debconf.production.dat")).unwrap();
    fs_err::write(
        dir.join("debconf.production.dat"),
        swap(&dat, "10.0.3.201", &prod.ip),
    )
    .unwrap();
}

/// The main PID of djdemo's unit in the container.
fn main_pid(name: &str) -> u32 {
    attach_ok(name, "systemctl show -p MainPID --value djdemo")
        .trim()
        .parse()
        .unwrap()
}

// One deployed djdemo serves the three: `manage` (Django's own commands in the venv as the app
// user, their exit status dfab's), `facts --json` (against dpkg-query and /etc/os-release) and
// `services:restart` (a new main PID, then health_url answers).
#[test]
fn djdemo_manage_facts_and_services_on_a_deployed_container() {
    require_root_and_tools(&["lxc-attach", "debootstrap", "script"]);
    let template = SharedTemplate::acquire();
    let prod = Reserved::new();
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-day-two-")
        .tempdir()
        .unwrap();
    let project = dir.path().join("djdemo");
    production_project(&project, &prod, &template.name);
    let started = Instant::now();
    deb_build(&project, "production");
    Dfab::new(&project)
        .args(["production", "init", "deb.deploy"])
        .run()
        .ok();
    let deployed = started.elapsed();

    // manage: production's answers left the migrations to the deploy, so Django's
    // `migrate --check` exits 1, and dfab with it; after `manage:migrate`, 0.
    Dfab::new(&project)
        .args(["production", "manage:migrate --check"])
        .status(1)
        .stdout_has(format!("[{}] manage: migrate --check\n", prod.name))
        .stderr_has(format!(
            "error: [{}] manage migrate --check: exit status 1\n",
            prod.name
        ))
        .run_checked();
    Dfab::new(&project)
        .args(["production", "manage:migrate --noinput"])
        .stdout_has("Applying notes.")
        .run_checked();
    Dfab::new(&project)
        .args(["production", "manage:migrate --check"])
        .run_checked();
    // In the venv, as the app user; any status comes back as dfab's own.
    Dfab::new(&project)
        .args([
            "production",
            "manage:shell -c \"import getpass; import sys; print(getpass.getuser()); print(sys.prefix)\"",
        ])
        .stdout_has(format!("[{}] out: djdemo\n", prod.name))
        .stdout_has(format!("[{}] out: /opt/djdemo/venv\n", prod.name))
        .run_checked();
    Dfab::new(&project)
        .args(["production", "manage:shell -c \"raise SystemExit(42)\""])
        .status(42)
        .stderr_has("exit status 42")
        .run_checked();
    // On a terminal (script(1) gives dfab one), the command gets a terminal on the host too.
    let dfab = env!("CARGO_BIN_EXE_dfab");
    let tty = Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{dfab} production 'manage:shell -c \"import sys; print(\\\"tty \\\" + str(sys.stdin.isatty()))\"'"
        ))
        .arg("/dev/null")
        .current_dir(&project)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{text}");
    assert!(text.contains("tty True"), "{text}");
    // No app settings: refused before anything runs.
    let bare = project.join("bare.py");
    fs_err::write(&bare, "environments = {'bare': {'hosts': ['10.0.3.1']}}\n").unwrap();
    Dfab::new(&project)
        .args(["-f", bare.to_str().unwrap(), "bare", "manage:check"])
        .status(2)
        .stderr_has("environment `bare` has no app settings")
        .no_stdout()
        .run_checked();

    // facts --json: what the container's own tools say.
    let out = Dfab::new(&project)
        .args(["production", "facts", "--json"])
        .run()
        .ok();
    let facts: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| {
        panic!("facts --json is not JSON ({e}):\n{}", out.stdout);
    });
    let host = &facts[0];
    assert_eq!(host["host"], prod.name.as_str());
    let os = attach_ok(
        &prod.name,
        ". /etc/os-release; printf '%s\\n%s\\n%s\\n' \"$ID\" \"$VERSION_ID\" \"$PRETTY_NAME\"",
    );
    let os: Vec<&str> = os.lines().collect();
    assert_eq!(host["os"]["id"], os[0]);
    assert_eq!(host["os"]["version_id"], os[1]);
    assert_eq!(host["os"]["pretty_name"], os[2]);
    assert_eq!(host["kernel"], attach_ok(&prod.name, "uname -r").trim());
    assert_eq!(
        host["dpkg_arch"],
        attach_ok(&prod.name, "dpkg --print-architecture").trim()
    );
    assert_eq!(
        host["cpus"].as_u64().unwrap().to_string(),
        attach_ok(&prod.name, "nproc").trim()
    );
    assert_eq!(host["init"], "systemd");
    assert!(host["memory_kib"]["total"].as_u64().unwrap() > 0);
    assert_eq!(host["disks"][0]["path"], "/");
    assert_eq!(host["disks"][1]["path"], "/var/lib/dfab");
    let dpkg = attach_ok(
        &prod.name,
        "dpkg-query -W -f '${Version}\\t${db:Status-Abbrev}' djdemo",
    );
    let (version, status) = dpkg.split_once('\t').unwrap();
    let pkg = &host["packages"][0];
    assert_eq!(pkg["name"], "djdemo");
    assert_eq!(pkg["version"], version);
    assert_eq!(pkg["status"], status.trim_end());
    assert_eq!(pkg["release"]["version"], "1.0");
    assert_eq!(pkg["release"]["action"], "deploy");
    assert_eq!(pkg["lock"]["state"], "free");
    // The table, by default.
    Dfab::new(&project)
        .args(["production", "facts"])
        .stdout_has(os[2])
        .stdout_has(format!("{}  djdemo   ii {version}", prod.name))
        .run_checked();

    // services: the unit the package ships, restarted (a new main PID), then health.
    let before = main_pid(&prod.name);
    assert_ne!(before, 0, "djdemo runs");
    Dfab::new(&project)
        .args(["production", "services:restart,nope"])
        .status(2)
        .stderr_has("services: `nope` is not a service of environment `production`\n")
        .stderr_has("hint: its services: djdemo (from the built packages;")
        .no_stdout()
        .run_checked();
    assert_eq!(main_pid(&prod.name), before, "nothing ran");
    Dfab::new(&project)
        // Production asks first (review item 16); -y answers.
        .args(["-y", "production", "services:restart"])
        .stdout_has(format!(
            "[{}] services: djdemo restarted, active (pid {before} → ",
            prod.name
        ))
        .stdout_has(format!(
            "[{}] services: health: http://{}/health answered 200",
            prod.name, prod.ip
        ))
        .run_checked();
    let after = main_pid(&prod.name);
    assert!(after != before && after != 0, "{before} → {after}");
    wait_200(&prod.ip, "/health", Duration::from_secs(5));
    Dfab::new(&project)
        .args(["production", "services"])
        .stdout_has(format!(
            "[{}] services: djdemo active (pid {after})",
            prod.name
        ))
        .run_checked();

    eprintln!(
        "day two: build and deploy {deployed:.1?}, all {:.1?}",
        started.elapsed()
    );
}
