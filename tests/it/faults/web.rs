//! Fault kinds of issue 19 in the web tier: the maintenance switch is judged by what real nginx
//! answers, a deploy leaves maintenance as it found it, health checks reach the app through
//! dfab's own 503, and every HTTP method gets the splash.

use super::{installed, App, Strategy};
use crate::support::{Outcome, TestHost};

/// The site every test here puts in front of the app: nginx on :80 proxying to a tiny app
/// (python's http.server on 127.0.0.1:8000), with dfab's snippet included.
const SITE: &str = "server {
    listen 80 default_server;
    include /etc/nginx/snippets/dfab-*.conf;
    location / { proxy_pass http://127.0.0.1:8000; }
}
";

/// A container running nginx (as Debian configures it: workers as www-data) and the app.
fn web_host() -> TestHost {
    let h = TestHost::new();
    h.check(
        "root",
        &format!(
            "set -e; mkdir -p /srv/www; echo app-ok > /srv/www/index.html
cat > /etc/nginx/sites-enabled/default <<'SITE'\n{SITE}SITE
setsid nohup python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/www >/tmp/app.log 2>&1 </dev/null &
nginx
for i in $(seq 50); do curl -sf http://127.0.0.1:8000/ >/dev/null && exit 0; sleep 0.1; done
exit 1"
        ),
    );
    h
}

/// `curl -X method` on the host itself (no bypass is configured in these tests): the status,
/// the response headers and the body, as one text.
fn request(h: &TestHost, method: &str, path: &str) -> String {
    let how = if method == "HEAD" {
        "-I".to_string()
    } else {
        format!("-X {method} --data-binary x")
    };
    h.check(
        "root",
        &format!("curl -s -D - {how} -w 'status=%{{http_code}}' http://127.0.0.1{path}"),
    )
}

/// The status of a GET of `/` from the host itself.
fn status(h: &TestHost) -> String {
    h.check(
        "root",
        "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/",
    )
}

#[track_caller]
fn ok(o: &Outcome, what: &str) {
    assert_eq!(o.code, 0, "{what}:\n{}\n{}", o.stdout, o.stderr);
}

// Kind 11: an admin's `web_mode:maintenance,message=DB work until 14:00`, then `deploy`: the site
// went live at the end. A deploy leaves maintenance as it found it (the admin's page and message
// too), and says so; where it turned maintenance on itself, it takes it off.
#[test]
fn k11_a_deploy_leaves_maintenance_as_it_found_it() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k11_a_deploy_leaves_maintenance_as_it_found_it",
                "its maintenance flag is remote_path's, the dpkg-mode layout; release mode's per-instance switch is release_mode_djdemo's",
            );
            continue;
        }
        let h = web_host();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "remote_path = \"/srv/app/\"\napp_user = \"app\"\nmaintenance = \"always\"\n\
             deploy = [\"web_mode:maintenance\", \"deb.deploy\", \"web_mode:live\"]\n",
        );
        ok(&app.dfab(&["staging", "init"]), "init");
        app.build("1.0-1", "a");
        ok(
            &app.dfab(&[
                "staging",
                "web_mode:maintenance,message=DB work until 14:00",
            ]),
            "the admin's maintenance",
        );
        let out = app.dfab(&["staging", "deploy"]);
        ok(&out, "deploy");
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
        assert!(
            out.stdout.contains("left in maintenance as found"),
            "{s:?}: {}",
            out.stdout
        );
        let page = request(&h, "GET", "/");
        assert!(page.ends_with("status=503"), "{s:?}: {page}");
        assert!(page.contains("DB work until 14:00"), "{s:?}: {page}");

        // Found live, the deploy's own maintenance is taken off at the end.
        ok(&app.dfab(&["staging", "web_mode:live"]), "live");
        app.build("1.1-1", "b");
        ok(&app.dfab(&["staging", "deploy"]), "second deploy");
        assert_eq!(installed(&h), "1.1-1 ii", "{s:?}");
        assert_eq!(status(&h), "200", "{s:?}");
    }
}

