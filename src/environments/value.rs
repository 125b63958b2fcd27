//! The value model of a Python literal, with the source position of every node.

use std::fmt;

/// A 1-based line and column in a source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A parsed literal together with where it started.
///
/// Equality ignores positions: two values are equal when Python would say so
/// structurally (with `1 == 1.0` *not* equal, since the type matters to us).
#[derive(Debug, Clone)]
pub struct Value {
    pub kind: Kind,
    pub pos: Pos,
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

/// The kinds of value `ast.literal_eval` can produce.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    None,
    Bool(bool),
    /// Python ints are unbounded; we hold i128 and report larger ones as an error.
    Int(i128),
    Float(f64),
    Complex(f64, f64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Set(Vec<Value>),
    /// Insertion order is kept; a repeated key keeps its first place and takes the last value,
    /// as Python's dict display does.
    Dict(Vec<(Value, Value)>),
}

impl Value {
    #[must_use]
    pub fn new(kind: Kind, pos: Pos) -> Self {
        Value { kind, pos }
    }

    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The entries of a dict value, if it is one.
    #[must_use]
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match &self.kind {
            Kind::Dict(d) => Some(d),
            _ => None,
        }
    }

    /// The items of a list or tuple value, if it is one.
    #[must_use]
    pub fn as_seq(&self) -> Option<&[Value]> {
        match &self.kind {
            Kind::List(v) | Kind::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Look a string key up in a dict value.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_dict()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name of the value's type, as Python would print it.
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            Kind::None => "None",
            Kind::Bool(_) => "bool",
            Kind::Int(_) => "int",
            Kind::Float(_) => "float",
            Kind::Complex(..) => "complex",
            Kind::Str(_) => "str",
            Kind::Bytes(_) => "bytes",
            Kind::List(_) => "list",
            Kind::Tuple(_) => "tuple",
            Kind::Set(_) => "set",
            Kind::Dict(_) => "dict",
        }
    }

    /// Render for humans and for interpolation: strings bare, the rest Python-like.
    #[must_use]
    pub fn to_plain_string(&self) -> String {
        match &self.kind {
            Kind::Str(s) => s.clone(),
            _ => self.to_string(),
        }
    }
}

/// Python `repr`-like rendering: the literal Python would read back as an equal value.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_python_source())
    }
}
