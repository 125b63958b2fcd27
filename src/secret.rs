//! `Secret`: a value, such as a database password, that never reaches output.

use std::fmt;

/// A string that prints as `(redacted)` in every `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    #[must_use]
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The real value, for the one place that hands it to a process (env or stdin).
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// The words that make a key secret wherever they appear in it.
const SECRET_WORDS: [&str; 6] = [
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "private_key",
];

/// Keys whose values are secrets wherever they appear in an environment: a key holding one of
/// the secret words, or a slip of one. A slip is a key that `dfab -l` answers with "did you
/// mean `db_password`?" (one of the known keys that is secret), or one holding a word one edit
/// from `password` or `secret` (`smtp_pasword`): a misspelt key is still the user's secret.
#[must_use]
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|s| k.contains(s)) || is_near_secret(&k)
}

/// `key` (lower case) is a near miss of a secret: of a secret key dfab knows, by the rule of
/// the did-you-mean warning (`crate::suggestion::near_miss`), or of a long secret word.
fn is_near_secret(key: &str) -> bool {
    let known = crate::environments::keys::KEYS.iter().map(|(k, _, _)| *k);
    if crate::suggestion::near_miss(key, known)
        .is_some_and(|n| SECRET_WORDS.iter().any(|s| n.contains(s)))
    {
        return true;
    }
    // Only the long words, and only one edit away: `token` two edits away is `broken`.
    key.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| {
        ["password", "secret"]
            .iter()
            .any(|s| crate::suggestion::distance(w, s) == 1)
    })
}

/// Secrets shorter than this are not searched for in output (a one-character "password" would
/// blank out every occurrence of that character); `dfab -l` warns about them instead.
pub const MIN_REDACTED_LEN: usize = 4;

/// Replaces every secret value in a text by `(redacted)`, in the forms interpolation gives it:
/// as written, and shell-quoted. Applied to all of dfab's output, whatever printed it.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    needles: Vec<String>,
}

impl Redactor {
    /// From the secret values themselves (empty and short ones are skipped).
    #[must_use]
    pub fn new<I: IntoIterator<Item = String>>(values: I) -> Self {
        let mut r = Redactor::default();
        for v in values {
            r.push(&v);
        }
        r
    }

    /// These secrets and `value`.
    #[must_use]
    pub fn with(&self, value: &str) -> Redactor {
        let mut r = self.clone();
        r.push(value);
        r
    }

    /// Add `value` as written and shell-quoted, keeping the needles longest first (so a quoted
    /// form is replaced whole before its inner value).
    fn push(&mut self, value: &str) {
        if value.chars().count() < MIN_REDACTED_LEN {
            return;
        }
        for n in [crate::transport::cmd::quote(value), value.to_string()] {
            if !self.needles.contains(&n) {
                self.needles.push(n);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// The text with every secret replaced.
    #[must_use]
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_string();
        for n in &self.needles {
            if out.contains(n.as_str()) {
                out = out.replace(n.as_str(), "(redacted)");
            }
        }
        out
    }

    /// Whether there is anything to redact.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.needles.is_empty()
    }
}

/// Every secret value of a project: the values of secret keys (see [`is_secret_key`]) in any
/// env or `__all__`, at any depth of dicts and lists.
#[must_use]
pub fn project_secrets(project: &crate::environments::Project) -> Vec<String> {
    use crate::environments::value::Value;
    fn walk(key: &str, v: &Value, out: &mut Vec<String>) {
        if let Some(d) = v.as_dict() {
            for (k, x) in d {
                walk(&k.to_plain_string(), x, out);
            }
        } else if let Some(items) = v.as_seq() {
            for x in items {
                walk(key, x, out);
            }
        } else if is_secret_key(key) {
            let s = v.to_plain_string();
            if !s.is_empty() && s != "None" {
                out.push(s);
            }
        }
    }
    let mut out = Vec::new();
    for (k, v) in project
        .defaults
        .iter()
        .chain(project.envs.iter().flat_map(|e| e.vars.iter()))
    {
        walk(k, v, &mut out);
    }
    out
}

/// The values an env read from outside the project ([`crate::environments::external`]): each
/// whole, and of a debconf database read so, the `Value` of every question whose name is a
/// secret key's (`app/admin_password`).
#[must_use]
pub fn external_secrets(env: &crate::environments::Env) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in &env.external {
        out.push(v.expose().to_string());
        if k == "debconf" {
            out.extend(debconf_values(v.expose()));
        }
    }
    out
}

/// The `Value`s of a debconf database's questions whose names are secret keys.
#[must_use]
pub fn debconf_values(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let field = |f: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(f).map(|v| v.trim().to_string()))
        };
        if let (Some(name), Some(value)) = (field("Name:"), field("Value:")) {
            if is_secret_key(&name) && !value.is_empty() {
                out.push(value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn redactor_replaces_plain_and_quoted_forms() {
        let r = Redactor::new(["it's s3cret".to_string(), "ab".to_string()]);
        let quoted = crate::transport::cmd::quote("it's s3cret");
        let text = format!("run: echo {quoted} | wc -c; plain it's s3cret; ab stays");
        assert_eq!(
            r.apply(&text),
            "run: echo (redacted) | wc -c; plain (redacted); ab stays"
        );
    }

    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "(redacted) (redacted)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secret_keys() {
        assert!(is_secret_key("db_password"));
        assert!(is_secret_key("AWS_SECRET"));
        assert!(!is_secret_key("db_user"));
    }

    // `db_pasword` drew "did you mean `db_password`?" and was then printed in clear.
    #[test]
    fn a_slip_of_a_secret_key_is_secret() {
        for k in [
            "db_pasword",
            "db_passwrod",
            "DB_PASWORD",
            "smtp_pasword",
            "api_secrt",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        // Near misses of keys that are no secret, and words two edits from one, stay shown.
        for k in [
            "db_uesr",
            "hots",
            "broken",
            "secure_cookies",
            "taken",
            "passed",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }
}