// Kind 12: with remote_path under a 0700 home, nginx's workers cannot see the flag:
// `web_mode:maintenance` printed "maintenance on" and the site answered 200. The switch is judged
// by asking nginx; init and web_mode refuse, naming the directory, when the two disagree.
#[test]
fn k12_maintenance_on_is_what_the_web_server_answers() {
    let h = web_host();
    h.check("root", "mkdir -p /home/keep && chmod 700 /home/keep");
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "remote_path = \"/home/keep/app/\"\napp_user = \"app\"\n",
    );
    let out = app.dfab(&["staging", "init"]);
    assert_ne!(out.code, 0, "init: {}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("/home/keep") && out.stderr.contains("www-data"),
        "init: {}",
        out.stderr
    );
    let out = app.dfab(&["staging", "web_mode:maintenance"]);
    assert_ne!(out.code, 0, "web_mode: {}\n{}", out.stdout, out.stderr);
    assert!(
        !out.stdout.contains("maintenance on"),
        "web_mode: {}",
        out.stdout
    );
    assert!(
        out.stderr.contains("/home/keep") && out.stderr.contains("www-data"),
        "web_mode: {}",
        out.stderr
    );
    // Nothing claims maintenance: no flag left behind, the site is live.
    assert!(h
        .ssh("root", "test ! -e /home/keep/app/maintenance.on")
        .status
        .success());
    assert_eq!(status(&h), "200");
    // The failed init left no new snippet live (there was none before it).
    assert!(h
        .ssh(
            "root",
            "test ! -e /etc/nginx/snippets/dfab-maintenance.conf"
        )
        .status
        .success());

    // With the path open to nginx, both agree with the switch.
    h.check("root", "chmod 711 /home/keep");
    ok(&app.dfab(&["staging", "init"]), "init");
    ok(
        &app.dfab(&["staging", "web_mode:maintenance"]),
        "maintenance",
    );
    assert_eq!(status(&h), "503");
    ok(&app.dfab(&["staging", "web_mode:live"]), "live");
    assert_eq!(status(&h), "200");
}

// Kind 13: with `health_url` on the public path and no bypass, the deploy failed its own health
// check (dfab's 503) and left the site in maintenance. dfab's health checks pass the switch with
// a per-host secret the public does not have; a host whose snippet cannot let them through
// is refused before maintenance goes on.
#[test]
fn k13_health_checks_reach_the_app_during_maintenance() {
    for &s in Strategy::ALL {
        if s == Strategy::Release {
            s.skip(
                "k13_health_checks_reach_the_app_during_maintenance",
                "its snippet and health bypass are set up for the dpkg-mode layout (remote_path); release mode's per-instance switch is release_mode_djdemo's",
            );
            continue;
        }
        let h = web_host();
        let app = App::new(
            s,
            std::slice::from_ref(&h.ip),
            "remote_path = \"/srv/app/\"\napp_user = \"app\"\nmaintenance = \"always\"\n\
             health_url = \"http://127.0.0.1/\"\nhealth_timeout = 3\n\
             test_commands = [{ run = \"true\" }]\n\
             deploy = [\"web_mode:maintenance\", \"deb.deploy\", \"test\", \"web_mode:live\"]\n",
        );
        ok(&app.dfab(&["staging", "init"]), "init");
        app.build("1.0-1", "a");
        let out = app.dfab(&["staging", "deploy"]);
        ok(&out, "deploy");
        assert!(out.stdout.contains("answered 200"), "{s:?}: {}", out.stdout);
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
        assert_eq!(status(&h), "200", "{s:?}");

        // The public cannot use the bypass: a guessed token gets the splash.
        ok(
            &app.dfab(&["staging", "web_mode:maintenance"]),
            "maintenance",
        );
        let guessed = h.check(
            "root",
            "curl -s -o /dev/null -w '%{http_code}' -H 'X-Dfab-Health: guess' http://127.0.0.1/",
        );
        assert_eq!(guessed, "503");
        ok(&app.dfab(&["staging", "web_mode:live"]), "live");

        // A snippet that does not let the health check through (as `web_mode:snippet` prints
        // it, here): the plan cannot work, and the deploy says so before the site goes into
        // maintenance.
        h.check(
            "root",
            "sed -i '/x_dfab_health/,/^}/d' /etc/nginx/snippets/dfab-maintenance.conf \
             && ! grep -q x_dfab_health /etc/nginx/snippets/dfab-maintenance.conf \
             && nginx -s reload && sleep 0.5",
        );
        app.build("1.1-1", "b");
        let out = app.dfab(&["staging", "deploy"]);
        assert_ne!(out.code, 0, "{s:?}: {}\n{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("health_url") && out.stderr.contains("maintenance"),
            "{s:?}: {}",
            out.stderr
        );
        assert!(
            !out.stdout.contains("maintenance on"),
            "{s:?}: {}",
            out.stdout
        );
        assert_eq!(installed(&h), "1.0-1 ii", "{s:?}");
        assert_eq!(status(&h), "200", "{s:?}");
    }
}

