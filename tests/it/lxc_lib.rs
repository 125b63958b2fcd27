//! LXC lifecycle against real containers cloned from `dfab-test-base` (see `scripts/setup-host`).
//!
//! Each test makes its own containers (`dfab-lxct-<pid>-<n>`), claims static addresses from
//! 10.0.3.200–254 with lock files, and destroys everything in `Drop`. A missing piece of the host
//! set-up is a failure that names `bash scripts/setup-host`, never a skip.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::lxc_support::{self, attach_sh, host, ssh_ok, Claimed, BASE};
use dfab::environments::value::{Kind, Pos, Value};
use dfab::environments::Env;
use dfab::lxc::attach::{Attach, Input};
use dfab::lxc::backend::{Liblxc, Tools};
use dfab::lxc::run;
use dfab::lxc::template::{self, TemplateSpec};
use dfab::lxc::tool::Runner;
use dfab::lxc::{self, CloneMode, LxcError, LxcSpec, State, Step};
use dfab::report::Capture;
use dfab::transport::cmd::Cmd;

fn spec(c: &Claimed) -> LxcSpec {
    let mut spec = LxcSpec::new(&c.name);
    BASE.clone_into(&mut spec.template);
    spec.ipv4 = Some(format!("{}/24", c.ip));
    spec
}

/// The container's state, read through liblxc.
fn state(name: &str) -> State {
    lxc::backend::Backend::state(&Liblxc::default(), name).unwrap()
}

fn ensure(spec: &LxcSpec) -> (lxc::Result<lxc::Running>, Vec<String>) {
    let mut seen = Vec::new();
    let got = lxc::ensure(spec, &Liblxc::default(), &mut |s: &Step| {
        seen.push(s.command(None).to_string());
    });
    (got, seen)
}

#[test]
fn missing_container_is_cloned_from_the_template_and_reachable() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    let start = Instant::now();
    let (running, steps) = ensure(&spec);
    let running = running.unwrap();
    let took = start.elapsed();
    assert_eq!(
        running,
        lxc::Running {
            name: c.name.clone(),
            ipv4: c.ip.clone()
        }
    );
    assert_eq!(
        steps[0],
        format!("lxc-copy -n {BASE} -N {} -s -B overlayfs", c.name)
    );
    assert_eq!(
        steps.last().unwrap(),
        &format!("lxc-info -n {} -iH", c.name)
    );
    assert!(took < Duration::from_secs(5), "ensure took {took:?}");
    assert!(
        ssh_ok(&c.ip, Duration::from_secs(10)),
        "sshd on {} never accepted the test key",
        c.ip
    );
    // A second ensure finds it running and only checks the address.
    let (again, steps) = ensure(&spec);
    assert_eq!(again.unwrap().ipv4, c.ip);
    assert_eq!(steps, [format!("lxc-info -n {} -iH", c.name)]);
}

#[test]
fn stopped_container_is_started() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    ensure(&spec).0.unwrap();
    dfab::lxc::sys::Container::new(&c.name, None)
        .unwrap()
        .stop()
        .unwrap();
    assert_eq!(state(&c.name), State::Stopped);
    let (running, steps) = ensure(&spec);
    assert_eq!(running.unwrap().ipv4, c.ip);
    assert_eq!(steps[0], format!("lxc-start -n {} -d", c.name));
    assert!(ssh_ok(&c.ip, Duration::from_secs(10)));
}

#[test]
fn force_new_recreates_the_container() {
    host();
    let c = Claimed::new();
    let mut spec = spec(&c);
    ensure(&spec).0.unwrap();
    assert_eq!(attach_sh(&c.name, "echo old > /root/marker").0, 0);
    assert_eq!(
        attach_sh(&c.name, "cat /root/marker"),
        (0, "old\n".to_owned())
    );
    spec.force_new = true;
    let (running, steps) = ensure(&spec);
    running.unwrap();
    assert_eq!(
        steps[..2],
        [
            format!("lxc-stop -n {} -k", c.name),
            format!("lxc-destroy -n {}", c.name)
        ]
    );
    assert_eq!(
        attach_sh(&c.name, "test -e /root/marker").0,
        1,
        "the old container's file survived"
    );
}

