//! File-system helpers: atomic writes (temp file in the same directory, then rename).

use std::io::Write;
use std::path::Path;

use crate::error::Result;

/// Write `data` to `path` so readers see either the old file or the whole new one.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".dfab-tmp-")
        .tempfile_in(dir)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("creating a temp file in {}: {e}", dir.display()),
            )
        })?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("renaming into {}: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

/// The git ignore file dfab keeps in its state directory `.dfab/` (caches, journals, locks):
/// `*`, so git never offers the directory for a commit, as Cargo's `target/` and pytest's
/// `.pytest_cache/` ignore themselves.
pub const STATE_IGNORE: &str = "*\n";

/// Give `project_dir/.dfab/`, when a run made it, its own `.gitignore` ([`STATE_IGNORE`]),
/// written atomically; a `.gitignore` already there is left as it is.
pub fn ignore_state_dir(project_dir: &Path) -> Result<()> {
    let dir = project_dir.join(".dfab");
    let ignore = dir.join(".gitignore");
    if dir.is_dir() && !ignore.exists() {
        write_atomic(&ignore, STATE_IGNORE.as_bytes())?;
    }
    Ok(())
}

/// `path` as a person reads it: relative to `base` (the project directory) when it is below
/// it (`dist/`), else whole.
#[must_use]
pub fn shown(path: &std::path::Path, base: &std::path::Path) -> String {
    match path.strip_prefix(base) {
        Ok(r) if r.as_os_str().is_empty() => ".".into(),
        Ok(r) => r.display().to_string(),
        Err(_) => path.display().to_string(),
    }
}
