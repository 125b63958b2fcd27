//! Fault kinds of issue 19 in `data_refresh` (an empty source, deleted files coming back,
//! symlinks leaving the media root) and in path keys (resolved against the project, never the
//! current directory), each on real containers and sshd.

use std::path::Path;

use crate::support::{project, Dfab, Outcome, TestHost, KEY};

/// A project whose `production` is `src` and `staging` is `dst` (app user `app`), plus `extra`
/// lines for the staging table.
fn envs(src: &TestHost, dst: &TestHost, extra: &str) -> String {
    format!(
        "[environments.__all__]\nremote_path = \"/srv/app/\"\napp_user = \"app\"\n\n{}\n{}{extra}",
        src.env_toml("production", "deploy"),
        dst.env_toml("staging", "deploy"),
    )
}

/// Two fresh hosts with `/srv/app/media/` on both and the app user on the target.
fn pair() -> (TestHost, TestHost) {
    let (src, dst) = (TestHost::new(), TestHost::new());
    src.check("root", "mkdir -p /srv/app/media");
    dst.check(
        "root",
        "useradd --system --user-group app && mkdir -p /srv/app/media",
    );
    (src, dst)
}

/// The names under a host's `/srv/app/media/` (files and links, not directories), sorted.
fn listing(h: &TestHost) -> Vec<String> {
    h.check(
        "root",
        "cd /srv/app/media && find . ! -type d | sed 's|^\\./||' | LC_ALL=C sort",
    )
    .lines()
    .map(String::from)
    .collect()
}

/// `data_refresh` into staging with `args` (such as `force=yes`).
fn refresh(dir: &Path, args: &str) -> Outcome {
    Dfab::new(dir)
        .args(["staging", &format!("data_refresh{args}")])
        .run()
}

