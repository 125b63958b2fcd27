//! Debian version syntax (`[epoch:]upstream[-revision]`), as dpkg checks it.

/// Checks `version` against Debian policy §5.6.12; the message says what is wrong.
pub fn validate(version: &str) -> Result<(), String> {
    if version.is_empty() {
        return Err("version is empty".into());
    }
    if version.chars().any(char::is_whitespace) {
        return Err(format!("version `{version}` contains whitespace"));
    }
    let (epoch, rest) = match version.split_once(':') {
        Some((e, r)) => (Some(e), r),
        None => (None, version),
    };
    if let Some(e) = epoch {
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("epoch in version `{version}` is not a number"));
        }
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "version `{version}`: upstream part must start with a digit"
        ));
    }
    let upstream_ok = |b: u8| {
        b.is_ascii_alphanumeric()
            || b".+~".contains(&b)
            || (b == b'-' && revision.is_some())
            || (b == b':' && epoch.is_some())
    };
    if let Some(bad) = upstream.bytes().find(|&b| !upstream_ok(b)) {
        return Err(format!(
            "version `{version}` contains invalid character `{}`",
            bad as char
        ));
    }
    if let Some(r) = revision {
        if r.is_empty() {
            return Err(format!("version `{version}` has an empty revision"));
        }
        if let Some(bad) = r
            .bytes()
            .find(|&b| !(b.is_ascii_alphanumeric() || b".+~".contains(&b)))
        {
            return Err(format!(
                "revision in version `{version}` contains invalid character `{}`",
                bad as char
            ));
        }
    }
    Ok(())
}

/// The version as it appears in a `.deb` file name: without its epoch.
#[must_use]
pub fn without_epoch(version: &str) -> &str {
    version.split_once(':').map_or(version, |(_, rest)| rest)
}

/// Whether the version has no Debian revision (a native package).
#[must_use]
pub fn is_native(version: &str) -> bool {
    !without_epoch(version).contains('-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_policy_versions() {
        for v in [
            "1.0",
            "1:2.3-1",
            "2.0~rc1-0ubuntu1",
            "1.2+dfsg-3+b1",
            "1:2:3-4",
            "0-1-2",
        ] {
            assert_eq!(validate(v), Ok(()), "{v}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for v in ["", "a1.0", "1.0-", "x:1.0", "1.0_1", "1 0", ":1"] {
            assert!(validate(v).is_err(), "{v}");
        }
        assert_eq!(without_epoch("2:1.0-1"), "1.0-1");
        assert!(is_native("1:1.0"));
        assert!(!is_native("1.0-1"));
    }
}
