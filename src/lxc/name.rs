//! Container names: the subset LXC, the file system and a host name all accept.

use super::error::{LxcError, Result};

/// Longest name: LXC uses it as the host name (`lxc.uts.name`), which Linux caps at 64 bytes.
const MAX_LEN: usize = 64;

/// Check a container (or template) name before it reaches liblxc or a shell.
///
/// LXC itself accepts more (it only refuses `/` and empty names), but a name becomes a directory
/// under the LXC path, a host name and an argument to `lxc-*` tools run by hand, so dfab keeps to
/// letters, digits, `.`, `_` and `-`, not starting with `-` or `.`.
pub fn validate(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(LxcError::BadName {
            name: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_LEN {
        return bad("it is longer than 64 bytes");
    }
    if name.contains('/') {
        return bad("it contains `/`");
    }
    if name.chars().any(char::is_whitespace) {
        return bad("it contains white space");
    }
    if name.starts_with('-') {
        return bad("it starts with `-`, which tools read as an option");
    }
    if name.starts_with('.') {
        return bad("it starts with `.`");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return bad("it contains a character other than letters, digits, `.`, `_` and `-`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate;
    use crate::lxc::error::LxcError;

    fn reason(name: &str) -> &'static str {
        match validate(name) {
            Err(LxcError::BadName { reason, .. }) => reason,
            other => panic!("{name:?}: expected BadName, got {other:?}"),
        }
    }

    #[test]
    fn accepts_usual_names() {
        for name in ["vanilla", "app-staging", "web_1", "a.b", "X9"] {
            validate(name).unwrap();
        }
    }

    #[test]
    fn rejects_each_kind_of_bad_name() {
        assert_eq!(reason(""), "it is empty");
        assert_eq!(reason("a/b"), "it contains `/`");
        assert_eq!(reason("../etc"), "it contains `/`");
        assert_eq!(reason("a b"), "it contains white space");
        assert_eq!(reason("tab\there"), "it contains white space");
        assert_eq!(
            reason("-n"),
            "it starts with `-`, which tools read as an option"
        );
        assert_eq!(reason(".."), "it starts with `.`");
        assert_eq!(
            reason("it's"),
            "it contains a character other than letters, digits, `.`, `_` and `-`"
        );
        assert_eq!(reason(&"x".repeat(65)), "it is longer than 64 bytes");
    }
}