#[test]
fn remove_stops_and_destroys() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    ensure(&spec).0.unwrap();
    let steps = lxc::remove(&spec, &Liblxc::default(), &mut |_| {}).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(state(&c.name), State::Absent);
    // Removing what is not there is not an error.
    assert!(lxc::remove(&spec, &Liblxc::default(), &mut |_| {})
        .unwrap()
        .is_empty());
}

#[test]
fn missing_template_is_a_specific_error() {
    host();
    let c = Claimed::new();
    let mut spec = spec(&c);
    spec.template = format!("{}-no-such-template", c.name);
    let err = ensure(&spec).0.unwrap_err();
    assert!(matches!(err, LxcError::MissingTemplate { .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(err.hint().unwrap().contains("lxc.template"));
}

#[test]
fn running_template_is_refused() {
    host();
    let template = Claimed::new();
    ensure(&spec(&template)).0.unwrap();
    let c = Claimed::new();
    let mut spec = spec(&c);
    spec.template.clone_from(&template.name);
    let err = ensure(&spec).0.unwrap_err();
    assert!(matches!(err, LxcError::TemplateRunning { .. }), "{err:?}");
    assert_eq!(state(&c.name), State::Absent);
}

#[test]
fn no_address_times_out_naming_the_container() {
    host();
    let c = Claimed::new();
    let mut spec = spec(&c);
    // The base has no DHCP client: without a static address eth0 never gets one. (Its gateway
    // line must go too: LXC refuses a gateway without an address.)
    let clone = Command::new("lxc-copy")
        .args(["-n", BASE, "-N", &c.name, "-s", "-B", "overlayfs"])
        .status();
    assert!(clone.unwrap().success());
    let config = format!("/var/lib/lxc/{}/config", c.name);
    assert!(Command::new("sed")
        .args(["-i", "/ipv4.gateway/d", &config])
        .status()
        .unwrap()
        .success());
    spec.ipv4 = None;
    spec.timeout = Duration::from_secs(2);
    let start = Instant::now();
    let err = ensure(&spec).0.unwrap_err();
    let took = start.elapsed();
    assert!(matches!(err, LxcError::NoAddress { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "LXC container {:?} has no IPv4 address on eth0 after 2 s",
            c.name
        )
    );
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(4),
        "took {took:?}"
    );
}

#[test]
fn bad_names_are_refused_before_liblxc() {
    for bad in ["", "a/b", "a b", "-n", "../x"] {
        let mut spec = LxcSpec::new(bad);
        BASE.clone_into(&mut spec.template);
        let err = lxc::ensure(&spec, &Liblxc::default(), &mut |_| {
            panic!("no step for {bad:?}")
        })
        .unwrap_err();
        assert!(matches!(err, LxcError::BadName { .. }), "{bad:?}: {err:?}");
        assert!(err.hint().is_some());
    }
    let mut spec = LxcSpec::new("fine");
    spec.template = "bad template".to_owned();
    assert!(matches!(
        lxc::plan(&spec, &Liblxc::default()),
        Err(LxcError::BadName { .. })
    ));
}

#[test]
fn dry_run_plan_reads_state_only() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    let plan: Vec<String> = lxc::plan(&spec, &Liblxc::default())
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        plan[0],
        format!("lxc-copy -n {BASE} -N {} -s -B overlayfs", c.name)
    );
    assert_eq!(plan.len(), 5);
    assert_eq!(state(&c.name), State::Absent);
}

// The tools backend is what `lxc_host` runs over ssh; here it runs the same commands locally.
#[test]
fn hand_run_tools_backend_does_the_same() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    let tools = Tools::new(Runner::Local, None);
    let running = lxc::ensure(&spec, &tools, &mut |_| {}).unwrap();
    assert_eq!(running.ipv4, c.ip);
    assert!(ssh_ok(&c.ip, Duration::from_secs(10)));
    lxc::remove(&spec, &tools, &mut |_| {}).unwrap();
    assert_eq!(
        lxc::backend::Backend::state(&tools, &c.name).unwrap(),
        State::Absent
    );
}

