//! Installing the maintenance snippet (`init`): write it beside the old one, test the web
//! server's config, reload only when the test passes, and put the old file back when it fails.

use crate::transport::cmd::{quote, Cmd};

use super::Server;

/// A line `init` prints when a part changed nothing (`dfab:unchanged …`) or changed something
/// (`dfab:changed …`); it counts them for its summary.
pub const CHANGED: &str = "dfab:changed";
/// See [`CHANGED`].
pub const UNCHANGED: &str = "dfab:unchanged";

/// The config test of `server`.
#[must_use]
pub fn config_test(server: Server) -> &'static str {
    match server {
        Server::Nginx => "nginx -t",
        Server::Apache => "apachectl configtest",
    }
}

/// Shell text for a graceful reload of `server`, when it is running (systemd or not).
#[must_use]
pub fn reload_script(server: Server) -> &'static str {
    match server {
        Server::Nginx => {
            "if [ -d /run/systemd/system ] && systemctl is-active --quiet nginx; then \
             systemctl reload nginx && echo 'nginx reloaded (systemctl reload nginx)'; \
             elif [ -s /run/nginx.pid ] && kill -0 \"$(cat /run/nginx.pid)\" 2>/dev/null; then \
             nginx -s reload && echo 'nginx reloaded (nginx -s reload)'; \
             else echo 'nginx is not running: nothing to reload' >&2; fi"
        }
        Server::Apache => {
            "if [ -d /run/systemd/system ] && systemctl is-active --quiet apache2; then \
             systemctl reload apache2 && echo 'apache2 reloaded (systemctl reload apache2)'; \
             elif pidof apache2 >/dev/null 2>&1; then \
             apachectl graceful && echo 'apache2 reloaded (apachectl graceful)'; \
             else echo 'apache2 is not running: nothing to reload' >&2; fi"
        }
    }
}

/// Install `snippet` (sent on stdin) at `dest`: unchanged when identical; else swap it in, run
/// the config test, and reload on success or restore the old file (exit 1) on failure.
#[must_use]
pub fn snippet(server: Server, dest: &str, snippet: &str) -> Cmd {
    let script = format!(
        "set -e; d={d}\n\
         mkdir -p \"$(dirname \"$d\")\"\n\
         new=$(mktemp \"$d.dfab-XXXXXX\"); trap 'rm -f \"$new\"' EXIT; cat > \"$new\"\n\
         if [ -e \"$d\" ] && cmp -s \"$new\" \"$d\"; then echo \"{UNCHANGED} snippet $d\"; exit 0; fi\n\
         if [ -e \"$d\" ]; then cp -p \"$d\" \"$d.dfab-old\"; had=1; else had=0; fi\n\
         chmod 644 \"$new\"; mv -f \"$new\" \"$d\"\n\
         if ! out=$({test} 2>&1); then\n\
         if [ $had = 1 ]; then mv -f \"$d.dfab-old\" \"$d\"; else rm -f \"$d\"; fi\n\
         printf '%s\\n' \"$out\" >&2\n\
         echo \"{test} failed with the new snippet $d; the old config is back in place and nothing was reloaded\" >&2\n\
         exit 1; fi\n\
         rm -f \"$d.dfab-old\"\n\
         {reload}\n\
         echo \"{CHANGED} snippet $d\"",
        d = quote(dest),
        test = config_test(server),
        reload = reload_script(server),
    );
    Cmd::shell(script)
        .sudo(None)
        .stdin(snippet.as_bytes().to_vec())
}
