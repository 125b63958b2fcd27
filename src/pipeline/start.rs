//! The journal a deploy starts from: a new one listing every step, or the failed deploy's, to
//! resume (only with the same sequence) or revert.

use crate::error::{Error, Result};

use super::journal::{self, Journal, StepRec};
use super::{Mode, Pipeline};

impl Pipeline {
    /// The journal this run starts from: new, or the failed one to resume or revert.
    pub(crate) fn start_journal(&self, old: Option<&Journal>) -> Result<Journal> {
        let hint = Some(format!("run `dfab {} deploy` for a new deploy", self.env));
        match (&self.mode, old) {
            (Mode::Fresh, _) => {
                let mut j = Journal {
                    env: self.env.clone(),
                    status: "running".into(),
                    started: journal::now(),
                    sequence: self
                        .settings
                        .sequence
                        .iter()
                        .map(|(w, _)| w.clone())
                        .collect(),
                    last_success: old.and_then(|o| o.last_success.clone()),
                    ..Journal::default()
                };
                for (si, st) in self.stages.iter().enumerate() {
                    for step in &st.steps {
                        j.steps.push(StepRec {
                            stage: si,
                            task: st.word.clone(),
                            hosts: step.hosts().map(<[String]>::to_vec).unwrap_or_default(),
                            ..StepRec::default()
                        });
                    }
                }
                Ok(j)
            }
            (Mode::Resume { .. } | Mode::Revert, None) => Err(Error::other(
                format!(
                    "no deploy journal {}: nothing to resume or revert",
                    self.journal.display()
                ),
                hint,
            )),
            (Mode::Resume { .. }, Some(o)) if o.next.is_none() => Err(Error::other(
                format!(
                    "the last deploy of `{}` did not stop part-way (status: {}): nothing to resume",
                    self.env, o.status
                ),
                hint,
            )),
            (Mode::Resume { .. }, Some(o)) => {
                let now: Vec<String> = self
                    .settings
                    .sequence
                    .iter()
                    .map(|(w, _)| w.clone())
                    .collect();
                let steps: usize = self.stages.iter().map(|s| s.steps.len()).sum();
                if o.sequence != now || o.steps.len() != steps {
                    return Err(Error::other(
                        format!("the deploy sequence changed since the failed deploy (was {:?}, now {now:?}): cannot resume", o.sequence),
                        Some(format!("put it back, or `dfab {} deploy:revert=yes`", self.env)),
                    ));
                }
                let mut j = o.clone();
                j.status = "running".into();
                j.next = None;
                j.error = None;
                Ok(j)
            }
            (Mode::Revert, Some(o)) => {
                let mut j = o.clone();
                j.status = "reverting".into();
                Ok(j)
            }
        }
    }
}
