//! Rendering a value back to Python source that `ast.literal_eval` (and dfab) reads back as
//! an equal value, down to the sign of zero.

use std::fmt::Write;

use super::value::{Kind, Value};

impl Value {
    /// A Python literal for this value. Re-parsing it gives an equal value, with the same
    /// tagged JSON.
    #[must_use]
    pub fn to_python_source(&self) -> String {
        let mut out = String::new();
        self.write_source(&mut out);
        out
    }

    fn write_source(&self, out: &mut String) {
        match &self.kind {
            Kind::None => out.push_str("None"),
            Kind::Bool(true) => out.push_str("True"),
            Kind::Bool(false) => out.push_str("False"),
            Kind::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Kind::Float(x) => out.push_str(&float(*x)),
            Kind::Complex(re, im) => complex(out, *re, *im),
            Kind::Str(s) => str_literal(out, s),
            Kind::Bytes(b) => bytes_literal(out, b),
            Kind::List(items) => seq(out, "[", items, "]"),
            Kind::Tuple(items) if items.len() == 1 => {
                out.push('(');
                items[0].write_source(out);
                out.push_str(",)");
            }
            Kind::Tuple(items) => seq(out, "(", items, ")"),
            Kind::Set(items) if items.is_empty() => out.push_str("set()"),
            Kind::Set(items) => seq(out, "{", items, "}"),
            Kind::Dict(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    k.write_source(out);
                    out.push_str(": ");
                    v.write_source(out);
                }
                out.push('}');
            }
        }
    }
}

fn seq(out: &mut String, open: &str, items: &[Value], close: &str) {
    out.push_str(open);
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        v.write_source(out);
    }
    out.push_str(close);
}

/// Rust's shortest round-trip form is also a Python float literal, once infinity is spelled
/// as an overflowing literal (NaN cannot come out of a literal).
fn float(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 {
            "1e999".into()
        } else {
            "-1e999".into()
        };
    }
    format!("{x:?}")
}

/// The forms `literal_eval` can build: `Ij`, `-Ij`, `R+Ij` and `R-Ij`. Each gives a known
/// sign of zero (`R-0.0j` keeps `R` exactly, even `-0.0`, with a `+0.0` imaginary part), so
/// pick the one that reproduces both parts. `(-0.0, positive)` cannot come out of a literal.
fn complex(out: &mut String, re: f64, im: f64) {
    let re_pos_zero = re == 0.0 && re.is_sign_positive();
    let re_neg_zero = re == 0.0 && re.is_sign_negative();
    let im_mag = float(im.abs());
    let _ = if im.is_sign_negative() {
        if re_neg_zero {
            write!(out, "-{im_mag}j")
        } else {
            write!(out, "{}-{im_mag}j", float(re))
        }
    } else if re_pos_zero {
        write!(out, "{im_mag}j")
    } else if im == 0.0 {
        write!(out, "{}-0.0j", float(re))
    } else {
        write!(out, "{}+{im_mag}j", float(re))
    };
}

fn str_literal(out: &mut String, s: &str) {
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\U{:08x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

fn bytes_literal(out: &mut String, b: &[u8]) {
    out.push_str("b'");
    for &byte in b {
        match byte {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            0x20..=0x7e => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "\\x{byte:02x}");
            }
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environments::value::Pos;

    fn v(kind: Kind) -> Value {
        Value::new(kind, Pos::default())
    }

    #[test]
    fn forms() {
        assert_eq!(
            v(Kind::Float(f64::NEG_INFINITY)).to_python_source(),
            "-1e999"
        );
        assert_eq!(v(Kind::Complex(-0.0, -1.0)).to_python_source(), "-1.0j");
        assert_eq!(v(Kind::Complex(-0.0, 0.0)).to_python_source(), "-0.0-0.0j");
        assert_eq!(v(Kind::Complex(1.0, 2.0)).to_python_source(), "1.0+2.0j");
        assert_eq!(v(Kind::Complex(0.0, 2.0)).to_python_source(), "2.0j");
        assert_eq!(
            v(Kind::Str("a'\u{1}".into())).to_python_source(),
            r"'a\'\U00000001'"
        );
        assert_eq!(
            v(Kind::Bytes(vec![0, b'a'])).to_python_source(),
            r"b'\x00a'"
        );
        assert_eq!(v(Kind::Set(vec![])).to_python_source(), "set()");
        assert_eq!(
            v(Kind::Tuple(vec![v(Kind::Int(1))])).to_python_source(),
            "(1,)"
        );
    }
}