// Kind 4: an empty source wiped the target. With media_delete = True and production's media
// directory empty (an unmounted share), data_refresh deleted every file on staging. The right
// behaviour: an empty source, or one that would delete more than media_max_delete (default
// 10 %) of the target, is refused with the count and the first names, unless force=yes.
#[test]
fn k04_an_empty_or_shrunken_source_never_wipes_the_target() {
    let (src, dst) = pair();
    dst.check(
        "root",
        "cd /srv/app/media && for i in $(seq 1 50); do echo $i > f$i.txt; done",
    );
    let all = listing(&dst);
    assert_eq!(all.len(), 50);
    let dir = project(&[("dfab.toml", &envs(&src, &dst, "media_delete = true\n"))]);

    // The source is empty: refused, the target untouched.
    let out = refresh(dir.path(), "");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("has no files"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was copied"), "{}", out.stderr);
    assert!(out.stderr.contains("f1.txt, f10.txt"), "{}", out.stderr);
    assert!(out.stderr.contains("force=yes"), "{}", out.stderr);
    assert_eq!(listing(&dst), all);

    // The source has 40 of the 50: 10 would go, 20 % > 10 %: refused, saying which.
    src.check(
        "root",
        "cd /srv/app/media && for i in $(seq 1 40); do echo $i > f$i.txt; done",
    );
    let out = refresh(dir.path(), "");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("would delete 10 of the 50 files in /srv/app/media/ (20 %"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("f41.txt, f42.txt, f43.txt, f44.txt, f45.txt and 5 more"),
        "{}",
        out.stderr
    );
    assert_eq!(listing(&dst), all);

    // A share the env allows (written as a percent, then as a fraction) goes through.
    for share in ["\"25%\"", "0.25"] {
        let allowed = project(&[(
            "dfab.toml",
            &envs(
                &src,
                &dst,
                &format!("media_delete = true\nmedia_max_delete = {share}\n"),
            ),
        )]);
        let out = refresh(allowed.path(), "").ok();
        assert!(out.stderr.is_empty(), "{}", out.stderr);
        assert_eq!(listing(&dst).len(), 40, "{share}");
        dst.check(
            "root",
            "cd /srv/app/media && for i in $(seq 41 50); do echo $i > f$i.txt; done",
        );
    }

    // Forced, an empty source empties the target.
    src.check("root", "rm -f /srv/app/media/*");
    refresh(dir.path(), ":force=yes").ok();
    assert_eq!(listing(&dst), Vec::<String>::new());
}

// Kind 5: deleted files came back. A file deleted on production and on staging returned on the
// next data_refresh, from dfab's local cache. The right behaviour: the cache mirrors the source
// exactly, with or without media_delete.
#[test]
fn k05_a_file_deleted_at_the_source_never_comes_back_from_the_cache() {
    let (src, dst) = pair();
    src.check(
        "root",
        "cd /srv/app/media && echo a > a.txt && echo b > b.txt && mkdir d && echo c > d/c.txt",
    );
    let dir = project(&[("dfab.toml", &envs(&src, &dst, ""))]);
    refresh(dir.path(), "").ok();
    assert_eq!(listing(&dst), ["a.txt", "b.txt", "d/c.txt"]);

    src.check("root", "rm -r /srv/app/media/b.txt /srv/app/media/d");
    dst.check("root", "rm -r /srv/app/media/b.txt /srv/app/media/d");
    refresh(dir.path(), "").ok();
    assert_eq!(listing(&dst), ["a.txt"]);
    let cache = dir.path().join("media/staging/srv/app/media");
    assert!(cache.join("a.txt").is_file());
    assert!(!cache.join("b.txt").exists(), "the cache kept b.txt");
    assert!(!cache.join("d").exists(), "the cache kept d/");
}

// Kind 6: symlinks that leave the media root were copied and served. `passwd -> /etc/passwd` in
// production's media became a symlink on staging. The right behaviour: no link leading out of
// the media path is ever created (in the cache or on a target), each one skipped is named, as is
// one already on a target, and links that stay inside are kept.
#[test]
fn k06_a_symlink_leaving_the_media_root_is_never_created_and_is_named() {
    let (src, dst) = pair();
    src.check(
        "root",
        "cd /srv/app/media && echo a > a.txt && mkdir sub && ln -s /etc/passwd passwd && \
         ln -s ../../../../etc sub/up && ln -s /srv/app/media/a.txt abs && ln -s a.txt ok && \
         ln -s ../a.txt sub/ok",
    );
    // One an earlier copy made: not removed without media_delete, but named.
    dst.check("root", "ln -s /etc/shadow /srv/app/media/old");
    let dir = project(&[("dfab.toml", &envs(&src, &dst, ""))]);
    let out = refresh(dir.path(), "").ok();
    assert!(
        out.stderr.contains(&format!(
            "[{}] data_refresh: /srv/app/media/old -> /etc/shadow is a symlink leading out",
            dst.ip
        )),
        "{}",
        out.stderr
    );
    for (link, to) in [
        ("passwd", "/etc/passwd"),
        ("sub/up", "../../../../etc"),
        ("abs", "/srv/app/media/a.txt"),
    ] {
        let said = format!("skipped symlink {link} -> {to} ");
        assert_eq!(
            out.stderr.matches(&said).count(),
            1,
            "{said:?} once in:\n{}",
            out.stderr
        );
    }
    assert_eq!(listing(&dst), ["a.txt", "ok", "old", "sub/ok"]);
    assert_eq!(
        dst.check("root", "readlink /srv/app/media/ok /srv/app/media/sub/ok"),
        "a.txt\n../a.txt\n"
    );
    let cache = dir.path().join("media/staging/srv/app/media");
    for gone in ["passwd", "sub/up", "abs"] {
        assert!(
            fs_err::symlink_metadata(cache.join(gone)).is_err(),
            "{gone} is in the cache"
        );
    }
}

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

// Kind 4, its output (review of issue 19): data_refresh printed rsync's raw output by default,
// the whole file list and --stats as `[localhost] out:` lines, and with an empty source first
// `[localhost] out: deleting fN.txt` for every file of the local cache before the refusal. The
// right behaviour: one line per step and host, counted from rsync's --stats (the pull saying it
// is the local cache); rsync's own lines only under -v.
#[test]
fn k04_data_refresh_says_one_line_per_step_and_host_and_rsyncs_lines_only_under_v() {
    let (src, dst) = pair();
    src.check(
        "root",
        "cd /srv/app/media && for i in $(seq 1 12); do echo $i > f$i.txt; done",
    );
    let dir = project(&[("dfab.toml", &envs(&src, &dst, "media_delete = true\n"))]);
    let out = refresh(dir.path(), "").ok();
    assert!(!out.stdout.contains("out: "), "{}", out.stdout);
    let line = |needle: &str, ip: &str| {
        out.stdout
            .lines()
            .find(|l| l.contains(needle) && l.contains(ip))
            .unwrap_or_default()
            .to_string()
    };
    let pulled = line("pulled into the local cache media/staging/", &src.ip);
    assert!(
        pulled.contains("data_refresh: media /srv/app/media/")
            && pulled.contains(": 12 files copied, 0 deleted, "),
        "{}",
        out.stdout
    );
    let pushed = line(
        "data_refresh: media /srv/app/media/: 12 files copied",
        &dst.ip,
    );
    assert!(pushed.ends_with(" s)"), "{}", out.stdout);
    assert_eq!(listing(&dst).len(), 12);

    // -v shows rsync's own lines.
    let out = Dfab::new(dir.path())
        .args(["-v", "staging", "data_refresh"])
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("out: Number of files"),
        "{}",
        out.stdout
    );

    // An empty source: the refusal, with no list of the cache's deletions before it.
    src.check("root", "rm -f /srv/app/media/*");
    let out = refresh(dir.path(), "");
    assert_eq!(out.code, 2, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("has no files"), "{}", out.stderr);
    assert!(!out.stdout.contains("deleting "), "{}", out.stdout);
    assert!(
        out.stdout.contains("0 files copied, 12 deleted"),
        "{}",
        out.stdout
    );
    assert_eq!(listing(&dst).len(), 12);
}
