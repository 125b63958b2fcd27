//! Fault kinds of issue 19 in reaching hosts: a login shell that prints, sshd's own limits
//! (`MaxStartups`, `MaxSessions`) and a long state directory meeting dfab's connections.

use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{installed, App, Strategy};
use crate::support::{project, Dfab, TestHost, KEY};

/// Put `echo "Welcome to $(hostname)"` first in `user`'s `~/.bashrc` on `h` (before Debian's
/// "not interactive: return"), so bash prints it before every command run over ssh.
pub(super) fn chatty_bashrc(h: &TestHost, user: &str) {
    h.check(
        "root",
        &format!(
            "f=~{user}/.bashrc; {{ echo 'echo \"Welcome to $(hostname)\"'; cat $f; }} > $f.new \
             && mv $f.new $f && chown {user}: $f"
        ),
    );
}

// Kind 22: a login shell that prints was misread. `echo "Welcome to $(hostname)"` in the deploy
// user's .bashrc gave three wrong causes: rsync "protocol incompatibility", "sudo did not give
// root (id -u said Some("Welcome to …"))", "not a complete custom-format dump". The right
// behaviour: dfab's own commands read their output past what the shell prints, and where a
// protocol cannot (rsync), the shell's output is named as the cause.
#[test]
fn k22_a_login_shell_that_prints_is_named_and_never_read_as_data() {
    for &s in Strategy::ALL {
        let h = TestHost::new();
        let other = TestHost::new();
        chatty_bashrc(&h, "deploy");
        assert!(h.check("deploy", "true").starts_with("Welcome to "));
        let media = format!(
            "remote_path = \"/srv/app/\"\napp_user = \"app\"\ndata_from = \"production\"\n\n\
             {}remote_path = \"/srv/app/\"\n",
            h.env_toml("production", "deploy")
        );
        let app = App::new(s, std::slice::from_ref(&h.ip), &media);
        app.build("1.0-1", "a");
        // The install reads sudo's `id -u`, dpkg's state and the host program's lines.
        let out = app.dfab(&["staging", "deb.deploy"]);
        assert_eq!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("prints 'Welcome to ") && out.stderr.contains(".bashrc"),
            "{s:?}: the shell's output is not named: {}",
            out.stderr
        );
        match s {
            Strategy::DpkgPush => assert_eq!(installed(&h), "1.0-1 ii", "{s:?}"),
            Strategy::Release => assert_eq!(s.served(&h), "1.0-1\na", "{s:?}"),
        }
        // rsync cannot start past it: the cause named, not "protocol incompatibility".
        other.check("root", "useradd --system --user-group app");
        h.check(
            "root",
            "mkdir -p /srv/app/media && echo a > /srv/app/media/a",
        );
        let toml = fs_err::read_to_string(app.path().join("dfab.toml")).unwrap();
        let toml = toml.replacen(
            &format!("hosts = [\"{}\"]", h.ip),
            &format!("hosts = [\"{}\"]", other.ip),
            1,
        );
        fs_err::write(app.path().join("dfab.toml"), toml).unwrap();
        let out = app.dfab(&["staging", "data_refresh"]);
        assert_ne!(out.code, 0, "{s:?}: {}", out.stdout);
        assert!(
            out.stderr.contains("rsync cannot run over ssh")
                && out.stderr.contains(&format!("deploy@{}", h.ip))
                && out.stderr.contains("prints 'Welcome to "),
            "{s:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("protocol"), "{s:?}: {}", out.stderr);
    }
}

/// A second sshd on loopback, on a spare port, with its own config (its limits added), reached
/// as root with the test key at `127.0.0.N` for each N of `addrs` (one daemon, many "hosts").
struct LoopSshd {
    child: Child,
    port: u16,
    /// Its config, keys and log, removed with it.
    dir: tempfile::TempDir,
}

