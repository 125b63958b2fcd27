//! `web_restart` and the health check: restart the app's unit (or reload the web server), then
//! wait for `health_url` to answer 2xx, asking with curl on the host itself.

use crate::hostside;
use crate::transport::cmd::{quote, Cmd};

use super::Server;

/// `dfab-host web restart`: the default restart: the package's own systemd unit when it ships
/// one and systemd runs, else a graceful reload of the web server (and it says which).
#[must_use]
pub fn default_restart(package: Option<&str>, server: Server) -> Cmd {
    hostside::call(["web", "restart", server.name()].into_iter().chain(package)).sudo(None)
}

/// Poll `url` with curl on the host until it answers 2xx, or fail after `timeout` seconds
/// with the last status and the start of the last body; it asks every 0.2 s (a restarted app
/// is usually up within a second, and a whole-second poll added most of a rollback's time).
/// A healthy host answers the first request, which costs one curl and nothing else (a deploy
/// asks every host). It runs as root
/// to send the host's health-check secret (`X-Dfab-Health`, from [`HEALTH_HEADER`], read by
/// curl itself and never on a command line), which passes the maintenance switch.
#[must_use]
pub fn wait_healthy(url: &str, timeout: u64) -> Cmd {
    Cmd::shell(format!(
        "u={u}; if [ -r {hh} ]; then set -- -H @{hh}; else set --; fi\n\
         code=$(curl -sS -o /dev/null -w '%{{http_code}}' --max-time 5 \"$@\" \"$u\" 2>/dev/null) || true\n\
         case \"$code\" in 2??) echo \"health: $u answered $code\"; exit 0;; esac\n\
         end=$(( $(date +%s) + {timeout} )); b=$(mktemp); trap 'rm -f \"$b\"' EXIT\n\
         while :; do\n\
         code=$(curl -sS -o \"$b\" -w '%{{http_code}}' --max-time 5 \"$@\" \"$u\" 2>\"$b.err\") || true\n\
         case \"$code\" in 2??) rm -f \"$b.err\"; echo \"health: $u answered $code\"; exit 0;; esac\n\
         if [ \"$(date +%s)\" -ge \"$end\" ]; then\n\
         echo \"health: $u did not answer 2xx within {timeout} s; last response: ${{code:-none}} $(cat \"$b.err\" 2>/dev/null) $(head -c 300 \"$b\" | tr '\\n' ' ')\" >&2\n\
         rm -f \"$b.err\"; exit 1; fi\n\
         sleep 0.2\n\
         done",
        u = quote(url),
        hh = HEALTH_HEADER,
    ))
    .sudo(None)
}

/// The host's health-check header file, written by `dfab-host web snippet` (root only).
pub const HEALTH_HEADER: &str = "/var/lib/dfab/web/health.header";
