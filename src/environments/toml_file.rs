//! `dfab.toml`: the native alternative to `environments.py`, loaded into the same value model.

use super::value::{Kind, Pos, Value};

/// The top-level tables of a `dfab.toml`, as `(name, value)` pairs with positions.
pub(super) fn parse(src: &str) -> Result<Vec<(String, Value)>, (Option<Pos>, String)> {
    let doc: toml_edit::ImDocument<&str> = toml_edit::ImDocument::parse(src).map_err(|e| {
        let pos = e.span().map(|s| pos_of(src, s.start));
        (pos, format!("invalid TOML: {}", e.message()))
    })?;
    let table = doc.as_table();
    Ok(table
        .iter()
        .map(|(k, item)| (k.to_string(), item_value(src, item)))
        .collect())
}

fn pos_of(src: &str, offset: usize) -> Pos {
    let before = &src[..offset.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Pos {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        col: u32::try_from(col).unwrap_or(u32::MAX),
    }
}

fn item_value(src: &str, item: &toml_edit::Item) -> Value {
    let pos = item
        .span()
        .map(|s| pos_of(src, s.start))
        .unwrap_or_default();
    match item {
        toml_edit::Item::Value(v) => value(src, v),
        toml_edit::Item::Table(t) => Value::new(
            Kind::Dict(
                t.iter()
                    .map(|(k, i)| (key(src, t, k), item_value(src, i)))
                    .collect(),
            ),
            pos,
        ),
        toml_edit::Item::ArrayOfTables(a) => Value::new(
            Kind::List(
                a.iter()
                    .map(|t| item_value(src, &toml_edit::Item::Table(t.clone())))
                    .collect(),
            ),
            pos,
        ),
        toml_edit::Item::None => Value::new(Kind::None, pos),
    }
}

fn key(src: &str, t: &toml_edit::Table, k: &str) -> Value {
    let pos = t
        .key(k)
        .and_then(toml_edit::Key::span)
        .map(|s| pos_of(src, s.start))
        .unwrap_or_default();
    Value::new(Kind::Str(k.to_string()), pos)
}

fn value(src: &str, v: &toml_edit::Value) -> Value {
    let pos = v.span().map(|s| pos_of(src, s.start)).unwrap_or_default();
    let kind = match v {
        toml_edit::Value::String(s) => Kind::Str(s.value().clone()),
        toml_edit::Value::Integer(i) => Kind::Int(i128::from(*i.value())),
        toml_edit::Value::Float(f) => Kind::Float(*f.value()),
        toml_edit::Value::Boolean(b) => Kind::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Kind::Str(d.value().to_string()),
        toml_edit::Value::Array(a) => Kind::List(a.iter().map(|x| value(src, x)).collect()),
        toml_edit::Value::InlineTable(t) => Kind::Dict(
            t.iter()
                .map(|(k, x)| {
                    let kpos = t
                        .key(k)
                        .and_then(toml_edit::Key::span)
                        .map(|s| pos_of(src, s.start))
                        .unwrap_or_default();
                    (Value::new(Kind::Str(k.to_string()), kpos), value(src, x))
                })
                .collect(),
        ),
    };
    Value::new(kind, pos)
}
