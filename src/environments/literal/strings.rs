//! String and bytes literals: prefixes, quoting forms and every escape sequence Python decodes.

use super::lexer::{Lexer, StrLit, Tok};
use super::{syntax, unicode_names, ParseError, Pos};

/// What the decoder is building.
enum Buf {
    Str(String),
    Bytes(Vec<u8>),
}

impl Buf {
    fn push(&mut self, c: char) {
        match self {
            Buf::Str(s) => s.push(c),
            // Callers only push ASCII (or an escape's byte value) into bytes.
            Buf::Bytes(b) => b.push(u8::try_from(u32::from(c)).unwrap_or(b'?')),
        }
    }

    fn push_byte_value(&mut self, v: u32) {
        match self {
            Buf::Str(s) => s.push(char::from_u32(v).unwrap_or('\u{fffd}')),
            // Python keeps the low byte of an octal escape above 0o377 in bytes.
            Buf::Bytes(b) => b.push(u8::try_from(v & 0xff).unwrap_or(0)),
        }
    }
}

impl Lexer {
    /// Lex a string whose prefix (possibly empty) began at `start`; the cursor is on the quote.
    pub(super) fn string(&mut self, start: usize, prefix: &str) -> Result<Tok, ParseError> {
        let pos = self.pos_at(start);
        let prefix = prefix.to_ascii_lowercase();
        if prefix.contains('f') {
            return Err(syntax(
                pos,
                "f-string is not a literal: dfab cannot evaluate the `{...}` inside it",
            ));
        }
        let raw = prefix.contains('r');
        let bytes = prefix.contains('b');
        let quote = self.peek_char(0).unwrap_or('\'');
        let triple = self.peek_char(1) == Some(quote) && self.peek_char(2) == Some(quote);
        self.i += if triple { 3 } else { 1 };
        let mut buf = if bytes {
            Buf::Bytes(Vec::new())
        } else {
            Buf::Str(String::new())
        };
        loop {
            let Some(c) = self.peek_char(0) else {
                return Err(unterminated(pos, triple));
            };
            if c == quote
                && (!triple
                    || (self.peek_char(1) == Some(quote) && self.peek_char(2) == Some(quote)))
            {
                self.i += if triple { 3 } else { 1 };
                break;
            }
            match c {
                '\n' if !triple => return Err(unterminated(pos, triple)),
                '\n' => {
                    self.newline();
                    buf.push('\n');
                }
                '\\' => self.escape(&mut buf, raw, pos, triple)?,
                _ if bytes && !c.is_ascii() => {
                    return Err(syntax(
                        self.pos(),
                        "bytes can only contain ASCII literal characters",
                    ));
                }
                _ => {
                    buf.push(c);
                    self.i += 1;
                }
            }
        }
        Ok(Tok::Str(match buf {
            Buf::Str(s) => StrLit::Str(s),
            Buf::Bytes(b) => StrLit::Bytes(b),
        }))
    }

