//! The web tier against real nginx and Apache in real containers: init installs the maintenance
//! snippet, `web_mode` switches it with no dropped request, bad input changes nothing.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{project, Dfab, TestHost};

/// A container with a tiny app (python's http.server on 127.0.0.1:8000) behind nginx on :80,
/// whose site includes the snippets dfab installs.
fn web_host() -> TestHost {
    let host = TestHost::new();
    host.check(
        "root",
        "set -e; mkdir -p /srv/www/static; echo app-ok > /srv/www/index.html
echo css > /srv/www/static/site.css; echo healthy > /srv/www/health
cat > /etc/nginx/sites-enabled/default <<'SITE'
server {
    listen 80 default_server;
    include /etc/nginx/snippets/dfab-*.conf;
    location / { proxy_pass http://127.0.0.1:8000; }
}
SITE
setsid nohup python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/www >/tmp/app.log 2>&1 </dev/null &
nginx
for i in $(seq 50); do curl -sf http://127.0.0.1:8000/ >/dev/null && exit 0; sleep 0.1; done
exit 1",
    );
    host
}

fn env_toml(host: &TestHost, extra: &str) -> String {
    format!(
        "{}remote_path = \"/srv/app/\"\napp_user = \"app\"\n\
         maintenance_allow = [\"/static/\", \"/health\"]\nmaintenance_bypass = [\"127.0.0.1\"]\n\
         maintenance_retry_after = 120\n{extra}",
        host.env_toml("staging", "deploy")
    )
}

/// One HTTP/1.0 GET from this process: status, headers, body.
fn get(ip: &str, path: &str) -> std::io::Result<(u16, String, String)> {
    let mut s =
        TcpStream::connect_timeout(&format!("{ip}:80").parse().unwrap(), Duration::from_secs(3))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: {ip}\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {head:?}")))?;
    Ok((status, head.to_string(), body.to_string()))
}

/// The site in maintenance as `web_mode:maintenance,message=...` leaves it: 503 with the splash
/// page holding `message` (as escaped) and Retry-After on any path, but `maintenance_allow`'s
/// prefixes still reach the app, and so does `maintenance_bypass`'s address (the host itself).
#[track_caller]
fn in_maintenance(host: &TestHost, message: &str) {
    let ip = host.ip.as_str();
    for path in ["/", "/some/page?x=1"] {
        let (code, head, body) = get(ip, path).unwrap();
        assert_eq!(code, 503, "{path}: {head}\n{body}");
        assert!(head.contains("\r\nRetry-After: 120"), "{path}: {head}");
        assert!(
            body.contains(&format!("<p>{message}</p>")),
            "{path}: {body}"
        );
    }
    assert_eq!(get(ip, "/static/site.css").unwrap().0, 200);
    assert_eq!(get(ip, "/health").unwrap().2, "healthy\n");
    assert_eq!(
        host.check(
            "root",
            "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/"
        ),
        "200"
    );
}

#[test]
fn maintenance_mode_with_real_nginx_gives_503_splash_and_live_gives_the_app_back() {
    let host = web_host();
    let dir = project(&[("dfab.toml", &env_toml(&host, ""))]);
    let ip = host.ip.as_str();
    // A run that succeeds with nothing on stderr.
    let dfab = |args: &[&str]| Dfab::new(dir.path()).args(args).stderr_is("");

    // init: user, remote_path, snippet (nginx -t, reload); the second run changes nothing. It
    // said `changed user app` of a user it created: the words say what happened.
    dfab(&["staging", "init"])
        .stdout_has(
            "init: created user app, remote_path /srv/app/; installed snippet \
             /etc/nginx/snippets/dfab-maintenance.conf",
        )
        .run_checked();
    // The reload is proved by the 503 below: init's output is data, not echoed.
    dfab(&["staging", "init"])
        .stdout_has("init: nothing changed")
        .stdout_lacks("nginx reloaded")
        .run_checked();
    assert_eq!(
        host.check("root", "stat -c %U:%G:%a /srv/app"),
        "app:app:755\n"
    );
    // A remote_path that exists with another owner and mode is set, not created.
    host.check("root", "chown root:root /srv/app && chmod 700 /srv/app");
    dfab(&["staging", "init"])
        .stdout_has("init: set remote_path /srv/app/ to app:app 755")
        .run_checked();
    assert_eq!(
        host.check("root", "stat -c %U:%G:%a /srv/app"),
        "app:app:755\n"
    );

    let (code, _, body) = get(ip, "/").unwrap();
    assert_eq!((code, body.as_str()), (200, "app-ok\n"));
    dfab(&["staging", "web_mode:status"])
        .stdout_has("web_mode: live (no switch recorded by dfab)")
        .run_checked();

    dfab(&[
        "staging",
        "web_mode:maintenance,message=Back at 14:00 <UTC>",
    ])
    .stdout_has("web_mode: maintenance on (flag /srv/app/maintenance.on)")
    .run_checked();
    in_maintenance(&host, "Back at 14:00 &lt;UTC&gt;");

    dfab(&["staging", "web_mode:maintenance"])
        .stdout_has("web_mode: already in maintenance since 20")
        .stdout_has("nothing changed")
        .run_checked();
    // The no-op kept the page with its message.
    assert!(get(ip, "/").unwrap().2.contains("Back at 14:00"));
    dfab(&["staging", "web_mode:status"])
        .stdout_has("web_mode: maintenance since 20")
        .run_checked();

    dfab(&["staging", "web_mode:live"])
        .stdout_has("web_mode: live (flag /srv/app/maintenance.on removed)")
        .run_checked();
    let (code, _, body) = get(ip, "/").unwrap();
    assert_eq!((code, body.as_str()), (200, "app-ok\n"));
    dfab(&["staging", "web_mode:live"])
        .stdout_has("web_mode: already live since 20")
        .run_checked();
    dfab(&["staging", "web_mode:status"])
        .stdout_has("web_mode: live since 20")
        .run_checked();
}

#[test]
fn switching_ten_times_under_load_drops_no_request() {
    let host = web_host();
    let dir = project(&[("dfab.toml", &env_toml(&host, ""))]);
    Dfab::new(dir.path())
        .args(["staging", "init"])
        .run_checked();
    let ip = host.ip.clone();
    // 50 requests/s for 10 s from this process, to the container only.
    let load = std::thread::spawn(move || {
        let (mut ok, mut maint, mut other, mut errors) = (0u32, 0u32, Vec::new(), Vec::new());
        let start = Instant::now();
        for i in 0..500u32 {
            let at = start + Duration::from_millis(u64::from(i) * 20);
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            match get(&ip, "/") {
                Ok((200, _, _)) => ok += 1,
                Ok((503, _, _)) => maint += 1,
                Ok((c, h, _)) => other.push(format!("{c}: {h}")),
                Err(e) => errors.push(e.to_string()),
            }
        }
        (ok, maint, other, errors, start.elapsed())
    });
    let mut switches = 0;
    for mode in ["maintenance", "live"].iter().cycle().take(10) {
        Dfab::new(dir.path())
            .args(["staging", &format!("web_mode:{mode}")])
            .stderr_is("")
            .run_checked();
        switches += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    let (ok, maint, other, errors, took) = load.join().unwrap();
    eprintln!(
        "{switches} switches; 500 requests in {took:?}: {ok} x 200, {maint} x 503, {} other, {} errors",
        other.len(),
        errors.len()
    );
    assert_eq!(switches, 10);
    assert!(errors.is_empty(), "connection errors: {errors:?}");
    assert!(other.is_empty(), "unexpected statuses: {other:?}");
    assert_eq!(ok + maint, 500);
    assert!(
        ok > 0 && maint > 0,
        "the switches did not show under load: {ok} x 200, {maint} x 503"
    );
}

#[test]
fn bad_web_input_is_refused_and_changes_nothing() {
    let host = web_host();
    let dir = project(&[("dfab.toml", &env_toml(&host, ""))]);
    // Refused at plan time, nothing run.
    let refused = |args: &[&str]| Dfab::new(dir.path()).args(args).status(2).no_stdout();

    // An unknown web_mode argument.
    refused(&["staging", "web_mode:maintenace"])
        .stderr_is(
            "error: web_mode: unknown mode `maintenace` (maintenance, live, status or snippet); \
             did you mean `maintenance`?\nhint: web_mode:maintenance[,message=...], web_mode:live, \
             web_mode:status or web_mode:snippet=nginx|apache\n",
        )
        .run_checked();
    refused(&["staging", "web_mode:maintenance,colour=red"])
        .stderr_is(
            "error: task `web_mode` has no argument `colour`\n\
             hint: `web_mode` takes: mode, message, snippet\n",
        )
        .run_checked();
    assert!(host
        .ssh("root", "test ! -e /srv/app/maintenance.on")
        .status
        .success());

    // A missing remote_path: named, with the file, nothing run.
    let bare = project(&[("dfab.toml", &host.env_toml("staging", "deploy"))]);
    Dfab::new(bare.path())
        .args(["staging", "web_mode:maintenance"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:1:15: key `staging.remote_path`: environment `staging` has no `remote_path`\n\
             hint: set it in the env or `__all__`, e.g. remote_path = \"/srv/app/\"\n",
            bare.path().join("dfab.toml").display()
        ))
        .run_checked();
    assert!(host.ssh("root", "test ! -e /srv/app").status.success());

    // A snippet that fails the config test (included at http level, where `if` is not
    // allowed): the old file is put back, nothing reloaded, nginx still serves.
    host.check(
        "root",
        "echo '# the old config' > /etc/nginx/conf.d/dfab-maintenance.conf",
    );
    let wrong = project(&[(
        "dfab.toml",
        &env_toml(
            &host,
            "web_snippet_path = \"/etc/nginx/conf.d/dfab-maintenance.conf\"\n",
        ),
    )]);
    Dfab::new(wrong.path())
        .args(["staging", "init"])
        .status(1)
        .stderr_has(format!(
            "error: [{}] command failed (exit status 1): dfab-host web snippet nginx \
             /etc/nginx/conf.d/dfab-maintenance.conf /srv/app/maintenance.on http://127.0.0.1/ \
             staging\n",
            host.ip
        ))
        .stderr_has("\"set\" directive is not allowed here")
        .stderr_has(
            "nginx -t failed with the new snippet /etc/nginx/conf.d/dfab-maintenance.conf; \
             the old config is back in place and nothing was reloaded",
        )
        .stdout_lacks("nginx reloaded")
        .run_checked();
    assert_eq!(
        host.check("root", "cat /etc/nginx/conf.d/dfab-maintenance.conf"),
        "# the old config\n"
    );
    assert_eq!(
        host.check("root", "ls -A /etc/nginx/conf.d"),
        "dfab-maintenance.conf\n"
    );
    assert!(host.ssh("root", "nginx -t").status.success());
    let (code, _, body) = get(&host.ip, "/").unwrap();
    assert_eq!((code, body.as_str()), (200, "app-ok\n"));
}

#[test]
fn snippet_prints_with_the_envs_paths() {
    let dir = project(&[(
        "dfab.toml",
        "[environments.production]\nhosts = [\"127.0.0.1\"]\nremote_path = \"/srv/shop/\"\n",
    )]);
    Dfab::new(dir.path())
        .args(["production", "web_mode:snippet=nginx"])
        .stdout_has("if (-f /srv/shop/maintenance.on) {")
        .stdout_has("root /srv/shop/;")
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["production", "web_mode:snippet=apache"])
        .stdout_has("RewriteCond /srv/shop/maintenance.on -f")
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["production", "web_mode:snippet=caddy"])
        .status(2)
        .no_stdout()
        .stderr_is(
            "error: web_mode: unknown web server `caddy` for snippet=\n\
             hint: web_mode:maintenance[,message=...], web_mode:live, web_mode:status or \
             web_mode:snippet=nginx|apache\n",
        )
        .run_checked();
}