#[test]
fn attach_runs_with_output_status_and_a_clean_environment() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    ensure(&spec).0.unwrap();
    let mut killed = Vec::new();
    for attach in [
        Attach::new(&spec).unwrap(),
        Attach::with_tool(&spec, Runner::Local),
    ] {
        let out = attach.run("echo out; echo err >&2; exit 3").unwrap();
        assert_eq!(
            (out.exit().code(), &out.stdout[..], &out.stderr[..]),
            (Some(3), &b"out\n"[..], &b"err\n"[..])
        );
        killed.push(attach.run("kill -9 $$").unwrap().exit());
        let env = String::from_utf8(attach.run("env").unwrap().stdout).unwrap();
        assert!(
            env.contains("HOME=/root") && env.contains("PATH=/usr/local/sbin:"),
            "{env}"
        );
        assert!(
            !env.contains("CARGO"),
            "the host environment leaked in: {env}"
        );
        // More than a pipe buffer on both streams at once must not block.
        let out = attach
            .run("head -c 3000000 /dev/zero; head -c 200000 /dev/zero >&2")
            .unwrap();
        assert_eq!((out.stdout.len(), out.stderr.len()), (3_000_000, 200_000));
        let out = attach
            .run_argv(&["sh", "-c", "wc -c"], Input::Bytes(&vec![7; 300_000]))
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "300000");
    }
    // liblxc hands over the program's own wait status; `lxc-attach` exits 128 + n for a
    // program a signal killed, and that is the code its runner sees.
    assert_eq!(
        killed,
        [
            dfab::transport::Exit::Signal(9),
            dfab::transport::Exit::Code(137)
        ]
    );
}

#[test]
fn attach_puts_and_gets_files() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    ensure(&spec).0.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..500_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let local = dir.path().join("up.bin");
    fs_err::write(&local, &data).unwrap();
    for (i, attach) in [
        Attach::new(&spec).unwrap(),
        Attach::with_tool(&spec, Runner::Local),
    ]
    .iter()
    .enumerate()
    {
        let remote = format!("/root/it's {i}.bin");
        attach.put(&local, &remote).unwrap();
        let back = dir.path().join(format!("down{i}.bin"));
        attach.get(&remote, &back).unwrap();
        assert_eq!(fs_err::read(&back).unwrap(), data);
        let missing = dir.path().join(format!("missing{i}"));
        let err = attach.get("/no/such/file", &missing).unwrap_err();
        assert!(err.to_string().contains("No such file"), "{err}");
        assert!(!missing.exists(), "a failed get left {missing:?}");
    }
}

#[test]
fn attach_to_a_container_not_running_is_an_error() {
    host();
    let c = Claimed::new();
    let spec = spec(&c);
    let err = Attach::new(&spec).unwrap().run("true").unwrap_err();
    assert!(err.to_string().contains("not running"), "{err}");
}

/// What a DHCP clone without an address looks like from inside and from the bridge, so a
/// failure explains itself (init state, networkd's view and log, the dnsmasq leases).
fn dhcp_diagnostics(name: &str) -> String {
    let inside = "systemctl is-system-running; networkctl status eth0 --no-pager; ip -4 addr; \
                  journalctl -b --no-pager -u systemd-networkd | tail -n 30; \
                  systemctl --failed --no-pager";
    let attach = Command::new("lxc-attach")
        .args(["-n", name, "--clear-env", "--", "sh", "-c", inside])
        .output();
    let info = Command::new("lxc-info").args(["-n", name]).output();
    let leases = fs_err::read_to_string("/var/lib/misc/dnsmasq.lxcbr0.leases");
    let bridge = Command::new("sh")
        .args([
            "-c",
            "ip -4 addr show lxcbr0; pgrep -a dnsmasq || echo 'no dnsmasq running'",
        ])
        .output();
    let text = |o: std::io::Result<std::process::Output>| match o {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => e.to_string(),
    };
    format!(
        "--- lxc-info\n{}--- inside\n{}--- bridge\n{}--- dnsmasq leases\n{}",
        text(info),
        text(attach),
        text(bridge),
        leases.unwrap_or_else(|e| e.to_string())
    )
}

/// Destroys a template (and whatever was cloned from it first) on drop.
struct TemplateGuard(String);

impl Drop for TemplateGuard {
    fn drop(&mut self) {
        lxc_support::destroy(&self.0);
    }
}