// Kind 21: in maintenance, GET and HEAD got the 503 splash but POST and PUT nginx's bare
// `405 Not Allowed` (the splash was served by the static handler). Every method gets 503 with
// Retry-After, and the splash wherever a body is sent.
#[test]
fn k21_every_method_gets_the_503_splash() {
    let h = web_host();
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "remote_path = \"/srv/app/\"\napp_user = \"app\"\nmaintenance_retry_after = 90\n",
    );
    ok(&app.dfab(&["staging", "init"]), "init");
    ok(
        &app.dfab(&["staging", "web_mode:maintenance,message=Back at noon"]),
        "maintenance",
    );
    for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"] {
        let r = request(&h, method, "/api/items");
        assert!(r.starts_with("HTTP/1.1 503"), "{method}: {r}");
        assert!(r.contains("\r\nRetry-After: 90\r\n"), "{method}: {r}");
        if method != "HEAD" {
            assert!(r.contains("<p>Back at noon</p>"), "{method}: {r}");
        }
    }
    ok(&app.dfab(&["staging", "web_mode:live"]), "live");
    assert!(request(&h, "POST", "/").ends_with("status=501"));
}

// Kind 12, the same kind in `web_mode:status`: it reported the flag file alone, so with
// `remote_path` under a 0700 home (nginx's www-data cannot see the flag) it said "maintenance"
// while the site answered 200. It asks the web server too, and fails, naming the cause, when
// the two disagree: the flag set and the site live, or no flag and dfab's 503 (a snippet that
// tests another flag). With `maintenance_check_url = False` it says it did not ask.
#[test]
fn k12_web_mode_status_is_what_the_web_server_answers() {
    let h = web_host();
    h.check("root", "mkdir -p /home/keep && chmod 711 /home/keep");
    let env = "remote_path = \"/home/keep/app/\"\napp_user = \"app\"\n";
    let app = App::new(Strategy::DpkgPush, std::slice::from_ref(&h.ip), env);
    ok(&app.dfab(&["staging", "init"]), "init");
    ok(
        &app.dfab(&["staging", "web_mode:maintenance"]),
        "maintenance",
    );
    let out = app.dfab(&["staging", "web_mode:status"]);
    ok(&out, "status, in maintenance");
    assert!(
        out.stdout.contains("maintenance since") && out.stdout.contains("answers 503"),
        "{}",
        out.stdout
    );

    // The home closed: the flag is still there, but nginx cannot see it and the site is live.
    h.check("root", "chmod 700 /home/keep");
    assert_eq!(status(&h), "200");
    let out = app.dfab(&["staging", "web_mode:status"]);
    assert_ne!(out.code, 0, "status: {}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("flag /home/keep/app/maintenance.on set")
            && out.stderr.contains("answers 200")
            && out.stderr.contains("/home/keep")
            && out.stderr.contains("www-data"),
        "status: {}",
        out.stderr
    );

    // Not asked: said, whatever the site answers.
    let off = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        &format!("{env}maintenance_check_url = false\n"),
    );
    let out = off.dfab(&["staging", "web_mode:status"]);
    ok(&out, "status, not asked");
    assert!(
        out.stdout.contains("maintenance since")
            && out.stdout.contains("not asked of the web server"),
        "{}",
        out.stdout
    );

    // Live by the flag of an env whose maintenance_file the snippet does not test, while the
    // site answers dfab's 503.
    h.check("root", "chmod 711 /home/keep");
    assert_eq!(status(&h), "503");
    let other = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        &format!("{env}maintenance_file = \"/home/keep/app/other.on\"\n"),
    );
    let out = other.dfab(&["staging", "web_mode:status"]);
    assert_ne!(out.code, 0, "status: {}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("live") && out.stderr.contains("answers dfab's 503"),
        "status: {}",
        out.stderr
    );

    // Live and agreeing.
    ok(&app.dfab(&["staging", "web_mode:live"]), "live");
    let out = app.dfab(&["staging", "web_mode:status"]);
    ok(&out, "status, live");
    assert!(
        out.stdout.contains("live since") && out.stdout.contains("answers 200"),
        "{}",
        out.stdout
    );
}

