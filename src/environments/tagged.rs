//! The type-tagged JSON form of a value, shared with `environments.py-compat/oracle.py` so
//! that dfab and Python's `ast.literal_eval` can be compared value for value.

use serde_json::{json, Value as Json};

use super::value::{Kind, Value};

/// The exact bits of a float, big-endian hex, as Python's `struct.pack('>d', x).hex()`.
fn float_bits(x: f64) -> String {
    format!("{:016x}", x.to_bits())
}

impl Value {
    /// `{"t": type, "v": value}` with ints as decimal strings, floats as their bits, sets
    /// sorted by the compact JSON text of their members and dicts as `[key, value]` pairs.
    #[must_use]
    pub fn to_tagged_json(&self) -> Json {
        match &self.kind {
            Kind::None => json!({ "t": "none" }),
            Kind::Bool(b) => json!({ "t": "bool", "v": b }),
            Kind::Int(i) => json!({ "t": "int", "v": i.to_string() }),
            Kind::Float(x) => json!({ "t": "float", "v": float_bits(*x) }),
            Kind::Complex(re, im) => {
                json!({ "t": "complex", "v": [float_bits(*re), float_bits(*im)] })
            }
            Kind::Str(s) => json!({ "t": "str", "v": s }),
            Kind::Bytes(b) => json!({ "t": "bytes", "v": b }),
            Kind::List(items) => json!({ "t": "list", "v": tagged_all(items) }),
            Kind::Tuple(items) => json!({ "t": "tuple", "v": tagged_all(items) }),
            Kind::Set(items) => {
                let mut members: Vec<(String, Json)> = items
                    .iter()
                    .map(|v| {
                        let j = v.to_tagged_json();
                        (j.to_string(), j)
                    })
                    .collect();
                members.sort_by(|a, b| a.0.cmp(&b.0));
                let members: Vec<Json> = members.into_iter().map(|(_, j)| j).collect();
                json!({ "t": "set", "v": members })
            }
            Kind::Dict(entries) => {
                let pairs: Vec<Json> = entries
                    .iter()
                    .map(|(k, v)| json!([k.to_tagged_json(), v.to_tagged_json()]))
                    .collect();
                json!({ "t": "dict", "v": pairs })
            }
        }
    }
}

fn tagged_all(items: &[Value]) -> Vec<Json> {
    items.iter().map(Value::to_tagged_json).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environments::value::Pos;

    fn v(kind: Kind) -> Value {
        Value::new(kind, Pos::default())
    }

    #[test]
    fn floats_are_exact_bits() {
        assert_eq!(
            v(Kind::Float(1.0)).to_tagged_json().to_string(),
            r#"{"t":"float","v":"3ff0000000000000"}"#
        );
    }

    #[test]
    fn sets_are_sorted_by_json_text() {
        let set = v(Kind::Set(vec![v(Kind::Str("b".into())), v(Kind::Int(2))]));
        assert_eq!(
            set.to_tagged_json().to_string(),
            r#"{"t":"set","v":[{"t":"int","v":"2"},{"t":"str","v":"b"}]}"#
        );
    }
}