    /// Decode one backslash sequence; the cursor is on the backslash.
    fn escape(
        &mut self,
        buf: &mut Buf,
        raw: bool,
        pos: Pos,
        triple: bool,
    ) -> Result<(), ParseError> {
        let at = self.pos();
        let Some(c) = self.peek_char(1) else {
            return Err(unterminated(pos, triple));
        };
        let is_str = matches!(buf, Buf::Str(_));
        if raw {
            // Raw strings keep the backslash, but it still stops the next quote closing them.
            buf.push('\\');
            self.i += 1;
            if c == '\n' {
                self.newline();
                buf.push('\n');
            } else if matches!(buf, Buf::Bytes(_)) && !c.is_ascii() {
                return Err(syntax(
                    self.pos(),
                    "bytes can only contain ASCII literal characters",
                ));
            } else {
                buf.push(c);
                self.i += 1;
            }
            return Ok(());
        }
        self.i += 2;
        let simple = match c {
            '\n' => {
                self.i -= 1;
                self.newline();
                return Ok(());
            }
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(s) = simple {
            buf.push(s);
            return Ok(());
        }
        match c {
            '0'..='7' => {
                let mut v = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek_char(0).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            v = v * 8 + d;
                            self.i += 1;
                        }
                        None => break,
                    }
                }
                buf.push_byte_value(v);
            }
            'x' => {
                let v = self
                    .hex_digits(2)
                    .ok_or_else(|| escape_error(at, "truncated \\xXX escape"))?;
                buf.push_byte_value(v);
            }
            'u' | 'U' if is_str => {
                let (n, what) = if c == 'u' {
                    (4, "\\uXXXX")
                } else {
                    (8, "\\UXXXXXXXX")
                };
                let v = self
                    .hex_digits(n)
                    .ok_or_else(|| escape_error(at, &format!("truncated {what} escape")))?;
                buf.push(Self::code_point(v, at)?);
            }
            'N' if is_str => {
                let ch = self.named_escape(at)?;
                buf.push(ch);
            }
            _ if matches!(buf, Buf::Bytes(_)) && !c.is_ascii() => {
                return Err(syntax(
                    self.pos_at(self.i - 1),
                    "bytes can only contain ASCII literal characters",
                ));
            }
            _ => {
                // Unknown escapes stay as written, backslash included.
                buf.push('\\');
                buf.push(c);
            }
        }
        Ok(())
    }

    fn hex_digits(&mut self, n: usize) -> Option<u32> {
        let mut v = 0u32;
        for k in 0..n {
            let d = self.peek_char(k)?.to_digit(16)?;
            v = v.checked_mul(16)?.checked_add(d)?;
        }
        self.i += n;
        Some(v)
    }

    fn code_point(v: u32, at: Pos) -> Result<char, ParseError> {
        if (0xd800..0xe000).contains(&v) {
            return Err(escape_error(
                at,
                &format!(
                    "lone surrogate \\u{v:04x} cannot be held in a UTF-8 string \
                     (Python accepts it; dfab does not)"
                ),
            ));
        }
        char::from_u32(v).ok_or_else(|| escape_error(at, "illegal Unicode character"))
    }

    /// `\N{NAME}`; the cursor is just after the `N`.
    fn named_escape(&mut self, at: Pos) -> Result<char, ParseError> {
        if self.peek_char(0) != Some('{') {
            return Err(escape_error(at, "malformed \\N character escape"));
        }
        let mut name = String::new();
        let mut k = 1;
        loop {
            match self.peek_char(k) {
                Some('}') => break,
                Some(c) if c != '\n' && c != '\'' && c != '"' && name.len() < 100 => name.push(c),
                _ => return Err(escape_error(at, "malformed \\N character escape")),
            }
            k += 1;
        }
        if name.is_empty() {
            return Err(escape_error(at, "malformed \\N character escape"));
        }
        self.i += k + 1;
        unicode_names::lookup(&name).ok_or_else(|| {
            escape_error(
                at,
                &format!(
                    "unsupported \\N{{}} name `{name}`: dfab knows only common names; \
                     write the character itself or use \\uXXXX"
                ),
            )
        })
    }
}

fn unterminated(pos: Pos, triple: bool) -> ParseError {
    let what = if triple {
        "unterminated triple-quoted string literal"
    } else {
        "unterminated string literal"
    };
    syntax(pos, what)
}

fn escape_error(at: Pos, what: &str) -> ParseError {
    syntax(at, format!("(unicode error) {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<StrLit, ParseError> {
        match Lexer::new(src.chars().collect()).next_token()?.tok {
            Tok::Str(s) => Ok(s),
            other => panic!("not a string: {other:?}"),
        }
    }

    #[allow(clippy::unnecessary_wraps)] // compared directly with what `lex` returns
    fn s(v: &str) -> Result<StrLit, ParseError> {
        Ok(StrLit::Str(v.into()))
    }

    #[test]
    fn escapes() {
        assert_eq!(
            lex(r#"'\n\t\\\'\"\a\b\f\v\r'"#),
            s("\n\t\\'\"\x07\x08\x0c\x0b\r")
        );
        assert_eq!(
            lex(r"'\0\101\777\x41\u00e9\U0001F600'"),
            s("\0A\u{1ff}Aé😀")
        );
        assert_eq!(lex(r"'\d\q'"), s("\\d\\q"));
        assert_eq!(lex(r"'\N{EM DASH}\N{bullet}'"), s("—•"));
        assert_eq!(lex("'a\\\nb'"), s("ab"));
        assert_eq!(
            lex(r"b'\777\x41\u0041'"),
            Ok(StrLit::Bytes(b"\xffA\\u0041".to_vec()))
        );
    }

    #[test]
    fn raw_and_triple() {
        assert_eq!(lex(r"r'\n\''"), s("\\n\\'"));
        assert_eq!(lex(r"Rb'\x'"), Ok(StrLit::Bytes(b"\\x".to_vec())));
        assert_eq!(lex("'''a\n'b''c'''"), s("a\n'b''c"));
        assert_eq!(lex("\"\"\"\"\"\""), s(""));
    }

    #[test]
    fn errors() {
        for (src, msg) in [
            ("'abc", "unterminated string"),
            ("'''abc\n", "unterminated triple-quoted"),
            ("r'abc\\'", "unterminated string"),
            (r"'\x4'", "truncated \\xXX"),
            (r"'\ud800'", "lone surrogate"),
            (r"'\U00110000'", "illegal Unicode"),
            (r"'\N{NO SUCH NAME}'", "unsupported \\N{} name"),
            ("b'é'", "bytes can only contain ASCII"),
            ("f'x'", "f-string"),
        ] {
            let err = lex(src).expect_err(src);
            assert!(err.message.contains(msg), "{src}: {}", err.message);
        }
    }
}
