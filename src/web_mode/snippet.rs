//! The web-server snippets that put the maintenance switch in front of the app: a flag-file test
//! on every request, so switching needs no reload and drops no request.

use std::fmt::Write as _;

use super::{Server, WebSettings};

/// The snippet for `server`, with the env's paths filled in.
#[must_use]
pub fn render(s: &WebSettings, server: Server) -> String {
    match server {
        Server::Nginx => nginx(s),
        Server::Apache => apache(s),
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
#[must_use]
pub fn nginx(s: &WebSettings) -> String {
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
    o.push_str("set $dfab_maintenance 0;\n");
    let _ = writeln!(o, "if (-f {}) {{\n    set $dfab_maintenance 1;\n}}", s.flag);
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
    o.push_str("if ($dfab_maintenance) {\n    return 503;\n}\n");
    o.push_str("error_page 503 @dfab_maintenance;\n");
    let _ = writeln!(
        o,
        "location @dfab_maintenance {{\n    root {dir};\n    try_files /{file} =503;\n    \
         add_header Retry-After {} always;\n    add_header Cache-Control no-store always;\n}}",
        s.retry_after
    );
    o
}

/// For inclusion inside the site's `<VirtualHost>`; needs `mod_rewrite` and `mod_headers`.
#[must_use]
pub fn apache(s: &WebSettings) -> String {
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
    let _ = writeln!(o, "RewriteCond {} -f", s.flag);
    o.push_str("RewriteCond %{REQUEST_URI} !=/dfab-maintenance.html\n");
    for a in &s.allow {
        let _ = writeln!(o, "RewriteCond %{{REQUEST_URI}} !^{}", regex_prefix(a));
    }
    for b in &s.bypass {
        let _ = writeln!(o, "RewriteCond %{{REMOTE_ADDR}} !={b}");
    }
    o.push_str("RewriteRule ^ - [R=503,L]\n");
    let _ = writeln!(
        o,
        "Header always set Retry-After \"{}\" \"expr=%{{REQUEST_STATUS}} == 503\"",
        s.retry_after
    );
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
        }
    }

    #[test]
    fn nginx_snippet_tests_the_flag_and_lets_allowed_prefixes_through() {
        let n = nginx(&settings());
        assert!(n.contains("if (-f /srv/app/maintenance.on) {"), "{n}");
        assert!(n.contains("if ($uri ~ ^/static/) {"), "{n}");
        assert!(n.contains("if ($uri ~ ^/health\\.txt) {"), "{n}");
        assert!(n.contains("if ($remote_addr = 10.0.3.1) {"), "{n}");
        assert!(n.contains("root /srv/app/;\n    try_files /maintenance.html =503;"));
        assert!(n.contains("add_header Retry-After 120 always;"));
        assert_eq!(n.matches('{').count(), n.matches('}').count());
    }

    #[test]
    fn apache_snippet_rewrites_to_503_unless_allowed() {
        let a = apache(&settings());
        assert!(
            a.contains("RewriteCond /srv/app/maintenance.on -f\n"),
            "{a}"
        );
        assert!(a.contains("RewriteCond %{REQUEST_URI} !^/static/\n"));
        assert!(a.contains("RewriteCond %{REMOTE_ADDR} !=10.0.3.1\n"));
        assert!(a.contains("RewriteRule ^ - [R=503,L]\n"));
        assert!(a.contains("Alias /dfab-maintenance.html /srv/app/maintenance.html\n"));
        assert!(a.contains("    ProxyPass /dfab-maintenance.html !\n"));
    }
}
