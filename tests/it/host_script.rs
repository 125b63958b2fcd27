//! The host program (`host/dfab-host`) on a real host: each subcommand through the builders dfab
//! calls it with and the parsers that read it, over ssh into a test container; and its install
//! on first use, counted in sessions.

use std::path::{Path, PathBuf};

use dfab::deploy::remote::{self, InstallOpts};
use dfab::deploy::ship::Target;
use dfab::hostside;
use dfab::pipeline::lock;
use dfab::releases::{history, state};
use dfab::report::Capture;
use dfab::transport::cmd::Cmd;
use dfab::transport::ssh::{Ssh, SshTarget};
use dfab::transport::{Io, Output, Transport};
use dfab::web_mode::{switch, Server, WebSettings};

use crate::support::{TestHost, KEY};

const PKG: &str = "hs-demo";

/// A transport that counts its sessions (every command, put and get is one).
struct Counting {
    inner: Ssh,
    sessions: usize,
}

impl Transport for Counting {
    fn host(&self) -> &str {
        self.inner.host()
    }
    fn login_user(&self) -> &str {
        self.inner.login_user()
    }
    fn exec_io(
        &mut self,
        cmd: &Cmd,
        io: Io<'_>,
        echo: Option<&dyn dfab::report::Reporter>,
    ) -> dfab::error::Result<Output> {
        self.sessions += 1;
        self.inner.exec_io(cmd, io, echo)
    }
}

fn connect(h: &TestHost, user: &str) -> Counting {
    let target = SshTarget {
        label: h.ip.clone(),
        host: h.ip.clone(),
        user: Some(user.into()),
        key_filename: Some(KEY.into()),
        known_hosts_file: Some("/dev/null".into()),
        host_key_checking: Some("accept".into()),
        ..SshTarget::default()
    };
    Counting {
        inner: Ssh::connect(&target).expect("ssh to the test host"),
        sessions: 0,
    }
}

/// Run a host-program call (installing the program when it is missing).
#[track_caller]
fn call(t: &mut Counting, cmd: &Cmd) -> Output {
    hostside::exec(t, cmd, None).unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// A tiny real .deb of [`PKG`] at `version`; its postinst fails when `broken`.
fn deb(dir: &Path, version: &str, broken: bool) -> PathBuf {
    let root = dir.join(format!("build-{version}"));
    fs_err::create_dir_all(root.join("DEBIAN")).unwrap();
    fs_err::create_dir_all(root.join("usr/share/hs-demo")).unwrap();
    fs_err::write(root.join("usr/share/hs-demo/VERSION"), version).unwrap();
    fs_err::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: {PKG}\nVersion: {version}\nArchitecture: all\n\
             Maintainer: dfab tests <tests@example.com>\nDescription: the host program's tests\n"
        ),
    )
    .unwrap();
    if broken {
        let p = root.join("DEBIAN/postinst");
        fs_err::write(
            &p,
            "#!/bin/sh\necho 'postinst: refusing on purpose' >&2\nexit 1\n",
        )
        .unwrap();
        let mut perm = fs_err::metadata(&p).unwrap().permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o755);
        fs_err::set_permissions(&p, perm).unwrap();
    }
    let out = dir.join(format!("{PKG}_{version}_all.deb"));
    let o = std::process::Command::new("dpkg-deb")
        .args(["--root-owner-group", "--build"])
        .arg(&root)
        .arg(&out)
        .output()
        .expect("dpkg-deb (apt-get install dpkg)");
    assert!(o.status.success(), "dpkg-deb: {o:?}");
    out
}

fn file_of(deb: &Path) -> String {
    deb.file_name().unwrap().to_string_lossy().into_owned()
}

fn sha(deb: &Path) -> String {
    dfab::deploy::record::sha256_file(deb).unwrap()
}

/// What dpkg says on the host (the oracle, over plain ssh).
fn dpkg(h: &TestHost) -> String {
    String::from_utf8_lossy(
        &h.ssh(
            "root",
            &format!("dpkg-query -W -f='${{Version}} ${{db:Status-Abbrev}}' {PKG} 2>/dev/null"),
        )
        .stdout,
    )
    .trim()
    .to_string()
}

