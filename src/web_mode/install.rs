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

/// `dfab-host web snippet`: install `snippet` (sent on stdin) at `dest`: unchanged when
/// identical; else swap it in, run the config test, and reload on success or restore the old
/// file (exit 1) on failure.
#[must_use]
pub fn snippet(server: Server, dest: &str, snippet: &str) -> Cmd {
    hostside::call(["web", "snippet", server.name(), dest])
        .sudo(None)
        .stdin(snippet.as_bytes().to_vec())
}

/// [`snippet`] of `s`, then the switch checked with the web server (a check file, the site
/// stays up: the host program's `web_check`) unless `maintenance_check_url` is False: when the web server
/// does not answer it, the snippet as it was (or none) is put back and the server reloaded, and
/// the command fails naming the cause, so a failed `init` leaves nothing new live.
#[must_use]
pub fn snippet_checked(s: &super::WebSettings, snippet: &str) -> Cmd {
    let mut args = vec![
        "web".to_owned(),
        "snippet".into(),
        s.server.name().into(),
        s.snippet_path.clone(),
    ];
    if let Some(url) = &s.check_url {
        args.extend([s.flag.clone(), url.clone(), s.env_name.clone()]);
    }
    let cmd = hostside::call(args)
        .sudo(None)
        .stdin(snippet.as_bytes().to_vec());
    super::switch::with_package(cmd, s)
}
