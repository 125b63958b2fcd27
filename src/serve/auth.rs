//! Accounts and sessions: argon2 password hashes, `--add-user`, session cookies (`HttpOnly`,
//! SameSite=Strict) whose ids are stored hashed, a CSRF token per session, and the login rate
//! limit.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::Digest;

use super::error::Error;
use super::store::Store;

/// The session cookie's name.
pub const COOKIE: &str = "dfab_session";
/// A session lasts this long (seconds): 12 hours.
pub const SESSION_SECONDS: i64 = 12 * 3600;
/// Failed logins allowed per user name and per client address in [`LOGIN_WINDOW`].
pub const LOGIN_FAILURES: usize = 5;
/// The window the login limit counts in.
pub const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees every page; starts nothing.
    Viewer,
    /// Also starts jobs and adds environments.
    Deployer,
}

impl Role {
    /// `viewer` or `deployer`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "viewer" => Some(Role::Viewer),
            "deployer" => Some(Role::Deployer),
            _ => None,
        }
    }

    /// The name stored and shown.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
        }
    }
}

/// The signed-in account of a request.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: Role,
}

/// A visitor's session: the account (if signed in) and the token every form must carry.
#[derive(Debug, Clone)]
pub struct Session {
    /// The cookie value (never stored: the store keeps its sha256).
    pub id: String,
    pub user: Option<User>,
    pub csrf: String,
}

/// `n` random bytes as hex, from the OS.
#[must_use]
pub fn token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random source");
    hex(&buf)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How a session id is kept in the store: its sha256, so a copy of the database opens no session.
#[must_use]
pub fn id_hash(id: &str) -> String {
    hex(&sha2::Sha256::digest(id.as_bytes()))
}

/// Hash a password with argon2id (default parameters, a random salt), as a PHC string.
pub fn hash_password(password: &str) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `hash`.
#[must_use]
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Equal, in time that does not depend on where they differ (CSRF tokens).
#[must_use]
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `dfab serve --add-user NAME`: the password asked twice on a terminal (no echo), else one
/// line read from stdin; stored as an argon2 hash.
pub fn add_user(store: &Store, name: &str, role: Role) -> Result<(), Error> {
    let ok_name = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !ok_name {
        return Err(Error::BadUserName { name: name.into() });
    }
    let password = if std::io::stdin().is_terminal() {
        let first = ask_hidden(&format!("Password for {name}: "))?;
        let again = ask_hidden("Again: ")?;
        if first != again {
            return Err(Error::Hash("the two passwords differ".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    let len = password.chars().count();
    if len < 8 {
        return Err(Error::WeakPassword {
            name: name.into(),
            len,
        });
    }
    store.put_user(name, &hash_password(&password)?, role.name())
}

/// Read a line from the terminal with echo off.
fn ask_hidden(prompt: &str) -> Result<String, Error> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd (checked above).
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: `saved` is a valid termios to fill.
    let have = unsafe { libc::tcgetattr(fd, &raw mut saved) } == 0;
    if have {
        let mut quiet = saved;
        quiet.c_lflag &= !libc::ECHO;
        // SAFETY: a termios copied from the terminal's own, with echo off.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw const quiet) };
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if have {
        // SAFETY: restores the settings read above.
        unsafe { libc::tcsetattr(fd, libc::TCSANOW, &raw const saved) };
    }
    let _ = writeln!(err);
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Failed logins per key (a user name, a client address), for the rate limit.
#[derive(Default)]
pub struct Limiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl Limiter {
    /// Seconds to wait before `keys` may try again, when any of them failed
    /// [`LOGIN_FAILURES`] times in the last [`LOGIN_WINDOW`].
    pub fn wait(&self, keys: &[&str]) -> Option<u64> {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let mut wait = None;
        for k in keys {
            let Some(v) = map.get_mut(*k) else { continue };
            v.retain(|t| now.duration_since(*t) < LOGIN_WINDOW);
            if v.len() >= LOGIN_FAILURES {
                let left = LOGIN_WINDOW.saturating_sub(now.duration_since(v[0]));
                wait = Some(left.as_secs().max(1));
            }
        }
        wait
    }

    /// One more failure for each key.
    pub fn failed(&self, keys: &[&str]) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for k in keys {
            map.entry((*k).to_string())
                .or_default()
                .push(Instant::now());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
    }

    #[test]
    fn the_limiter_stops_the_sixth_failure_within_a_minute() {
        let l = Limiter::default();
        for _ in 0..LOGIN_FAILURES - 1 {
            l.failed(&["u:alice"]);
        }
        assert_eq!(l.wait(&["u:alice"]), None);
        l.failed(&["u:alice"]);
        assert!(l.wait(&["u:alice", "ip:1"]).is_some());
        assert_eq!(l.wait(&["u:bob"]), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "ab"));
    }
}