impl LoopSshd {
    fn new(limits: &str, addrs: &[String]) -> LoopSshd {
        let dir = tempfile::Builder::new()
            .prefix("dfab-sshd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let kg = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join("hostkey"))
            .status()
            .unwrap();
        assert!(kg.success());
        fs_err::copy(format!("{KEY}.pub"), d.join("authorized_keys")).unwrap();
        let mut listen = String::new();
        for a in addrs {
            let _ = writeln!(listen, "ListenAddress {a}:{port}");
        }
        let conf = format!(
            "{listen}HostKey {d}/hostkey\nPidFile {d}/pid\nAuthorizedKeysFile {d}/authorized_keys\n\
             UsePAM no\nStrictModes no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nAllowUsers root\n\
             {limits}\n",
            d = d.display()
        );
        fs_err::write(d.join("sshd_config"), conf).unwrap();
        fs_err::create_dir_all("/run/sshd").unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-f"])
            .arg(d.join("sshd_config"))
            .arg("-E")
            .arg(d.join("log"))
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let end = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect((addrs[0].as_str(), port)).is_err() {
            assert!(
                Instant::now() < end,
                "sshd did not listen: {}",
                fs_err::read_to_string(d.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        LoopSshd { child, port, dir }
    }
}

impl Drop for LoopSshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A project whose env `limits` reaches `hosts` as root with the test key, with a task of
/// several commands in a row on each host (a session each).
fn loop_project(hosts: &[String]) -> tempfile::TempDir {
    let list: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
    let toml = format!(
        "[environments.limits]\nhosts = [{}]\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\n\
         [tasks.probe]\ndoc = \"Commands in a row\"\nsteps = [\n  {{ run = \"id -un\" }},\n  \
         {{ run = \"true\" }},\n  {{ run = \"echo $SSH_CONNECTION\" }},\n  {{ run = \"true\" }},\n]\n",
        list.join(", ")
    );
    project(&[("dfab.toml", &toml)])
}

// Kind 23: sshd's limits met dfab's own connections, and the hint blamed the user. A long state
// directory made the control socket path too long, `MaxSessions 1` made commands fail ("Session
// open refused by peer", hint "run again"), and twelve hosts behind one sshd with `MaxStartups
// 3` failed 9 of 12; each time the hint said to check user, port and key. The right behaviour:
// a socket path of dfab's own, starts paced and retried, sessions retried, and a limit that
// still stops dfab named as that limit.
#[test]
fn k23_sshd_limits_are_met_or_named_and_the_state_dir_never_matters() {
    let addrs: Vec<String> = (2..=13).map(|n| format!("127.0.0.{n}")).collect();
    let sshd = LoopSshd::new("MaxSessions 1\nMaxStartups 3", &addrs);
    let hosts: Vec<String> = addrs
        .iter()
        .map(|a| format!("root@{a}:{}", sshd.port))
        .collect();
    let dir = loop_project(&hosts);
    // A state dir and home far over 50 characters.
    let long = dir
        .path()
        .join(format!("{}/{}", "s".repeat(60), "t".repeat(60)));
    fs_err::create_dir_all(&long).unwrap();
    for round in 0..2 {
        let out = Dfab::new(dir.path())
            .args(["limits", "probe"])
            .env("XDG_STATE_HOME", &long.display().to_string())
            .env("HOME", &long.display().to_string())
            .run();
        assert_eq!(
            out.code, 0,
            "round {round}:\n{}\n{}",
            out.stdout, out.stderr
        );
        for a in &addrs {
            assert!(
                out.stdout.contains(&format!("{a} ")),
                "round {round}: no SSH_CONNECTION line from {a}:\n{}",
                out.stdout
            );
        }
    }
    // A limit that still stops dfab is named: no session at all on this sshd.
    let none = LoopSshd::new("MaxSessions 0", &addrs[..1]);
    let dir = loop_project(&[format!("root@{}:{}", addrs[0], none.port)]);
    let out = Dfab::new(dir.path()).args(["limits", "probe"]).run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains("MaxSessions") && !out.stderr.contains("works by hand"),
        "{}",
        out.stderr
    );
}

// Also (issue 19): "ssh works as by hand", but a key with a passphrase and no agent failed under
// BatchMode without a word of why ("Permission denied", hint: check user, port and key). The
// right behaviour: the key and its fix (an agent, `ssh-add`) are named.
#[test]
fn also_a_key_with_a_passphrase_and_no_agent_is_named_with_its_fix() {
    let addrs = ["127.0.0.14".to_string()];
    let sshd = LoopSshd::new("", &addrs);
    let keys = tempfile::Builder::new()
        .prefix("dfab-key-")
        .tempdir()
        .unwrap();
    let key = keys.path().join("locked");
    let kg = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    assert!(kg.success());
    let public = fs_err::read_to_string(key.with_extension("pub")).unwrap();
    let auth = sshd.dir.path().join("authorized_keys");
    let mut all = fs_err::read_to_string(&auth).unwrap();
    all.push_str(&public);
    fs_err::write(&auth, all).unwrap();
    let dir = project(&[(
        "dfab.toml",
        &format!(
            "[environments.locked]\nhosts = [\"root@{}:{}\"]\nkey_filename = \"{}\"\n\
             known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\n\
             [tasks.probe]\ndoc = \"One command\"\nsteps = [ {{ run = \"true\" }} ]\n",
            addrs[0],
            sshd.port,
            key.display()
        ),
    )]);
    let out = Dfab::new(dir.path())
        .args(["locked", "probe"])
        .env("SSH_AUTH_SOCK", "")
        .run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "the key {} has a passphrase and no ssh agent holds it",
            key.display()
        )) && out.stderr.contains(&format!("ssh-add {}", key.display())),
        "{}",
        out.stderr
    );
}