// Kind 12, a site that does not include the snippet: before the app's package is installed (the
// first deploy's `init`, `web_mode:maintenance`), no site of the app exists yet, which is said
// ("not shown yet") and not refused; once the package is installed, a site that still does not
// include the snippet is refused, naming it, with no flag left behind.
#[test]
fn k12_a_site_without_the_snippet_is_refused_once_the_app_is_installed() {
    let h = web_host();
    h.check(
        "root",
        "sed -i '/include/d' /etc/nginx/sites-enabled/default && nginx -s reload",
    );
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "remote_path = \"/srv/app/\"\napp_user = \"app\"\npackage_name = \"deploy-app\"\n",
    );
    let out = app.dfab(&["staging", "init"]);
    ok(&out, "init");
    assert!(
        out.stderr.contains("no nginx site includes the snippet"),
        "init: {}",
        out.stderr
    );
    let out = app.dfab(&["staging", "web_mode:maintenance"]);
    ok(&out, "maintenance before the first deploy");
    assert!(out.stdout.contains("not shown yet"), "{}", out.stdout);
    assert!(
        out.stderr.contains("deploy-app, not installed yet"),
        "{}",
        out.stderr
    );
    ok(&app.dfab(&["staging", "web_mode:live"]), "live");

    app.build("1.0-1", "a");
    ok(&app.dfab(&["staging", "deb.deploy"]), "deb.deploy");
    assert_eq!(installed(&h), "1.0-1 ii");
    let out = app.dfab(&["staging", "web_mode:maintenance"]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("no nginx site includes the snippet /etc/nginx/snippets/dfab-maintenance.conf (web_snippet_path), though deploy-app is installed"),
        "{}",
        out.stderr
    );
    assert!(!out.stdout.contains("maintenance on"), "{}", out.stdout);
    assert!(h
        .ssh("root", "test ! -e /srv/app/maintenance.on")
        .status
        .success());
    assert_eq!(status(&h), "200");
}

