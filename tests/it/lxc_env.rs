//! LXC environments from the command line: `dfab <lxc-env> <task>` clones, starts and reaches the
//! container; `force_new`, `lxc_remove` and the attach transport.

use crate::support::{copy_tree, deploy_app_fixture, project, Dfab, Reserved, BASE, KEY};

fn envs(r: &Reserved, extra: &str) -> String {
    format!(
        "environments = {{\n    'lxc': {{\n        'lxc': '{name}',\n        'lxc_template': '{BASE}',\n        \
         'lxc_ipv4': '{ip}/24',\n        'key_filename': '{KEY}',\n{extra}    }},\n}}\n\
         tasks = {{\n    'who': {{'doc': 'who', 'steps': [{{'run': 'hostname; id -un'}}]}},\n    \
         'mark': {{'doc': 'mark', 'steps': [{{'run': 'touch /root/marker'}}]}},\n    \
         'check': {{'doc': 'check', 'steps': [{{'run': 'test -e /root/marker && echo marked || echo clean'}}]}},\n    \
         'files': {{'doc': 'files', 'steps': [\n        {{'put': 'up.txt', 'to': '/tmp/'}},\n        \
         {{'run': 'tr a-z A-Z < up.txt > down.txt', 'cd': '/tmp'}},\n        {{'get': '/tmp/down.txt', 'to': 'got/'}},\n    ]}},\n}}\n",
        name = r.name,
        ip = r.ip
    )
}

#[test]
fn missing_container_is_cloned_started_and_reached_over_ssh() {
    let r = Reserved::new();
    let dir = project(&[("environments.py", &envs(&r, ""))]);
    assert!(!r.exists());
    let out = Dfab::new(dir.path()).args(["lxc", "who"]).run().ok();
    assert!(r.exists());
    let who = format!("[{name}] out: {name}\n[{name}] out: root\n", name = r.name);
    assert!(out.stdout.contains(&who), "{}", out.stdout);
    assert!(out
        .stdout
        .contains(&format!("container {} is running at {}", r.name, r.ip)));
}

#[test]
fn force_new_recreates_and_lxc_remove_asks_first() {
    let r = Reserved::new();
    let dir = project(&[("environments.py", &envs(&r, ""))]);
    Dfab::new(dir.path()).args(["lxc", "mark"]).run().ok();
    let out = Dfab::new(dir.path()).args(["lxc", "check"]).run().ok();
    assert!(out.stdout.contains("out: marked"), "{}", out.stdout);
    let out = Dfab::new(dir.path())
        .args(["lxc:force_new=yes", "check"])
        .run()
        .ok();
    assert!(
        out.stdout.contains("out: clean"),
        "the old container survived: {}",
        out.stdout
    );

    // No terminal and no -y: refused, nothing destroyed.
    let out = Dfab::new(dir.path()).args(["lxc", "lxc_remove"]).run();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("refused: no terminal to ask on")
            && out.stderr.contains("hint: pass -y"),
        "{}",
        out.stderr
    );
    assert!(r.exists());
    Dfab::new(dir.path())
        .args(["-y", "lxc", "lxc_remove"])
        .run()
        .ok();
    assert!(!r.exists());
    // Removing what is gone is fine, and does not clone it first.
    Dfab::new(dir.path())
        .args(["-y", "lxc", "lxc_remove"])
        .run()
        .ok();
    assert!(!r.exists());
}

#[test]
fn attach_transport_runs_puts_and_gets_without_ssh() {
    let r = Reserved::new();
    let dir = project(&[
        (
            "environments.py",
            &envs(&r, "        'lxc_transport': 'attach',\n"),
        ),
        ("up.txt", "shout\n"),
    ]);
    let out = Dfab::new(dir.path())
        .args(["lxc", "who", "files"])
        .run()
        .ok();
    assert!(
        out.stdout
            .contains(&format!("[{0}] out: {0}\n[{0}] out: root\n", r.name)),
        "{}",
        out.stdout
    );
    assert_eq!(
        fs_err::read_to_string(dir.path().join("got/down.txt")).unwrap(),
        "SHOUT\n"
    );
}

#[test]
fn dry_run_creates_nothing() {
    let r = Reserved::new();
    let dir = project(&[("environments.py", &envs(&r, ""))]);
    let out = Dfab::new(dir.path())
        .args(["-n", "-v", "lxc", "who"])
        .run()
        .ok();
    assert!(
        out.stdout
            .contains(&format!("lxc-copy -n {BASE} -N {} -s -B overlayfs", r.name)),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("[{}] run: hostname; id -un", r.name)),
        "{}",
        out.stdout
    );
    assert!(!r.exists());
}

