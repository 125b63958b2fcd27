//! The web-server snippets that put the maintenance switch in front of the app: a flag-file test
//! on every request, so switching needs no reload and drops no request.

use std::fmt::Write as _;

use super::{Server, WebSettings};

/// Where the host side writes the host's health-check secret into the snippet (`init`).
pub const HEALTH_TOKEN: &str = "@DFAB_HEALTH_TOKEN@";

/// The path the splash page is served under (internal to the web server).
pub const SPLASH_URI: &str = "/.dfab-maintenance.html";

/// The snippet for `server`, with the env's paths filled in; `health`: with the line that lets
/// dfab's health checks through (its secret, [`HEALTH_TOKEN`], filled in by `init` on each
/// host), else without (a snippet printed for a person).
#[must_use]
pub fn render(s: &WebSettings, server: Server, health: bool) -> String {
    match server {
        Server::Nginx => nginx(s, health),
        Server::Apache => apache(s, health),
    }
}

/// Escape a URL prefix (letters, digits and `/._~-` only, checked earlier) for a regex.
fn regex_prefix(p: &str) -> String {
    p.replace('.', "\\.")
}

fn split_page(page: &str) -> (&str, &str) {
    let i = page.rfind('/').map_or(0, |i| i + 1);
    (&page[..i], &page[i..])
}

/// For inclusion inside the site's `server { }` block.
///
/// Every method gets the splash: `error_page` to a URI turns the request into a GET (a named
/// location would keep POST, which the static handler answers with 405). dfab's probes
/// (`X-Dfab-Probe`) see the switch as the public does, or a check file beside the flag in its
/// place, and its health checks pass with the host's secret (`X-Dfab-Health`).
#[must_use]
pub fn nginx(s: &WebSettings, health: bool) -> String {
    let mut o = String::new();
    let (dir, file) = split_page(&s.page);
    let _ = writeln!(
        o,
        "# dfab maintenance switch for environment `{}` (dfab web_mode).\n\
         # Include inside the site's server {{ }} block:  include {};\n\
         # While {} exists, requests get 503 with the splash page and Retry-After.\n\
         # Switching needs no reload.",
        s.env_name, s.snippet_path, s.flag
    );
    o.push_str("set $dfab_flag 0;\n");
    let _ = writeln!(o, "if (-f {}) {{\n    set $dfab_flag 1;\n}}", s.flag);
    o.push_str("# dfab's checks (init, web_mode): a check file stands for the flag when asked.\n");
    let _ = writeln!(
        o,
        "set $dfab_check {f};\nif ($http_x_dfab_probe ~ ^check) {{\n    set $dfab_check {f}.check;\n}}\n\
         if (-f $dfab_check) {{\n    set $dfab_flag 1;\n}}",
        f = s.flag
    );
    // dfab's marker goes on the splash only while the switch is on: another 503 that
    // `error_page` sends to the splash (`limit_req`'s, say) is not maintenance.
    o.push_str("set $dfab_marker \"\";\nif ($dfab_flag) {\n    set $dfab_marker on;\n}\n");
    o.push_str("set $dfab_maintenance $dfab_flag;\n");
    for a in &s.allow {
        let _ = writeln!(
            o,
            "if ($uri ~ ^{}) {{\n    set $dfab_maintenance 0;\n}}",
            regex_prefix(a)
        );
    }
    for b in &s.bypass {
        let _ = writeln!(
            o,
            "if ($remote_addr = {b}) {{\n    set $dfab_maintenance 0;\n}}"
        );
    }
    if health {
        o.push_str("# dfab's health checks, with this host's secret.\n");
        let _ = writeln!(
            o,
            "if ($http_x_dfab_health = \"{HEALTH_TOKEN}\") {{\n    set $dfab_maintenance 0;\n}}"
        );
    }
    o.push_str("if ($http_x_dfab_probe ~ public$) {\n    set $dfab_maintenance $dfab_flag;\n}\n");
    let _ = writeln!(
        o,
        "if ($uri = {SPLASH_URI}) {{\n    set $dfab_maintenance 0;\n}}"
    );
    o.push_str("if ($dfab_maintenance) {\n    return 503;\n}\n");
    let _ = writeln!(o, "error_page 503 {SPLASH_URI};");
    let _ = writeln!(
        o,
        "location = {SPLASH_URI} {{\n    internal;\n    root {dir};\n    try_files /{file} =503;\n    \
         add_header Retry-After {} always;\n    add_header Cache-Control no-store always;\n    \
         add_header X-Dfab-Maintenance $dfab_marker always;\n}}",
        s.retry_after
    );
    o
}