#[test]
fn web_restart_and_test_wait_for_health_url_and_fail_with_the_last_response() {
    let host = web_host();
    let good = env_toml(
        &host,
        "health_url = \"http://127.0.0.1/health\"\nhealth_timeout = 3\n\
         test_commands = [{ run = \"test -f index.html\", cd = \"/srv/www\" }, { sudo = \"id -un\", user = \"app\" }]\n",
    );
    let dir = project(&[("dfab.toml", &good)]);
    Dfab::new(dir.path())
        .args(["staging", "init"])
        .run_checked();

    // nginx's notice about the reload signal comes back on stderr.
    Dfab::new(dir.path())
        .args(["staging", "web_restart"])
        .stdout_has("web_restart: nginx reloaded (nginx -s reload)")
        .stdout_has("web_restart: health: http://127.0.0.1/health answered 200")
        .run_checked();
    Dfab::new(dir.path())
        .args(["staging", "test"])
        .stdout_has(" out: app\n")
        .stdout_has("answered 200")
        .stderr_is("")
        .run_checked();

    let bad = env_toml(
        &host,
        "health_url = \"http://127.0.0.1/missing\"\nhealth_timeout = 2\n\
         test_commands = [{ run = \"test -f nothing-here\", cd = \"/srv/www\" }]\n",
    );
    let dir = project(&[("dfab.toml", &bad)]);
    Dfab::new(dir.path())
        .args(["staging", "web_restart"])
        .status(1)
        .stderr_has(format!(
            "error: [{}] command failed (exit status 1): ",
            host.ip
        ))
        .stderr_has(
            "health: http://127.0.0.1/missing did not answer 2xx within 2 s; last response: 404",
        )
        .run_checked();
    Dfab::new(dir.path())
        .args(["staging", "test"])
        .status(1)
        .stderr_is(format!(
            "error: [{}] command failed (exit status 1): cd /srv/www && test -f nothing-here\n",
            host.ip
        ))
        .run_checked();
}

