//! What a media push would do, read from rsync's own dry run (`-n -ii --delete`), and the
//! judgement on it: an empty source, or deletions beyond `media_max_delete`, are refused unless
//! forced; and the symlinks rsync's `--safe-links` skipped, named from its output.

use std::fmt::Write as _;

/// How many names a refusal lists before "and N more".
const SHOWN: usize = 5;

/// One target path as rsync's dry run saw it against the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Files (anything but directories) in the source, that is the cache.
    pub source: usize,
    /// Files already on the target.
    pub target: usize,
    /// Every entry `--delete` would remove (directories end in `/`), as rsync names them.
    pub deleting: Vec<String>,
}

impl Tally {
    /// Read `rsync -n -ii --delete` output: `*deleting   name` for each extraneous entry, and an
    /// 11-character change code then the name for every source entry (all `+` when new).
    #[must_use]
    pub fn parse(itemized: &str) -> Tally {
        let mut t = Tally::default();
        for line in itemized.lines() {
            if let Some(name) = line.strip_prefix("*deleting ") {
                let name = name.trim_start().to_string();
                if !name.ends_with('/') {
                    t.target += 1;
                }
                t.deleting.push(name);
                continue;
            }
            let mut code = line.chars();
            let (Some(y), Some(x)) = (code.next(), code.next()) else {
                continue;
            };
            let attrs: String = code.by_ref().take(9).collect();
            if !"<>ch.".contains(y)
                || !"fLDS".contains(x)
                || attrs.chars().count() != 9
                || code.next() != Some(' ')
            {
                continue;
            }
            t.source += 1;
            if !attrs.chars().all(|c| c == '+') {
                t.target += 1;
            }
        }
        t
    }

    /// The files (not directories) `--delete` would remove, sorted.
    #[must_use]
    pub fn deleted_files(&self) -> Vec<&str> {
        let mut f: Vec<&str> = self
            .deleting
            .iter()
            .filter(|n| !n.ends_with('/'))
            .map(String::as_str)
            .collect();
        f.sort_unstable();
        f
    }
}

/// Why a push is refused (the caller adds host, paths and the hint).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Go ahead.
    Go,
    /// The source has no files and the target has some: an unmounted share, most likely.
    /// `deleting`: what `media_delete` would remove, if set.
    EmptySource {
        target: usize,
        deleting: Option<String>,
    },
    /// `media_delete` would remove more than `max` (a fraction) of the target's files.
    TooMany {
        count: usize,
        target: usize,
        max: f64,
        names: String,
    },
}

/// Judge a tally: `delete` is `media_delete`, `max` the `media_max_delete` share.
#[must_use]
pub fn judge(t: &Tally, delete: bool, max: f64) -> Verdict {
    let files = t.deleted_files();
    if t.source == 0 && t.target > 0 {
        return Verdict::EmptySource {
            target: t.target,
            deleting: delete.then(|| names(&files)),
        };
    }
    #[allow(clippy::cast_precision_loss)] // file counts are far below 2^52
    let over = t.target > 0 && files.len() as f64 > max * t.target as f64;
    if delete && over {
        return Verdict::TooMany {
            count: files.len(),
            target: t.target,
            max,
            names: names(&files),
        };
    }
    Verdict::Go
}

/// `a, b, c, d, e and 7 more`.
#[must_use]
pub fn names(files: &[&str]) -> String {
    let mut s = files
        .iter()
        .take(SHOWN)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if files.len() > SHOWN {
        let _ = write!(s, " and {} more", files.len() - SHOWN);
    }
    s
}

/// A share as a percent for people: `10`, `12.5`.
#[must_use]
pub fn percent(share: f64) -> String {
    let p = format!("{:.1}", share * 100.0);
    p.strip_suffix(".0").map_or(p.clone(), String::from)
}

/// The symlinks rsync's `--safe-links` skipped, `(link, target)`, from its
/// `ignoring unsafe symlink "x" -> "y"` lines.
#[must_use]
pub fn skipped_links(output: &str) -> Vec<(String, String)> {
    output
        .lines()
        .filter_map(|l| {
            let rest = l.split_once("ignoring unsafe symlink \"")?.1;
            let (link, to) = rest.split_once("\" -> \"")?;
            Some((
                link.to_string(),
                to.strip_suffix('"').unwrap_or(to).to_string(),
            ))
        })
        .collect()
}

