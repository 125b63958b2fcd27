//! Bracketed displays (tuples, lists, dicts, sets) and the errors for whatever token
//! follows a value where it should not.

use super::hashkey::{DictBuilder, SetBuilder};
use super::lexer::Tok;
use super::parser::{binary_operator, Parser, Shape};
use super::{not_literal, syntax, ParseError, Pos};
use crate::environments::value::{Kind, Value};

impl Parser {
    /// `(...)`, `[...]` or `{...}`; the current token is the opening bracket.
    pub(super) fn display(&mut self) -> Result<(Value, Shape), ParseError> {
        let open_pos = self.tok.pos;
        let open = match self.tok.tok {
            Tok::Op("[") => "[",
            Tok::Op("{") => "{",
            _ => "(",
        };
        self.bump()?;
        match open {
            "(" => self.parenthesized(open_pos),
            "[" => {
                let items = self.items("]")?;
                Ok((Value::new(Kind::List(items), open_pos), Shape::Other))
            }
            _ => self
                .braces()
                .map(|kind| (Value::new(kind, open_pos), Shape::Other)),
        }
    }

    fn parenthesized(&mut self, open_pos: Pos) -> Result<(Value, Shape), ParseError> {
        if self.is_op(")") {
            self.bump()?;
            return Ok((Value::new(Kind::Tuple(Vec::new()), open_pos), Shape::Other));
        }
        let (first, shape) = self.value()?;
        if self.is_op(")") {
            // Parentheses around one value make no node of their own.
            self.bump()?;
            return Ok((first, shape));
        }
        if !self.is_op(",") {
            return Err(self.after_value_error("`,` or `)`"));
        }
        self.bump()?;
        let mut items = vec![first];
        items.extend(self.items(")")?);
        Ok((Value::new(Kind::Tuple(items), open_pos), Shape::Other))
    }

    /// Comma-separated values up to `close`, which is consumed; a trailing comma is fine.
    fn items(&mut self, close: &str) -> Result<Vec<Value>, ParseError> {
        let mut items = Vec::new();
        loop {
            if self.is_op(close) {
                self.bump()?;
                return Ok(items);
            }
            items.push(self.value()?.0);
            if self.is_op(",") {
                self.bump()?;
            } else if !self.is_op(close) {
                return Err(self.after_value_error(&format!("`,` or `{close}`")));
            }
        }
    }

    fn braces(&mut self) -> Result<Kind, ParseError> {
        if self.is_op("}") {
            self.bump()?;
            return Ok(Kind::Dict(Vec::new()));
        }
        if self.is_op("**") {
            return Err(not_literal(
                self.tok.pos,
                "dict unpacking `**` is not a literal",
            ));
        }
        let first = self.value()?.0;
        if self.is_op(":") {
            self.dict(first)
        } else {
            self.set(first)
        }
    }

    fn dict(&mut self, first_key: Value) -> Result<Kind, ParseError> {
        let mut dict = DictBuilder::default();
        let mut key = first_key;
        loop {
            // The current token is the `:` after `key`.
            self.bump()?;
            let value = self.value()?.0;
            dict.insert(key, value)?;
            if self.is_op(",") {
                self.bump()?;
            } else if !self.is_op("}") {
                return Err(self.after_value_error("`,` or `}`"));
            }
            if self.is_op("}") {
                self.bump()?;
                return Ok(dict.finish());
            }
            if self.is_op("**") {
                return Err(not_literal(
                    self.tok.pos,
                    "dict unpacking `**` is not a literal",
                ));
            }
            key = self.value()?.0;
            if !self.is_op(":") {
                return Err(self.after_value_error("`:`"));
            }
        }
    }

    fn set(&mut self, first: Value) -> Result<Kind, ParseError> {
        let mut set = SetBuilder::default();
        set.insert(first)?;
        if self.is_op(",") {
            self.bump()?;
        } else if !self.is_op("}") {
            return Err(self.after_value_error("`,`, `:` or `}`"));
        }
        for item in self.items("}")? {
            set.insert(item)?;
        }
        Ok(set.finish())
    }

    /// The current token cannot follow a value (or start one): name the construct it begins.
    pub(super) fn after_value_error(&mut self, expected: &str) -> ParseError {
        let pos = self.tok.pos;
        match &self.tok.tok {
            Tok::Op(":=") => {
                not_literal(pos, "assignment expression `:=` (walrus) is not a literal")
            }
            Tok::Op(op) if binary_operator(op) => {
                not_literal(pos, format!("`{op}` expression is not a literal"))
            }
            Tok::Op(".") => not_literal(pos, "attribute access `.` is not a literal"),
            Tok::Op("(") => not_literal(pos, "a call `(...)` is not a literal"),
            Tok::Op("[") => not_literal(pos, "a subscript `[...]` is not a literal"),
            Tok::Name(k) if k == "for" || k == "async" => {
                not_literal(pos, "comprehension is not a literal")
            }
            Tok::Name(k) if k == "if" => not_literal(
                pos,
                "conditional expression `... if ... else ...` is not a literal",
            ),
            Tok::Name(k) if matches!(k.as_str(), "and" | "or" | "not" | "in" | "is") => {
                not_literal(pos, format!("`{k}` expression is not a literal"))
            }
            other => {
                let found = token_text(other);
                syntax(pos, format!("unexpected {found}, expected {expected}"))
            }
        }
    }

    /// Python tokenizes the whole file before it judges any value, so a tokenizer error
    /// later in the file (an unclosed bracket, an unterminated string) wins over `err`.
    pub(super) fn prefer_tokenizer_error(&mut self, err: ParseError) -> ParseError {
        self.lex.allow_indent = true;
        loop {
            match self.lex.next_token() {
                Err(e) => return e,
                Ok(t) if t.tok == Tok::Eof => return err,
                Ok(_) => {}
            }
        }
    }
}

fn token_text(tok: &Tok) -> String {
    match tok {
        Tok::Name(n) => format!("name `{n}`"),
        Tok::Int(_) | Tok::Float(_) | Tok::Imag(_) => "number".into(),
        Tok::Str(_) => "string".into(),
        Tok::Op(op) => format!("`{op}`"),
        Tok::Newline => "end of line".into(),
        Tok::Eof => "end of file".into(),
    }
}