fn history_lines(h: &TestHost) -> Vec<history::Entry> {
    h.check("root", &format!("cat /var/lib/dfab/{PKG}/history"))
        .lines()
        .map(|l| history::parse_line(l).expect("a history line"))
        .collect()
}

const PLAIN: InstallOpts = InstallOpts {
    conffiles_new: false,
    downgrade: false,
    debconf: false,
    upload: None,
};

#[test]
fn the_host_program_goes_on_a_host_once() {
    let h = TestHost::new();
    let p = hostside::path();
    assert!(!h.ssh("root", &format!("test -e {p}")).status.success());
    // The first call, as a user who needs sudo, of a command that does not: the call finds the
    // program missing, and one more session installs it (as root) and runs the call.
    let mut t = connect(&h, "deploy");
    let rep = Capture::default();
    let o = hostside::exec(&mut t, &state::installed_cmd(PKG), Some(&rep)).unwrap();
    assert_eq!((o.status, o.stdout_str().as_str()), (0, "\n"), "{o:?}");
    assert_eq!(t.sessions, 2);
    let seen = rep.take();
    assert!(
        !seen.iter().any(|l| l.contains("not installed")),
        "the missing line was echoed: {seen:?}"
    );
    // The install is part of the call, not shown; the call's output (one empty line) is
    // echoed once.
    assert_eq!(seen, [format!("[{}] out: ", h.ip)]);
    assert_eq!(
        h.check("root", &format!("stat -c '%U %a' {p}; sha256sum < {p}")),
        format!(
            "root 755\n{}  -\n",
            dfab::transport::sha256_hex(hostside::PROGRAM.as_bytes())
        )
    );
    assert!(p.ends_with(&dfab::transport::sha256_hex(hostside::PROGRAM.as_bytes())[..16]));
    // Every later call: one session, on this connection and on a new one.
    let o = call(&mut t, &lock::status(PKG));
    assert_eq!(o.stdout_str(), "free\n");
    assert_eq!(t.sessions, 3);
    let mut t2 = connect(&h, "deploy");
    let o = call(&mut t2, &state::installed_cmd("dpkg"));
    assert!(o.stdout_str().ends_with("\tii \n"), "{o:?}");
    assert_eq!(t2.sessions, 1);
    // Echoing its output: the same.
    let o = hostside::exec(&mut t2, &lock::status(PKG), Some(&rep)).unwrap();
    assert_eq!(o.stdout_str(), "free\n");
    assert_eq!(t2.sessions, 2);
    assert_eq!(rep.take(), [format!("[{}] out: free", h.ip)]);
}

