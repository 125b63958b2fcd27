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