/// Whether a symlink at `link` (relative to its media path) pointing at `to` leaves that path,
/// by rsync's `--safe-links` rule: an absolute target, or `..` reaching above the media path.
#[must_use]
pub fn leaves(link: &str, to: &str) -> bool {
    if to.starts_with('/') {
        return true;
    }
    let mut depth = link
        .split('/')
        .filter(|c| !c.is_empty())
        .count()
        .saturating_sub(1);
    for part in to.split('/') {
        match part {
            "" | "." => {}
            ".." => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            _ => depth += 1,
        }
    }
    false
}

/// The links of a `find -printf '%P\t%l\n'` listing that [`leaves`] its media path.
#[must_use]
pub fn leaving(listing: &str) -> Vec<(String, String)> {
    listing
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(link, to)| leaves(link, to))
        .map(|(link, to)| (link.to_string(), to.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRY: &str = "\
*deleting   old/x.txt
*deleting   old/
*deleting   gone.txt
created directory /srv/app/media
.d          ./
.f          a.txt
>f.st...... b.txt
>f+++++++++ new.txt
cL+++++++++ ok -> a.txt
.L          kept -> a.txt
cd+++++++++ sub/
";

    #[test]
    fn a_dry_run_counts_both_sides_and_what_would_go() {
        let t = Tally::parse(DRY);
        assert_eq!(t.source, 5, "a, b, new, ok, kept, and no directory");
        assert_eq!(t.target, 5, "a, b, kept, and the two deleted files");
        assert_eq!(t.deleting, ["old/x.txt", "old/", "gone.txt"]);
        assert_eq!(t.deleted_files(), ["gone.txt", "old/x.txt"]);
    }

    // Issue 19, kind 4: an empty source (an unmounted share) wiped the target.
    #[test]
    fn an_empty_source_or_too_many_deletions_is_refused() {
        let t = |source, target, n: usize| Tally {
            source,
            target,
            deleting: (0..n).map(|i| format!("f{i}")).collect(),
        };
        assert_eq!(
            judge(&t(0, 50, 50), true, 0.1),
            Verdict::EmptySource {
                target: 50,
                deleting: Some("f0, f1, f10, f11, f12 and 45 more".into())
            }
        );
        assert_eq!(
            judge(&t(0, 3, 0), false, 0.1),
            Verdict::EmptySource {
                target: 3,
                deleting: None
            }
        );
        assert_eq!(judge(&t(0, 0, 0), true, 0.1), Verdict::Go, "both empty");
        assert_eq!(
            judge(&t(45, 50, 5), true, 0.1),
            Verdict::Go,
            "10 % is allowed"
        );
        assert!(matches!(
            judge(&t(44, 50, 6), true, 0.1),
            Verdict::TooMany {
                count: 6,
                target: 50,
                ..
            }
        ));
        assert_eq!(judge(&t(1, 50, 49), false, 0.1), Verdict::Go, "no --delete");
        assert_eq!(percent(0.1), "10");
        assert_eq!(percent(0.125), "12.5");
    }

    #[test]
    fn a_link_leaves_by_an_absolute_target_or_too_many_dots() {
        assert!(leaves("passwd", "/etc/passwd"));
        assert!(leaves("up", "../x"));
        assert!(leaves("sub/up", "../../x"));
        assert!(leaves("sub/up", "a/../../../x"));
        assert!(!leaves("ok", "a.txt"));
        assert!(!leaves("sub/ok", "../a.txt"));
        assert!(!leaves("sub/deep/ok", "../../sub/./x"));
        assert_eq!(
            leaving("ok\ta.txt\npasswd\t/etc/passwd\n"),
            [("passwd".to_string(), "/etc/passwd".to_string())]
        );
    }

    #[test]
    fn skipped_symlinks_are_read_from_rsyncs_lines() {
        let out = "ignoring unsafe symlink \"passwd\" -> \"/etc/passwd\"\n./\na.txt\n\
                   ignoring unsafe symlink \"sub/up\" -> \"../../x\"\n";
        assert_eq!(
            skipped_links(out),
            [
                ("passwd".to_string(), "/etc/passwd".to_string()),
                ("sub/up".to_string(), "../../x".to_string())
            ]
        );
    }
}
