//! `debian/changelog`: the package version and date of the newest entry.

use std::path::Path;

use super::DebError;

/// The newest entry's header and trailer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changelog {
    pub source: String,
    pub version: String,
    /// Line of the version, for errors about it.
    pub version_line: usize,
    /// The trailer date as seconds since the epoch; `None` when the date is not RFC 2822 and
    /// cannot be read leniently either (dpkg-parsechangelog then leaves `Timestamp` empty).
    pub timestamp: Option<u64>,
    /// What dpkg-parsechangelog would warn about the date (`file:line: ...`), if anything.
    pub date_warning: Option<String>,
}

/// Parses the first entry of a changelog read from `file`.
pub fn parse(file: &Path, text: &str) -> Result<Changelog, DebError> {
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let (header_line, header) = lines
        .by_ref()
        .find(|(_, l)| !l.trim().is_empty())
        .ok_or_else(|| DebError::at(file, 1, "changelog is empty"))?;
    let bad_header = || {
        DebError::at(
            file,
            header_line,
            "expected `package (version) distribution; urgency=...`",
        )
    };
    let (source, rest) = header.split_once(" (").ok_or_else(bad_header)?;
    let (version, _) = rest.split_once(')').ok_or_else(bad_header)?;
    if source.is_empty() || source.starts_with(char::is_whitespace) {
        return Err(bad_header());
    }
    for (line, text) in lines {
        if let Some(trailer) = text.strip_prefix(" -- ") {
            let (_, date) = trailer.split_once(">  ").ok_or_else(|| {
                DebError::at(
                    file,
                    line,
                    "expected ` -- Name <email>  date` (two spaces before the date)",
                )
            })?;
            // dpkg-parsechangelog warns about a non-conformant date and goes on (deb-changelog(5)
            // asks for `date -R`'s format); so does dfab, reading it leniently where it can.
            let date = date.trim();
            let (timestamp, date_warning) = match parse_rfc2822(date) {
                Ok(t) => (Some(t), None),
                Err(m) => {
                    let lenient = parse_rfc2822(&full_month_names_abbreviated(date)).ok();
                    let what = match lenient {
                        Some(_) => "read with the month name abbreviated",
                        None => "the build time stands in for it, as with dpkg-buildpackage",
                    };
                    let w = format!(
                        "{}:{line}: non-conformant date `{date}` ({m}); dpkg-parsechangelog \
                         warns about it too; {what}",
                        file.display()
                    );
                    (lenient, Some(w))
                }
            };
            return Ok(Changelog {
                source: source.to_owned(),
                version: version.trim().to_owned(),
                version_line: header_line,
                timestamp,
                date_warning,
            });
        }
        if !text.is_empty() && !text.starts_with([' ', '\t']) {
            return Err(DebError::at(file, line, "entry has no ` -- ` trailer line"));
        }
    }
    Err(DebError::at(
        file,
        header_line,
        "entry has no ` -- ` trailer line",
    ))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `24 June 2015` written as `24 Jun 2015` (any case of the full English month name).
fn full_month_names_abbreviated(date: &str) -> String {
    const FULL: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    date.split(' ')
        .map(|w| {
            FULL.iter()
                .position(|f| w.eq_ignore_ascii_case(f))
                .map_or_else(|| w.to_owned(), |i| MONTHS[i].to_owned())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses an RFC 2822 date such as `Mon, 23 Nov 2026 10:00:00 +0100` to Unix seconds.
pub fn parse_rfc2822(date: &str) -> Result<u64, String> {
    let date = date.split_once(", ").map_or(date, |(_, d)| d);
    let parts: Vec<&str> = date.split_whitespace().collect();
    let [day, month, year, time, zone] = parts[..] else {
        return Err("expected `Day, DD Mon YYYY HH:MM:SS +ZZZZ`".into());
    };
    let num = |s: &str, what: &str| s.parse::<i64>().map_err(|_| format!("bad {what} `{s}`"));
    let day = num(day, "day")?;
    let month = MONTHS
        .iter()
        .position(|m| *m == month)
        .ok_or_else(|| format!("bad month `{month}`"))?;
    let year = num(year, "year")?;
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, s] = hms[..] else {
        return Err(format!("bad time `{time}`"));
    };
    let (h, m, s) = (num(h, "hour")?, num(m, "minute")?, num(s, "second")?);
    if !(1..=31).contains(&day) || !(0..=9999).contains(&year) || h > 23 || m > 59 || s > 60 {
        return Err("field out of range".into());
    }
    // `+HHMM` or `-HHMM`, as date -R writes it.
    let (sign, digits) = match zone.as_bytes() {
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return Err(format!("bad zone `{zone}`")),
    };
    if digits.len() != 4 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(format!("bad zone `{zone}`"));
    }
    let z = num(&zone[1..], "zone")?;
    if z % 100 > 59 {
        return Err(format!("bad zone `{zone}`"));
    }
    let offset = sign * ((z / 100) * 3600 + (z % 100) * 60);
    let month = i64::try_from(month).map_err(|e| e.to_string())? + 1;
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + m * 60 + s - offset;
    u64::try_from(secs).map_err(|_| "date before 1970".to_owned())
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_rfc2822("Thu, 01 Jan 1970 00:00:00 +0000"), Ok(0));
        assert_eq!(
            parse_rfc2822("Mon, 23 Nov 2026 10:00:00 +0100"),
            Ok(1_795_424_400)
        );
        assert!(parse_rfc2822("Mon, 23 Foo 2026 10:00:00 +0100").is_err());
        // Found by the debian_inputs_no_panic fuzz target: a zone this long overflowed.
        assert!(parse_rfc2822("Mon, 02 Nov 2026 10:00:00 +001722586675415205661").is_err());
        assert!(parse_rfc2822("Mon, 02 Nov 2026 10:00:00 +0160").is_err());
        assert!(parse_rfc2822("Mon, 02 Nov 9223372036854775807 10:00:00 +0000").is_err());
        assert_eq!(
            parse_rfc2822("Thu, 01 Jan 1970 01:30:00 +0130"),
            Ok(0),
            "a zone with minutes"
        );
    }

    #[test]
    fn first_entry() {
        let text = "app (1.2-1) unstable; urgency=medium\n\n  * x\n\n -- A B <a@b>  Thu, 01 Jan 1970 00:01:00 +0000\n\napp (1.1-1) unstable; urgency=low\n";
        let c = parse(Path::new("changelog"), text).unwrap();
        assert_eq!(
            (c.source.as_str(), c.version.as_str(), c.timestamp),
            ("app", "1.2-1", Some(60))
        );
        let e = parse(Path::new("changelog"), "app 1.0\n").unwrap_err();
        assert!(e.to_string().starts_with("changelog:1: expected"), "{e}");
    }

    // `Wed, 24 June 2015 12:00:00 +0300` was an error; dpkg-parsechangelog warns and goes on.
    #[test]
    fn a_non_conformant_date_warns_and_goes_on() {
        let entry = |date: &str| {
            format!("app (1.0) unstable; urgency=low\n\n  * x\n\n -- A B <a@b>  {date}\n")
        };
        let c = parse(
            Path::new("changelog"),
            &entry("Wed, 24 June 2015 12:00:00 +0300"),
        )
        .unwrap();
        // The timestamp dpkg-parsechangelog gives for the conformant `24 Jun 2015` form.
        assert_eq!(c.timestamp, Some(1_435_136_400));
        let w = c.date_warning.unwrap();
        assert!(w.starts_with("changelog:5: non-conformant date"), "{w}");
        let c = parse(
            Path::new("changelog"),
            &entry("Wed, 24 Jnu 2015 12:00:00 +0300"),
        )
        .unwrap();
        assert_eq!(c.timestamp, None);
        assert!(c.date_warning.unwrap().contains("the build time stands in"));
        let c = parse(
            Path::new("changelog"),
            &entry("Wed, 24 Jun 2015 12:00:00 +0300"),
        )
        .unwrap();
        assert_eq!((c.timestamp, c.date_warning), (Some(1_435_136_400), None));
    }
}