#[test]
fn a_changed_lxc_ipv4_is_applied_to_the_existing_container() {
    let r = Reserved::new();
    let other = Reserved::new();
    let dir = project(&[("environments.py", &envs(&r, ""))]);
    Dfab::new(dir.path()).args(["lxc", "mark"]).run().ok();
    // The env now pins another address: the same container (its marker kept) gets it.
    let moved = envs(&r, "").replace(&format!("'{}/24'", r.ip), &format!("'{}/24'", other.ip));
    fs_err::write(dir.path().join("environments.py"), moved).unwrap();
    let out = Dfab::new(dir.path()).args(["lxc", "check"]).run().ok();
    assert!(out.stdout.contains("out: marked"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("container {} is running at {}", r.name, other.ip)),
        "{}",
        out.stdout
    );
    let info = crate::support::sh(&["lxc-info", "-n", &r.name, "-iH"]);
    let ips = String::from_utf8_lossy(&info.stdout).to_string();
    assert_eq!(ips.trim(), other.ip, "lxc-info says {ips}");
    let cfg = crate::support::sh(&["lxc-info", "-n", &r.name, "-c", "lxc.net.0.ipv4.address"]);
    assert_eq!(
        String::from_utf8_lossy(&cfg.stdout).trim(),
        format!("lxc.net.0.ipv4.address = {}/24", other.ip)
    );
}

// A new user's first deploy printed the 2 KB install script for the host, and the host appeared
// under two names. Now: one line per step and host, none over 120 characters, the scripts behind
// -v; here with the container created on the way.
#[test]
fn a_deb_deploy_to_a_new_container_prints_a_few_short_lines() {
    let r = Reserved::new();
    let debconf = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n\n\
Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
Value: pw-not-shown\nOwners: deploy-app\nFlags: seen\n";
    let extra = "        'package_dir': 'dist/',\n        'debconf': 'debconf.dat',\n";
    let dir = project(&[
        ("environments.py", &envs(&r, extra)),
        ("debconf.dat", debconf),
    ]);
    copy_tree(&deploy_app_fixture(), dir.path());
    Dfab::new(dir.path()).args(["lxc", "deb.build"]).run().ok();
    assert!(!r.exists());
    let out = Dfab::new(dir.path())
        .args(["lxc", "deb.deploy"])
        .run_checked();
    assert!(r.exists());
    let all = format!("{}{}", out.stdout, out.stderr);
    let lines: Vec<&str> = all.lines().collect();
    assert!(lines.len() <= 12, "{} lines:\n{all}", lines.len());
    assert!(lines.iter().all(|l| l.chars().count() <= 120), "{all}");
    assert!(!all.contains("pw-not-shown"), "{all}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("[{}] deb.deploy: installed deploy-app ", r.name))),
        "{all}"
    );
    // The container's dpkg agrees (the oracle, over plain ssh).
    let o = crate::support::ssh_as(
        "root",
        &r.ip,
        "dpkg-query -W -f='${Version} ${db:Status-Abbrev}' deploy-app",
    );
    assert!(
        String::from_utf8_lossy(&o.stdout).ends_with(" ii "),
        "{o:?}"
    );
    // -v shows every script: the host program's calls are there.
    let v = Dfab::new(dir.path())
        .args(["-v", "lxc", "deb.deploy"])
        .run_checked();
    assert!(v.stdout.contains("dfab-host preflight"), "{}", v.stdout);
    assert!(v.stdout.contains("dfab-host install"), "{}", v.stdout);
}

// `dfab -H nosuchhost.invalid production web_mode:maintenance` on an LXC env ignored -H and put
// the real container into maintenance, exit 0; a task's `host=` was refused even for the container.
#[test]
fn hosts_other_than_the_container_are_refused_before_anything_runs() {
    let r = Reserved::new();
    let dir = project(&[("environments.py", &envs(&r, ""))]);
    let refused = |args: &[&str], what: &str, hint: &str| {
        Dfab::new(dir.path())
            .args(args)
            .status(2)
            .no_stdout()
            .stderr_is(format!(
                "error: {what} does not apply to environment `lxc`: an LXC environment has one \
                 host, its container `{name}`\nhint: {hint}; to act on other hosts, use an \
                 environment that lists them in `hosts`\n",
                name = r.name
            ))
            .run_checked();
        assert!(!r.exists(), "{args:?} created the container");
    };
    let drop_h = format!("drop -H, or pass `-H {}`", r.name);
    refused(
        &["-H", "nosuchhost.invalid", "lxc", "mark"],
        "`-H nosuchhost.invalid`",
        &drop_h,
    );
    let both = format!("{},other.invalid", r.name);
    refused(
        &["-H", &both, "lxc", "mark"],
        &format!("`-H {both}`"),
        &drop_h,
    );
    let drop_kw = format!("drop the host keywords, or write `mark:host={}`", r.name);
    for kw in [
        "host=other.invalid",
        "hosts=a;b",
        "role=web",
        "exclude_hosts=x",
    ] {
        refused(
            &["lxc", &format!("mark:{kw}")],
            &format!("task `mark`: `{kw}`"),
            &drop_kw,
        );
    }
    // Naming the container is naming the one host there is.
    let own = format!("[{}] run: hostname; id -un\n", r.name);
    Dfab::new(dir.path())
        .args(["-n", "-H", &r.name, "lxc", "who"])
        .stdout_has(own.as_str())
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["-n", "lxc", &format!("who:host={}", r.name)])
        .stdout_has(own.as_str())
        .stderr_is("")
        .run_checked();
    assert!(!r.exists());
}
