//! What an rsync run did, from its `--stats`: files copied and deleted and bytes sent, as the
//! one line a step prints; rsync's own lines are shown only under `-v`.

use crate::error::Result;
use crate::report::Reporter;
use crate::transport::cmd::Cmd;
use crate::transport::{Output, Transport};

/// The counts of one rsync run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Regular files sent (new or changed).
    pub copied: u64,
    /// Files and directories removed (`--delete`).
    pub deleted: u64,
    /// Bytes of the files sent.
    pub bytes: u64,
    /// Regular files at the source.
    pub files: u64,
}

impl Stats {
    /// Read rsync's `--stats` block (numbers may have `,` thousands separators); `None` when
    /// there is none.
    #[must_use]
    pub fn parse(out: &str) -> Option<Stats> {
        let number = |key: &str| -> Option<u64> {
            out.lines().find_map(|l| {
                let rest = l.trim().strip_prefix(key)?.trim_start();
                let digits: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',')
                    .filter(char::is_ascii_digit)
                    .collect();
                digits.parse().ok()
            })
        };
        let copied = number("Number of regular files transferred:")?;
        // `Number of files: 23 (reg: 21, dir: 2)`: the regular ones.
        let files = out
            .lines()
            .find_map(|l| {
                let rest = l.trim().strip_prefix("Number of files:")?;
                let reg = rest.split_once("reg: ")?.1;
                reg.chars()
                    .take_while(|c| c.is_ascii_digit() || *c == ',')
                    .filter(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .ok()
            })
            .or_else(|| number("Number of files:"))
            .unwrap_or(0);
        Some(Stats {
            copied,
            deleted: number("Number of deleted files:").unwrap_or(0),
            bytes: number("Total transferred file size:").unwrap_or(0),
            files,
        })
    }

    /// `12 files copied, 3 deleted, 4.2 MB`, or `up to date (40 files)`.
    #[must_use]
    pub fn words(&self) -> String {
        if self.copied == 0 && self.deleted == 0 {
            return format!("up to date ({} {})", self.files, plural(self.files, "file"));
        }
        format!(
            "{} {} copied, {} deleted, {}",
            self.copied,
            plural(self.copied, "file"),
            self.deleted,
            size(self.bytes)
        )
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        word.to_string()
    } else {
        format!("{word}s")
    }
}

/// Bytes for people: `812 B`, `4.2 kB`, `1.3 MB`, `2.0 GB`.
#[must_use]
pub fn size(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // shown with one decimal
    let b = bytes as f64;
    match bytes {
        0..=999 => format!("{bytes} B"),
        1_000..=999_999 => format!("{:.1} kB", b / 1e3),
        1_000_000..=999_999_999 => format!("{:.1} MB", b / 1e6),
        _ => format!("{:.1} GB", b / 1e9),
    }
}

/// Run an rsync `cmd` here (`local`), shown as a `local` command (`-v`), its output streamed
/// only under `-v`; a failure is the command and its last lines.
pub fn run(local: &mut dyn Transport, rep: &dyn Reporter, cmd: &Cmd) -> Result<Output> {
    let cmd = cmd.clone().without_sudo_if_root(local.login_user());
    rep.command(local.host(), "local", &cmd);
    let out = local.exec(&cmd, rep.verbose().then_some(rep))?;
    crate::transport::check(local.host(), &cmd, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATS: &str = "deleting f1.txt
a.txt

Number of files: 23 (reg: 21, dir: 2)
Number of created files: 12 (reg: 12)
Number of deleted files: 3 (reg: 3)
Number of regular files transferred: 12
Total file size: 4,200,000 bytes
Total transferred file size: 4,213,000 bytes
Literal data: 4,213,000 bytes
";

    #[test]
    fn rsyncs_stats_become_one_line() {
        let s = Stats::parse(STATS).unwrap();
        assert_eq!(
            s,
            Stats {
                copied: 12,
                deleted: 3,
                bytes: 4_213_000,
                files: 21
            }
        );
        assert_eq!(s.words(), "12 files copied, 3 deleted, 4.2 MB");
        let none = Stats {
            files: 40,
            ..Stats::default()
        };
        assert_eq!(none.words(), "up to date (40 files)");
        assert_eq!(Stats::parse("no stats here"), None);
    }
}
