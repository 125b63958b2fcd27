//! Installing the maintenance snippet (`init`): write it beside the old one, test the web
//! server's config, reload only when the test passes, and put the old file back when it fails.

use crate::hostside;
use crate::transport::cmd::Cmd;

use super::Server;

/// A line `init` prints when a part changed nothing (`dfab:unchanged …`) or changed something
/// (`dfab:changed …`); it counts them for its summary.
pub const CHANGED: &str = "dfab:changed";
/// See [`CHANGED`].
pub const UNCHANGED: &str = "dfab:unchanged";

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

/// `dfab-host web snippet`: install `snippet` (sent on stdin) at `dest`: unchanged when
/// identical; else swap it in, run the config test, and reload on success or restore the old
/// file (exit 1) on failure.
#[must_use]
pub fn snippet(server: Server, dest: &str, snippet: &str) -> Cmd {
    hostside::call(["web", "snippet", server.name(), dest])
        .sudo(None)
        .stdin(snippet.as_bytes().to_vec())
}
