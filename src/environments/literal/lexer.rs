//! The tokenizer: Python's lexical rules for names, numbers, operators, brackets and
//! logical lines, with 1-based positions counted in characters.

use super::identifiers::{is_id_continue, is_id_start, not_normalized};
use super::{syntax, ParseError};
use crate::environments::value::Pos;

/// Brackets may nest this deep; Python's own tokenizer stops at 200 too.
pub(super) const MAX_DEPTH: usize = 200;

/// Operators Python knows, longest first so that the first match is the right one.
const OPERATORS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "->", ":=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
    "@=", "==", "!=", "<=", ">=", "**", "//", "<<", ">>", "+", "-", "*", "/", "%", "@", "&", "|",
    "^", "~", "<", ">", "(", ")", "[", "]", "{", "}", ",", ":", ";", ".", "=",
];

/// A string or bytes literal, already decoded.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum StrLit {
    Str(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Name(String),
    /// The magnitude of an integer literal; the sign is a separate operator.
    Int(u128),
    Float(f64),
    Imag(f64),
    Str(StrLit),
    Op(&'static str),
    Newline,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) pos: Pos,
}

pub(super) struct Lexer {
    pub(super) chars: Vec<char>,
    pub(super) i: usize,
    line: u32,
    line_start: usize,
    /// Open brackets with where they opened.
    brackets: Vec<(char, Pos)>,
    /// Whether the current logical line has produced a token yet.
    line_has_tokens: bool,
    /// Set once a token could not be read; the cursor is then mid-token.
    pub(super) failed: bool,
    /// Accept indented lines: set when only scanning for later tokenizer errors, since an
    /// indented block is valid Python even though dfab refuses the statement that opens it.
    pub(super) allow_indent: bool,
}

impl Lexer {
    pub(super) fn new(chars: Vec<char>) -> Self {
        Lexer {
            chars,
            i: 0,
            line: 1,
            line_start: 0,
            brackets: Vec::new(),
            line_has_tokens: false,
            failed: false,
            allow_indent: false,
        }
    }

    pub(super) fn pos(&self) -> Pos {
        self.pos_at(self.i)
    }

    /// The position of a character index on the current line.
    pub(super) fn pos_at(&self, i: usize) -> Pos {
        let col = u32::try_from(i.saturating_sub(self.line_start) + 1).unwrap_or(u32::MAX);
        Pos {
            line: self.line,
            col,
        }
    }

