//! `deploy_strategy = 'apt'` on real containers: `apt.keygen`, `deb.publish` with aptly into a
//! repository that nginx serves on the bridge, `init` installing the signed source, and a fleet
//! of eight hosts installing, upgrading and rolling back from it, the operator sending no .deb
//! bytes (measured on each container's veth); a tampered `InRelease`, an unreachable repository
//! and versions the repository does not hold, each refused by name with nothing installed.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::faults::{installed, App, Strategy};
use crate::support::{sh, Outcome, TestHost};

/// nginx serving `root` on the bridge address at a port of its own; stopped on drop.
struct Repo {
    dir: tempfile::TempDir,
    port: u16,
}

impl Repo {
    fn serve(root: &Path) -> Repo {
        let dir = tempfile::Builder::new()
            .prefix("dfab-it-nginx-")
            .tempdir()
            .unwrap();
        // A port nobody holds now on the bridge address (this test's own).
        let port = TcpListener::bind("10.0.3.1:0")
            .expect("bind on lxcbr0's 10.0.3.1: run `sudo bash scripts/setup-host`")
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let conf = format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n\
             log_format bytes '$remote_addr $bytes_sent $request';\n\
             access_log {d}/access.log bytes;\n\
             client_body_temp_path {d}/cb; proxy_temp_path {d}/p; fastcgi_temp_path {d}/f;\n\
             uwsgi_temp_path {d}/u; scgi_temp_path {d}/s;\n\
             server {{ listen 10.0.3.1:{port}; root {root}; location ~ /\\. {{ deny all; }} }}\n}}\n",
            root = root.display()
        );
        fs_err::write(dir.path().join("nginx.conf"), conf).unwrap();
        let out = sh(&[
            "nginx",
            "-p",
            &d.to_string(),
            "-c",
            &format!("{d}/nginx.conf"),
        ]);
        assert!(
            out.status.success(),
            "nginx (apt-get install nginx-light, or `sudo bash scripts/setup-host`): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Repo { dir, port }
    }

    fn url(&self) -> String {
        format!("http://10.0.3.1:{}/", self.port)
    }

    /// Bytes nginx sent to `ip` so far (its access log).
    fn sent_to(&self, ip: &str) -> u64 {
        fs_err::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                (w.next() == Some(ip)).then(|| w.next()?.parse::<u64>().ok())?
            })
            .sum()
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let pid = fs_err::read_to_string(self.dir.path().join("nginx.pid")).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    }
}

