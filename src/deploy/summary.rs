//! The last step of `deb.deploy` and `rollback`: one line per host and package, and a failure
//! naming every host that failed while the others' results stand.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::tasks::step::{LocalAction, RunCtx, Shown};

use super::preflight::Shared;

/// Print every result; fail if any host failed.
#[derive(Debug)]
pub struct Summary {
    pub shared: Arc<Shared>,
    pub task: &'static str,
}

impl LocalAction for Summary {
    fn describe(&self) -> Vec<Shown> {
        Vec::new()
    }

    fn run(&self, cx: &RunCtx<'_>) -> Result<()> {
        let results = self.shared.results.lock().expect("results lock");
        let mut failed = Vec::new();
        for (host, package, r) in results.iter() {
            match r {
                Ok(what) => cx.rep.info(&format!("[{host}] {}: ok: {what}", self.task)),
                Err(why) => {
                    cx.rep
                        .info(&format!("[{host}] {}: FAILED: {package}", self.task));
                    failed.push(format!("[{host}] {package}: {why}"));
                }
            }
        }
        if failed.is_empty() {
            return Ok(());
        }
        let ok = results.iter().filter(|(_, _, r)| r.is_ok()).count();
        Err(Error::other(
            format!(
                "{}: {} failed, {ok} succeeded:\n{}",
                self.task,
                failed.len(),
                failed.join("\n")
            ),
            Some(
                "the failed hosts keep their previous release installed where dpkg could; \
                 `dfab <env> releases` shows each host's state and history"
                    .into(),
            ),
        ))
    }
}
