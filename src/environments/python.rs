//! `--python`: evaluate environments.py with python3, for files that are not pure literals.

use std::path::Path;
use std::process::Command;

use super::value::{Kind, Pos, Value};
use crate::error::{Error, Result};

/// Imports the file as a module and prints `environments` and `tasks` as tagged JSON.
const HELPER: &str = r#"
import json, runpy, sys
ns = runpy.run_path(sys.argv[1], run_name="environments")
def tag(v):
    if v is None or isinstance(v, bool) or isinstance(v, str): return v
    if isinstance(v, int): return {"i": str(v)}
    if isinstance(v, float): return {"f": repr(v)}
    if isinstance(v, (bytes, bytearray)): return {"b": list(v)}
    if isinstance(v, list): return {"l": [tag(x) for x in v]}
    if isinstance(v, tuple): return {"t": [tag(x) for x in v]}
    if isinstance(v, (set, frozenset)): return {"s": [tag(x) for x in v]}
    if isinstance(v, dict): return {"d": [[tag(k), tag(x)] for k, x in v.items()]}
    raise TypeError("%s is not a plain value (%s)" % (repr(v)[:60], type(v).__name__))
out = [[n, tag(ns[n])] for n in ("environments", "tasks") if n in ns]
json.dump(out, sys.stdout)
"#;

pub(super) fn evaluate(file: &Path) -> Result<Vec<(String, Value)>> {
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let out = Command::new(python)
        .args(["-c", HELPER])
        .arg(file)
        .output()
        .map_err(|source| Error::Spawn {
            host: "localhost".into(),
            program: python.into(),
            source,
            hint: Some("--python evaluates the file with it: apt-get install python3".into()),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Config {
            file: file.to_path_buf(),
            pos: None,
            key: None,
            message: format!(
                "python3 could not evaluate the file: {}",
                stderr.trim().lines().last().unwrap_or("")
            ),
            hint: Some("the file was run with python3 because of --python".into()),
        });
    }
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| Error::other(format!("--python: bad helper output: {e}"), None))?;
    let mut top = Vec::new();
    for pair in json.as_array().into_iter().flatten() {
        if let (Some(name), Some(v)) = (pair.get(0).and_then(|n| n.as_str()), pair.get(1)) {
            top.push((name.to_string(), untag(v, file)?));
        }
    }
    Ok(top)
}

/// One value of the helper's tagged JSON (`file` names the environments file in errors).
fn untag(j: &serde_json::Value, file: &Path) -> Result<Value> {
    use serde_json::Value as J;
    let bad = || Error::other("--python: unexpected value from the helper", None);
    let kind = match j {
        J::Null => Kind::None,
        J::Bool(b) => Kind::Bool(*b),
        J::String(s) => Kind::Str(s.clone()),
        J::Object(o) => {
            let (tag, inner) = o.iter().next().ok_or_else(bad)?;
            let items = || -> Result<Vec<Value>> {
                inner
                    .as_array()
                    .ok_or_else(bad)?
                    .iter()
                    .map(|v| untag(v, file))
                    .collect()
            };
            match tag.as_str() {
                "i" => Kind::Int(inner.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    Error::Config {
                        file: file.to_path_buf(),
                        pos: None,
                        key: None,
                        message: "an integer is too large for dfab (over 128 bits)".into(),
                        hint: Some("the file was run with python3 because of --python".into()),
                    }
                })?),
                "f" => Kind::Float(
                    inner
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(bad)?,
                ),
                "b" => Kind::Bytes(
                    inner
                        .as_array()
                        .ok_or_else(bad)?
                        .iter()
                        .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                        .collect(),
                ),
                "l" => Kind::List(items()?),
                "t" => Kind::Tuple(items()?),
                "s" => Kind::Set(items()?),
                "d" => Kind::Dict(
                    inner
                        .as_array()
                        .ok_or_else(bad)?
                        .iter()
                        .map(|p| {
                            Ok((
                                untag(p.get(0).ok_or_else(bad)?, file)?,
                                untag(p.get(1).ok_or_else(bad)?, file)?,
                            ))
                        })
                        .collect::<Result<_>>()?,
                ),
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    };
    Ok(Value::new(kind, Pos::default()))
}
