//! LXC with no ssh set-up: dfab's own key gets a first `dfab lxc ...` into a container, and a
//! container that cannot be reached says why before any task runs.
//!
//! The user's key is hidden by pointing HOME (where dfab keeps its key) at an empty directory;
//! the base container authorises only the test key, so no key of the machine's root is accepted.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use crate::support::{project, ssh_as, Dfab, Reserved, BASE};

fn envs(r: &Reserved, extra: &str) -> String {
    format!(
        "environments = {{'lxc': {{'lxc': '{name}', 'lxc_template': '{BASE}', \
         'lxc_ipv4': '{ip}/24', {extra}}}}}\n\
         tasks = {{\n    'who': {{'steps': [{{'run': 'id -un'}}]}},\n    \
         'both': {{'steps': [{{'local': 'touch ran'}}, {{'run': 'true'}}]}},\n}}\n",
        name = r.name,
        ip = r.ip
    )
}

fn dfab(dir: &Path, home: &Path) -> Dfab {
    Dfab::new(dir)
        .env("HOME", &home.display().to_string())
        .env("XDG_DATA_HOME", "")
}

// On a machine where root has no ~/.ssh, `dfab lxc <task>` cloned and started the container,
// then failed "Permission denied (publickey)".
#[test]
fn first_lxc_run_with_no_ssh_key_logs_in_with_dfabs_own_key() {
    let r = Reserved::new();
    let home = tempfile::tempdir().unwrap();
    let dir = project(&[("environments.py", &envs(&r, ""))]);
    let key = home.path().join(".local/share/dfab/lxc-key/id_ed25519");
    dfab(dir.path(), home.path())
        .args(["lxc", "who"])
        .stdout_has(format!(
            "created dfab's ssh key for LXC containers: {}",
            key.display()
        ))
        .stdout_has(format!(
            "container {}: added dfab's ssh key to root's authorized_keys",
            r.name
        ))
        .stdout_has(format!("[{}] out: root\n", r.name))
        .stderr_is("")
        .run_checked();
    let mode = fs_err::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let public = fs_err::read_to_string(key.with_extension("pub")).unwrap();
    // The oracle: plain ssh with the test key reads the container's authorized_keys.
    let authorized = ssh_as("root", &r.ip, "cat /root/.ssh/authorized_keys");
    let authorized = String::from_utf8_lossy(&authorized.stdout);
    assert_eq!(
        authorized.lines().filter(|l| *l == public.trim()).count(),
        1,
        "{authorized}"
    );

    // Again: the same key, nothing added twice.
    dfab(dir.path(), home.path())
        .args(["lxc", "who"])
        .stdout_lacks("created dfab's ssh key")
        .stdout_lacks("added dfab's ssh key")
        .stdout_has(format!("[{}] out: root\n", r.name))
        .stderr_is("")
        .run_checked();
    assert_eq!(
        fs_err::read_to_string(key.with_extension("pub")).unwrap(),
        public
    );
}

// A container that refused the env's key failed only when a task reached it, after the work
// before it had run.
#[test]
fn unreachable_container_says_why_before_any_task_runs() {
    let r = Reserved::new();
    let home = tempfile::tempdir().unwrap();
    let stray = home.path().join("stray");
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&stray)
        .status()
        .expect("ssh-keygen: apt-get install openssh-client");
    assert!(ok.success());
    let dir = project(&[(
        "environments.py",
        &envs(&r, &format!("'key_filename': '{}'", stray.display())),
    )]);
    dfab(dir.path(), home.path())
        .args(["lxc", "both"])
        .status(1)
        .stderr_has(format!(
            "container {} is running, but dfab cannot log in to it over ssh (nothing was run)",
            r.name
        ))
        .stderr_has("refused the login of `root` with the key")
        .stderr_has(format!(
            "\nhint: the container does not accept `key_filename` ({})",
            stray.display()
        ))
        .run_checked();
    assert!(!dir.path().join("ran").exists(), "a task ran first");
    // dfab did not put its own key in when the env named one.
    assert!(!home.path().join(".local/share/dfab").exists());
}

// `lxc.template` on a machine with no ssh key built a template with an empty authorized_keys
// and said nothing.
#[test]
fn template_authorizes_dfabs_key_and_says_so() {
    let home = tempfile::tempdir().unwrap();
    let dir = project(&[(
        "environments.py",
        "environments = {'lxc': {'lxc': 'dfab-it-never', 'lxc_template': 'dfab-it-tpl-never'}}\n",
    )]);
    let key = home.path().join(".local/share/dfab/lxc-key/id_ed25519");
    // Dry run, no key yet: says where it will be, creates nothing.
    dfab(dir.path(), home.path())
        .args(["-n", "lxc", "lxc.template"])
        .stdout_has(format!(
            "[localhost] root's authorized_keys in dfab-it-tpl-never: dfab's key, created at {} \
             when this runs for real",
            key.display()
        ))
        .stderr_is("")
        .run_checked();
    assert!(!key.exists());
    // With the key in place (as a first real run leaves it), the template authorises it.
    fs_err::create_dir_all(key.parent().unwrap()).unwrap();
    let ok = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen: apt-get install openssh-client");
    assert!(ok.success());
    dfab(dir.path(), home.path())
        .args(["-n", "lxc", "lxc.template"])
        .stdout_has(format!(
            "[localhost] root's authorized_keys in dfab-it-tpl-never: dfab's key ({})",
            key.display()
        ))
        .stderr_is("")
        .run_checked();
}