    pub(super) fn peek_char(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    /// Step over a newline character, starting a new physical line.
    pub(super) fn newline(&mut self) {
        self.i += 1;
        self.line += 1;
        self.line_start = self.i;
    }

    pub(super) fn depth(&self) -> usize {
        self.brackets.len()
    }

    /// The next token.
    pub(super) fn next_token(&mut self) -> Result<Token, ParseError> {
        let token = self.read_token();
        self.failed |= token.is_err();
        token
    }

    fn read_token(&mut self) -> Result<Token, ParseError> {
        loop {
            if !self.line_has_tokens && self.brackets.is_empty() {
                self.check_indent()?;
            }
            let Some(c) = self.peek_char(0) else {
                return self.end_of_file();
            };
            match c {
                ' ' | '\t' | '\x0c' => self.i += 1,
                '#' => {
                    while self.peek_char(0).is_some_and(|c| c != '\n') {
                        self.i += 1;
                    }
                }
                '\n' => {
                    let pos = self.pos();
                    self.newline();
                    if self.brackets.is_empty() && self.line_has_tokens {
                        self.line_has_tokens = false;
                        return Ok(Token {
                            tok: Tok::Newline,
                            pos,
                        });
                    }
                }
                '\\' => self.continuation()?,
                _ => {
                    let pos = self.pos();
                    let tok = self.token(c)?;
                    self.line_has_tokens = true;
                    return Ok(Token { tok, pos });
                }
            }
        }
    }

    /// At the start of a logical line: only blank or comment lines may be indented.
    fn check_indent(&mut self) -> Result<(), ParseError> {
        let mut j = self.i;
        let mut indented = false;
        while let Some(&c) = self.chars.get(j) {
            match c {
                ' ' | '\t' => indented = true,
                // A form feed resets the indentation count, as in CPython.
                '\x0c' => indented = false,
                _ => break,
            }
            j += 1;
        }
        match self.chars.get(j) {
            None | Some('\n' | '#') => {}
            Some('\\') if self.chars.get(j + 1) == Some(&'\n') => {}
            Some(_) if indented && !self.allow_indent => {
                return Err(syntax(
                    self.pos_at(j),
                    "unexpected indent: top-level statements start in column 1",
                ));
            }
            Some(_) => {}
        }
        self.i = j;
        Ok(())
    }

    fn continuation(&mut self) -> Result<(), ParseError> {
        let pos = self.pos();
        match self.peek_char(1) {
            Some('\n') if self.peek_char(2).is_none() => Err(syntax(
                pos,
                "unexpected end of file after line continuation `\\`",
            )),
            Some('\n') => {
                self.i += 1;
                self.newline();
                Ok(())
            }
            None => Err(syntax(
                pos,
                "unexpected end of file after line continuation `\\`",
            )),
            Some(_) => Err(syntax(
                pos,
                "unexpected character after line continuation character `\\`",
            )),
        }
    }

    fn end_of_file(&mut self) -> Result<Token, ParseError> {
        if let Some(&(open, pos)) = self.brackets.last() {
            return Err(syntax(pos, format!("'{open}' was never closed")));
        }
        let pos = self.pos();
        if self.line_has_tokens {
            self.line_has_tokens = false;
            return Ok(Token {
                tok: Tok::Newline,
                pos,
            });
        }
        Ok(Token { tok: Tok::Eof, pos })
    }

    fn token(&mut self, c: char) -> Result<Tok, ParseError> {
        if c.is_ascii_digit() || (c == '.' && self.peek_char(1).is_some_and(|d| d.is_ascii_digit()))
        {
            return self.number();
        }
        if c == '\'' || c == '"' {
            return self.string(self.i, "");
        }
        if is_id_start(c) {
            let start = self.i;
            while self.peek_char(0).is_some_and(is_id_continue) {
                self.i += 1;
            }
            let name: String = self.chars[start..self.i].iter().collect();
            if matches!(self.peek_char(0), Some('\'' | '"')) && is_string_prefix(&name) {
                return self.string(start, &name);
            }
            if let Some(c) = not_normalized(&name) {
                return Err(syntax(
                    self.pos_at(start),
                    format!(
                        "name `{name}` holds {c:?} (U+{:04X}), which Python would rewrite \
                         (NFKC) into another name; dfab does not, so spell the name plainly",
                        u32::from(c)
                    ),
                ));
            }
            return Ok(Tok::Name(name));
        }
        self.operator(c)
    }

    fn operator(&mut self, c: char) -> Result<Tok, ParseError> {
        let pos = self.pos();
        for op in OPERATORS {
            let n = op.chars().count();
            if self.chars.len() >= self.i + n
                && op
                    .chars()
                    .zip(&self.chars[self.i..self.i + n])
                    .all(|(a, &b)| a == b)
            {
                self.i += n;
                self.bracket(op, pos)?;
                return Ok(Tok::Op(op));
            }
        }
        let what = if c.is_whitespace() || c.is_control() {
            "invalid non-printable character"
        } else {
            "invalid character"
        };
        Err(syntax(
            pos,
            format!("{what} {c:?} (U+{:04X})", u32::from(c)),
        ))
    }

    fn bracket(&mut self, op: &str, pos: Pos) -> Result<(), ParseError> {
        let close = match op {
            "(" | "[" | "{" => {
                if self.brackets.len() >= MAX_DEPTH {
                    return Err(syntax(
                        pos,
                        format!("too many nested brackets (the limit is {MAX_DEPTH})"),
                    ));
                }
                self.brackets.push((op.chars().next().unwrap_or('('), pos));
                return Ok(());
            }
            ")" => ')',
            "]" => ']',
            "}" => '}',
            _ => return Ok(()),
        };
        match self.brackets.pop() {
            None => Err(syntax(pos, format!("unmatched '{close}'"))),
            Some((open, open_pos)) if matching(open) != close => Err(syntax(
                pos,
                format!(
                    "closing parenthesis '{close}' does not match opening parenthesis '{open}' \
                     at {open_pos}"
                ),
            )),
            Some(_) => Ok(()),
        }
    }
}

fn matching(open: char) -> char {
    match open {
        '(' => ')',
        '[' => ']',
        _ => '}',
    }
}

/// Prefixes Python 3 allows before a quote, in any letter case.
fn is_string_prefix(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "r" | "u" | "b" | "br" | "rb" | "f" | "fr" | "rf"
    )
}
