//! The ssh master connection of one host, started by dfab itself: its control socket at a short
//! path of ours, its start paced per sshd and retried when sshd refuses it, and a watchdog that
//! ends it when dfab ends, however dfab ends (`kill -9`, Ctrl-C, a panic).

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex, Once};
use std::time::Duration;

/// How many masters may be in their handshake with one sshd (a host, or the bastion in front
/// of it) at once: well under sshd's `MaxStartups`, which drops connections that are still
/// unauthenticated beyond its first number (10 by default, 3 on some bastions).
const STARTS_PER_SSHD: usize = 2;

/// How many times a start that sshd refused is tried in all.
const TRIES: u32 = 6;

/// The watchdog: starts `ssh -f -M` (which forks once authenticated), says how that went on
/// stdout, then waits for dfab's end of its stdin to close (dfab exiting by any means) and
/// ends the master and removes the socket directory. It ignores the terminal's signals: dfab's
/// own end (its exit) is what ends it.
const WATCHDOG: &str = r#"d=$1; shift
end() { ssh -S "$d/m" -O exit dfab-master >/dev/null 2>&1; rm -rf "$d"; exit 0; }
trap '' INT HUP QUIT
trap end TERM
"$@" </dev/null >/dev/null 2>&1
st=$?
echo "$st"
exec >/dev/null
[ "$st" -eq 0 ] || exit 0
cat >/dev/null
end"#;

/// A running master and the watchdog that holds it.
pub(crate) struct Master {
    dir: Option<tempfile::TempDir>,
    keep: Option<std::io::PipeWriter>,
    watchdog: Child,
}

/// Why a master did not start.
pub(crate) enum StartFailure {
    /// ssh said this (its log, trimmed).
    Ssh(String),
    /// dfab could not run ssh or the watchdog.
    Local(std::io::Error),
}

impl Master {
    /// The control socket.
    pub(crate) fn socket(&self) -> PathBuf {
        self.dir().join("m")
    }

    fn dir(&self) -> &Path {
        self.dir
            .as_ref()
            .map_or(Path::new("/nonexistent"), |d| d.path())
    }

    /// Start a master to `dest` with the ssh options `opts`; `sshd` names the daemon its
    /// handshake meets (the bastion, or the host itself), for pacing. A start refused before
    /// authentication (sshd's `MaxStartups`, a reset) is tried again, [`TRIES`] times in all,
    /// after a growing pause; the last failure is returned with the number of tries.
    pub(crate) fn start(
        opts: &[OsString],
        dest: &str,
        sshd: &str,
    ) -> Result<Master, (StartFailure, u32)> {
        sweep();
        let mut tries = 0;
        loop {
            tries += 1;
            let r = {
                let _slot = Starts::take(sshd);
                Master::start_once(opts, dest)
            };
            match r {
                Ok(m) => return Ok(m),
                Err(StartFailure::Ssh(log)) if refused_at_start(&log) && tries < TRIES => {
                    std::thread::sleep(backoff(tries));
                }
                Err(e) => return Err((e, tries)),
            }
        }
    }

    fn start_once(opts: &[OsString], dest: &str) -> Result<Master, StartFailure> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("dfab-{}-", std::process::id()))
            .tempdir_in(socket_base())
            .map_err(StartFailure::Local)?;
        let (keep_r, keep_w) = std::io::pipe().map_err(StartFailure::Local)?;
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(WATCHDOG)
            .arg("dfab-ssh-master")
            .arg(dir.path())
            .arg("ssh")
            .arg("-E")
            .arg(dir.path().join("log"))
            .arg("-S")
            .arg(dir.path().join("m"))
            .args([
                "-M",
                "-f",
                "-N",
                "-o",
                "ControlPersist=yes",
                "-o",
                "BatchMode=yes",
            ])
            .args(opts)
            .arg("--")
            .arg(dest)
            .stdin(Stdio::from(keep_r))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut watchdog = c.spawn().map_err(StartFailure::Local)?;
        let mut line = String::new();
        let read = BufReader::new(watchdog.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(StartFailure::Local);
        let master = Master {
            dir: Some(dir),
            keep: Some(keep_w),
            watchdog,
        };
        read?;
        if line.trim() == "0" {
            return Ok(master);
        }
        let log = fs_err::read_to_string(master.dir().join("log")).unwrap_or_default();
        Err(StartFailure::Ssh(clean_log(&log)))
    }
}

impl Drop for Master {
    fn drop(&mut self) {
        // Closing our end ends the watchdog's `cat`: it sends `-O exit` and removes the
        // directory; wait for it so that no master outlives the run.
        drop(self.keep.take());
        let _ = self.watchdog.wait();
        if let Some(d) = self.dir.take() {
            let _ = d.close();
        }
    }
}