// Builds a real template (debootstrap, about a minute the first time; later runs unpack the
// cached tarball), then checks the addressing design end to end: a snapshot clone with no
// static address gets one by DHCP, runs systemd, has its own host keys and accepts the key.
#[test]
fn template_task_builds_a_template_clones_get_dhcp_and_ssh() {
    host();
    let name = format!("dfab-lxct-tpl-{}", std::process::id());
    let mut tspec = TemplateSpec::new(&name);
    tspec.authorized_keys =
        vec![fs_err::read_to_string(format!("{}.pub", lxc_support::KEY)).unwrap()];
    let _template = TemplateGuard(name.clone());
    let mut seen = Vec::new();
    template::build(&tspec, &mut |a| seen.push(a.to_string())).unwrap();
    assert!(
        seen.iter()
            .any(|a| a.starts_with("debootstrap ") || a.starts_with("tar -C ")),
        "{seen:#?}"
    );
    assert_eq!(state(&name), State::Stopped);
    // A second build refuses to overwrite it.
    assert!(matches!(
        template::build(&tspec, &mut |_| {}),
        Err(LxcError::TemplateExists { .. })
    ));

    let clone = Claimed::new();
    let mut spec = LxcSpec::new(&clone.name);
    spec.template.clone_from(&name);
    let running = match ensure(&spec).0 {
        Ok(running) => running,
        Err(e) => panic!("{e}\n{}", dhcp_diagnostics(&clone.name)),
    };
    assert!(running.ipv4.starts_with("10.0.3."), "{running:?}");
    assert!(
        ssh_ok(&running.ipv4, Duration::from_secs(20)),
        "sshd on {} never accepted the key",
        running.ipv4
    );
    let out = lxc_support::ssh(&running.ipv4, "hostname; test -s /etc/ssh/ssh_host_ed25519_key && echo keys; python3 -m venv /tmp/v && echo venv; sudo -n true && echo sudo");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\nkeys\nvenv\nsudo\n", clone.name),
        "{out:?}"
    );
    drop(clone);
}

// Runs `non_root_child` from this very test binary as uid 65534 (setpriv), so the real
// geteuid() check is exercised, not only the injected-uid unit test.
#[test]
fn non_root_is_refused_with_a_hint() {
    host();
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&exe)
        .args([
            "--exact",
            "lxc_lib::non_root_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("DFAB_LXC_NONROOT_CHILD", "1")
        .output()
        .expect("setpriv runs (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "run as uid 65534 by non_root_is_refused_with_a_hint"]
fn non_root_child() {
    assert!(
        std::env::var_os("DFAB_LXC_NONROOT_CHILD").is_some(),
        "run by non_root_is_refused_with_a_hint"
    );
    let spec = LxcSpec::new("app");
    let not_root = |err: LxcError| {
        assert!(matches!(err, LxcError::NotRoot { uid: 65534 }), "{err:?}");
        assert!(err.hint().unwrap().contains("root"));
    };
    not_root(lxc::backend::for_spec(&spec).err().expect("refused"));
    not_root(Attach::new(&spec).unwrap_err());
    not_root(
        template::build(&TemplateSpec::new("vanilla"), &mut |_| panic!("no action")).unwrap_err(),
    );
}

fn env_of(pairs: &[(&str, &str)]) -> Env {
    let vars = pairs
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                Value::new(Kind::Str((*v).to_owned()), Pos::default()),
            )
        })
        .collect();
    Env {
        name: "lxctest".to_owned(),
        file: "dfab.toml".into(),
        vars,
        external: std::collections::BTreeMap::new(),
        addresses: std::collections::BTreeMap::new(),
    }
}