#[test]
fn preflight_install_unchanged_failed_prune_and_state() {
    let h = TestHost::new();
    let dir = tempfile::tempdir().unwrap();
    let debs = [
        deb(dir.path(), "1.0", false),
        deb(dir.path(), "1.1", true),
        deb(dir.path(), "1.2", false),
    ];
    let paths: Vec<String> = debs
        .iter()
        .map(|d| remote::release_path(PKG, &file_of(d)))
        .collect();
    let mut t = connect(&h, "root");
    let rep = Capture::default();

    // Before any upload: root, every tool, nothing there.
    let o = call(&mut t, &remote::preflight(&paths));
    assert_eq!(o.status, 0, "{o:?}");
    assert_eq!(o.stdout_str(), "0\n");
    // The upload: the directories made, nothing there yet; then the file; then its sha256.
    let check = remote::upload_check(PKG, &file_of(&debs[0]));
    let o = call(&mut t, &check);
    assert_eq!((o.status, o.stdout_str().as_str()), (0, ""), "{o:?}");
    for d in &debs {
        t.put(d, &remote::release_path(PKG, &file_of(d)), true, &rep)
            .unwrap();
    }
    let o = call(&mut t, &check);
    assert_eq!(
        o.stdout_str().split_whitespace().next(),
        Some(sha(&debs[0]).as_str())
    );
    let o = call(&mut t, &remote::preflight(&paths[..1]));
    assert_eq!(
        remote::parse_there(&o.stdout_str()),
        [(paths[0].clone(), sha(&debs[0]))]
    );
    assert!(!o.stdout_str().contains("missing"), "{o:?}");

    let files: Vec<String> = debs.iter().map(|d| file_of(d)).collect();
    let shas: Vec<String> = debs.iter().map(|d| sha(d)).collect();
    let target = |i: usize, version| Target {
        package: PKG,
        file: &files[i],
        version,
        sha256: &shas[i],
        action: "deploy",
        commit: None,
    };

    // A fresh install: dpkg's state before (none) and after, the fast path, one history line.
    let o = call(
        &mut t,
        &remote::install(&target(0, "1.0"), PLAIN, true, 5, "tester"),
    );
    let got = remote::parse_install(&o.stdout_str());
    assert_eq!(o.status, 0, "{o:?}");
    assert_eq!(got.before, None);
    assert_eq!(got.after, Some((0, Some(("1.0".into(), "ii ".into())))));
    assert!(!got.unchanged && !got.history_failed);
    assert!(
        got.output
            .contains("dfab: every dependency is installed: dpkg -i"),
        "{}",
        got.output
    );
    // Fewer than `keep` releases kept: no listing.
    assert!(got.state.kept.is_empty() && got.state.history.is_empty());
    assert_eq!(dpkg(&h), "1.0 ii");
    let hist = history_lines(&h);
    assert_eq!(hist.len(), 1);
    let first = &hist[0];
    assert_eq!(
        [
            &first.version,
            &first.sha256,
            &first.user,
            &first.dfab,
            &first.outcome,
            &first.action
        ],
        [
            "1.0",
            &shas[0],
            "tester",
            env!("CARGO_PKG_VERSION"),
            "ok",
            "deploy"
        ]
    );

    // The same again: unchanged, nothing installed, an `unchanged` line.
    let o = call(
        &mut t,
        &remote::install(&target(0, "1.0"), PLAIN, true, 5, "tester"),
    );
    let got = remote::parse_install(&o.stdout_str());
    assert_eq!(o.status, 0);
    assert!(got.unchanged && got.after.is_none(), "{o:?}");
    assert_eq!(got.before, Some(("1.0".into(), "ii ".into())));
    assert_eq!(history_lines(&h)[1].outcome, "unchanged");

    // Forced, with a debconf database on stdin: reinstalled, and the temp directory is gone.
    let opts = InstallOpts {
        debconf: true,
        ..PLAIN
    };
    let cmd = remote::install(&target(0, "1.0"), opts, false, 5, "tester")
        .stdin(b"Name: hs-demo/x\nTemplate: hs-demo/x\nValue: y\nOwners: hs-demo\n".to_vec());
    let o = call(&mut t, &cmd);
    let got = remote::parse_install(&o.stdout_str());
    assert_eq!(
        got.after,
        Some((0, Some(("1.0".into(), "ii ".into())))),
        "{o:?}"
    );
    // What is left beside the releases: the digest of the answers applied, not the answers.
    assert_eq!(
        h.check("root", &format!("ls -A /var/lib/dfab/{PKG}")),
        "answers\nhistory\nlock\nreleases\n"
    );
    assert_eq!(
        h.check("root", &format!("cat /var/lib/dfab/{PKG}/answers")),
        format!(
            "1.0\t{}\n",
            dfab::transport::sha256_hex(
                b"Name: hs-demo/x\nTemplate: hs-demo/x\nValue: y\nOwners: hs-demo\n"
            )
        )
    );

    // A postinst that fails: the install's exit status, dpkg's half-configured state, `failed`.
    let o = call(
        &mut t,
        &remote::install(&target(1, "1.1"), PLAIN, true, 5, "tester"),
    );
    let got = remote::parse_install(&o.stdout_str());
    let (rc, after) = got.after.clone().expect("dfab-after");
    assert_ne!(rc, 0, "{o:?}");
    assert_eq!(o.status, rc);
    assert_eq!(after.as_ref().map(|(v, _)| v.as_str()), Some("1.1"));
    assert_ne!(after.as_ref().map(|(_, s)| s.as_str()), Some("ii "));
    assert!(got.output.contains("refusing on purpose"), "{}", got.output);
    assert_eq!(history_lines(&h)[3].outcome, "failed");
    assert_eq!(history_lines(&h)[3].version, "1.1");

    // 1.2 with keep 2: three kept, so the listing comes with the report; the prune it picks
    // keeps 1.2 and the release a rollback goes back to (1.0), and drops the failed 1.1.
    let o = call(
        &mut t,
        &remote::install(&target(2, "1.2"), PLAIN, true, 2, "tester"),
    );
    let got = remote::parse_install(&o.stdout_str());
    assert_eq!(
        got.after,
        Some((0, Some(("1.2".into(), "ii ".into())))),
        "{o:?}"
    );
    let kept: Vec<(&str, &str)> = got
        .state
        .kept
        .iter()
        .map(|k| (k.version.as_str(), k.file.as_str()))
        .collect();
    assert_eq!(
        kept,
        [
            ("1.0", "hs-demo_1.0_all.deb"),
            ("1.1", "hs-demo_1.1_all.deb"),
            ("1.2", "hs-demo_1.2_all.deb")
        ]
    );
    assert_eq!(got.state.history.len(), 5);
    let old = state::to_prune(&got.state, 2, "1.2");
    assert_eq!(old, ["hs-demo_1.1_all.deb"]);
    let o = call(&mut t, &state::prune_cmd(PKG, &old));
    assert_eq!(o.status, 0, "{o:?}");
    assert_eq!(
        h.check("root", &format!("ls /var/lib/dfab/{PKG}/releases")),
        "hs-demo_1.0_all.deb\nhs-demo_1.2_all.deb\n"
    );

    // The state as `releases` and `rollback` read it.
    let o = call(&mut t, &state::read_cmd(PKG));
    let st = state::parse(&o.stdout_str());
    assert_eq!(st.configured(), Some("1.2"));
    assert_eq!(st.kept_list(), "1.0, 1.2");
    assert_eq!(st.history.len(), 5);
    assert_eq!(state::rollback_target(&st, None).unwrap().version, "1.0");
    let o = call(&mut t, &state::installed_cmd(PKG));
    assert_eq!(
        state::parse_installed(&o.stdout_str()),
        Some(("1.2".into(), "ii ".into()))
    );

    // A history line written on its own (as after an install that never reported).
    let rec = history::Record {
        package: PKG,
        version: "1.3",
        sha256: "abc",
        outcome: history::Outcome::Failed,
        action: "rollback",
        commit: None,
    };
    assert_eq!(call(&mut t, &history::append(&rec, "an admin")).status, 0);
    let last = history_lines(&h).pop().unwrap();
    assert_eq!(
        [&last.version, &last.user, &last.outcome, &last.action],
        ["1.3", "an_admin", "failed", "rollback"]
    );
}

