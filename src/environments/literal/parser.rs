//! The recursive-descent parser for the literal expressions `ast.literal_eval` accepts,
//! naming whatever construct falls outside them.

use super::lexer::{Lexer, StrLit, Tok, Token};
use super::numbers::too_large;
use super::{not_literal, syntax, ParseError, Pos};
use crate::environments::value::{Kind, Value};

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

const BINARY_OPERATORS: &[&str] = &[
    "+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>", "<", ">", "<=", ">=",
    "==", "!=", "~",
];

pub(super) fn is_keyword(name: &str) -> bool {
    KEYWORDS.contains(&name)
}

/// What a parsed expression was, as far as `literal_eval`'s sign and complex rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A bare literal constant, perhaps in parentheses.
    Constant,
    /// `-constant` or `+constant`.
    Signed,
    /// `real + imagj` or `real - imagj`.
    ComplexSum,
    /// A display, or `set()`.
    Other,
}

pub(super) struct Parser {
    pub(super) lex: Lexer,
    pub(super) tok: Token,
}

impl Parser {
    pub(super) fn new(chars: Vec<char>) -> Self {
        Parser {
            lex: Lexer::new(chars),
            tok: Token {
                tok: Tok::Newline,
                pos: Pos::default(),
            },
        }
    }

    pub(super) fn bump(&mut self) -> Result<(), ParseError> {
        self.tok = self.lex.next_token()?;
        Ok(())
    }

    pub(super) fn is_op(&self, op: &str) -> bool {
        matches!(self.tok.tok, Tok::Op(o) if o == op)
    }

    pub(super) fn value(&mut self) -> Result<(Value, Shape), ParseError> {
        let (v, shape) = self.atom()?;
        self.value_rest(v, shape)
    }

    /// After a value: `real + imagj` is the one binary operation `literal_eval` allows.
    pub(super) fn value_rest(
        &mut self,
        left: Value,
        shape: Shape,
    ) -> Result<(Value, Shape), ParseError> {
        let Tok::Op(op @ ("+" | "-")) = self.tok.tok else {
            return Ok((left, shape));
        };
        let op_pos = self.tok.pos;
        let refuse = || {
            not_literal(
                op_pos,
                format!(
                    "`{op}` expression is not a literal \
                     (only a complex number like `1+2j` may use `+` or `-`)"
                ),
            )
        };
        #[allow(clippy::cast_precision_loss)] // Python rounds the int to a float the same way.
        let re = match (shape, &left.kind) {
            (Shape::Constant | Shape::Signed, Kind::Int(i)) => *i as f64,
            (Shape::Constant | Shape::Signed, Kind::Float(x)) => *x,
            _ => return Err(refuse()),
        };
        self.bump()?;
        let (right, right_shape) = self.atom()?;
        let (Shape::Constant, Kind::Complex(r_re, r_im)) = (right_shape, &right.kind) else {
            return Err(refuse());
        };
        let kind = if op == "+" {
            Kind::Complex(re + r_re, 0.0 + r_im)
        } else {
            Kind::Complex(re - r_re, 0.0 - r_im)
        };
        Ok((Value::new(kind, left.pos), Shape::ComplexSum))
    }

    pub(super) fn atom(&mut self) -> Result<(Value, Shape), ParseError> {
        let pos = self.tok.pos;
        let constant = |kind| Ok((Value::new(kind, pos), Shape::Constant));
        match self.tok.tok.clone() {
            Tok::Int(m) => {
                self.bump()?;
                constant(Kind::Int(i128::try_from(m).map_err(|_| too_large(pos))?))
            }
            Tok::Float(x) => self.bump().and_then(|()| constant(Kind::Float(x))),
            Tok::Imag(x) => self.bump().and_then(|()| constant(Kind::Complex(0.0, x))),
            Tok::Str(_) => self.strings(),
            Tok::Name(n) => match n.as_str() {
                "True" => self.bump().and_then(|()| constant(Kind::Bool(true))),
                "False" => self.bump().and_then(|()| constant(Kind::Bool(false))),
                "None" => self.bump().and_then(|()| constant(Kind::None)),
                kw if is_keyword(kw) => Err(keyword_value(kw, pos)),
                _ => {
                    self.bump()?;
                    self.name_value(&n, pos)
                }
            },
            Tok::Op("(" | "[" | "{") => self.display(),
            Tok::Op(op @ ("-" | "+")) => self.unary(op, pos),
            Tok::Op("*") => Err(not_literal(pos, "star-unpacking `*` is not a literal")),
            Tok::Op("**") => Err(not_literal(pos, "dict unpacking `**` is not a literal")),
            Tok::Op("...") => Err(not_literal(
                pos,
                "`...` (Ellipsis) is not supported: dfab has no value for it",
            )),
            Tok::Op("~") => Err(not_literal(pos, "`~` expression is not a literal")),
            _ => Err(self.after_value_error("a value")),
        }
    }

