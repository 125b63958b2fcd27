//! `dfab serve`'s fixes from the review of issue 24, over HTTP: the environments page says the
//! deploy lock the hosts report (held by the CLI, not known where `lock:status` errors, free
//! only when the hosts said so), its "Last deploy" is the newest deploy-kind job (not a
//! `releases` job), and "Add an environment" refuses a name the CLI cannot use.

use std::time::{Duration, Instant};

use crate::serve_support::{http, Server};
use crate::support::{copy_tree, deploy_app_fixture, project, Dfab, TestHost, KEY};

/// The session cookie and CSRF token of a page's form.
fn session(url: &str, path: &str) -> (String, String) {
    let (head, body) = http(url, "GET", path, "", None);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .unwrap_or_else(|| panic!("no cookie: {head}"))
        .to_string();
    let csrf = body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no csrf: {body}"))
        .to_string();
    (cookie, csrf)
}

/// The row of env `name` on the environments page.
fn row(url: &str, name: &str) -> String {
    let (_, body) = http(url, "GET", "/envs", "", None);
    body.split("<tr>")
        .find(|r| r.contains(&format!(">{name}</a>")))
        .unwrap_or_else(|| panic!("no row for {name}: {body}"))
        .to_string()
}

/// Start `action` on env `qa` from the page and wait for the job to finish; its status.
fn job(url: &str, action: &str) -> String {
    let (cookie, csrf) = session(url, &format!("/envs/qa/run?action={action}"));
    let (head, _) = http(
        url,
        "POST",
        "/envs/qa/jobs",
        &cookie,
        Some(&format!("csrf={csrf}&action={action}&confirm=yes")),
    );
    let at = head
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .unwrap_or_else(|| panic!("not started: {head}"))
        .to_string();
    let start = Instant::now();
    loop {
        let (_, body) = http(url, "GET", &at, "", None);
        for st in ["succeeded", "failed", "interrupted"] {
            if body.contains(&format!(">{st}<")) {
                return st.to_string();
            }
        }
        assert!(start.elapsed() < Duration::from_secs(60), "{body}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn serve_review_lock_is_asked_of_the_hosts_and_last_deploy_is_a_deploy() {
    let h = TestHost::new();
    let toml = format!(
        "[environments.qa]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\npackage_name = \"deploy-app\"\n\n\
         [environments.gone]\nhosts = [\"gone.dfab-test.invalid\"]\ntimeout = 2\n\
         package_name = \"deploy-app\"\n",
        ip = h.ip
    );
    let dir = project(&[("dfab.toml", &toml)]);
    copy_tree(&deploy_app_fixture(), dir.path());
    let p = dir.path();
    // The CLI holds qa's lock; gone's lock:status errors (its host does not resolve).
    Dfab::new(p)
        .args(["-y", "qa", "lock:acquire,message=held-from-the-cli"])
        .run_checked();
    let gone = Dfab::new(p).args(["gone", "lock:status"]).run();
    assert_ne!(gone.code, 0, "{}", gone.stdout);

    let mut server = Server::start(p, "127.0.0.1:0");
    let qa = row(&server.url, "qa");
    assert!(
        qa.contains("held: ") && qa.contains("held-from-the-cli"),
        "{qa}"
    );
    assert!(!qa.contains(">free"), "{qa}");
    let n = row(&server.url, "gone");
    assert!(n.contains("not known: "), "{n}");
    assert!(!n.contains("free"), "{n}");

    // Released: a new server (the answer is cached briefly) asks again and says free.
    Dfab::new(p)
        .args(["-y", "qa", "lock:release"])
        .run_checked();
    server.kill();
    let server = Server::start(p, "127.0.0.1:0");
    let qa = row(&server.url, "qa");
    assert!(qa.contains("free (asked "), "{qa}");

    // "Last deploy": a `releases` job is not one; a deb.deploy is, and stays it after another
    // `releases` job.
    assert_eq!(job(&server.url, "releases"), "succeeded");
    let qa = row(&server.url, "qa");
    assert!(
        qa.contains("none yet") && !qa.contains(" releases "),
        "{qa}"
    );
    Dfab::new(p).args(["qa", "deb.build"]).run().ok();
    assert_eq!(job(&server.url, "deb.deploy"), "succeeded");
    assert_eq!(job(&server.url, "releases"), "succeeded");
    let qa = row(&server.url, "qa");
    assert!(qa.contains(" deb.deploy "), "{qa}");
    let (_, body) = http(&server.url, "GET", "/envs", "", None);
    assert!(body.contains("<th>Last deploy</th>"), "{body}");
}

#[test]
fn serve_review_add_environment_refuses_a_name_the_cli_cannot_use() {
    let before = "[environments.qa]\nhosts = [\"qa.dfab-test.invalid\"]\n";
    let dir = project(&[("dfab.toml", before)]);
    let p = dir.path();
    let server = Server::start(p, "127.0.0.1:0");
    let (cookie, csrf) = session(&server.url, "/new-env");
    let (head, body) = http(
        &server.url,
        "POST",
        "/new-env",
        &cookie,
        Some(&format!(
            "csrf={csrf}&name=qa2%5D&layout=single&hosts=qa2.dfab-test.invalid"
        )),
    );
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(
        body.contains("cannot be used: it holds <code>]</code>")
            || body.contains("cannot be used: it holds `]`"),
        "{body}"
    );
    assert_eq!(fs_err::read_to_string(p.join("dfab.toml")).unwrap(), before);
    // The CLI's rule is the same: it refuses that word.
    Dfab::new(p)
        .args(["qa2]", "-l"])
        .status(2)
        .stderr_has("task names cannot contain `]`")
        .run_checked();
    // A name the CLI takes is added, and the CLI lists it.
    let (head, _) = http(
        &server.url,
        "POST",
        "/new-env",
        &cookie,
        Some(&format!(
            "csrf={csrf}&name=qa2.b&layout=single&hosts=qa2.dfab-test.invalid"
        )),
    );
    assert!(head.starts_with("HTTP/1.1 303"), "{head}");
    Dfab::new(p)
        .args(["qa2.b", "-l"])
        .stdout_has("qa2.dfab-test.invalid")
        .run_checked();
}

#[test]
fn serve_review_pages_answer_while_a_lock_check_waits_for_a_silent_host() {
    // A "host" on loopback that accepts ssh connections and never says a word: its env's
    // lock:status waits for the env's timeout. Meanwhile other pages must answer (the server
    // has one thread: the check must not run on it).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in silent.incoming().map_while(Result::ok) {
            held.push(c);
        }
    });
    let toml = format!(
        "[environments.slow]\nhosts = [\"127.0.0.1\"]\nport = {port}\ntimeout = 3\n\
         user = \"root\"\nknown_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\n\
         package_name = \"deploy-app\"\n"
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let server = Server::start(dir.path(), "127.0.0.1:0");
    let url = server.url.clone();
    let envs = std::thread::spawn(move || {
        let t = Instant::now();
        let r = row(&url, "slow");
        (r, t.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    let t = Instant::now();
    let (head, _) = http(&server.url, "GET", "/jobs", "", None);
    let quick = t.elapsed();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (slow, took) = envs.join().unwrap();
    assert!(slow.contains("not known"), "{slow}");
    assert!(
        took > Duration::from_secs(2),
        "the lock check did not wait for the silent host ({took:?}): {slow}"
    );
    assert!(
        quick < Duration::from_secs(1),
        "/jobs waited {quick:?} for another page's lock check"
    );
}