#[test]
fn lock_web_mode_and_a_bad_call() {
    let h = TestHost::new();
    let mut t = connect(&h, "deploy");

    // The lock: taken, refused to another token (naming the holder, never its token),
    // refreshed and released only by its own, broken by force.
    let report = ["dpkg".to_string(), "no-such-package-dfab".to_string()];
    let o = call(
        &mut t,
        &lock::acquire(PKG, "ann@laptop", "deploy prod", "t1", &report),
    );
    assert_eq!(o.status, 0, "{o:?}");
    let out = o.stdout_str();
    assert!(
        out.starts_with(&format!("lock: acquired /var/lib/dfab/{PKG}/deploy.lock\n")),
        "{out}"
    );
    let got = lock::parse_installed(&out, &report);
    assert!(matches!(&got[0].1, Some((_, s)) if s == "ii "), "{got:?}");
    assert_eq!(got[1].1, None);
    let o = call(&mut t, &lock::acquire(PKG, "bob@pc", "deploy", "t2", &[]));
    assert_eq!(o.status, lock::HELD);
    let out = o.stdout_str();
    assert!(out.starts_with(lock::HELD_MARK), "{out}");
    assert!(
        lock::holder(&out).starts_with("ann@laptop (deploy prod, since 20"),
        "{out}"
    );
    assert!(!out.contains("t1"), "the token leaked: {out}");
    let o = call(&mut t, &lock::status(PKG));
    assert_eq!(o.status, 0);
    assert!(o.stdout_str().contains("\nwho=ann@laptop\n"), "{o:?}");
    assert!(o.stdout_str().contains("\nage="), "{o:?}");
    assert_eq!(call(&mut t, &lock::refresh(PKG, "t1")).status, 0);
    let o = call(&mut t, &lock::refresh(PKG, "t2"));
    assert_eq!(o.status, lock::HELD);
    assert!(
        o.stderr_str().contains("is no longer held by this deploy"),
        "{o:?}"
    );
    let o = call(&mut t, &lock::release(PKG, "t2"));
    assert_eq!(o.status, lock::HELD);
    assert!(lock::holder(&o.stdout_str()).starts_with("ann@laptop"));
    let o = call(&mut t, &lock::release(PKG, "t1"));
    assert_eq!(
        (o.status, o.stdout_str()),
        (
            0,
            format!("lock: released /var/lib/dfab/{PKG}/deploy.lock\n")
        )
    );
    assert_eq!(call(&mut t, &lock::status(PKG)).stdout_str(), "free\n");
    assert_eq!(
        call(&mut t, &lock::acquire(PKG, "bob@pc", "x", "t2", &[])).status,
        0
    );
    let o = call(&mut t, &lock::force_release(PKG));
    let out = o.stdout_str();
    assert!(out.starts_with("lock: broken: who=bob@pc\n"), "{out}");
    assert!(
        out.ends_with(&format!("lock: broke /var/lib/dfab/{PKG}/deploy.lock\n")),
        "{out}"
    );
    assert!(!out.contains("t2"), "{out}");
    assert_eq!(call(&mut t, &lock::status(PKG)).stdout_str(), "free\n");

    // The maintenance switch.
    let s = WebSettings {
        env_name: "staging".into(),
        remote_path: "/srv/hs/".into(),
        flag: "/srv/hs/maintenance.on".into(),
        page: "/srv/hs/maintenance.html".into(),
        state: "/srv/hs/.dfab-web-mode".into(),
        allow: Vec::new(),
        bypass: Vec::new(),
        retry_after: 60,
        server: Server::Nginx,
        snippet_path: "/etc/nginx/snippets/hs-maintenance.conf".into(),
        check_url: None,
        package: None,
    };
    let o = call(&mut t, &switch::status(&s));
    assert_eq!(
        o.stdout_str(),
        "web_mode: live (no switch recorded by dfab); not asked of the web server \
         (maintenance_check_url is False)\n"
    );
    let o = call(&mut t, &switch::maintenance(&s, "<p>back soon</p>\n"));
    assert_eq!(
        (o.status, o.stdout_str().as_str()),
        (
            0,
            "web_mode: maintenance on (flag /srv/hs/maintenance.on)\n"
        )
    );
    assert!(
        o.stderr_str().contains(
            "web_mode: warning: no maintenance snippet at /etc/nginx/snippets/hs-maintenance.conf"
        ),
        "{o:?}"
    );
    assert_eq!(
        h.check(
            "root",
            "stat -c %a /srv/hs/maintenance.html; cat /srv/hs/maintenance.html; ls -A /srv/hs"
        ),
        "644\n<p>back soon</p>\nmaintenance.html\nmaintenance.on\n"
    );
    let o = call(&mut t, &switch::maintenance(&s, "other"));
    assert!(
        o.stdout_str()
            .starts_with("web_mode: already in maintenance since 20"),
        "{o:?}"
    );
    assert!(o.stdout_str().ends_with("; nothing changed\n"), "{o:?}");
    assert!(call(&mut t, &switch::status(&s))
        .stdout_str()
        .starts_with("web_mode: maintenance since 20"));
    let o = call(&mut t, &switch::live(&s));
    assert_eq!(
        o.stdout_str(),
        "web_mode: live (flag /srv/hs/maintenance.on removed)\n"
    );
    assert!(!h
        .ssh("root", "test -e /srv/hs/maintenance.on")
        .status
        .success());
    assert!(call(&mut t, &switch::status(&s))
        .stdout_str()
        .starts_with("web_mode: live since 20"));
    let o = call(&mut t, &switch::live(&s));
    assert!(
        o.stdout_str()
            .starts_with("web_mode: already live since 20"),
        "{o:?}"
    );

    // A bad call: exit 2, the reason and the usage on stderr, nothing else done.
    for (args, why) in [
        (vec!["bogus"], "dfab-host: unknown subcommand 'bogus'"),
        (vec![], "usage: dfab-host <subcommand> [arguments]"),
        (
            vec!["prune", PKG, "../../etc/passwd"],
            "dfab-host: not a release file name: '../../etc/passwd'",
        ),
        (
            vec!["lock", "status", "Bad/Name"],
            "dfab-host: not a package name: 'Bad/Name'",
        ),
    ] {
        let o = call(&mut t, &hostside::call(&args).sudo(None));
        assert_eq!(o.status, 2, "{args:?}: {o:?}");
        assert!(o.stdout.is_empty(), "{args:?}: {o:?}");
        let err = o.stderr_str();
        assert_eq!(err.lines().next(), Some(why), "{err}");
        assert!(
            err.contains("\n  lock take [--preflight] [--there PATH]... <package> <who> <what>"),
            "{err}"
        );
    }
    assert!(h.ssh("root", "test -e /etc/passwd").status.success());
}