    fn unary(&mut self, op: &'static str, pos: Pos) -> Result<(Value, Shape), ParseError> {
        self.bump()?;
        let signed = |kind| Ok((Value::new(kind, pos), Shape::Signed));
        if let (Tok::Int(m), "-") = (&self.tok.tok, op) {
            // The magnitude of i128::MIN only fits once negated.
            let m = *m;
            self.bump()?;
            let v = 0i128
                .checked_sub_unsigned(m)
                .ok_or_else(|| too_large(pos))?;
            return signed(Kind::Int(v));
        }
        if matches!(self.tok.tok, Tok::Op("-" | "+")) {
            return Err(not_literal(
                pos,
                "repeated unary `-`/`+` is not a literal (only one sign may precede a number)",
            ));
        }
        let (v, shape) = self.atom()?;
        let negate = op == "-";
        let kind = match (shape, v.kind) {
            (Shape::Constant, Kind::Int(i)) if negate => {
                Kind::Int(i.checked_neg().ok_or_else(|| too_large(pos))?)
            }
            (Shape::Constant, Kind::Float(x)) if negate => Kind::Float(-x),
            (Shape::Constant, Kind::Complex(re, im)) if negate => Kind::Complex(-re, -im),
            (Shape::Constant, k @ (Kind::Int(_) | Kind::Float(_) | Kind::Complex(..))) => k,
            (_, k) => {
                let what = Value::new(k, pos).type_name();
                return Err(not_literal(
                    pos,
                    format!(
                        "unary `{op}` on a {what} is not a literal (it applies only to a number)"
                    ),
                ));
            }
        };
        signed(kind)
    }

    /// Adjacent string literals join into one, as long as they are all str or all bytes.
    pub(super) fn strings(&mut self) -> Result<(Value, Shape), ParseError> {
        let pos = self.tok.pos;
        let mut acc: Option<StrLit> = None;
        while let Tok::Str(lit) = &self.tok.tok {
            acc = Some(match (acc, lit) {
                (None, lit) => lit.clone(),
                (Some(StrLit::Str(mut a)), StrLit::Str(b)) => {
                    a.push_str(b);
                    StrLit::Str(a)
                }
                (Some(StrLit::Bytes(mut a)), StrLit::Bytes(b)) => {
                    a.extend_from_slice(b);
                    StrLit::Bytes(a)
                }
                _ => {
                    return Err(syntax(
                        self.tok.pos,
                        "cannot mix bytes and nonbytes literals",
                    ))
                }
            });
            self.bump()?;
        }
        let kind = match acc {
            Some(StrLit::Bytes(b)) => Kind::Bytes(b),
            Some(StrLit::Str(s)) => Kind::Str(s),
            None => Kind::Str(String::new()),
        };
        Ok((Value::new(kind, pos), Shape::Constant))
    }

    /// A name in value position: `set()` is the one call `literal_eval` allows.
    pub(super) fn name_value(
        &mut self,
        name: &str,
        pos: Pos,
    ) -> Result<(Value, Shape), ParseError> {
        if name == "set" && self.is_op("(") {
            self.bump()?;
            if self.is_op(")") {
                self.bump()?;
                return Ok((Value::new(Kind::Set(Vec::new()), pos), Shape::Other));
            }
            return Err(not_literal(
                pos,
                "call to `set(...)` with arguments is not a literal; only `set()` is",
            ));
        }
        if self.is_op(":=") {
            return Err(not_literal(
                pos,
                "assignment expression `:=` (walrus) is not a literal",
            ));
        }
        if matches!(self.tok.tok, Tok::Str(_)) {
            return Err(syntax(
                pos,
                format!("invalid string prefix `{name}` (Python 3 allows r, u, b, br and rb)"),
            ));
        }
        let mut desc = name.to_owned();
        loop {
            match self.tok.tok {
                Tok::Op(".") => {
                    self.bump()?;
                    let Tok::Name(n) = &self.tok.tok else { break };
                    desc.push('.');
                    desc.push_str(n);
                    self.bump()?;
                }
                Tok::Op("(") => {
                    return Err(not_literal(
                        pos,
                        format!("call to `{desc}(...)` is not a literal"),
                    ))
                }
                Tok::Op("[") => {
                    return Err(not_literal(
                        pos,
                        format!("subscript `{desc}[...]` is not a literal"),
                    ))
                }
                Tok::Name(ref k) if k == "for" || k == "async" => {
                    return Err(not_literal(pos, "comprehension is not a literal"))
                }
                _ => break,
            }
        }
        let what = if desc.contains('.') {
            "attribute"
        } else {
            "name"
        };
        Err(not_literal(
            pos,
            format!("{what} `{desc}` is not a literal"),
        ))
    }
}

fn keyword_value(kw: &str, pos: Pos) -> ParseError {
    let message = match kw {
        "lambda" => "`lambda` is not a literal".to_owned(),
        "not" => "`not` expression is not a literal".to_owned(),
        _ => format!("`{kw}` is not a literal"),
    };
    not_literal(pos, message)
}

pub(super) fn binary_operator(op: &str) -> bool {
    BINARY_OPERATORS.contains(&op)
}