/// A container with the same tiny app behind Apache on :80 (`mod_rewrite`, `mod_headers` and
/// `mod_proxy` on), whose site includes the snippet dfab installs. Apache runs by hand: the
/// containers have no systemd.
fn apache_host() -> TestHost {
    let host = TestHost::new();
    host.check(
        "root",
        "set -e; command -v apache2ctl >/dev/null || { echo 'apache2 is missing from the test base: run `bash scripts/setup-host` (it installs apache2 there)' >&2; exit 1; }
mkdir -p /srv/www/static; echo app-ok > /srv/www/index.html
echo css > /srv/www/static/site.css; echo healthy > /srv/www/health
a2enmod -q rewrite headers proxy proxy_http >/dev/null; echo ServerName localhost > /etc/apache2/conf-enabled/servername.conf
touch /etc/apache2/dfab-maintenance.conf
cat > /etc/apache2/sites-enabled/000-default.conf <<'SITE'
<VirtualHost *:80>
    Include /etc/apache2/dfab-maintenance.conf
    ProxyPass / http://127.0.0.1:8000/
</VirtualHost>
SITE
setsid nohup python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/www >/tmp/app.log 2>&1 </dev/null &
mkdir -p /run/lock /run/apache2; apache2ctl start
for i in $(seq 50); do curl -sf http://127.0.0.1/ >/dev/null && exit 0; sleep 0.1; done
exit 1",
    );
    host
}

