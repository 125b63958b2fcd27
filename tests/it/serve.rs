//! `dfab serve` in real headless Chromium against a real container: sign-in, the environments
//! page (an env named `<script>alert(1)</script>` shown escaped), a deploy watched live to its
//! success and the new release in the host's history, a failing deploy showing its failing step,
//! a viewer who cannot start a job, a form without its CSRF token refused, no secret in any page,
//! event stream or `SQLite` row, a restart during a job that shows it interrupted and a resume
//! from the page that finishes it, then a rollback and maintenance on and off from the page. Screenshots of each page go to target/serve-screenshots/.

use std::io::{Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::serve_support::{add_user, http, Browser, Server};
use crate::support::{copy_tree, deploy_app_fixture, project, TestHost, KEY};

const DEBCONF: &str = "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\n\
Value: shop.example.com\nOwners: deploy-app\nFlags: seen\n";

/// The project: env `staging` on `h`, whose deploy runs a `check` task that fails while the
/// host has /etc/fail-check and waits while it has /etc/slow-check; and an env whose name is
/// markup.
fn app(h: &TestHost, secret: &str) -> tempfile::TempDir {
    let toml = format!(
        "# the serve test's project: this comment must survive the form\n\
         [environments.staging]\nhosts = [\"{ip}\"]\nuser = \"deploy\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\ndebconf = \"debconf.dat\"\nremote_path = \"/srv/app/\"\n\
         app_user = \"app\"\npackage_name = \"deploy-app\"\ndb_password = \"{secret}\"\n\
         deploy = [\"deb.build\", \"deb.deploy\", \"check\"]\nmaintenance_check_url = false\n\n\
         [environments.\"<script>alert(1)</script>\"]\nhosts = [\"x.dfab-test.invalid\"]\nprotected = true\n\n\
         [tasks.check]\nsteps = [{{ run = \"echo checking with {{db_password}} > /dev/null; test ! -e /etc/fail-check && {{ test ! -e /etc/slow-check || sleep 20; }}\" }}]\n",
        ip = h.ip
    );
    let dir = project(&[("dfab.toml", &toml), ("debconf.dat", DEBCONF)]);
    copy_tree(&deploy_app_fixture(), dir.path());
    dir
}

/// Set the next build's version.
fn version(dir: &Path, v: &str) {
    fs_err::write(dir.join("share/VERSION"), format!("{v}\n")).unwrap();
    fs_err::write(
        dir.join("debian/changelog"),
        format!("deploy-app ({v}) unstable; urgency=medium\n\n  * Test release.\n\n -- Dfab Tests <dfab@example.org>  Mon, 02 Nov 2026 10:00:00 +0000\n"),
    )
    .unwrap();
}

fn installed(h: &TestHost) -> String {
    h.check("root", "dpkg-query -W -f='${Version}' deploy-app")
}

/// Wait until the job page's status is no longer queued or running; returns it, and every
/// distinct length the log had on the way (more than one: it grew while the page was open).
async fn finish(b: &Browser, limit: Duration) -> (String, Vec<usize>) {
    let start = Instant::now();
    let mut lengths: Vec<usize> = Vec::new();
    loop {
        if let Ok(log) = b.c.find(fantoccini::Locator::Css("#log")).await {
            if let Ok(t) = log.text().await {
                if lengths.last() != Some(&t.len()) {
                    lengths.push(t.len());
                }
            }
        }
        let status = b.text("[data-status]").await;
        if status != "queued" && status != "running" {
            // The page as the server renders a finished job (the script reloads it too).
            let here = b.c.current_url().await.unwrap().to_string();
            b.go(&here).await;
            return (status, lengths);
        }
        assert!(
            start.elapsed() < limit,
            "the job did not end within {limit:?}:\n{}",
            b.text("#log").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Start `action` on `env` from its page, confirming (and naming the env when protected).
async fn start(b: &Browser, url: &str, env: &str, action: &str) {
    b.go(&format!("{url}/envs/{env}/run?action={action}")).await;
    b.click("input[name=confirm]").await;
    b.click("#start").await;
    wait_path(b, "/jobs/").await;
}

/// Wait (up to 20 s) until the browser's path holds `part`: a form was submitted.
async fn wait_path(b: &Browser, part: &str) {
    let t = Instant::now();
    loop {
        let path = b.c.current_url().await.unwrap().path().to_string();
        if path.contains(part) {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "still at {path}, not at {part}: {}",
            b.text("main").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sign in from the login page.
async fn sign_in(b: &Browser, url: &str, user: &str, password: &str) {
    b.go(&format!("{url}/login")).await;
    b.fill("input[name=user]", user).await;
    b.fill("input[name=password]", password).await;
    b.click("#signin").await;
}

/// The raw event stream of a finished job, asked with the browser's session cookie.
async fn sse(b: &Browser, url: &str, job: u32) -> String {
    let cookie = b.c.get_named_cookie("dfab_session").await.unwrap();
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /jobs/{job}/events?after=0 HTTP/1.1\r\nHost: {addr}\r\nCookie: dfab_session={}\r\nConnection: close\r\n\r\n",
        cookie.value()
    )
    .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.contains("event: end"), "{out}");
    out
}

#[tokio::test(flavor = "current_thread")]
async fn serve_in_chromium_deploys_live_guards_its_forms_and_resumes_after_a_restart() {
    let h = TestHost::new();
    let secret = format!("serve-secret-{}", std::process::id());
    let dir = app(&h, &secret);
    add_user(dir.path(), "alice", "deployer", "alice-password-1");
    add_user(dir.path(), "victor", "viewer", "victor-password-1");
    let mut server = Server::start(dir.path(), "127.0.0.1:0");
    let url = server.url.clone();
    let b = Browser::start().await;
    let mut seen = String::new();

    // Sign-in: a wrong password is refused; alice gets in.
    sign_in(&b, &url, "alice", "wrong-password").await;
    // The answer's page may still be loading on a busy machine: wait for its message.
    let t = Instant::now();
    while b
        .c
        .find(fantoccini::Locator::Css("#login-error"))
        .await
        .is_err()
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{}",
            b.source().await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(b.text("#login-error").await, "Wrong user name or password.");
    b.shot("login").await;
    sign_in(&b, &url, "alice", "alice-password-1").await;
    wait_path(&b, "/envs").await;

    // The environments page: the markup-named env is text, not a script.
    let envs = b.source().await;
    assert!(
        envs.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{envs}"
    );
    let scripts =
        b.c.execute("return document.scripts.length", vec![])
            .await
            .unwrap();
    assert_eq!(scripts, serde_json::json!(1), "only app.js runs");
    assert!(b
        .text("table.envs")
        .await
        .contains("deb.build → deb.deploy → check"));
    b.shot("environments").await;
    seen.push_str(&envs);

    // A deploy, watched live to its success; the release shows in the host's history.
    version(dir.path(), "1.0-1");
    start(&b, &url, "staging", "deploy").await;
    b.shot("job-running").await;
    let (status, lengths) = finish(&b, Duration::from_secs(120)).await;
    let log = b.text("#log").await;
    assert_eq!(status, "succeeded", "{log}");
    assert!(
        lengths.len() >= 3,
        "the log did not grow while watched: {lengths:?}"
    );
    assert!(log.contains("deb.deploy"), "{log}");
    assert!(log.contains("check"), "{log}");
    assert_eq!(installed(&h), "1.0-1");
    b.shot("job-succeeded").await;
    seen.push_str(&b.source().await);
    b.go(&format!("{url}/envs/staging")).await;
    let releases = b.text("pre.releases").await;
    assert!(releases.contains("1.0-1"), "{releases}");
    b.shot("environment").await;
    seen.push_str(&b.source().await);

    // A failing deploy shows failure and its failing step.
    h.check("root", "touch /etc/fail-check");
    version(dir.path(), "2.0-1");
    start(&b, &url, "staging", "deploy").await;
    let (status, _) = finish(&b, Duration::from_secs(120)).await;
    assert_eq!(status, "failed");
    let failure = b.text("#failure").await;
    assert!(
        failure.starts_with("error: deploy failed in check:"),
        "{failure}"
    );
    let log = b.text("#log").await;
    assert!(
        log.contains("check") && log.contains("deploy:resume=yes"),
        "{log}"
    );
    b.shot("job-failed").await;
    seen.push_str(&b.source().await);

    // A form without its CSRF token is refused, and queues nothing.
    let code =
        b.c.execute_async(
            "const done = arguments[0]; fetch('/envs/staging/jobs', {method: 'POST', \
             headers: {'Content-Type': 'application/x-www-form-urlencoded'}, \
             body: 'action=releases&confirm=yes'}).then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(code, serde_json::json!(403));
    b.go(&format!("{url}/jobs")).await;
    assert_eq!(
        b.c.find_all(fantoccini::Locator::Css("table.jobs tbody tr"))
            .await
            .unwrap()
            .len(),
        2
    );
    b.shot("jobs").await;

    // A protected env asks for its name too; without it nothing starts.
    b.go(&format!(
        "{url}/envs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/run?action=web_mode%3Amaintenance"
    ))
    .await;
    b.click("input[name=confirm]").await;
    b.click("#start").await;
    let t = Instant::now();
    while !b.source().await.contains("type its exact name") {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{}",
            b.text("main").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.shot("confirm-protected").await;

    // A restart during a job shows it interrupted; Resume from the page finishes it.
    h.check("root", "rm /etc/fail-check; touch /etc/slow-check");
    version(dir.path(), "3.0-1");
    start(&b, &url, "staging", "deploy").await;
    let job_url = b.c.current_url().await.unwrap().to_string();
    let t = Instant::now();
    // Killed once the host has the new release and the `check` step waits: mid-deploy.
    let installed_line = format!("[{}] deb.deploy: upgraded", h.ip);
    while !b.text("#log").await.contains(&installed_line) {
        assert!(
            t.elapsed() < Duration::from_secs(90),
            "{}",
            b.text("#log").await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let port = server.port();
    server.kill();
    server = Server::start(dir.path(), &format!("127.0.0.1:{port}"));
    b.go(&job_url).await;
    assert_eq!(
        b.text("[data-status]").await,
        "interrupted",
        "{}",
        server.log()
    );
    assert!(b
        .text("#log")
        .await
        .contains("interrupted: `dfab serve` stopped"));
    b.shot("job-interrupted").await;
    h.check("root", "rm /etc/slow-check");
    let before = b.c.current_url().await.unwrap().path().to_string();
    b.click("#resume").await;
    let t = Instant::now();
    while b.c.current_url().await.unwrap().path() == before {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "Resume did not open a new job"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = finish(&b, Duration::from_secs(120)).await;
    assert_eq!(status, "succeeded", "{}", b.text("#log").await);
    assert!(b.text("#log").await.contains("deploy:resume=yes"));
    assert_eq!(installed(&h), "3.0-1");
    b.shot("job-resumed").await;
    seen.push_str(&b.source().await);

    // Rollback from the page: back to the release before (2.0-1, installed before its check
    // failed).
    start(&b, &url, "staging", "rollback").await;
    let (status, _) = finish(&b, Duration::from_secs(60)).await;
    assert_eq!(status, "succeeded", "{}", b.text("#log").await);
    assert_eq!(installed(&h), "2.0-1", "{}", b.text("#log").await);
    b.shot("job-rollback").await;
    seen.push_str(&b.source().await);

    // Maintenance on, then live again, from the page (no web server in the container: the
    // switch is not checked with one, `maintenance_check_url = false`).
    start(&b, &url, "staging", "web_mode:maintenance").await;
    let (status, _) = finish(&b, Duration::from_secs(60)).await;
    let log = b.text("#log").await;
    assert_eq!(status, "succeeded", "{log}");
    assert!(log.contains("web_mode: maintenance on (flag "), "{log}");
    b.shot("job-maintenance").await;
    start(&b, &url, "staging", "web_mode:live").await;
    let (status, _) = finish(&b, Duration::from_secs(60)).await;
    let log = b.text("#log").await;
    assert_eq!(status, "succeeded", "{log}");
    assert!(log.contains("web_mode: live (flag "), "{log}");
    b.shot("job-live").await;
    seen.push_str(&b.source().await);

    // The form adds an env to dfab.toml, comments kept.
    b.go(&format!("{url}/new-env")).await;
    b.fill("input[name=name]", "demo").await;
    b.fill("input[name=hosts]", "demo1.dfab-test.invalid").await;
    b.shot("new-environment").await;
    b.click("#add").await;
    wait_path(&b, "/envs/demo").await;
    assert!(b.source().await.contains("demo1.dfab-test.invalid"));
    let toml = fs_err::read_to_string(dir.path().join("dfab.toml")).unwrap();
    assert!(toml.starts_with("# the serve test's project"), "{toml}");
    assert!(
        toml.contains("[environments.demo]\nhosts = [\"demo1.dfab-test.invalid\"]"),
        "{toml}"
    );

    // No secret anywhere: pages, event streams, the store's rows.
    for job in 1..=7 {
        seen.push_str(&sse(&b, &url, job).await);
    }
    // The secret did pass through: the check's command line carries it, redacted.
    assert!(
        seen.contains("echo checking with (redacted)"),
        "the check's line is missing"
    );
    assert!(
        !seen.contains(&secret),
        "a secret reached a page or an event stream"
    );
    for f in ["serve.sqlite3", "serve.sqlite3-wal"] {
        let p = dir.path().join(".dfab").join(f);
        if let Ok(bytes) = fs_err::read(&p) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&secret), "a secret in {}", p.display());
            assert!(
                !text.contains("alice-password-1"),
                "a password in {}",
                p.display()
            );
        }
    }

    // A viewer sees the pages but cannot start a job.
    b.c.delete_all_cookies().await.unwrap();
    sign_in(&b, &url, "victor", "victor-password-1").await;
    wait_path(&b, "/envs").await;
    b.go(&format!("{url}/envs/staging")).await;
    assert!(b.source().await.contains("a deployer starts them"));
    b.go(&format!("{url}/envs/staging/run?action=deploy")).await;
    assert!(b.text("main").await.contains("victor is a viewer"));
    b.shot("viewer-refused").await;
    drop(server);
    b.close().await;
}

/// A plain GET on loopback: the status line and the body.
fn get(url: &str, path: &str) -> (String, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.lines().next().unwrap_or("").to_string();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn serve_needs_accounts_off_loopback_and_shows_an_environments_py_project_read_only() {
    let dir = project(&[(
        "environments.py",
        "environments = {\n    'prod': {'hosts': ['web1.dfab-test.invalid'], 'db_password': 'py-secret-42'},\n}\n",
    )]);
    crate::support::Dfab::new(dir.path())
        .args(["serve", "--bind", "0.0.0.0:0"])
        .status(2)
        .stderr_has("error: refusing to serve on 0.0.0.0:0 without accounts: only loopback may run in single-user mode")
        .stderr_has("hint: add one first: `dfab serve --add-user NAME --role deployer`")
        .run_checked();
    crate::support::Dfab::new(dir.path())
        .args(["serve", "--bind", "localhost"])
        .status(2)
        .stderr_has("--bind localhost: not an address and port")
        .run_checked();
    // Single-user mode on loopback: no sign-in; the Python project is read-only.
    let server = Server::start(dir.path(), "127.0.0.1:0");
    let (status, body) = get(&server.url, "/envs");
    assert!(status.ends_with("200 OK"), "{status}");
    assert!(body.contains("local (deployer)"), "{body}");
    assert!(body.contains("shown read-only"), "{body}");
    assert!(!body.contains("py-secret-42"), "{body}");
    let (status, body) = get(&server.url, "/new-env");
    assert!(status.contains("409"), "{status}");
    assert!(body.contains("never writes"), "{body}");
}

#[test]
fn serve_shows_the_djdemo_projects_envs_read_only_without_touching_a_container() {
    // The README's demo project as it is (environments.py, two LXC envs): its envs page lists
    // both envs with their containers, sequences and protection, and never clones a container
    // to show them, nor shows a password.
    let dir = tempfile::tempdir().unwrap();
    crate::djdemo::copy_fixture(dir.path());
    let before = lxc_names();
    let server = Server::start(dir.path(), "127.0.0.1:0");
    let (status, body) = get(&server.url, "/envs");
    assert!(status.ends_with("200 OK"), "{status}");
    for text in [
        "environments.py",
        "shown read-only",
        ">production</a>",
        ">staging</a>",
        "djdemo-production",
        "djdemo-staging",
        "deb.build → web_mode:maintenance → deb.deploy → db_migrate → test → web_mode:live",
    ] {
        assert!(body.contains(text), "{text} missing from the page: {body}");
    }
    let (status, body) = get(&server.url, "/envs/staging");
    assert!(status.ends_with("200 OK"), "{status}");
    for secret in ["prod-s3cret", "staging-s3cret"] {
        assert!(!body.contains(secret), "{secret} on the page");
    }
    assert_eq!(
        lxc_names(),
        before,
        "showing the envs changed the containers"
    );
}

/// The names of this machine's LXC containers that an LXC env of djdemo would make.
fn lxc_names() -> Vec<String> {
    let out = std::process::Command::new("lxc-ls")
        .arg("-1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("djdemo-production") || l.starts_with("djdemo-staging"))
        .map(str::to_owned)
        .collect()
}

#[test]
fn serve_locks_out_a_sixth_failed_sign_in_within_a_minute() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.qa]\nhosts = [\"qa.dfab-test.invalid\"]\n",
    )]);
    add_user(dir.path(), "carol", "deployer", "carol-password-1");
    let server = Server::start(dir.path(), "127.0.0.1:0");
    // Accounts exist: a page sends the visitor to sign in, with a session cookie for the form.
    let (head, _) = http(&server.url, "GET", "/envs", "", None);
    assert!(
        head.starts_with("HTTP/1.1 303") && head.contains("location: /login"),
        "{head}"
    );
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    assert!(head.contains("HttpOnly; SameSite=Strict"), "{head}");
    let (_, page) = http(&server.url, "GET", "/login", &cookie, None);
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let wrong = format!("csrf={csrf}&user=carol&password=nope");
    for _ in 0..5 {
        let (head, _) = http(&server.url, "POST", "/login", &cookie, Some(&wrong));
        assert!(head.starts_with("HTTP/1.1 401"), "{head}");
    }
    // The sixth try, even with the right password, waits.
    let right = format!("csrf={csrf}&user=carol&password=carol-password-1");
    let (head, body) = http(&server.url, "POST", "/login", &cookie, Some(&right));
    assert!(head.starts_with("HTTP/1.1 429"), "{head}");
    assert!(body.contains("Too many failed sign-ins"), "{body}");
}

/// The permission bits of `.dfab/NAME` in `dir`.
fn mode(dir: &Path, name: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs_err::metadata(dir.join(".dfab").join(name))
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn serve_resolves_inventories_as_the_cli_does_and_requires_sign_in_once_an_account_is_added() {
    let dir = project(&[
        (
            "dfab.toml",
            "[environments.inv]\ninventory = \"inventory.ini\"\n\n\
             [environments.lost]\ninventory = \"missing.ini\"\n\n\
             [environments.rprod]\nhosts = [\"rprod.dfab-test.invalid\"]\nprotected = true\n",
        ),
        (
            "inventory.ini",
            "[web]\nweb1.dfab-test.invalid\n\n[db]\ndb1.dfab-test.invalid ansible_user=deploy\n",
        ),
    ]);
    // The CLI's view of the env, which the page must match.
    crate::support::Dfab::new(dir.path())
        .args(["inv", "-l"])
        .stdout_has("web1.dfab-test.invalid")
        .stdout_has("deploy@db1.dfab-test.invalid")
        .stdout_has("(from the inventory)")
        .run_checked();

    // A new store is owner-only, its log and index too.
    let mut server = Server::start(dir.path(), "127.0.0.1:0");
    for f in ["serve.sqlite3", "serve.sqlite3-wal", "serve.sqlite3-shm"] {
        assert_eq!(mode(dir.path(), f), 0o600, "{f}");
    }

    // The inventory's hosts and groups, on both pages; an inventory that is not there, its error.
    let (status, body) = get(&server.url, "/envs");
    assert!(status.ends_with("200 OK"), "{status}");
    assert!(body.contains("local (deployer)"), "{body}");
    for text in [
        "<code>web1.dfab-test.invalid</code>",
        "<code>db1.dfab-test.invalid</code>",
        "<b>web</b>: web1.dfab-test.invalid",
        "<b>db</b>: db1.dfab-test.invalid",
        "the inventory",
        "missing.ini does not exist",
    ] {
        assert!(body.contains(text), "{text} missing from the page: {body}");
    }
    let (_, body) = get(&server.url, "/envs/inv");
    assert!(
        body.contains("<code>web1.dfab-test.invalid</code>"),
        "{body}"
    );
    assert!(!body.contains(">none<"), "{body}");
    // A change to the inventory shows without a restart.
    fs_err::write(
        dir.path().join("inventory.ini"),
        "[web]\nweb1.dfab-test.invalid\nweb2.dfab-test.invalid\n\n[db]\ndb1.dfab-test.invalid ansible_user=deploy\n",
    )
    .unwrap();
    let (_, body) = get(&server.url, "/envs/inv");
    assert!(
        body.contains("<code>web2.dfab-test.invalid</code>"),
        "{body}"
    );

    // CLI text on the page: code spans, never literal backticks.
    let (_, body) = get(&server.url, "/envs/rprod/run?action=deploy");
    assert!(
        body.contains("<code>rprod</code> is a protected environment"),
        "{body}"
    );
    let (_, body) = get(&server.url, "/envs/nowhere");
    assert!(
        body.contains("no environment <code>nowhere</code>"),
        "{body}"
    );
    let (_, body) = get(&server.url, "/envs");
    assert!(
        !body.contains('`'),
        "a literal backtick on the page: {body}"
    );

    // An account added while it runs: sign-in from the next request on.
    let said = add_user(dir.path(), "alice", "deployer", "alice-password-1");
    assert!(said.contains("requires sign-in"), "{said}");
    let (head, _) = http(&server.url, "GET", "/envs", "", None);
    assert!(
        head.starts_with("HTTP/1.1 303") && head.contains("location: /login"),
        "{head}"
    );
    let (status, body) = get(&server.url, "/login");
    assert!(status.ends_with("200 OK"), "{status}");
    assert!(body.contains("Sign in"), "{body}");
    // The server wrote the line before it answered; the test's reader thread may not have
    // taken it from the pipe yet on a busy machine.
    let t = Instant::now();
    while !server.log().contains("sign-in is required from now on")
        && t.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        server.log().contains("sign-in is required from now on"),
        "{}",
        server.log()
    );

    // A store left readable by others is made owner-only on start, and says so.
    server.kill();
    let db = dir.path().join(".dfab/serve.sqlite3");
    {
        use std::os::unix::fs::PermissionsExt;
        fs_err::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let server = Server::start(dir.path(), "127.0.0.1:0");
    assert_eq!(mode(dir.path(), "serve.sqlite3"), 0o600);
    assert!(
        server
            .log()
            .contains("serve.sqlite3 was mode 0644 (it holds password hashes"),
        "{}",
        server.log()
    );
    drop(server);

    // Both helps name `dfab serve`.
    crate::support::Dfab::new(dir.path())
        .args(["--help"])
        .stdout_has("dfab serve")
        .run_checked();
    crate::support::Dfab::new(dir.path())
        .args(["serve", "--help"])
        .stdout_has("Usage: dfab serve [OPTIONS]")
        .run_checked();
}