/// A fresh ed25519 key pair in `dir` named `name` (no passphrase); its public line.
fn new_key(dir: &std::path::Path, name: &str) -> String {
    let kg = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.join(name))
        .status()
        .unwrap();
    assert!(kg.success());
    fs_err::read_to_string(dir.join(format!("{name}.pub"))).unwrap()
}

// Messages (issue 19 review): a changed host key gave ssh's whole banner on one line
// (`@@@@…; @ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @; …`) with the hint "check that
// `ssh <host>` works by hand with the same user, port and key"; an unknown key under strict
// checking and a refused login got the same hint. The right behaviour: the pinned file, its
// line, the key type and fingerprint ssh reports, and how to check and replace the key; the
// user and key sshd refused.
#[test]
fn k23_a_host_key_or_login_refused_by_ssh_is_named_with_its_file_and_fix() {
    let addrs = ["127.0.0.15".to_string()];
    let sshd = LoopSshd::new("", &addrs);
    let dir = tempfile::Builder::new()
        .prefix("dfab-pinned-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    let host = format!("[{}]:{}", addrs[0], sshd.port);
    // Pinned: another key than the host's, on line 2.
    let wrong = new_key(d, "wrong");
    let wrong: Vec<&str> = wrong.split_whitespace().take(2).collect();
    fs_err::write(
        d.join("known_hosts"),
        format!("# pinned\n{host} {}\n", wrong.join(" ")),
    )
    .unwrap();
    fs_err::write(d.join("empty_hosts"), "").unwrap();
    let sent = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(sshd.dir.path().join("hostkey.pub"))
        .output()
        .unwrap();
    let fp = String::from_utf8_lossy(&sent.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(fp.starts_with("SHA256:"), "{fp}");
    let stranger = new_key(d, "stranger");
    assert!(stranger.starts_with("ssh-ed25519"));
    let env = |name: &str, known: &str, checking: &str, key: &str| {
        format!(
            "[environments.{name}]\nhosts = [\"root@{}:{}\"]\nkey_filename = \"{key}\"\n\
             known_hosts = \"{known}\"\nhost_key_checking = \"{checking}\"\ntimeout = 5\n\n",
            addrs[0], sshd.port
        )
    };
    let toml = format!(
        "{}{}{}[tasks.probe]\ndoc = \"One command\"\nsteps = [ {{ run = \"true\" }} ]\n",
        env("pinned", "../known_hosts", "add", KEY),
        env("strict", "../empty_hosts", "strict", KEY),
        env(
            "stranger",
            "/dev/null",
            "accept",
            &d.join("stranger").display().to_string()
        ),
    );
    fs_err::create_dir_all(d.join("proj")).unwrap();
    fs_err::write(d.join("proj/dfab.toml"), toml).unwrap();
    let proj = d.join("proj");
    let known = d.join("known_hosts").display().to_string();

    let out = Dfab::new(&proj).args(["pinned", "probe"]).run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    let e = &out.stderr;
    assert!(
        e.contains(&format!(
            "the host's key differs from the one pinned for {host} in {known}, line 2: the \
             ED25519 key it sent ({fp})"
        )) && e.contains(&format!("ssh-keygen -R '{host}' -f {known}"))
            && !e.contains("@@@@")
            && !e.contains("works by hand"),
        "{e}"
    );
    // `noop` only activates the env: it connects nowhere, so the changed key is not met.
    let out = Dfab::new(&proj).args(["pinned", "noop"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = Dfab::new(&proj).args(["strict", "probe"]).run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    let empty = d.join("empty_hosts").display().to_string();
    assert!(
        out.stderr.contains(&format!(
            "no ED25519 key is pinned for {host} in {empty}, and host_key_checking = 'strict'"
        )) && out.stderr.contains(&format!(
            "ssh-keyscan -p {} {} >> {empty}",
            sshd.port, addrs[0]
        )) && !out.stderr.contains("works by hand"),
        "{}",
        out.stderr
    );

    let out = Dfab::new(&proj).args(["stranger", "probe"]).run();
    assert_ne!(out.code, 0, "{}", out.stdout);
    let key = d.join("stranger").display().to_string();
    assert!(
        out.stderr.contains(&format!(
            "refused the login of `root` with the key {key} (env key `key_filename`)"
        )) && out
            .stderr
            .contains(&format!("put {key}.pub in ~root/.ssh/authorized_keys")),
        "{}",
        out.stderr
    );
}

// Kind 23, the bastion half: twelve hosts behind a bastion with `MaxStartups 3` failed 9 of 12
// every time ("Connection closed", hint: check user, port and key): every connection's
// handshake met the bastion's sshd at once. The right behaviour: starts are paced per bastion
// (not per host behind it) and a refused one is tried again, so all succeed.
#[test]
fn k23_hosts_behind_a_bastion_with_max_startups_3_all_succeed() {
    let bastion_addr = ["127.0.0.40".to_string()];
    let bastion = LoopSshd::new("MaxStartups 3\nLogLevel DEBUG1", &bastion_addr);
    let addrs: Vec<String> = (41..=52).map(|n| format!("127.0.0.{n}")).collect();
    let behind = LoopSshd::new("", &addrs);
    let dir = tempfile::Builder::new()
        .prefix("dfab-bastion-")
        .tempdir()
        .unwrap();
    let config = dir.path().join("ssh_config");
    fs_err::write(
        &config,
        format!(
            "Host {b}\n  User root\n  Port {port}\n  IdentityFile {KEY}\n  IdentitiesOnly yes\n  \
             StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  ProxyJump none\n\n\
             Host 127.0.0.*\n  ProxyJump {b}\n",
            b = bastion_addr[0],
            port = bastion.port
        ),
    )
    .unwrap();
    let hosts: Vec<String> = addrs
        .iter()
        .map(|a| format!("\"root@{a}:{}\"", behind.port))
        .collect();
    let toml = format!(
        "[environments.behind]\nhosts = [{}]\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         ssh_config = \"{}\"\n\n\
         [tasks.probe]\ndoc = \"Commands in a row\"\nsteps = [\n  {{ run = \"id -un\" }},\n  \
         {{ run = \"echo $SSH_CONNECTION\" }},\n]\n",
        hosts.join(", "),
        config.display()
    );
    fs_err::create_dir_all(dir.path().join("proj")).unwrap();
    fs_err::write(dir.path().join("proj/dfab.toml"), toml).unwrap();
    for round in 0..2 {
        let out = Dfab::new(&dir.path().join("proj"))
            .args(["behind", "probe"])
            .run();
        assert_eq!(
            out.code, 0,
            "round {round}:\n{}\n{}",
            out.stdout, out.stderr
        );
        for a in &addrs {
            assert!(
                out.stdout.contains(&format!("{a} {}", behind.port)),
                "round {round}: no SSH_CONNECTION line from {a}:\n{}",
                out.stdout
            );
        }
    }
    // Every host was reached through the bastion (its sshd forwarded a channel to each).
    let log = fs_err::read_to_string(bastion.dir.path().join("log")).unwrap();
    for a in &addrs {
        assert!(
            log.lines()
                .any(|l| l.contains("direct") && l.contains(&format!("{a} port {}", behind.port))),
            "the bastion forwarded nothing to {a}:\n{log}"
        );
    }
}