/// ssh's log without the lines that say nothing of the failure.
fn clean_log(log: &str) -> String {
    log.lines()
        .filter(|l| !l.starts_with("Warning: Permanently added") && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// True when sshd (or something before it) ended the connection before authentication: what
/// sshd's `MaxStartups` does to connections beyond its limit.
pub(crate) fn refused_at_start(log: &str) -> bool {
    log.contains("kex_exchange_identification")
        || log.contains("Connection reset by peer")
        || (log.contains("Connection closed by") && !log.contains("Permission denied"))
}

fn backoff(tries: u32) -> Duration {
    // 0.2 s, 0.4 s, 0.8 s, … plus up to 0.25 s of jitter so that refused hosts spread out.
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() % 250);
    Duration::from_millis(200 * (1 << tries.min(5)) / 2 + u64::from(jitter))
}

/// Where control sockets go: `$XDG_RUNTIME_DIR` when it is short enough, else `/tmp`. A Unix
/// socket path has room for 107 bytes, and ssh adds 17 for its temporary name while binding.
pub(crate) fn socket_base() -> PathBuf {
    std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute() && p.as_os_str().len() <= 48 && p.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// Once per process: end the masters and remove the socket directories of dfab runs whose
/// process is gone and whose watchdog did not get to it (it was killed too).
fn sweep() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok(entries) = fs_err::read_dir(socket_base()) else {
            return;
        };
        let Ok(me) =
            fs_err::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(pid) = name
                .strip_prefix("dfab-")
                .and_then(|r| r.split_once('-'))
                .and_then(|(p, _)| p.parse::<u32>().ok())
            else {
                continue;
            };
            let ours = std::os::unix::fs::MetadataExt::uid(&match e.metadata() {
                Ok(m) if m.is_dir() => m,
                _ => continue,
            }) == me;
            if !ours || Path::new("/proc").join(pid.to_string()).exists() {
                continue;
            }
            let _ = Command::new("ssh")
                .arg("-S")
                .arg(e.path().join("m"))
                .args(["-O", "exit", "dfab-master"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let _ = fs_err::remove_dir_all(e.path());
        }
    });
}

/// Handshakes in progress per sshd, process-wide.
struct Starts;

static STARTS: (Mutex<Option<HashMap<String, usize>>>, Condvar) =
    (Mutex::new(None), Condvar::new());

/// A handshake slot with one sshd, given back on drop.
struct StartSlot(String);

impl Starts {
    fn take(sshd: &str) -> StartSlot {
        let (m, cv) = &STARTS;
        let mut g = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            let n = *g
                .get_or_insert_with(HashMap::new)
                .entry(sshd.into())
                .or_default();
            if n < STARTS_PER_SSHD {
                break;
            }
            g = cv
                .wait(g)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *g.get_or_insert_with(HashMap::new)
            .entry(sshd.into())
            .or_default() += 1;
        StartSlot(sshd.into())
    }
}

impl Drop for StartSlot {
    fn drop(&mut self) {
        let (m, cv) = &STARTS;
        let mut g = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = g.get_or_insert_with(HashMap::new).get_mut(&self.0) {
            *n = n.saturating_sub(1);
        }
        cv.notify_all();
    }
}

/// ssh's configuration for a connection to `dest` with `opts`, as `ssh -G` prints it (no
/// network): one `key value` line each; empty when ssh cannot say.
pub(crate) fn resolved(opts: &[OsString], dest: &str) -> String {
    Command::new("ssh")
        .arg("-G")
        .args(opts)
        .arg("--")
        .arg(dest)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The first value of `key` in [`resolved`]'s text.
pub(crate) fn field(resolved: &str, key: &str) -> Option<String> {
    resolved
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ').map(str::to_owned))
}

/// The sshd a connection to `dest` meets first, from `ssh -G` (no network): the first
/// `ProxyJump` host when there is one, else the host and port.
pub(crate) fn first_sshd(opts: &[OsString], dest: &str) -> String {
    let text = resolved(opts, dest);
    let field = |k: &str| field(&text, k);
    if let Some(j) = field("proxyjump").filter(|j| j != "none") {
        return format!("jump {}", j.split(',').next().unwrap_or(&j));
    }
    format!(
        "{}:{}",
        field("hostname").unwrap_or_else(|| dest.to_owned()),
        field("port").unwrap_or_else(|| "22".into())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_socket_path_stays_short_whatever_the_state_dir() {
        let base = socket_base();
        let sock = base.join(format!("dfab-{}-XXXXXX", u32::MAX)).join("m");
        // ssh binds `<path>.<16 random chars>` first: 107 bytes is the limit.
        assert!(sock.as_os_str().len() + 17 <= 107, "{}", sock.display());
    }

    #[test]
    fn refusals_before_authentication_are_told_apart() {
        assert!(refused_at_start(
            "kex_exchange_identification: read: Connection reset by peer"
        ));
        assert!(refused_at_start("Connection closed by 127.0.0.5 port 2222"));
        assert!(!refused_at_start(
            "deploy@10.0.3.5: Permission denied (publickey)."
        ));
    }
}
