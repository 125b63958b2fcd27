//! Python's equality for hashable literals, so that dict keys and set members collapse as
//! they do in Python: `1`, `1.0`, `True` and `1+0j` are one key; lists, dicts and sets are
//! unhashable.

use std::collections::{HashMap, HashSet};

use super::{syntax, ParseError};
use crate::environments::value::{Kind, Value};

/// A value reduced to what Python's `==` and `hash` look at.
#[derive(Debug, PartialEq, Eq, Hash)]
enum HashKey {
    None,
    /// Every integral number: bools, ints, and floats or complexes with an integral value.
    Int(i128),
    /// Bits of a non-integral float (never `-0.0`, which is the integer 0).
    Float(u64),
    Complex(u64, u64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<HashKey>),
}

/// 2^127 as a float: the first value beyond `i128`.
const I128_LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

fn real_key(x: f64) -> HashKey {
    if x.fract() == 0.0 && (-I128_LIMIT..I128_LIMIT).contains(&x) {
        // In range and integral, so the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        return HashKey::Int(x as i128);
    }
    HashKey::Float(x.to_bits())
}

fn key(v: &Value) -> Result<HashKey, ParseError> {
    Ok(match &v.kind {
        Kind::None => HashKey::None,
        Kind::Bool(b) => HashKey::Int(i128::from(*b)),
        Kind::Int(i) => HashKey::Int(*i),
        Kind::Float(x) => real_key(*x),
        Kind::Complex(re, im) if *im == 0.0 => real_key(*re),
        // `+ 0.0` turns -0.0 into 0.0, which Python's == cannot tell apart.
        Kind::Complex(re, im) => HashKey::Complex((re + 0.0).to_bits(), im.to_bits()),
        Kind::Str(s) => HashKey::Str(s.clone()),
        Kind::Bytes(b) => HashKey::Bytes(b.clone()),
        Kind::Tuple(items) => HashKey::Tuple(items.iter().map(key).collect::<Result<_, _>>()?),
        Kind::List(_) | Kind::Set(_) | Kind::Dict(_) => {
            return Err(syntax(
                v.pos,
                format!("unhashable type: '{}'", v.type_name()),
            ))
        }
    })
}

/// Builds a dict the way Python's dict display does.
#[derive(Default)]
pub(super) struct DictBuilder {
    entries: Vec<(Value, Value)>,
    index: HashMap<HashKey, usize>,
}

impl DictBuilder {
    /// A repeated key keeps its first place and first key object, and takes the new value.
    pub(super) fn insert(&mut self, k: Value, v: Value) -> Result<(), ParseError> {
        let hk = key(&k)?;
        if let Some(&i) = self.index.get(&hk) {
            self.entries[i].1 = v;
        } else {
            self.index.insert(hk, self.entries.len());
            self.entries.push((k, v));
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Kind {
        Kind::Dict(self.entries)
    }
}

/// Builds a set, keeping the first of equal members as Python does.
#[derive(Default)]
pub(super) struct SetBuilder {
    members: Vec<Value>,
    seen: HashSet<HashKey>,
}

impl SetBuilder {
    pub(super) fn insert(&mut self, v: Value) -> Result<(), ParseError> {
        let hk = key(&v)?;
        if self.seen.insert(hk) {
            self.members.push(v);
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Kind {
        Kind::Set(self.members)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environments::value::Pos;

    fn v(kind: Kind) -> Value {
        Value::new(kind, Pos::default())
    }

    #[test]
    fn numbers_compare_across_types() {
        let one = key(&v(Kind::Int(1))).ok();
        assert_eq!(key(&v(Kind::Bool(true))).ok(), one);
        assert_eq!(key(&v(Kind::Float(1.0))).ok(), one);
        assert_eq!(key(&v(Kind::Complex(1.0, 0.0))).ok(), one);
        assert_eq!(key(&v(Kind::Float(-0.0))).ok(), key(&v(Kind::Int(0))).ok());
        assert_ne!(key(&v(Kind::Float(0.5))).ok(), one);
        assert_eq!(
            key(&v(Kind::Complex(-0.0, 1.0))).ok(),
            key(&v(Kind::Complex(0.0, 1.0))).ok()
        );
    }

    #[test]
    fn dict_keeps_first_key_last_value() {
        let mut d = DictBuilder::default();
        d.insert(v(Kind::Int(1)), v(Kind::Str("a".into()))).unwrap();
        d.insert(v(Kind::Float(1.0)), v(Kind::Str("b".into())))
            .unwrap();
        let Kind::Dict(entries) = d.finish() else {
            panic!()
        };
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].0.kind, Kind::Int(1));
        assert_eq!(entries[0].1.kind, Kind::Str("b".into()));
    }

    #[test]
    fn unhashable_inside_tuple() {
        let t = v(Kind::Tuple(vec![v(Kind::Int(1)), v(Kind::List(vec![]))]));
        let err = SetBuilder::default().insert(t).unwrap_err();
        assert_eq!(err.message, "unhashable type: 'list'");
    }
}
