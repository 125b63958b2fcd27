//! `data_refresh` between two real containers through the local cache: only changed files move,
//! ownership and modes arrive right, and unsafe targets and paths are refused before any copy.

use crate::support::{project, Dfab, TestHost};

fn envs(src: &TestHost, dst: &TestHost, extra: &str) -> String {
    format!(
        "[environments.__all__]\nremote_path = \"/srv/app/\"\napp_user = \"app\"\n\n{}\n{}{extra}",
        src.env_toml("production", "deploy"),
        dst.env_toml("staging", "deploy"),
    )
}

/// The files each hop copied, from dfab's `…: N file(s) copied` lines, in order (the pull,
/// then the push).
fn transferred(stdout: &str) -> Vec<u32> {
    stdout
        .lines()
        .filter(|l| l.contains("data_refresh: media "))
        .filter_map(|l| l.split(": ").last()?.split(' ').next()?.parse().ok())
        .collect()
}

#[test]
fn data_refresh_copies_media_through_the_local_cache_and_then_only_changes() {
    let src = TestHost::new();
    let dst = TestHost::new();
    src.check(
        "root",
        "set -e; mkdir -p /srv/app/media/sub; echo one > /srv/app/media/a.txt; \
         echo two > /srv/app/media/b.txt; echo three > /srv/app/media/sub/c.txt; \
         chmod 640 /srv/app/media/b.txt; chown -R nobody:nogroup /srv/app/media",
    );
    dst.check("root", "useradd --system --user-group app");
    let dir = project(&[("dfab.toml", &envs(&src, &dst, ""))]);

    // One line per hop by default; under -v rsync's own lines name each file.
    let out = Dfab::new(dir.path())
        .args(["staging", "data_refresh"])
        .stdout_lacks(" out: ")
        .stderr_is("")
        .run_checked();
    assert_eq!(transferred(&out.stdout), [3, 3], "{}", out.stdout);
    Dfab::new(dir.path())
        .args(["-v", "staging", "data_refresh"])
        .stdout_has(" out: Number of regular files transferred: 0")
        .stderr_is("")
        .run_checked();
    assert_eq!(
        dst.check(
            "root",
            "cd /srv/app/media && find . -type f | sort | xargs stat -c '%n %U:%G %a' && cat b.txt"
        ),
        "./a.txt app:app 644\n./b.txt app:app 640\n./sub/c.txt app:app 644\ntwo\n"
    );
    let cache = dir.path().join("media/staging/srv/app/media");
    assert_eq!(
        fs_err::read_to_string(cache.join("sub/c.txt")).unwrap(),
        "three\n"
    );

    // One file changes at the source: only it moves, on both hops.
    src.check("root", "echo two, changed >> /srv/app/media/b.txt");
    let out = Dfab::new(dir.path())
        .args(["staging", "data_refresh"])
        .stderr_is("")
        .run_checked();
    assert_eq!(transferred(&out.stdout), [1, 1], "{}", out.stdout);
    assert_eq!(
        dst.check("root", "cat /srv/app/media/b.txt"),
        "two\ntwo, changed\n"
    );
    // The source was only read.
    assert_eq!(
        src.check("root", "stat -c %U /srv/app/media/a.txt"),
        "nobody\n"
    );
}

#[test]
fn data_refresh_refuses_production_and_escaping_paths_before_copying() {
    let src = TestHost::new();
    let dst = TestHost::new();
    src.check(
        "root",
        "mkdir -p /srv/app/media /srv/app/media2 && echo secret-ish > /srv/app/media/a.txt",
    );
    dst.check(
        "root",
        "useradd --system --user-group app && mkdir -p /srv/app && ln -s /etc /srv/app/media2",
    );
    let toml = envs(
        &src,
        &dst,
        "\n[environments.escape]\nhosts = [\"x\"]\nmedia_paths = [\"/srv/app/../etc/\"]\n\
         \n[environments.escape2]\nhosts = [\"x\"]\nmedia_paths = [\"/etc/\"]\n",
    );
    let dir = project(&[("dfab.toml", &toml)]);

    // Into production, unforced.
    Dfab::new(dir.path())
        .args(["production", "data_refresh"])
        .status(2)
        .no_stdout()
        .stderr_is(
            "error: data_refresh would overwrite the media of `production`, a production \
             environment; nothing was copied\nhint: if you mean it: dfab production \
             data_refresh:force=yes\n",
        )
        .run_checked();

    // `..` and paths outside remote_path/media_roots: refused at plan time.
    let file = dir.path().join("dfab.toml");
    for (env, at, why) in [
        (
            "escape",
            21,
            "`/srv/app/../etc/` has `.`, `..` or `//` in it",
        ),
        (
            "escape2",
            25,
            "`/etc/` is outside remote_path and media_roots",
        ),
    ] {
        Dfab::new(dir.path())
            .args([env, "data_refresh"])
            .status(2)
            .no_stdout()
            .stderr_is(format!(
                "error: {}:{at}:15: key `{env}.media_paths`: {why}\n\
                 hint: media paths are absolute directories ending in `/`, inside remote_path or \
                 media_roots (/srv/app/)\n",
                file.display()
            ))
            .run_checked();
    }

    // A symlink on the target that leads out of remote_path: refused on the host, nothing copied.
    let sym = project(&[(
        "dfab.toml",
        &envs(&src, &dst, "media_paths = [\"{remote_path}media2/\"]\n"),
    )]);
    Dfab::new(sym.path())
        .args(["staging", "data_refresh"])
        .status(1)
        .stderr_has(format!("error: [{}] command failed (exit status 1): ", dst.ip))
        .stderr_has(
            "data_refresh: media path /srv/app/media2/ resolves to /etc, outside /srv/app/; nothing copied",
        )
        .run_checked();
    assert!(!sym.path().join("media").exists(), "the cache was filled");
    assert!(dst.ssh("root", "test ! -e /etc/a.txt").status.success());
}

// data_refresh refused a source env that is an LXC container ("copies from ssh hosts only"),
// as dragonfab users' `lxc` envs and the demo's production are.
#[test]
fn data_refresh_copies_from_an_lxc_source_env_through_its_container() {
    let src = TestHost::new();
    let dst = TestHost::new();
    src.check(
        "root",
        "set -e; mkdir -p /srv/app/media; echo from-lxc > /srv/app/media/x.txt",
    );
    dst.check("root", "useradd --system --user-group app");
    let toml = format!(
        "[environments.__all__]\nremote_path = \"/srv/app/\"\napp_user = \"app\"\n\n\
         [environments.production]\nlxc = \"{name}\"\nlxc_template = \"{base}\"\nlxc_ipv4 = \"{ip}/24\"\n\
         key_filename = \"{key}\"\n\n{dst}",
        name = src.name,
        base = crate::support::BASE,
        ip = src.ip,
        key = crate::support::KEY,
        dst = dst.env_toml("staging", "deploy"),
    );
    let dir = project(&[("dfab.toml", &toml)]);
    Dfab::new(dir.path())
        .args(["-n", "-v", "staging", "data_refresh"])
        .stdout_has(format!("[{}] check: ", src.name))
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["staging", "data_refresh"])
        .stderr_is("")
        .run_checked();
    assert_eq!(
        dst.check(
            "root",
            "stat -c '%U' /srv/app/media/x.txt && cat /srv/app/media/x.txt"
        ),
        "app\nfrom-lxc\n"
    );
}
