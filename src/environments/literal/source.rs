//! Source text as Python's tokenizer first sees it: no BOM, universal newlines, no NUL
//! characters, and (since dfab always reads UTF-8) no other declared encoding.

use super::{syntax, ParseError, Pos};

/// The characters of `src`, ready to tokenize.
pub(super) fn prepare(src: &str) -> Result<Vec<char>, ParseError> {
    let bom = src.starts_with('\u{feff}');
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let mut chars = Vec::with_capacity(src.len());
    let mut it = src.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\r' {
            if it.peek() == Some(&'\n') {
                it.next();
            }
            chars.push('\n');
        } else {
            chars.push(c);
        }
    }
    if let Some(i) = chars.iter().position(|&c| c == '\0') {
        return Err(syntax(
            pos_of(&chars, i),
            "source code cannot contain null bytes",
        ));
    }
    check_coding(&chars, bom)?;
    Ok(chars)
}

/// The position just after `text`, counting `\r\n` and `\r` as line ends.
pub(super) fn end_pos(text: &str) -> Pos {
    let chars: Vec<char> = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .collect();
    pos_of(&chars, chars.len())
}

fn pos_of(chars: &[char], i: usize) -> Pos {
    let before = &chars[..i];
    let line = before.iter().filter(|&&c| c == '\n').count() + 1;
    let line_start = before.iter().rposition(|&c| c == '\n').map_or(0, |p| p + 1);
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(i - line_start + 1).unwrap_or(u32::MAX),
    }
}

/// A PEP 263 `coding` comment on line 1 or 2 naming anything but UTF-8 would make Python
/// decode the file differently from dfab, which matters as soon as it holds non-ASCII text.
fn check_coding(chars: &[char], bom: bool) -> Result<(), ParseError> {
    let ascii = chars.iter().all(char::is_ascii);
    // The first two lines, whole: Python's cookie regex reads a line of any length.
    let mut newlines = 0;
    let text: String = chars
        .iter()
        .take_while(|&&c| {
            newlines += usize::from(c == '\n');
            newlines < 2
        })
        .collect();
    for (n, line) in text.split('\n').take(2).enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t', '\x0c']);
        if !trimmed.starts_with('#') {
            if trimmed.is_empty() {
                continue;
            }
            break;
        }
        let Some(encoding) = cookie(trimmed) else {
            continue;
        };
        let normalized = encoding.to_ascii_lowercase().replace('_', "-");
        // After a UTF-8 BOM Python wants exactly `utf-8` (any case, `_` for `-`) or `utf-8-*`.
        if bom && normalized != "utf-8" && !normalized.starts_with("utf-8-") {
            let line = u32::try_from(n + 1).unwrap_or(1);
            return Err(syntax(
                Pos { line, col: 1 },
                format!("encoding problem: `{encoding}` with a UTF-8 BOM (write `utf-8`)"),
            ));
        }
        if ascii && !ascii_compatible(&normalized) && !is_utf8(&normalized) {
            // Python refuses a file whose cookie names a codec it does not know; dfab knows
            // the common ASCII-compatible ones and refuses the rest, which is never laxer.
            let line = u32::try_from(n + 1).unwrap_or(1);
            return Err(syntax(
                Pos { line, col: 1 },
                format!("unknown or unsupported encoding `{encoding}` in the coding line"),
            ));
        }
        if !ascii && !is_utf8(&normalized) {
            let line = u32::try_from(n + 1).unwrap_or(1);
            return Err(syntax(
                Pos { line, col: 1 },
                format!(
                    "the file declares encoding `{encoding}`, but dfab reads environments.py \
                     as UTF-8: save it as UTF-8 and drop the coding line"
                ),
            ));
        }
        break;
    }
    Ok(())
}

fn is_utf8(normalized: &str) -> bool {
    matches!(normalized, "utf-8" | "utf8" | "utf-8-sig")
}

/// Codecs that read an ASCII-only file exactly as UTF-8 does: a subset of Python's, each checked
/// against python3 (no EBCDIC code pages, which are not ASCII-compatible).
fn ascii_compatible(normalized: &str) -> bool {
    let number = |prefix: &str| {
        normalized
            .strip_prefix(prefix)
            .filter(|n| !n.starts_with('0'))
            .and_then(|n| n.parse::<u32>().ok())
    };
    matches!(
        normalized,
        "ascii" | "us-ascii" | "latin-1" | "latin1" | "l1"
    ) || number("iso-8859-")
        .or_else(|| number("iso8859-"))
        .is_some_and(|n| (1..=16).contains(&n) && n != 12)
        || number("cp").is_some_and(|n| {
            matches!(
                n,
                437 | 850 | 852 | 866 | 874 | 932 | 949 | 950 | 1250..=1258
            )
        })
        || number("windows-").is_some_and(|n| (1250..=1258).contains(&n))
}

/// The encoding named by `coding[:=]` in a comment line, as Python's regex finds it.
fn cookie(comment: &str) -> Option<&str> {
    // Like Python's `coding[:=][ \t]*([-\w.]+)`: the first occurrence that matches, not just the
    // first occurrence of the word.
    comment.match_indices("coding").find_map(|(at, _)| {
        let rest = comment[at + "coding".len()..].strip_prefix([':', '='])?;
        let rest = rest.trim_start_matches([' ', '\t']);
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(rest.len());
        (end > 0).then(|| &rest[..end])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies() {
        assert_eq!(cookie("# -*- coding: latin-1 -*-"), Some("latin-1"));
        assert_eq!(cookie("# vim: set fileencoding=utf-8 :"), Some("utf-8"));
        assert_eq!(cookie("# nothing here"), None);
        assert!(prepare("# coding: latin-1\nx = 'é'").is_err());
        assert!(prepare("# coding: latin-1\nx = 'e'").is_ok());
        // Found by the differential fuzz target: Python refuses an unknown codec even when the
        // file is plain ASCII.
        assert!(prepare("# -*- coding: BULoding: x\nx = 'e'").is_err());
        assert!(prepare("# coding: cp1252\nx = 'e'").is_ok());
        assert!(prepare("# coding: cp9999\nx = 'e'").is_err());
        // Also from the fuzzer: the first `coding` that fails to match is skipped, as Python's
        // regex does, and the second names an unknown codec.
        assert!(prepare("# -*- coding:! -\"c-*- coding: -\"caap").is_err());
        // And: after a BOM only `utf-8` itself will do.
        assert!(prepare("\u{feff}# coding: utf8\nx = 1").is_err());
        // From the fuzzer: a cookie far along a long first line still counts.
        let long = format!("# {} coding=coindg\nx = 1", "x".repeat(500));
        assert!(prepare(&long).is_err());
        assert!(prepare("\u{feff}# coding: UTF_8\nx = 1").is_ok());
        assert!(prepare("# coding: iso-8859-12\nx = 'e'").is_err());
        assert!(prepare("#!/usr/bin/python3\n# -*- coding: UTF_8 -*-\nx = 'é'").is_ok());
    }

    #[test]
    fn end_positions() {
        assert_eq!(end_pos("ab\r\ncd"), Pos { line: 2, col: 3 });
        assert_eq!(end_pos(""), Pos { line: 1, col: 1 });
    }

    #[test]
    fn null_bytes_are_refused_where_they_are() {
        let err = prepare("x = 1\r\ny = 'a\0'").unwrap_err();
        assert_eq!(err.pos, Pos { line: 2, col: 7 });
    }
}
