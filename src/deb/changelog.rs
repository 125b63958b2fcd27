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
    /// The trailer date as seconds since the epoch, when it has the strict form of `date -R`
    /// (`Mon, 02 Nov 2026 10:00:00 +0000`) that dfab reads itself; `None` otherwise.
    pub timestamp: Option<u64>,
    /// Line of a trailer whose date is not in that strict form: dpkg-parsechangelog reads some
    /// such dates, warns about others and reads them or not (`Time::Piece`'s `strptime` decides),
    /// so [`dpkg_timestamp`] asks it.
    pub odd_trailer: Option<usize>,
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
        if text.starts_with(" -- ") {
            // dpkg's trailer: ` -- Name <email>  date` (`^ \-\- (.*) <(.*)>(  ?)...`).
            let timestamp = text
                .split_once(">  ")
                .filter(|(who, _)| who[4..].contains(" <"))
                .and_then(|(_, date)| parse_strict(date.trim_end()).ok());
            return Ok(Changelog {
                source: source.to_owned(),
                version: version.trim().to_owned(),
                version_line: header_line,
                timestamp,
                odd_trailer: timestamp.is_none().then_some(line),
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

/// Parses `date -R`'s exact form (single spaces, an English week day, the day of a real date,
/// seconds up to 59, zone minutes up to 59, a year from 1970): the dates whose reading by
/// dpkg-parsechangelog (`Time::Piece`'s `strptime('%d %b %Y %T %z')`) is certain.
pub fn parse_strict(date: &str) -> Result<u64, String> {
    const WEEK: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let (day_name, rest) = date.split_once(", ").ok_or("no week day")?;
    let parts: Vec<&str> = rest.split(' ').collect();
    let [day, month, year, time, _zone] = parts[..] else {
        return Err("expected `Day, DD Mon YYYY HH:MM:SS +ZZZZ`".into());
    };
    let digits = |s: &str, n: std::ops::RangeInclusive<usize>| {
        n.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
    };
    let hms: Vec<&str> = time.split(':').collect();
    let fine = WEEK.contains(&day_name)
        && digits(day, 1..=2)
        && digits(year, 4..=4)
        && hms.len() == 3
        && digits(hms[0], 1..=2)
        && hms[1..].iter().all(|p| digits(p, 2..=2));
    if !fine {
        return Err("not `date -R`'s form".into());
    }
    let m = MONTHS.iter().position(|m| *m == month).ok_or("month")?;
    let (d, y): (i64, i64) = (day.parse().unwrap_or(0), year.parse().unwrap_or(0));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let last = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][m];
    if d < 1 || d > last || y < 1970 || hms[2] > "59" {
        return Err("out of range".into());
    }
    parse_rfc2822(date)
}

/// Asks `dpkg-parsechangelog` for the timestamp of `file`'s newest entry, for a trailer dfab
/// does not read itself; returns it (`None` when dpkg leaves `Timestamp` empty, and then
/// dpkg-buildpackage takes the build time) and dpkg's warnings, one line each.
pub fn dpkg_timestamp(file: &Path) -> Result<(Option<u64>, Vec<String>), DebError> {
    use super::cmd::RunLocal as _;
    let out = super::cmd::Cmd::of("dpkg-parsechangelog")
        .args(["-l", &file.to_string_lossy(), "-STimestamp"])
        .output()?;
    let stamp = out.stdout_str();
    let stamp = stamp.trim();
    let warnings = out
        .stderr_str()
        .lines()
        .filter_map(|l| l.split_once("warning:").map(|(_, w)| w.trim()))
        .map(|w| w.split_once("): ").map_or(w, |(_, m)| m).to_owned())
        .collect();
    if stamp.is_empty() {
        return Ok((None, warnings));
    }
    let t = stamp.parse::<i64>().map_err(|_| {
        DebError::at(
            file,
            1,
            format!("dpkg-parsechangelog gave Timestamp `{stamp}`"),
        )
    })?;
    let t = u64::try_from(t)
        .map_err(|_| DebError::at(file, 1, "the newest entry's date is before 1970"))?;
    Ok((Some(t), warnings))
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

    // `Wed, 24 June 2015 12:00:00 +0300` was an error, then read as `24 Jun 2015` where
    // dpkg-parsechangelog leaves the timestamp empty: only `date -R`'s strict form is read here,
    // any other trailer is left to dpkg-parsechangelog.
    #[test]
    fn only_the_strict_date_form_is_read_here() {
        let entry = |trailer: &str| {
            format!("app (1.0) unstable; urgency=low\n\n  * x\n\n -- A B <a@b>{trailer}\n")
        };
        let read = |trailer: &str| {
            let c = parse(Path::new("changelog"), &entry(trailer)).unwrap();
            (c.timestamp, c.odd_trailer)
        };
        assert_eq!(
            read("  Wed, 24 Jun 2015 12:00:00 +0300"),
            (Some(1_435_136_400), None)
        );
        assert_eq!(
            read("  Mon, 24 Jun 2015 12:00:00 +0300  "),
            (Some(1_435_136_400), None),
            "a wrong week day and trailing blanks are fine for dpkg too"
        );
        for odd in [
            "  Wed, 24 June 2015 12:00:00 +0300",
            "  Wed, 24 jun 2015 12:00:00 +0300",
            "  24 Jun 2015 12:00:00 +0300",
            "  Foo, 24 Jun 2015 12:00:00 +0300",
            "  Wed,  24 Jun 2015 12:00:00 +0300",
            "  Wed, 31 Jun 2015 12:00:00 +0300",
            "  Wed, 24 Jun 2015 12:00:60 +0300",
            "  Wed, 24 Jun 2015 12:00:00 +0300 (EEST)",
            " Wed, 24 Jun 2015 12:00:00 +0300",
            "   Wed, 24 Jun 2015 12:00:00 +0300",
            "",
        ] {
            assert_eq!(read(odd), (None, Some(5)), "{odd:?}");
        }
    }
}
