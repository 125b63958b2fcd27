//! Fault kinds of issue 19 in `data_refresh` (an empty source, deleted files coming back,
//! symlinks leaving the media root) and in path keys (resolved against the project, never the
//! current directory), each on real containers and sshd.

use crate::support::{project, Dfab, TestHost, KEY};

// Kind 7: a relative path key was resolved against the current directory. With
// known_hosts = 'deploy/known_hosts' and dfab run from a subdirectory, the pinned file was
// ignored and a host with another key was accepted. The right behaviour: every key that names a
// file on this machine (here key_filename, ssh_config and known_hosts) means the same file from
// any directory of the project.
#[test]
fn k07_relative_path_keys_mean_the_projects_files_from_any_directory() {
    let h = TestHost::new();
    let pinned = format!(
        "{} {}",
        h.ip,
        h.check("root", "cat /etc/ssh/ssh_host_ed25519_key.pub")
    );
    let toml = format!(
        "[environments.staging]\nhosts = [\"{}\"]\nkey_filename = \"deploy/id\"\n\
         ssh_config = \"deploy/ssh_config\"\nknown_hosts = \"deploy/known_hosts\"\n\
         host_key_checking = \"strict\"\n\n[tasks.who]\nsteps = [{{ run = \"id -un\" }}]\n",
        h.ip
    );
    let dir = project(&[
        ("dfab.toml", &toml),
        ("deploy/ssh_config", "User deploy\n"),
        ("deploy/known_hosts", &pinned),
        ("app/.keep", ""),
    ]);
    fs_err::copy(KEY, dir.path().join("deploy/id")).unwrap();
    let app = dir.path().join("app");
    // The pinned key, the key file and the config's user, from the project and from app/.
    for cwd in [dir.path(), app.as_path()] {
        Dfab::new(cwd)
            .args(["staging", "who"])
            .stdout_has(format!("[{}] out: deploy\n", h.ip))
            .stderr_is("")
            .run_checked();
    }
    // Another key pinned for the host: refused from app/ too, and nothing written beside it.
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(dir.path().join("other"))
        .status()
        .expect("ssh-keygen");
    assert!(keygen.success());
    let other = fs_err::read_to_string(dir.path().join("other.pub")).unwrap();
    fs_err::write(
        dir.path().join("deploy/known_hosts"),
        format!("{} {other}", h.ip),
    )
    .unwrap();
    for host_key_checking in ["strict", "add"] {
        let toml = toml.replace(
            "host_key_checking = \"strict\"",
            &format!("host_key_checking = \"{host_key_checking}\""),
        );
        fs_err::write(dir.path().join("dfab.toml"), toml).unwrap();
        let out = Dfab::new(&app).args(["staging", "who"]).run();
        assert_ne!(out.code, 0, "{host_key_checking}: {}", out.stdout);
        assert!(
            !out.stdout.contains("out: deploy"),
            "{host_key_checking}: {}",
            out.stdout
        );
    }
    assert!(!app.join("deploy").exists(), "ssh wrote under app/");
}
