//! `dfab serve`'s fixes from the review of issue 24, over HTTP: the environments page says the
//! deploy lock the hosts report (held by the CLI, not known where `lock:status` errors, free
//! only when the hosts said so), its "Last deploy" is the newest deploy-kind job (not a
//! `releases` job), and "Add an environment" refuses a name the CLI cannot use.

use std::io::{Read, Write};

use crate::serve_support::Server;
use crate::support::{project, Dfab};

/// A request on loopback with a cookie and an optional form body: status line and headers,
/// body.
fn http(url: &str, method: &str, path: &str, cookie: &str, form: Option<&str>) -> (String, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = form.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.to_string(), body.to_string())
}

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
