//! The journal a deploy starts from: a new one listing every step, or the failed deploy's (or a
//! killed one's: left `running` by a process that is gone), to resume (only with the same
//! sequence) or revert.

use crate::error::Result;

use super::journal::{self, Journal, StepRec};
use super::{Mode, Pipeline};

impl Pipeline {
    /// The journal this run starts from: new, or the failed one to resume or revert.
    pub(crate) fn start_journal(&self, old: Option<&Journal>) -> Result<Journal> {
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
                    process: journal::Process::this(),
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
            (Mode::Resume { .. } | Mode::Revert, None) => Err(super::Error::NoJournal {
                env: self.env.clone(),
                path: self.journal.clone(),
            }
            .into()),
            (Mode::Resume { .. } | Mode::Revert, Some(o)) if o.still_running() == Some(true) => {
                Err(super::Error::StillRunning {
                    env: self.env.clone(),
                    process: o
                        .process
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                }
                .into())
            }
            (Mode::Resume { force: false }, Some(o))
                if o.status == "running" && o.still_running().is_none() =>
            {
                Err(super::Error::CannotTell {
                    env: self.env.clone(),
                    process: o
                        .process
                        .as_ref()
                        .map_or_else(|| "an older dfab".into(), ToString::to_string),
                }
                .into())
            }
            // A journal left `running` by a process that is gone (killed, crashed, rebooted)
            // resumes from its first unfinished step, as a failed one does.
            (Mode::Resume { .. }, Some(o)) if o.next.is_none() && o.status != "running" => {
                Err(super::Error::NothingToResume {
                    env: self.env.clone(),
                    status: o.status.clone(),
                }
                .into())
            }
            (Mode::Resume { .. }, Some(o)) => {
                let now: Vec<String> = self
                    .settings
                    .sequence
                    .iter()
                    .map(|(w, _)| w.clone())
                    .collect();
                let steps: usize = self.stages.iter().map(|s| s.steps.len()).sum();
                if o.sequence != now || o.steps.len() != steps {
                    return Err(super::Error::SequenceChanged {
                        env: self.env.clone(),
                        was: o.sequence.clone(),
                        now,
                        release_mode: self.release_mode,
                    }
                    .into());
                }
                let mut j = o.clone();
                j.status = "running".into();
                j.next = None;
                j.error = None;
                j.process = journal::Process::this();
                Ok(j)
            }
            (Mode::Revert, Some(o)) => {
                let mut j = o.clone();
                j.status = "reverting".into();
                j.process = journal::Process::this();
                Ok(j)
            }
        }
    }
}
