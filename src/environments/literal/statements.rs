//! Top-level statements: `name = literal` assignments (chained or not) and bare strings,
//! and an error naming any other statement.

use super::lexer::Tok;
use super::parser::{is_keyword, Parser, Shape};
use super::{not_literal, syntax, Assignment, Module, ParseError, Pos};
use crate::environments::value::{Kind, Value};

impl Parser {
    pub(super) fn module(mut self) -> Result<Module, ParseError> {
        match self.statements() {
            Err(e) if !self.lex.failed => Err(self.prefer_tokenizer_error(e)),
            other => other,
        }
    }

    fn statements(&mut self) -> Result<Module, ParseError> {
        self.bump()?;
        let mut assignments = Vec::new();
        loop {
            match self.tok.tok {
                Tok::Eof => return Ok(Module { assignments }),
                Tok::Newline => self.bump()?,
                _ => {
                    self.statement(&mut assignments)?;
                    self.end_statement()?;
                }
            }
        }
    }

    fn end_statement(&mut self) -> Result<(), ParseError> {
        match self.tok.tok {
            Tok::Newline => self.bump(),
            Tok::Eof => Ok(()),
            Tok::Op(";") => {
                self.bump()?;
                if self.tok.tok == Tok::Newline {
                    self.bump()?;
                }
                Ok(())
            }
            _ => Err(self.after_value_error("the end of the statement")),
        }
    }

    fn statement(&mut self, out: &mut Vec<Assignment>) -> Result<(), ParseError> {
        let pos = self.tok.pos;
        match self.tok.tok.clone() {
            Tok::Name(n) if is_keyword(&n) => Err(keyword_statement(&n, pos)),
            Tok::Name(n) => self.assignment(n, pos, out),
            // A docstring, or any bare string: Python evaluates and discards it.
            Tok::Str(_) => self.strings().map(drop),
            Tok::Op("@") => Err(not_literal(
                pos,
                "decorator `@` is not a literal assignment",
            )),
            Tok::Op("*") => Err(not_literal(
                pos,
                "star-unpacking `*` is not a literal assignment",
            )),
            Tok::Op(o) if !matches!(o, "(" | "[" | "{" | "-" | "+" | "~") => Err(syntax(
                pos,
                format!("unexpected `{o}` at the start of a statement"),
            )),
            _ => Err(not_literal(
                pos,
                "expression statement is not a literal assignment",
            )),
        }
    }

    fn assignment(
        &mut self,
        name: String,
        pos: Pos,
        out: &mut Vec<Assignment>,
    ) -> Result<(), ParseError> {
        self.bump()?;
        match self.tok.tok {
            Tok::Op("=") => {}
            Tok::Op(":") => {
                return Err(not_literal(
                    pos,
                    format!("annotated assignment `{name}: ...` is not a literal assignment"),
                ))
            }
            Tok::Op(",") => {
                return Err(not_literal(
                    pos,
                    "unpacking assignment `a, b = ...` is not a literal assignment",
                ))
            }
            Tok::Op(op)
                if op.len() >= 2
                    && op.ends_with('=')
                    && !matches!(op, "==" | "<=" | ">=" | "!=" | ":=") =>
            {
                return Err(not_literal(
                    pos,
                    format!("augmented assignment `{name} {op} ...` is not a literal assignment"),
                ))
            }
            Tok::Op("." | "[" | "(") => return Err(self.target_with_trailers(name, pos)?),
            _ => {
                return Err(not_literal(
                    pos,
                    format!("expression statement `{name}` is not a literal assignment"),
                ))
            }
        }
        let mut targets = vec![(name, pos)];
        let value = loop {
            self.bump()?;
            if let Tok::Name(n) = &self.tok.tok {
                if !is_keyword(n) {
                    let (n, p) = (n.clone(), self.tok.pos);
                    self.bump()?;
                    if self.is_op("=") {
                        targets.push((n, p));
                        continue;
                    }
                    let first = self.name_value(&n, p)?;
                    break self.top_value(Some(first))?;
                }
            }
            break self.top_value(None)?;
        };
        if self.is_op("=") {
            return Err(syntax(
                self.tok.pos,
                "cannot assign to a literal: only names may be assignment targets",
            ));
        }
        for (name, pos) in targets {
            out.push(Assignment {
                name,
                pos,
                value: value.clone(),
            });
        }
        Ok(())
    }

    /// `a.b = ...`, `a[k] = ...`, `f(...)`: say which, at the start of the target.
    fn target_with_trailers(&mut self, name: String, pos: Pos) -> Result<ParseError, ParseError> {
        let mut desc = name;
        let mut last = "";
        loop {
            match self.tok.tok {
                Tok::Op(".") => {
                    self.bump()?;
                    if let Tok::Name(n) = &self.tok.tok {
                        desc.push('.');
                        desc.push_str(n);
                        self.bump()?;
                        last = "attribute";
                    } else {
                        return Ok(self.after_value_error("a name after `.`"));
                    }
                }
                Tok::Op(open @ ("[" | "(")) => {
                    self.skip_brackets()?;
                    desc.push_str(if open == "[" { "[...]" } else { "(...)" });
                    last = if open == "[" { "subscript" } else { "call" };
                }
                _ => break,
            }
        }
        Ok(match self.tok.tok {
            Tok::Op("=") => not_literal(
                pos,
                format!("{last} assignment `{desc} = ...` is not a literal assignment"),
            ),
            Tok::Op(op) if op.len() >= 2 && op.ends_with('=') => not_literal(
                pos,
                format!("augmented assignment `{desc} {op} ...` is not a literal assignment"),
            ),
            _ if last == "call" => {
                not_literal(pos, format!("call to `{desc}` is not a literal assignment"))
            }
            _ => not_literal(
                pos,
                format!("expression statement `{desc}` is not a literal assignment"),
            ),
        })
    }

    /// Skip from an opening bracket to its partner; the lexer has already checked they match.
    fn skip_brackets(&mut self) -> Result<(), ParseError> {
        let depth = self.lex.depth();
        loop {
            self.bump()?;
            if self.lex.depth() < depth {
                return self.bump();
            }
            if self.tok.tok == Tok::Eof {
                return Ok(());
            }
        }
    }

    /// The right-hand side of an assignment: a value, or an unparenthesized tuple.
    fn top_value(&mut self, first: Option<(Value, Shape)>) -> Result<Value, ParseError> {
        let (first, _) = match first {
            Some((v, shape)) => self.value_rest(v, shape)?,
            None => self.value()?,
        };
        if !self.is_op(",") {
            return Ok(first);
        }
        let pos = first.pos;
        let mut items = vec![first];
        while self.is_op(",") {
            self.bump()?;
            if matches!(self.tok.tok, Tok::Newline | Tok::Eof | Tok::Op(";" | "=")) {
                break;
            }
            items.push(self.value()?.0);
        }
        Ok(Value::new(Kind::Tuple(items), pos))
    }
}

/// Statements that start with a keyword.
fn keyword_statement(kw: &str, pos: Pos) -> ParseError {
    let message = match kw {
        "from" => "`from ... import` statement is not a literal assignment".to_owned(),
        "def" => "function definition `def` is not a literal assignment".to_owned(),
        "class" => "class definition `class` is not a literal assignment".to_owned(),
        "True" | "False" | "None" | "lambda" | "not" | "await" | "yield" => {
            format!("expression statement `{kw} ...` is not a literal assignment")
        }
        _ => format!("`{kw}` statement is not a literal assignment"),
    };
    not_literal(pos, message)
}