// Kind 12, what a refusal leaves (review of issue 19): `web_mode:maintenance` on a host without
// `init` (no snippet) was refused, yet left `/srv/app/` (remote_path) behind, made by root
// before the check. A refused switch leaves the host as it was: no directory, no flag, no page;
// directories that were there before stay.
#[test]
fn k12_a_refused_maintenance_switch_leaves_nothing_behind() {
    let h = web_host();
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "remote_path = \"/srv/app/\"\napp_user = \"app\"\n",
    );
    h.check("root", "test ! -e /srv/app");
    let out = app.dfab(&["staging", "web_mode:maintenance"]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("not dfab's 503"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
    h.check("root", "test ! -e /srv/app && test -d /srv/www");
    // Made by hand, empty: it stays (only what the refused switch made goes).
    h.check("root", "mkdir /srv/app");
    let out = app.dfab(&["staging", "web_mode:maintenance"]);
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(h.check("root", "ls -A /srv/app"), "");
}

/// A container with the app behind Apache on :80 (`mod_rewrite`, `mod_headers`, `mod_proxy`),
/// its site including dfab's snippet first; `/down/` proxies to a port nothing listens on, so
/// Apache answers it with its own 503 (an app's 503, not maintenance). Apache runs by hand.
fn apache_host() -> TestHost {
    let h = TestHost::new();
    h.check(
        "root",
        "set -e; command -v apache2ctl >/dev/null || { echo 'apache2 is missing from the test base: run `bash scripts/setup-host`' >&2; exit 1; }
mkdir -p /srv/www; echo app-ok > /srv/www/index.html
a2enmod -q rewrite headers proxy proxy_http >/dev/null; echo ServerName localhost > /etc/apache2/conf-enabled/servername.conf
touch /etc/apache2/dfab-maintenance.conf
cat > /etc/apache2/sites-enabled/000-default.conf <<'SITE'
<VirtualHost *:80>
    Include /etc/apache2/dfab-maintenance.conf
    ProxyPass /down/ http://127.0.0.1:9/
    ProxyPass / http://127.0.0.1:8000/
</VirtualHost>
SITE
setsid nohup python3 -m http.server 8000 --bind 127.0.0.1 --directory /srv/www >/tmp/app.log 2>&1 </dev/null &
mkdir -p /run/lock /run/apache2; apache2ctl start
for i in $(seq 50); do curl -sf http://127.0.0.1/ >/dev/null && exit 0; sleep 0.1; done
exit 1",
    );
    h
}

// Kind 21 on Apache (review of issue 19): every method in maintenance must get 503 with
// Retry-After and the splash there too; and Apache's snippet set its marker
// (`X-Dfab-Maintenance`) on any 503, so an app's own 503 was taken for dfab's maintenance (and
// `web_mode:status` called a live site with a failing page a stale switch). The marker is set
// on dfab's maintenance response only.
#[test]
fn k21_every_method_gets_the_503_splash_on_apache_and_only_dfabs_503_is_maintenance() {
    let h = apache_host();
    let app = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "remote_path = \"/srv/app/\"\napp_user = \"app\"\nweb_server = \"apache\"\n\
         maintenance_retry_after = 90\n",
    );
    ok(&app.dfab(&["staging", "init"]), "init");
    // An app's 503, with the site live: not dfab's.
    let r = request(&h, "GET", "/down/x");
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(!r.contains("X-Dfab-Maintenance"), "{r}");
    ok(
        &app.dfab(&["staging", "web_mode:maintenance,message=Back at noon"]),
        "maintenance",
    );
    for method in ["GET", "HEAD", "POST", "PUT", "DELETE"] {
        let r = request(&h, method, "/api/items");
        assert!(r.starts_with("HTTP/1.1 503"), "{method}: {r}");
        assert!(r.contains("\r\nRetry-After: 90\r\n"), "{method}: {r}");
        assert!(
            r.contains("\r\nX-Dfab-Maintenance: on\r\n"),
            "{method}: {r}"
        );
        if method != "HEAD" {
            assert!(r.contains("<p>Back at noon</p>"), "{method}: {r}");
        }
    }
    ok(&app.dfab(&["staging", "web_mode:live"]), "live");
    assert!(request(&h, "GET", "/").ends_with("status=200"));
    // Asked where the app answers 503: live, as the flag says, not "dfab's maintenance page".
    let app503 = App::new(
        Strategy::DpkgPush,
        std::slice::from_ref(&h.ip),
        "remote_path = \"/srv/app/\"\napp_user = \"app\"\nweb_server = \"apache\"\n\
         maintenance_check_url = \"http://127.0.0.1/down/\"\n",
    );
    let out = app503.dfab(&["staging", "web_mode:status"]);
    ok(&out, "status where the app answers 503");
    assert!(
        out.stdout.contains("answers 503") && !out.stderr.contains("maintenance page"),
        "{}\n{}",
        out.stdout,
        out.stderr
    );
}