#[test]
fn maintenance_mode_with_real_apache_gives_503_splash_and_live_gives_the_app_back() {
    let host = apache_host();
    let dir = project(&[("dfab.toml", &env_toml(&host, "web_server = \"apache\"\n"))]);
    let ip = host.ip.as_str();
    // A run that succeeds with nothing on stderr.
    let dfab = |args: &[&str]| Dfab::new(dir.path()).args(args).stderr_is("");

    // init installs the snippet, Apache's own config test passes, the server reloads.
    dfab(&["staging", "init"])
        .stdout_has("snippet /etc/apache2/dfab-maintenance.conf")
        .run_checked();
    // The reload is proved by the 503 below: init's output is data, not echoed.
    assert_eq!(
        host.check("root", "apache2ctl configtest 2>&1"),
        "Syntax OK\n"
    );
    let (code, _, body) = get(ip, "/").unwrap();
    assert_eq!((code, body.as_str()), (200, "app-ok\n"));

    dfab(&[
        "staging",
        "web_mode:maintenance,message=Back at 14:00 <UTC>",
    ])
    .stdout_has("web_mode: maintenance on (flag /srv/app/maintenance.on)")
    .run_checked();
    in_maintenance(&host, "Back at 14:00 &lt;UTC&gt;");

    dfab(&["staging", "web_mode:live"])
        .stdout_has("web_mode: live (flag /srv/app/maintenance.on removed)")
        .run_checked();
    let (code, head, body) = get(ip, "/").unwrap();
    assert_eq!((code, body.as_str()), (200, "app-ok\n"), "{head}");
    assert!(!head.contains("Retry-After"), "{head}");
}
