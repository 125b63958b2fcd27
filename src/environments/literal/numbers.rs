//! Number literals: decimal, hex, octal and binary integers, floats and imaginaries,
//! with `_` separators placed as Python allows them.

use super::identifiers::is_id_continue;
use super::lexer::{Lexer, Tok};
use super::{syntax, ParseError};

impl Lexer {
    /// Lex a number starting at the current character (a digit, or `.` before a digit).
    pub(super) fn number(&mut self) -> Result<Tok, ParseError> {
        let start = self.i;
        let pos = self.pos();
        if self.peek_char(0) == Some('0') {
            let radix = match self.peek_char(1) {
                Some('x' | 'X') => Some((16, "hexadecimal")),
                Some('o' | 'O') => Some((8, "octal")),
                Some('b' | 'B') => Some((2, "binary")),
                _ => None,
            };
            if let Some((radix, name)) = radix {
                self.i += 2;
                return self.radix_int(radix, name);
            }
        }
        let int_part = self.digit_part()?;
        let mut is_float = false;
        let mut text = int_part.clone();
        if self.peek_char(0) == Some('.') {
            self.i += 1;
            is_float = true;
            text.push('.');
            if self.peek_char(0).is_some_and(|c| c.is_ascii_digit()) {
                text.push_str(&self.digit_part()?);
            }
        }
        if matches!(self.peek_char(0), Some('e' | 'E')) {
            let sign = matches!(self.peek_char(1), Some('+' | '-'));
            let digit_at = if sign { 2 } else { 1 };
            if self.peek_char(digit_at).is_some_and(|c| c.is_ascii_digit()) {
                text.push('e');
                if sign {
                    text.push(self.peek_char(1).unwrap_or('+'));
                }
                self.i += digit_at;
                text.push_str(&self.digit_part()?);
                is_float = true;
            } else {
                return Err(syntax(pos, "invalid decimal literal"));
            }
        }
        let imaginary = matches!(self.peek_char(0), Some('j' | 'J'));
        if imaginary {
            self.i += 1;
        }
        self.no_trailing_name(pos)?;
        if is_float || imaginary {
            let value: f64 = text
                .parse()
                .map_err(|_| syntax(pos, "invalid decimal literal"))?;
            return Ok(if imaginary {
                Tok::Imag(value)
            } else {
                Tok::Float(value)
            });
        }
        if int_part.starts_with('0') && int_part.chars().any(|c| c != '0') {
            return Err(syntax(
                pos,
                "leading zeros in decimal integer literals are not permitted; \
                 use an 0o prefix for octal integers",
            ));
        }
        debug_assert!(self.i > start);
        parse_magnitude(&int_part, 10)
            .map(Tok::Int)
            .ok_or_else(|| too_large(pos))
    }

    /// `digit (_? digit)*`, returned without the underscores.
    fn digit_part(&mut self) -> Result<String, ParseError> {
        let mut out = String::new();
        loop {
            match self.peek_char(0) {
                Some(c) if c.is_ascii_digit() => {
                    out.push(c);
                    self.i += 1;
                }
                Some('_') if self.peek_char(1).is_some_and(|c| c.is_ascii_digit()) => {
                    self.i += 1;
                }
                Some('_') => return Err(syntax(self.pos(), "invalid decimal literal")),
                _ => return Ok(out),
            }
        }
    }

    fn radix_int(&mut self, radix: u32, name: &str) -> Result<Tok, ParseError> {
        let pos = self.pos_at(self.i.saturating_sub(2));
        let mut digits = String::new();
        loop {
            match self.peek_char(0) {
                Some('_') if self.peek_char(1).is_some_and(|c| c.is_digit(radix)) => self.i += 1,
                Some(c) if c.is_digit(radix) => {
                    digits.push(c);
                    self.i += 1;
                }
                Some(c) if c.is_ascii_digit() => {
                    return Err(syntax(
                        self.pos(),
                        format!("invalid digit '{c}' in {name} literal"),
                    ));
                }
                _ => break,
            }
        }
        if digits.is_empty() {
            return Err(syntax(self.pos(), format!("invalid {name} literal")));
        }
        self.no_trailing_name(pos)?;
        parse_magnitude(&digits, radix)
            .map(Tok::Int)
            .ok_or_else(|| too_large(pos))
    }

    /// `1abc` and `0x1g` are errors, not a number followed by a name.
    fn no_trailing_name(&self, pos: super::Pos) -> Result<(), ParseError> {
        if self.peek_char(0).is_some_and(is_id_continue) {
            return Err(syntax(pos, "invalid decimal literal"));
        }
        Ok(())
    }
}

fn parse_magnitude(digits: &str, radix: u32) -> Option<u128> {
    u128::from_str_radix(digits, radix).ok()
}

pub(super) fn too_large(pos: super::Pos) -> ParseError {
    syntax(
        pos,
        "integer too large (dfab holds integers in 128 bits; Python's are unbounded)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(src: &str) -> Result<Tok, ParseError> {
        Lexer::new(src.chars().collect())
            .next_token()
            .map(|t| t.tok)
    }

    #[test]
    fn forms() {
        assert_eq!(lex("0"), Ok(Tok::Int(0)));
        assert_eq!(lex("0_0"), Ok(Tok::Int(0)));
        assert_eq!(lex("1_000"), Ok(Tok::Int(1000)));
        assert_eq!(lex("0xff"), Ok(Tok::Int(255)));
        assert_eq!(lex("0o_17"), Ok(Tok::Int(15)));
        assert_eq!(lex("0B101"), Ok(Tok::Int(5)));
        assert_eq!(lex("1."), Ok(Tok::Float(1.0)));
        assert_eq!(lex(".5"), Ok(Tok::Float(0.5)));
        assert_eq!(lex("1.e5"), Ok(Tok::Float(1e5)));
        assert_eq!(lex("007.5"), Ok(Tok::Float(7.5)));
        assert_eq!(lex("1_0.0_1e-1_0"), Ok(Tok::Float(10.01e-10)));
        assert_eq!(lex("07j"), Ok(Tok::Imag(7.0)));
        assert_eq!(lex("1e999"), Ok(Tok::Float(f64::INFINITY)));
    }

    #[test]
    fn errors() {
        for (src, msg) in [
            ("007", "leading zeros"),
            ("1_", "invalid decimal"),
            ("1__0", "invalid decimal"),
            ("1abc", "invalid decimal"),
            ("1e", "invalid decimal"),
            ("0x", "invalid hexadecimal"),
            ("0b102", "invalid digit '2' in binary"),
            ("0o8", "invalid digit '8' in octal"),
            (
                "1000000000000000000000000000000000000000000",
                "integer too large",
            ),
        ] {
            let err = lex(src).expect_err(src);
            assert!(err.message.contains(msg), "{src}: {}", err.message);
        }
    }
}