/// Bytes sent from this machine to the container so far: the tx counter of its veth on the
/// bridge side (everything that reaches it: ssh from dfab and HTTP from nginx).
fn to_container(h: &TestHost) -> u64 {
    let info = String::from_utf8_lossy(&sh(&["lxc-info", "-n", &h.name, "-H"]).stdout).into_owned();
    let link = info
        .lines()
        .find_map(|l| l.strip_prefix("Link:"))
        .map_or_else(
            || panic!("lxc-info names no veth for {}: {info}", h.name),
            |l| l.trim().to_string(),
        );
    fs_err::read_to_string(format!("/sys/class/net/{link}/statistics/tx_bytes"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Eight hosts at once (each an overlay clone with sshd), and nginx started in each so `init`'s
/// snippet reload has a server.
fn fleet(n: usize) -> Vec<TestHost> {
    let hosts: Vec<TestHost> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..n).map(|_| s.spawn(TestHost::new)).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for h in &hosts {
        h.check("root", "nginx");
    }
    hosts
}

/// What a run printed, both streams (a fleet's host errors are in its summary on stdout).
fn all(o: &Outcome) -> String {
    format!("{}{}", o.stdout, o.stderr)
}

fn all_at(hosts: &[TestHost], want: &str) {
    for h in hosts {
        assert_eq!(installed(h), want, "on {}", h.ip);
    }
}

fn apt_toml(url: &str, repo: &Path, extra: &str) -> String {
    format!(
        "deploy_strategy = \"apt\"\napt_repo = \"{}\"\napt_url = \"{url}\"\n\
         apt_signing_key = \"keys/staging.key\"\nremote_path = \"/srv/app/\"\napp_user = \"app\"\n\
         maintenance_check_url = false\n{extra}",
        repo.display()
    )
}

/// The whole story on eight hosts, each sharing these containers: keygen, publish 1.0 and 1.1
/// (the same build twice is a no-op), init, install 1.0, upgrade to 1.1 with no .deb byte
/// from the operator, roll back to 1.0; then a tampered `InRelease` is refused as a signature
/// failure; a version never published, and one pruned by `apt_keep_versions`, are refused by
/// name; a host whose source cannot reach the repository is refused by name.
#[test]
fn apt_fleet_installs_upgrades_and_rolls_back_from_a_signed_repository() {
    let hosts = fleet(8);
    let ips: Vec<String> = hosts.iter().map(|h| h.ip.clone()).collect();
    let repo_dir = tempfile::Builder::new()
        .prefix("dfab-it-apt-")
        .tempdir()
        .unwrap();
    let repo: PathBuf = repo_dir.path().join("repo");
    let served = Repo::serve(&repo);
    let app = App::new(
        Strategy::DpkgPush,
        &ips,
        // Each host keeps only the installed release, so a rollback fetches from the repository.
        &apt_toml(
            &served.url(),
            &repo,
            "apt_keep_versions = 2\nkeep_releases = 1\n",
        ),
    );
    // A 1 MiB incompressible file in the package, so a .deb in the traffic would show.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let blob: Vec<u8> = (0..1_048_576)
        .map(|_| {
            // xorshift64: bytes no compressor shrinks.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect();
    fs_err::write(app.path().join("share/blob"), &blob).unwrap();
    let install = app.path().join("debian/install");
    let mut list = fs_err::read_to_string(&install).unwrap();
    list.push_str("share/blob usr/share/deploy-app\n");
    fs_err::write(&install, list).unwrap();

    // The key: made here, the secret part never printed, 0600.
    let out = app.dfab(&["staging", "apt.keygen"]).ok();
    assert!(
        out.stdout.contains("keys/staging.asc")
            && out.stdout.contains("/etc/apt/keyrings/dfab-staging.asc"),
        "{}",
        out.stdout
    );
    let secret = fs_err::read_to_string(app.path().join("keys/staging.key")).unwrap();
    assert!(secret.contains("PRIVATE KEY BLOCK"));
    let body = secret.lines().nth(2).unwrap();
    assert!(!all(&out).contains(body));
    let mode = fs_err::metadata(app.path().join("keys/staging.key"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // Publish 1.0, and again: a no-op that says so; then 1.1.
    app.build("1.0", "");
    let out = app.dfab(&["staging", "deb.publish"]).ok();
    assert!(
        out.stdout.contains("published deploy-app 1.0"),
        "{}",
        out.stdout
    );
    assert!(repo.join("dists/staging/InRelease").is_file());
    let out = app.dfab(&["staging", "deb.publish"]).ok();
    assert!(
        out.stdout.contains("is published already") && out.stdout.contains("nothing to do"),
        "{}",
        out.stdout
    );
    app.build("1.1", "");
    app.dfab(&["staging", "deb.publish"]).ok();
    // Another build under a published version is refused, and the repository keeps its own.
    app.build("1.1", "other bytes");
    let out = app.dfab(&["staging", "deb.publish"]);
    assert_eq!(out.code, 1, "{}", all(&out));
    assert!(
        all(&out).contains("deploy-app 1.1 is in the repository already as another build"),
        "{}",
        all(&out)
    );

    // Before init, a deploy names the missing source.
    app.build("1.0", "");
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1);
    assert!(
        all(&out).contains("the env's APT source is not installed")
            && all(&out).contains("dfab staging init"),
        "{}",
        all(&out)
    );
    all_at(&hosts, "");

    let out = app.dfab(&["staging", "init"]).ok();
    assert!(
        out.stdout
            .contains("source /etc/apt/sources.list.d/dfab-staging.sources"),
        "{}",
        out.stdout
    );
    let src = hosts[0].check("root", "cat /etc/apt/sources.list.d/dfab-staging.sources");
    assert_eq!(
        src,
        format!(
            "Types: deb\nURIs: {}\nSuites: staging\nComponents: main\n\
             Signed-By: /etc/apt/keyrings/dfab-staging.asc\n",
            served.url()
        )
    );
    // Nothing else about the host's sources changed.
    assert_eq!(
        hosts[0].check("root", "ls /etc/apt/sources.list.d/"),
        "dfab-staging.sources\n"
    );

    // -n contacts neither the repository nor the hosts.
    let out = app.dfab(&["-n", "staging", "deb.deploy"]).ok();
    assert!(
        out.stdout.contains("would install deploy-app 1.0"),
        "{}",
        out.stdout
    );
    for ip in &ips {
        assert_eq!(served.sent_to(ip), 0, "-n made {ip} fetch");
    }

    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    assert_eq!(
        out.stdout
            .matches("installed deploy-app 1.0 (from the APT repository)")
            .count(),
        8,
        "{}",
        out.stdout
    );
    all_at(&hosts, "1.0 ii");
    assert_eq!(
        hosts[3].check("root", "cat /var/lib/deploy-app/config"),
        "site_name=shop.example.com\nworkers=1\npassword_length=13\n"
    );
    for h in &hosts {
        let nginx = served.sent_to(&h.ip);
        assert!(
            nginx > 1_000_000,
            "{} fetched {nginx} bytes from the repository",
            h.ip
        );
    }

    // The upgrade: the operator sends commands, the hosts fetch the .deb.
    app.build("1.1", "");
    let veth0: Vec<u64> = hosts.iter().map(to_container).collect();
    let nginx0: Vec<u64> = hosts.iter().map(|h| served.sent_to(&h.ip)).collect();
    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    assert_eq!(
        out.stdout.matches("upgraded deploy-app 1.0 → 1.1").count(),
        8,
        "{}",
        out.stdout
    );
    all_at(&hosts, "1.1 ii");
    let deb = fs_err::metadata(app.deb("1.1")).unwrap().len();
    let mut report = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let from_repo = served.sent_to(&h.ip) - nginx0[i];
        let total = to_container(h) - veth0[i];
        let from_operator = total.saturating_sub(from_repo);
        report.push(format!(
            "{}: {from_operator} B from dfab, {from_repo} B from nginx",
            h.ip
        ));
        assert!(
            from_repo >= deb,
            "{}: nginx sent {from_repo} B, the .deb is {deb} B",
            h.ip
        );
        // Ethernet, IP and TCP headers of the repository's packets count on the veth too: a
        // .deb (1 MiB and more) through dfab's ssh would be far above this.
        assert!(
            from_operator < deb / 4,
            "{}: {from_operator} B besides the repository's (the .deb is {deb} B)",
            h.ip
        );
    }
    eprintln!(
        "apt upgrade, bytes to each host ({deb} B .deb):\n{}",
        report.join("\n")
    );

    let out = app.dfab(&["-y", "staging", "rollback"]).ok();
    assert_eq!(
        out.stdout.matches("rolled back to deploy-app 1.0").count(),
        8,
        "{}",
        out.stdout
    );
    all_at(&hosts, "1.0 ii");

    // The wrapped deploy, rolling through APT: the build published first, then two batches of
    // four, each checked with health_url (nginx's page in each container).
    let toml = app.path().join("dfab.toml");
    let text = fs_err::read_to_string(&toml).unwrap().replace(
        "deploy_strategy = \"apt\"",
        "deploy_strategy = \"apt,rolling\"\nrolling_batch = 4\nhealth_url = \"http://127.0.0.1/\"\n\
         deploy = [\"deb.build:version=1.1\", \"deb.publish\", \"deb.deploy\"]",
    );
    fs_err::write(&toml, text).unwrap();
    let out = app.dfab(&["staging", "deploy"]).ok();
    let said = all(&out);
    assert!(
        said.contains("rolling batch 2 of 2")
            && said.contains("is published already")
            && said
                .matches("upgraded deploy-app 1.0 → 1.1 (from the APT repository)")
                .count()
                == 8,
        "{said}"
    );
    all_at(&hosts, "1.1 ii");

    // A tampered InRelease: apt refuses it, dfab says it is the signature; nothing installed.
    let inrelease = repo.join("dists/staging/InRelease");
    let good = fs_err::read_to_string(&inrelease).unwrap();
    fs_err::write(
        &inrelease,
        good.replace("Label: dfab-staging", "Label: evil-staging"),
    )
    .unwrap();
    app.build("1.2", "");
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1, "{}", all(&out));
    assert!(
        all(&out).contains("apt refused the repository's signature (apt_signing_key)")
            && all(&out).contains("BADSIG")
            && !all(&out).contains("installing deploy-app 1.2 failed"),
        "{}",
        all(&out)
    );
    all_at(&hosts, "1.1 ii");
    fs_err::write(&inrelease, good).unwrap();

    // A version never published is named, with the task that publishes it.
    let out = app.dfab(&["staging", "deb.deploy"]);
    assert_eq!(out.code, 1);
    assert!(
        all(&out).contains("the repository does not hold this version")
            && all(&out).contains("deb.publish"),
        "{}",
        all(&out)
    );
    all_at(&hosts, "1.1 ii");
    // Publishing 1.2 with apt_keep_versions = 2 prunes 1.0; a rollback to it is refused by name.
    let out = app.dfab(&["staging", "deb.publish"]).ok();
    assert!(
        out.stdout.contains("pruned deploy-app 1.0"),
        "{}",
        out.stdout
    );
    app.dfab(&["-H", &ips[0], "staging", "deb.deploy"]).ok();
    assert_eq!(installed(&hosts[0]), "1.2 ii");
    let out = app.dfab(&["-y", "-H", &ips[0], "staging", "rollback:version=1.0"]);
    assert_eq!(out.code, 1);
    assert!(
        all(&out).contains("does not hold this version") && all(&out).contains("apt_keep_versions"),
        "{}",
        all(&out)
    );
    assert_eq!(installed(&hosts[0]), "1.2 ii");

    // A host that cannot reach the repository: its source points at a port nobody serves.
    fs_err::write(
        app.path().join("dfab.toml"),
        fs_err::read_to_string(app.path().join("dfab.toml"))
            .unwrap()
            .replace(&served.url(), "http://10.0.3.1:9/"),
    )
    .unwrap();
    app.dfab(&["-H", &ips[1], "staging", "init"]).ok();
    let out = app.dfab(&["-H", &ips[1], "staging", "deb.deploy"]);
    assert_eq!(out.code, 1);
    assert!(
        all(&out).contains("cannot reach the repository (apt_url)"),
        "{}",
        all(&out)
    );
    assert_eq!(installed(&hosts[1]), "1.1 ii");

    // A missing signing key, and a key other than the one the hosts trust, are refused by name
    // before the repository changes.
    let text = fs_err::read_to_string(&toml).unwrap();
    fs_err::write(&toml, text.replace("keys/staging.key", "keys/gone.key")).unwrap();
    let out = app.dfab(&["staging", "deb.publish"]);
    assert_eq!(out.code, 2, "{}", all(&out));
    assert!(
        all(&out).contains("apt_signing_key: the key file")
            && all(&out).contains("keys/gone.key does not exist"),
        "{}",
        all(&out)
    );
    fs_err::write(&toml, text.replace("keys/staging.key", "keys/other.key")).unwrap();
    app.dfab(&["staging", "apt.keygen"]).ok();
    let before = fs_err::read(&inrelease).unwrap();
    let out = app.dfab(&["staging", "deb.publish"]);
    assert_eq!(out.code, 2, "{}", all(&out));
    assert!(
        all(&out).contains("apt_signing_key: the repository")
            && all(&out).contains("the hosts trust the first"),
        "{}",
        all(&out)
    );
    assert_eq!(fs_err::read(&inrelease).unwrap(), before);
}

/// `apt_repo = 'host:path'`: aptly and the key stay here, the signed tree is mirrored to the
/// repository host over ssh (its `.aptly` and no secret key there), whose nginx serves it to a
/// host that installs from it; publishing again is a no-op that mirrors nothing new.
#[test]
fn a_repository_on_another_host_is_mirrored_over_ssh_and_served_from_there() {
    let (repo_host, host) = std::thread::scope(|s| {
        let r = s.spawn(TestHost::new);
        let h = s.spawn(TestHost::new);
        (r.join().unwrap(), h.join().unwrap())
    });
    repo_host.check(
        "root",
        "printf 'server { listen 8080; root /srv/apt; location ~ /\\. { deny all; } }\\n' \
         > /etc/nginx/conf.d/apt.conf && nginx",
    );
    host.check("root", "nginx");
    let url = format!("http://{}:8080/", repo_host.ip);
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&host.ip),
        &format!(
            "deploy_strategy = \"apt\"\napt_repo = \"{}:/srv/apt\"\napt_url = \"{url}\"\n\
             apt_signing_key = \"keys/staging.key\"\nremote_path = \"/srv/app/\"\n\
             app_user = \"app\"\nmaintenance_check_url = false\n",
            repo_host.ip
        ),
    );
    app.dfab(&["staging", "apt.keygen"]).ok();
    app.build("1.0", "");
    let out = app.dfab(&["staging", "deb.publish"]).ok();
    assert!(
        out.stdout.contains("mirrored")
            && out.stdout.contains(&format!("{}:/srv/apt/", repo_host.ip)),
        "{}",
        all(&out)
    );
    assert!(app.path().join(".dfab/apt/staging/repo/.aptly").is_dir());
    assert_eq!(
        repo_host.check(
            "root",
            "test -f /srv/apt/dists/staging/InRelease && ls -A /srv/apt; \
             grep -rl 'PRIVATE KEY' /srv/apt || true"
        ),
        "dfab-staging.asc\ndists\npool\n"
    );
    app.dfab(&["staging", "init"]).ok();
    let out = app.dfab(&["staging", "deb.deploy"]).ok();
    assert!(
        out.stdout
            .contains("installed deploy-app 1.0 (from the APT repository)"),
        "{}",
        all(&out)
    );
    assert_eq!(installed(&host), "1.0 ii");
    let out = app.dfab(&["staging", "deb.publish"]).ok();
    assert!(out.stdout.contains("nothing to do"), "{}", all(&out));
}