// The upload and the install were two sessions (a put, then the install); now the .deb streams
// into the install (`--deb-size`), checked by sha256 on the host before it is used; a rollback
// passes `-` and the host takes the kept file's sha256 for the history.
#[test]
fn the_deb_streams_into_the_install_and_a_wrong_sum_installs_nothing() {
    let h = TestHost::new();
    let dir = tempfile::tempdir().unwrap();
    let debs = [deb(dir.path(), "2.0", false), deb(dir.path(), "2.1", false)];
    let mut t = connect(&h, "root");
    // The program goes on the host with the first call, as the preflight does in a deploy.
    call(&mut t, &remote::preflight(&[]));
    let files: Vec<String> = debs.iter().map(|d| file_of(d)).collect();
    let shas: Vec<String> = debs.iter().map(|d| sha(d)).collect();
    let streamed = |t: &mut Counting, i: usize, sha256: &str| {
        let target = Target {
            package: PKG,
            file: &files[i],
            version: if i == 0 { "2.0" } else { "2.1" },
            sha256,
            action: "deploy",
            commit: None,
        };
        let size = fs_err::metadata(&debs[i]).unwrap().len();
        let opts = InstallOpts {
            upload: Some(size),
            ..PLAIN
        };
        let cmd = remote::install(&target, opts, true, 5, "tester");
        let mut f = fs_err::File::open(&debs[i]).unwrap();
        let io = Io {
            stdin: Some(&mut f),
            stdout: None,
        };
        hostside::exec_io(t, &cmd, io, None).unwrap()
    };
    // A wrong sum: refused before use, nothing left (releases/, made for it, goes too),
    // nothing installed.
    let before = t.sessions;
    let o = streamed(&mut t, 0, &shas[1]);
    assert_eq!(o.status, 70, "{o:?}");
    assert!(o.stderr_str().contains("checksum mismatch"), "{o:?}");
    assert_eq!(t.sessions, before + 1);
    h.check("root", &format!("test ! -e /var/lib/dfab/{PKG}/releases"));
    assert_eq!(dpkg(&h), "");
    // The right one: received, installed, recorded, in one session.
    let before = t.sessions;
    let o = streamed(&mut t, 0, &shas[0]);
    assert_eq!(t.sessions, before + 1);
    let got = remote::parse_install(&o.stdout_str());
    assert_eq!(
        got.after,
        Some((0, Some(("2.0".into(), "ii ".into())))),
        "{o:?}"
    );
    assert!(o.stdout_str().contains("dfab-received"), "{o:?}");
    assert_eq!(
        h.check(
            "root",
            &format!("sha256sum < /var/lib/dfab/{PKG}/releases/{}", files[0])
        )
        .split_whitespace()
        .next(),
        Some(shas[0].as_str())
    );
    streamed(&mut t, 1, &shas[1]);
    // Back to 2.0 with `-`: the history line carries 2.0's real sha256, taken on the host.
    let back = Target {
        package: PKG,
        file: &files[0],
        version: "2.0",
        sha256: "-",
        action: "rollback",
        commit: None,
    };
    let opts = InstallOpts {
        downgrade: true,
        ..PLAIN
    };
    let o = call(&mut t, &remote::install(&back, opts, false, 5, "tester"));
    assert_eq!(o.status, 0, "{o:?}");
    let last = history_lines(&h).pop().unwrap();
    assert_eq!(
        [
            last.version.as_str(),
            last.sha256.as_str(),
            last.action.as_str()
        ],
        ["2.0", shas[0].as_str(), "rollback"]
    );
}
