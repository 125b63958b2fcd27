//! User tasks against real containers over SSH: run, sudo, put, get, cd, quoting, errors.

use crate::support::{project, Dfab, TestHost};

const TASKS: &str = r#"
[environments.__all__]
remote_path = "/srv/app/"
evil = "'; touch /tmp/pwned #"

[tasks.ship]
doc = "Upload, inspect and fetch back"
steps = [
  { sudo = "mkdir -p {remote_path} && chown deploy {remote_path}" },
  { put = "payload.txt", to = "{remote_path}" },
  { run = "sha256sum payload.txt > sums.txt && ls", cd = "{remote_path}" },
  { sudo = "id -un > whoami.txt", cd = "{remote_path}" },
  { get = "sums.txt", to = "fetched/sums.txt", cd = "{remote_path}" },
  { get = "{remote_path}whoami.txt", to = "fetched/" },
]

[tasks.quote]
doc = "A hostile value must arrive as one argument"
steps = [ { run = "printf '%s\n' {evil} > /tmp/arg.txt; echo args=$(printf x%.0s {evil})" } ]
"#;

#[test]
fn user_task_runs_on_a_real_container_over_ssh() {
    let host = TestHost::new();
    let toml = format!("{TASKS}\n{}", host.env_toml("staging", "deploy"));
    let dir = project(&[("dfab.toml", &toml), ("payload.txt", "hello from dfab\n")]);
    // Every line of command output is prefixed with the host.
    let prefix = format!("[{}] out: ", host.ip);
    let out = Dfab::new(dir.path())
        .args(["staging", "ship"])
        .stdout_has(format!("{prefix}payload.txt"))
        .stdout_has(format!("{prefix}sums.txt"))
        .stderr_is("")
        .run_checked();
    for line in out.stdout.lines().filter(|l| l.contains(" out: ")) {
        assert!(line.starts_with(&prefix), "unprefixed output line: {line}");
    }
    // put: the file arrived intact (checked with plain ssh, not dfab).
    let remote = host.check("deploy", "cat /srv/app/payload.txt");
    assert_eq!(remote, "hello from dfab\n");
    // get: the remote checksum file came back; it matches the local file's hash.
    let sums = fs_err::read_to_string(dir.path().join("fetched/sums.txt")).unwrap();
    let local = Command::new("sha256sum")
        .arg("payload.txt")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(sums, String::from_utf8_lossy(&local.stdout));
    // sudo ran as root, inside `cd`.
    let who = fs_err::read_to_string(dir.path().join("fetched/whoami.txt")).unwrap();
    assert_eq!(who, "root\n");
    // No temp files left behind by the atomic upload.
    assert_eq!(
        host.check("deploy", "ls -A /srv/app"),
        "payload.txt\nsums.txt\nwhoami.txt\n"
    );
}

use std::process::Command;

#[test]
fn hostile_value_arrives_as_one_literal_argument() {
    let host = TestHost::new();
    let toml = format!("{TASKS}\n{}", host.env_toml("staging", "deploy"));
    let dir = project(&[("dfab.toml", &toml)]);
    Dfab::new(dir.path())
        .args(["staging", "quote"])
        .stdout_has(format!("[{}] out: args=x\n", host.ip))
        .stderr_is("")
        .run_checked();
    assert_eq!(
        host.check("deploy", "cat /tmp/arg.txt"),
        "'; touch /tmp/pwned #\n"
    );
    assert!(
        !host.ssh("root", "test -e /tmp/pwned").status.success(),
        "injection ran"
    );
}

#[test]
fn sudo_needing_a_password_is_a_clear_error() {
    let host = TestHost::new();
    let toml = format!(
        "[tasks.t]\nsteps = [{{ sudo = \"true\" }}]\n{}",
        host.env_toml("staging", "nosudo")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    Dfab::new(dir.path())
        .args(["staging", "t"])
        .status(1)
        .stderr_has(format!(
            "error: [{}] command failed (exit status 1): sudo -n -H -- sh -c true\n",
            host.ip
        ))
        .stderr_has("\nhint: sudo wants a password on this host")
        .run_checked();
}

#[test]
fn failing_step_stops_the_task_unless_warn_only() {
    let host = TestHost::new();
    let toml = format!(
        "[tasks.t]\nsteps = [{{ run = \"false\", warn_only = true }}, {{ run = \"exit 7\" }}, {{ run = \"touch /tmp/after\" }}]\n{}",
        host.env_toml("staging", "deploy")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    Dfab::new(dir.path())
        .args(["staging", "t"])
        .status(1)
        .stderr_is(format!(
            "warning: [{ip}] exit status 1 (warn_only): false\n\
             error: [{ip}] command failed (exit status 7): exit 7\n",
            ip = host.ip
        ))
        .run_checked();
    assert!(!host.ssh("root", "test -e /tmp/after").status.success());
}

// Regression: openssh reports a remote exit 127 as an error of its own, which dfab turned into
// "ssh session failed: remote command not found" with the hint that the connection dropped.
#[test]
fn over_ssh_exit_127_is_the_command_s_code_and_a_signal_is_not_a_code() {
    let host = TestHost::new();
    let toml = format!(
        "[tasks.t]\nsteps = [{{ run = \"no-such-program-dfab\", warn_only = true }}, {{ run = \"kill -9 $$\" }}]\n{}",
        host.env_toml("staging", "deploy")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    // ssh's mux protocol carries no signal number: named as a signal, with no code made up.
    Dfab::new(dir.path())
        .args(["staging", "t"])
        .status(1)
        .stderr_has(format!(
            "warning: [{}] exit status 127 (warn_only): no-such-program-dfab\n",
            host.ip
        ))
        .stderr_has(format!(
            "error: [{}] the remote command was killed by a signal (ssh does not say which)\n",
            host.ip
        ))
        .stderr_lacks("exit status 137")
        .run_checked();
}

#[test]
fn unreachable_host_names_the_host() {
    // 10.0.3.99 is in the bridge's DHCP range, and no test container uses it.
    let dir = project(&[(
        "dfab.toml",
        "[environments.x]\nhosts = [\"root@10.0.3.99\"]\ntimeout = 2\nhost_key_checking = \"accept\"\n[tasks.t]\nsteps = [{ run = \"true\" }]\n",
    )]);
    crate::support::require_host_setup();
    // Nothing runs, nothing is echoed.
    Dfab::new(dir.path())
        .args(["x", "t"])
        .status(1)
        .no_stdout()
        .stderr_has("error: [root@10.0.3.99] cannot connect over ssh: ")
        .run_checked();
}