// The environment path end to end: dry run, activate, tasks by attach through main's
// Transport trait (run, sudo, stdin, put, get), then lxc_remove.
#[test]
fn lxc_environment_by_attach_activates_runs_tasks_and_is_removed() {
    host();
    let c = Claimed::new();
    let ipv4 = format!("{}/24", c.ip);
    let env = env_of(&[
        ("lxc_template", BASE),
        ("lxc_ipv4", &ipv4),
        ("lxc_transport", "attach"),
    ]);
    let rep = Capture::default();
    run::activate(&env, &c.name, false, true, &rep).unwrap();
    let printed = rep.take();
    assert!(printed[0].contains("not looked up"), "{printed:#?}");
    assert_eq!(
        printed[1],
        format!(
            "[localhost] lxc: lxc-copy -n {BASE} -N {} -s -B overlayfs",
            c.name
        )
    );
    assert_eq!(printed.len(), 6, "{printed:#?}");
    assert_eq!(state(&c.name), State::Absent, "dry run made it");

    let hosts = run::activate(&env, &c.name, false, false, &rep).unwrap();
    assert_eq!(hosts, std::slice::from_ref(&c.name));
    assert_eq!(
        rep.take().last().unwrap(),
        &format!("container {} is running at {}", c.name, c.ip)
    );

    let mut t = run::LxcConnector.open(&hosts[0], &hosts[0], &env).unwrap();
    let out = t
        .run(
            &Cmd::shell("echo \"hi $X\"; echo warn >&2").env("X", "there"),
            &rep,
            false,
        )
        .unwrap();
    assert_eq!(
        (out.stdout_str().as_str(), out.stderr_str().as_str()),
        ("hi there\n", "warn\n")
    );
    let lines = rep.take();
    assert!(
        lines.contains(&format!("[{}] out: hi there", c.name)),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&format!("[{}] err: warn", c.name)),
        "{lines:#?}"
    );
    assert_eq!(
        t.run(&Cmd::new("id", ["-u"]).sudo(None), &rep, false)
            .unwrap()
            .stdout_str(),
        "0\n"
    );
    assert_eq!(
        t.run(
            &Cmd::new("cat", Vec::<String>::new()).stdin("piped"),
            &rep,
            false
        )
        .unwrap()
        .stdout_str(),
        "piped"
    );
    let err = t.run(&Cmd::shell("exit 4"), &rep, false).unwrap_err();
    assert!(
        matches!(
            err,
            dfab::error::Error::CommandFailed {
                exit: dfab::transport::Exit::Code(4),
                ..
            }
        ),
        "{err:?}"
    );
    // A program killed by a signal in the container: reported as the signal, not as 137.
    let err = t
        .run(&Cmd::new("sh", ["-c", "kill -9 $$"]), &rep, false)
        .unwrap_err();
    assert!(
        matches!(
            err,
            dfab::error::Error::CommandFailed {
                exit: dfab::transport::Exit::Signal(9),
                ..
            }
        ),
        "{err:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("up.txt");
    fs_err::write(&up, "payload\n").unwrap();
    t.put(&up, "/root/up.txt", false, &rep).unwrap();
    t.get("/root/up.txt", &dir.path().join("down.txt"), &rep)
        .unwrap();
    assert_eq!(
        fs_err::read_to_string(dir.path().join("down.txt")).unwrap(),
        "payload\n"
    );
    drop(t);

    run::remove_task(&env, &c.name, false, &rep).unwrap();
    assert_eq!(state(&c.name), State::Absent);
    run::remove_task(&env, &c.name, false, &rep).unwrap();
    assert_eq!(
        rep.take().last().unwrap(),
        &format!("container {} does not exist; nothing to remove", c.name)
    );
}

// With the default ssh transport the host string is root@<address> and main's ssh connector
// reaches it with the env's ssh keys.
#[test]
fn lxc_environment_by_ssh_gives_a_host_string_main_can_use() {
    host();
    let c = Claimed::new();
    let ipv4 = format!("{}/24", c.ip);
    let env = env_of(&[
        ("lxc_template", BASE),
        ("lxc_ipv4", &ipv4),
        ("key_filename", lxc_support::KEY),
        ("known_hosts", "/dev/null"),
        ("host_key_checking", "accept"),
    ]);
    let rep = Capture::default();
    let hosts = run::activate(&env, &c.name, false, false, &rep).unwrap();
    assert_eq!(hosts, [format!("root@{}", c.ip)]);
    assert!(ssh_ok(&c.ip, Duration::from_secs(10)));
    let mut t = run::LxcConnector.open(&hosts[0], &hosts[0], &env).unwrap();
    assert_eq!(
        t.run(&Cmd::new("hostname", Vec::<String>::new()), &rep, false)
            .unwrap()
            .stdout_str(),
        format!("{}\n", c.name)
    );
}

