//! Debian versions (`[epoch:]upstream[-revision]`): their syntax as dpkg checks it, and their
//! order as dpkg compares them (deb-version(5), Debian Policy §5.6.12).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

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
        // dpkg keeps the epoch in a C `int` and refuses larger ones.
        if e.parse::<i32>().is_err() {
            return Err(format!("epoch in version `{version}` is too big"));
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

/// A valid Debian version, ordered as `dpkg --compare-versions` orders versions.
///
/// Equality is dpkg's too: `1.0` equals `1.00` and `0:1.0`, though they print differently
/// ([`Display`](fmt::Display) gives the text as written).
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    epoch: u32,
    upstream: String,
    /// Empty when the version has none (a native package).
    revision: String,
}

impl Version {
    /// Parses `text`, checked by [`validate`].
    pub fn parse(text: &str) -> Result<Self, String> {
        validate(text)?;
        let (epoch, rest) = match text.split_once(':') {
            Some((e, r)) => (e.parse().map_err(|_| format!("bad epoch in `{text}`"))?, r),
            None => (0, text),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
        Ok(Self {
            text: text.to_owned(),
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }

    /// The epoch, 0 when not written.
    #[must_use]
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The upstream part, between the epoch and the last hyphen.
    #[must_use]
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The Debian revision, after the last hyphen; empty when there is none.
    #[must_use]
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

impl FromStr for Version {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Ord for Version {
    /// dpkg's `dpkg_version_compare`: the epochs as numbers, then the upstream parts, then the
    /// revisions, each by [`compare_part`].
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| compare_part(&self.upstream, &other.upstream))
            .then_with(|| compare_part(&self.revision, &other.revision))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

/// Compares two upstream parts or two revisions as dpkg's `verrevcmp` does (deb-version(5)):
/// alternately the longest non-digit prefixes, character by character (`~` before everything,
/// even the end; then the end; then letters; then everything else, each by its ASCII code), and
/// the longest digit prefixes, as numbers of any size.
#[must_use]
pub fn compare_part(a: &str, b: &str) -> Ordering {
    /// The weight of one character in a non-digit run; 0 is the end of the run.
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(b'~') => -1,
            Some(c) => i32::from(c) + 256,
        }
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    while !a.is_empty() || !b.is_empty() {
        let text_a = a.iter().take_while(|c| !c.is_ascii_digit()).count();
        let text_b = b.iter().take_while(|c| !c.is_ascii_digit()).count();
        for i in 0..text_a.max(text_b) {
            let (ca, cb) = (
                a.get(i).filter(|_| i < text_a).copied(),
                b.get(i).filter(|_| i < text_b).copied(),
            );
            match order(ca).cmp(&order(cb)) {
                Ordering::Equal => {}
                unequal => return unequal,
            }
        }
        (a, b) = (&a[text_a..], &b[text_b..]);
        let digits_a = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let digits_b = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let (num_a, num_b) = (trim_zeros(&a[..digits_a]), trim_zeros(&b[..digits_b]));
        match num_a.len().cmp(&num_b.len()).then_with(|| num_a.cmp(num_b)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
        (a, b) = (&a[digits_a..], &b[digits_b..]);
    }
    Ordering::Equal
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros..]
}

/// Compares two version texts that may not be valid, as `Dpkg::Version`'s overloaded comparison
/// does (it checks nothing): the epoch is what precedes the first `:` when something follows it,
/// the revision what follows the last `-`, and the three parts are compared by [`compare_part`].
#[must_use]
pub fn compare_text(a: &str, b: &str) -> Ordering {
    fn split(v: &str) -> (&str, &str, &str) {
        let (epoch, rest) = match v.split_once(':') {
            Some((e, r)) if !r.is_empty() => (e, r),
            _ => ("0", v),
        };
        let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, "0"));
        (epoch, upstream, revision)
    }
    let (a, b) = (split(a), split(b));
    compare_part(a.0, b.0)
        .then_with(|| compare_part(a.1, b.1))
        .then_with(|| compare_part(a.2, b.2))
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
        for v in [
            "",
            "a1.0",
            "1.0-",
            "x:1.0",
            "1.0_1",
            "1 0",
            ":1",
            "2147483648:1",
        ] {
            assert!(validate(v).is_err(), "{v}");
        }
        assert_eq!(without_epoch("2:1.0-1"), "1.0-1");
        assert!(is_native("1:1.0"));
        assert!(!is_native("1.0-1"));
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn parts() {
        let x = v("1:2.0-3-4");
        assert_eq!((x.epoch(), x.upstream(), x.revision()), (1, "2.0-3", "4"));
        let y = v("2.0");
        assert_eq!((y.epoch(), y.upstream(), y.revision()), (0, "2.0", ""));
        assert_eq!(y.to_string(), "2.0");
        assert_eq!(v("2147483647:1").epoch(), 2_147_483_647);
        assert!("1.0-".parse::<Version>().is_err());
    }

    /// Each version is earlier than the next (deb-version(5)'s examples and their kin).
    #[test]
    fn policy_order() {
        let ascending = [
            "0~~",
            "0~~a",
            "0~",
            "0",
            "0a",
            "0.0",
            "1.0~rc1",
            "1.0~rc1-1",
            "1.0",
            "1.0-0.1",
            "1.0-1",
            "1.0-1a",
            "1.0-1+b1",
            "1.0-1.1",
            "1.0-2",
            "1.0-10",
            "1.0a",
            "1.0+",
            "1.0+dfsg",
            "1.0.1",
            "1.2a",
            "1.2+",
            "1.9",
            "1.10",
            "9.99999999999999999999",
            "10",
            "1:0",
            "1:0.1",
            "2:0~",
        ];
        for pair in ascending.windows(2) {
            let (a, b) = (v(pair[0]), v(pair[1]));
            assert_eq!(a.cmp(&b), Ordering::Less, "{a} < {b}");
            assert_eq!(b.cmp(&a), Ordering::Greater, "{b} > {a}");
        }
    }

    #[test]
    fn equal_but_written_differently() {
        for (a, b) in [
            ("1.0", "1.00"),
            ("1.0", "0:1.0"),
            ("1.0-0", "1.0"),
            ("1.01", "1.1"),
            ("001", "1"),
            ("1.0-01", "1.0-1"),
        ] {
            assert_eq!(v(a), v(b), "{a} = {b}");
            assert_eq!(compare_text(a, b), Ordering::Equal, "{a} = {b}");
        }
        assert!(v("1:0") > v("0:1"));
        assert!(v("1.0-1") > v("1.0"));
    }

    #[test]
    fn text_comparison_of_invalid_versions_does_not_panic() {
        assert_eq!(compare_text("1.0:", "1.0"), Ordering::Greater);
        assert_eq!(compare_text("x", "x"), Ordering::Equal);
        assert_eq!(compare_text("", "~"), Ordering::Greater);
        assert_eq!(compare_text("1.0~", "1.0"), Ordering::Less);
    }
}
