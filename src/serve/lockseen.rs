//! What the pages say of an env's deploy lock when serve runs no job there: asked of the hosts
//! with `dfab <env> lock:status` (a child of this binary, as jobs are), kept for [`TTL`]; never
//! "free" unless the hosts said so.

use std::collections::HashMap;
use std::io::Read as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::jobs::Jobs;

/// How long an answer is shown before the hosts are asked again.
pub const TTL: Duration = Duration::from_secs(20);

/// How long `lock:status` may take before the page says it could not tell.
pub const LIMIT: Duration = Duration::from_secs(15);

/// Answers by env: when asked and what the page says.
pub type Cache = std::sync::Mutex<HashMap<String, (Instant, String)>>;

impl Jobs {
    /// The lock of `env` as its hosts report it: `free (asked … s ago)`, `held: …`, or
    /// `not known: …` with why (the CLI's error, a timeout); from the cache when fresh.
    pub fn lock_seen(&self, env: &str) -> String {
        let cached = self
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(env)
            .cloned();
        if let Some((at, said)) = cached.filter(|(at, _)| at.elapsed() < TTL) {
            return format!("{said} (asked {} s ago)", at.elapsed().as_secs());
        }
        let said = self.ask_lock(env);
        self.locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(env.to_string(), (Instant::now(), said.clone()));
        format!("{said} (asked just now)")
    }

    /// Run `dfab <env> lock:status` (at most [`LIMIT`]) and say what it found.
    fn ask_lock(&self, env: &str) -> String {
        let mut cmd = self.command(env, "lock:status", false);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => return format!("not known: cannot run dfab: {e}"),
        };
        let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(o) = out.as_mut() {
                let _ = o.read_to_string(&mut text);
            }
            if let Some(e) = err.as_mut() {
                let _ = e.read_to_string(&mut text);
            }
            text
        });
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break Some(s),
                Ok(None) if start.elapsed() < LIMIT => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let text = self.redact(&reader.join().unwrap_or_default());
        match status {
            None => format!(
                "not known: `dfab {env} lock:status` took longer than {} s",
                LIMIT.as_secs()
            ),
            Some(s) => judge(env, s.success(), &text),
        }
    }
}

/// What `lock:status`'s output (`success`: its exit status was 0) says of the lock: `held: …`
/// when any host holds it, `free` when every line said free, else `not known: …` with its
/// error line.
#[must_use]
pub fn judge(env: &str, success: bool, text: &str) -> String {
    let held: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" is held by "))
        .map(str::trim)
        .collect();
    if !held.is_empty() {
        return format!("held: {}", held.join("; "));
    }
    if success && text.lines().any(|l| l.contains(" is free")) {
        return "free".into();
    }
    let why = text
        .lines()
        .find(|l| l.starts_with("error:"))
        .or_else(|| text.lines().rfind(|l| !l.trim().is_empty()))
        .unwrap_or("no answer");
    format!("not known: `dfab {env} lock:status` said: {why}")
}

#[cfg(test)]
mod tests {
    use super::judge;

    #[test]
    fn free_only_when_the_hosts_said_so() {
        assert_eq!(
            judge("qa", true, "[h] lock:status: app is free (0.1 s)\n"),
            "free"
        );
        assert_eq!(
            judge(
                "qa",
                true,
                "[h] lock: app is held by bob (x) (3 s since the last refresh) (0.1 s)\n"
            ),
            "held: [h] lock: app is held by bob (x) (3 s since the last refresh) (0.1 s)"
        );
        let j = judge(
            "qa",
            false,
            "error: env `qa` has no package_name\nhint: set it\n",
        );
        assert_eq!(
            j,
            "not known: `dfab qa lock:status` said: error: env `qa` has no package_name"
        );
        assert!(judge("qa", true, "").starts_with("not known"));
    }
}