// lxc_host end to end: the same lifecycle and attach, as lxc-* commands over ssh to a
// "remote" host that is this machine's loopback (nested LXC is not possible here).
#[test]
fn lxc_host_over_ssh_runs_the_lifecycle_and_attach_with_the_tools() {
    host();
    let sshd = lxc_support::LoopbackSshd::start();
    let c = Claimed::new();
    let mut spec = spec(&c);
    spec.host = Some("root@127.0.0.1".to_owned());
    spec.host_ssh_options = sshd.options();
    let backend = lxc::backend::for_spec(&spec).unwrap();
    let mut seen = Vec::new();
    let running = lxc::ensure(&spec, backend.as_ref(), &mut |s| seen.push(s.to_string())).unwrap();
    assert_eq!(running.ipv4, c.ip);
    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert_eq!(state(&c.name), State::Running);

    let attach = Attach::new(&spec).unwrap();
    let out = attach.run("hostname; echo err >&2; exit 2").unwrap();
    assert_eq!(
        (out.exit().code(), out.stdout, out.stderr),
        (
            Some(2),
            format!("{}\n", c.name).into_bytes(),
            b"err\n".to_vec()
        )
    );
    let dir = tempfile::tempdir().unwrap();
    fs_err::write(dir.path().join("up"), "over ssh\n").unwrap();
    attach.put(&dir.path().join("up"), "/root/up").unwrap();
    attach.get("/root/up", &dir.path().join("down")).unwrap();
    assert_eq!(
        fs_err::read_to_string(dir.path().join("down")).unwrap(),
        "over ssh\n"
    );

    let steps = lxc::remove(&spec, backend.as_ref(), &mut |_| {}).unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(state(&c.name), State::Absent);
}

// lxc_clone = 'copy': a full, independent copy (a dir rootfs of its own, not an overlay).
#[test]
fn copy_clone_has_its_own_root_file_system() {
    host();
    let c = Claimed::new();
    let mut spec = spec(&c);
    spec.clone = CloneMode::Copy;
    let (running, steps) = ensure(&spec);
    assert_eq!(running.unwrap().ipv4, c.ip);
    assert_eq!(steps[0], format!("lxc-copy -n {BASE} -N {}", c.name));
    let rootfs = dfab::lxc::sys::Container::new(&c.name, None)
        .unwrap()
        .config_item("lxc.rootfs.path")
        .unwrap();
    // Not `overlay:<template rootfs>:<delta>` as a snapshot's is.
    assert_eq!(
        rootfs,
        format!(
            "{}/{}/rootfs",
            dfab::lxc::sys::default_lxcpath().display(),
            c.name
        )
    );
    assert_eq!(attach_sh(&c.name, "test -x /usr/sbin/sshd").0, 0);
}

// Regression for the `lxc` 0.8 wrapper crate dfab does not use: a failed clone returned a
// handle around a null pointer, and get_ips with both filters passed a dangling pointer.
#[test]
fn failed_clone_is_an_error_and_get_ips_with_filters_is_sound() {
    host();
    let c = Claimed::new();
    ensure(&spec(&c)).0.unwrap();
    let base = dfab::lxc::sys::Container::new(BASE, None).unwrap();
    // The target exists, so liblxc's clone returns NULL.
    let err = base
        .clone_to(&c.name, None, CloneMode::Snapshot)
        .unwrap_err();
    assert!(matches!(err, LxcError::Op { op: "clone", .. }), "{err:?}");
    assert!(
        base.get_ips(Some("eth0"), Some("inet"), 0)
            .unwrap()
            .is_empty(),
        "the base is stopped"
    );
    let running = dfab::lxc::sys::Container::new(&c.name, None).unwrap();
    assert_eq!(
        running.get_ips(Some("eth0"), Some("inet"), 0).unwrap(),
        std::slice::from_ref(&c.ip)
    );
    assert!(running
        .get_ips(Some("nosuch0"), Some("inet"), 0)
        .unwrap()
        .is_empty());
    assert_eq!(running.state(), "RUNNING");
}