/// For inclusion inside the site's `<VirtualHost>`; needs `mod_rewrite` and `mod_headers`.
#[must_use]
pub fn apache(s: &WebSettings, health: bool) -> String {
    let mut o = String::new();
    let (dir, file) = split_page(&s.page);
    let _ = writeln!(
        o,
        "# dfab maintenance switch for environment `{}` (dfab web_mode).\n\
         # Include inside the site's <VirtualHost>, before any ProxyPass:  Include {}\n\
         # Needs mod_rewrite and mod_headers (a2enmod rewrite headers).\n\
         # While {} exists, requests get 503 with the splash page and Retry-After.",
        s.env_name, s.snippet_path, s.flag
    );
    let _ = writeln!(o, "Alias /dfab-maintenance.html {}", s.page);
    // A site that proxies everything to the app (`ProxyPass /`) would otherwise send the splash
    // page's own request to the app: ProxyPass wins over Alias, and the first match wins, so this
    // exclusion must come before the site's (include the snippet first in the <VirtualHost>).
    o.push_str("<IfModule mod_proxy.c>\n    ProxyPass /dfab-maintenance.html !\n</IfModule>\n");
    let _ = writeln!(
        o,
        "<Directory {dir}>\n    <Files {file}>\n        Require all granted\n    </Files>\n</Directory>"
    );
    o.push_str("ErrorDocument 503 /dfab-maintenance.html\n");
    o.push_str("RewriteEngine On\n");
    // dfab's checks (init, web_mode): a check file stands for the flag when asked.
    let _ = writeln!(
        o,
        "RewriteCond %{{HTTP:X-Dfab-Probe}} ^check\nRewriteCond {}.check -f\nRewriteRule ^ - [E=DFAB_FLAG:1]",
        s.flag
    );
    let _ = writeln!(
        o,
        "RewriteCond {} -f\nRewriteRule ^ - [E=DFAB_FLAG:1]",
        s.flag
    );
    // The switch as the public sees it, for dfab's probes.
    o.push_str(
        "RewriteCond %{HTTP:X-Dfab-Probe} public$\nRewriteCond %{ENV:DFAB_FLAG} =1\n\
         RewriteCond %{REQUEST_URI} !=/dfab-maintenance.html\nRewriteRule ^ - [E=DFAB_MAINT:1,R=503,L]\n",
    );
    o.push_str("RewriteCond %{ENV:DFAB_FLAG} =1\n");
    o.push_str("RewriteCond %{REQUEST_URI} !=/dfab-maintenance.html\n");
    for a in &s.allow {
        let _ = writeln!(o, "RewriteCond %{{REQUEST_URI}} !^{}", regex_prefix(a));
    }
    for b in &s.bypass {
        let _ = writeln!(o, "RewriteCond %{{REMOTE_ADDR}} !={b}");
    }
    if health {
        let _ = writeln!(o, "RewriteCond %{{HTTP:X-Dfab-Health}} !={HEALTH_TOKEN}");
    }
    o.push_str("RewriteRule ^ - [E=DFAB_MAINT:1,R=503,L]\n");
    // The headers of dfab's 503 only (an app's own 503 is not maintenance): the rules above
    // mark it; the splash is an internal redirect, where Apache renames the mark REDIRECT_….
    let ours = "\"expr=-n reqenv('DFAB_MAINT') || -n reqenv('REDIRECT_DFAB_MAINT')\"";
    let _ = writeln!(
        o,
        "Header always set Retry-After \"{}\" {ours}",
        s.retry_after
    );
    let _ = writeln!(o, "Header always set X-Dfab-Maintenance on {ours}");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WebSettings {
        WebSettings {
            env_name: "production".into(),
            remote_path: "/srv/app/".into(),
            flag: "/srv/app/maintenance.on".into(),
            page: "/srv/app/maintenance.html".into(),
            state: "/srv/app/.dfab-web-mode".into(),
            allow: vec!["/static/".into(), "/health.txt".into()],
            bypass: vec!["10.0.3.1".parse().unwrap()],
            retry_after: 120,
            server: Server::Nginx,
            snippet_path: "/etc/nginx/snippets/dfab.conf".into(),
            check_url: Some("http://127.0.0.1/".into()),
            package: None,
        }
    }

    #[test]
    fn nginx_snippet_tests_the_flag_and_lets_allowed_prefixes_through() {
        let n = nginx(&settings(), true);
        assert!(n.contains("if (-f /srv/app/maintenance.on) {"), "{n}");
        assert!(n.contains("if ($uri ~ ^/static/) {"), "{n}");
        assert!(n.contains("if ($uri ~ ^/health\\.txt) {"), "{n}");
        assert!(n.contains("if ($remote_addr = 10.0.3.1) {"), "{n}");
        assert!(n.contains("root /srv/app/;\n    try_files /maintenance.html =503;"));
        // A URI, not a named location: the redirect makes every method a GET (no 405).
        assert!(
            n.contains("error_page 503 /.dfab-maintenance.html;\n"),
            "{n}"
        );
        assert!(
            n.contains("if ($http_x_dfab_health = \"@DFAB_HEALTH_TOKEN@\") {"),
            "{n}"
        );
        assert!(!nginx(&settings(), false).contains("x_dfab_health"));
        assert!(n.contains("add_header Retry-After 120 always;"));
        assert_eq!(n.matches('{').count(), n.matches('}').count());
    }

    #[test]
    fn apache_snippet_rewrites_to_503_unless_allowed() {
        let a = apache(&settings(), true);
        assert!(
            a.contains("RewriteCond /srv/app/maintenance.on -f\n"),
            "{a}"
        );
        assert!(a.contains("RewriteCond %{REQUEST_URI} !^/static/\n"));
        assert!(a.contains("RewriteCond %{REMOTE_ADDR} !=10.0.3.1\n"));
        assert!(a.contains("RewriteRule ^ - [E=DFAB_MAINT:1,R=503,L]\n"));
        // The marker on dfab's 503 only, not on an app's (review of issue 19).
        assert!(!a.contains("REQUEST_STATUS"), "{a}");
        assert!(
            a.contains("Header always set X-Dfab-Maintenance on \"expr=-n reqenv('DFAB_MAINT')"),
            "{a}"
        );
        assert!(a.contains("Alias /dfab-maintenance.html /srv/app/maintenance.html\n"));
        assert!(a.contains("    ProxyPass /dfab-maintenance.html !\n"));
    }
}
