//! The JSON written beside a dump: where and when it came from, its checksum and size, and the
//! row count of every table read in the dump's own snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::DbError;

/// What dfab knows about a dump file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sidecar {
    pub source_env: String,
    pub database: String,
    /// UTC, RFC 3339.
    pub time: String,
    pub server_version: String,
    pub sha256: String,
    pub size: u64,
    /// `schema.table` to rows.
    pub tables: BTreeMap<String, u64>,
}

/// `<dump>.json`.
#[must_use]
pub fn path_for(dump: &Path) -> PathBuf {
    let mut s = dump.as_os_str().to_owned();
    s.push(".json");
    PathBuf::from(s)
}

impl Sidecar {
    /// Read the sidecar of `dump`, if there is one.
    pub fn read(dump: &Path) -> Result<Option<Sidecar>> {
        let p = path_for(dump);
        if !p.exists() {
            return Ok(None);
        }
        let text = fs_err::read_to_string(&p)?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| DbError::BadSidecar { path: p, source }.into())
    }

    /// Write it atomically beside `dump`, mode 0600.
    pub fn write(&self, dump: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).expect("plain data serializes");
        let p = path_for(dump);
        crate::fsutil::write_atomic(&p, format!("{text}\n").as_bytes())?;
        set_private(&p)
    }
}

/// Parse `schema.table|rows` lines.
#[must_use]
pub fn parse_counts(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (t, n) = l.rsplit_once('|')?;
            Some((t.to_string(), n.trim().parse().ok()?))
        })
        .collect()
}

/// Mode 0600.
pub fn set_private(p: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs_err::set_permissions(p, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
#[must_use]
pub fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_format() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn counts() {
        let c = parse_counts("public.a|3\npublic.b|0\nnoise\n");
        assert_eq!(c.len(), 2);
        assert_eq!(c["public.a"], 3);
    }
}
