//! A hand-written parser for the subset of Python that `ast.literal_eval` accepts,
//! as top-level `name = <literal>` assignments in an `environments.py` file.
//!
//! Known deviations from Python, all rejections or documented limits:
//! - integers must fit in `i128` ("integer too large");
//! - `\N{...}` knows only a table of common names, and lone surrogates (`"\ud800"`) are refused
//!   because a Rust `String` cannot hold them;
//! - the source is always read as UTF-8: a `# coding:` line naming another encoding is an
//!   error once the file holds non-ASCII text;
//! - identifiers are not NFKC-normalized: a name Python would rewrite (`µ` into `μ`, `ℌ`
//!   into `H`) is refused; names are `XID_Start`/`XID_Continue` of the Unicode version the
//!   `unicode-ident` crate carries, which may know characters an older Python does not;
//! - only plain names may be assignment targets: `(x) = 1` is refused;
//! - invalid UTF-8 is refused even inside comments, where Python tolerates it;
//! - Python parses the whole file before it judges any value. dfab likewise prefers a
//!   tokenizer error anywhere in the file (unclosed bracket, unterminated string, bad number)
//!   to a non-literal value, but for other syntax errors it reports whichever comes first.

mod displays;
mod hashkey;
mod identifiers;
mod lexer;
mod numbers;
mod parser;
mod source;
mod statements;
mod strings;
mod unicode_names;

use super::value::{Pos, Value};

/// One top-level `name = literal` statement.
#[derive(Debug, Clone)]
pub struct Assignment {
    pub name: String,
    pub pos: Pos,
    pub value: Value,
}

/// Every top-level assignment of a file, in source order.
#[derive(Debug, Clone, Default)]
pub struct Module {
    pub assignments: Vec<Assignment>,
}

impl Module {
    /// The value last assigned to `name`, as Python would see it after running the file.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Assignment> {
        self.assignments.iter().rev().find(|a| a.name == name)
    }
}

/// A syntax error, or a construct outside the literal subset, at a position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct ParseError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

/// What to tell a user whose file goes beyond literals.
pub const NOT_LITERAL_HINT: &str = "dfab reads environments.py without running Python; \
     write the value out literally, or pass --python to evaluate the file with python3";

/// Parse a whole file.
pub fn parse_module(src: &str) -> Result<Module, ParseError> {
    parser::Parser::new(source::prepare(src)?).module()
}

/// Parse a file's bytes, which must be UTF-8.
///
/// Python tolerates invalid UTF-8 inside comments; dfab refuses it wherever it is.
pub fn parse_module_bytes(bytes: &[u8]) -> Result<Module, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(src) => parse_module(src),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            Err(syntax(
                source::end_pos(valid),
                "invalid UTF-8: dfab reads environments.py as UTF-8 (even in comments)",
            ))
        }
    }
}

/// An error in the Python syntax itself.
fn syntax(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError {
        pos,
        message: message.into(),
        hint: None,
    }
}

/// Valid Python that is not a literal assignment.
fn not_literal(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError {
        pos,
        message: message.into(),
        hint: Some(NOT_LITERAL_HINT.into()),
    }
}

/// `{name: tagged value}` for every assignment, a later one replacing an earlier one in place,
/// exactly as `environments.py-compat/oracle.py` prints it.
#[must_use]
pub fn tagged_module(module: &Module) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for a in &module.assignments {
        map.insert(a.name.clone(), a.value.to_tagged_json());
    }
    serde_json::Value::Object(map)
}

#[cfg(test)]
mod tests;
