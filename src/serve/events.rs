//! A job's log as server-sent events: the stored lines after the page's last one, then the
//! live ones, then `end` with the outcome.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event as Sse, KeepAlive};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::jobs::{Event, Jobs};

/// Where the stream is.
struct Cursor {
    jobs: Arc<Jobs>,
    rx: tokio::sync::broadcast::Receiver<Event>,
    job: i64,
    /// The last line sent.
    after: i64,
    /// Stored lines not sent yet.
    backlog: std::collections::VecDeque<(i64, String)>,
    done: bool,
}

fn line(seq: i64, text: &str) -> Sse {
    Sse::default().event("line").id(seq.to_string()).data(text)
}

/// The events of job `job` after line `after`.
pub fn stream(
    jobs: Arc<Jobs>,
    job: i64,
    after: i64,
) -> impl Stream<Item = Result<Sse, Infallible>> {
    // Subscribe before reading the store, so no line falls between the two.
    let rx = jobs.events.subscribe();
    let backlog = jobs.store.lines(job, after).unwrap_or_default().into();
    let cur = Cursor {
        jobs,
        rx,
        job,
        after,
        backlog,
        done: false,
    };
    stream::unfold(cur, |mut c| async move {
        if c.done {
            return None;
        }
        if let Some((seq, text)) = c.backlog.pop_front() {
            c.after = seq;
            return Some((Ok(line(seq, &text)), c));
        }
        // A job that ended before we subscribed sends no `End` again: read its status.
        if let Ok(Some(j)) = c.jobs.store.job(c.job) {
            if !matches!(j.status.as_str(), "queued" | "running") && c.rx.is_empty() {
                c.done = true;
                return Some((Ok(Sse::default().event("end").data(j.status)), c));
            }
        }
        loop {
            match c.rx.recv().await {
                Ok(Event::Line { job, seq, text }) if job == c.job && seq > c.after => {
                    c.after = seq;
                    return Some((Ok(line(seq, &text)), c));
                }
                Ok(Event::End { job, status }) if job == c.job => {
                    c.done = true;
                    return Some((Ok(Sse::default().event("end").data(status)), c));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    c.backlog = c
                        .jobs
                        .store
                        .lines(c.job, c.after)
                        .unwrap_or_default()
                        .into();
                    if let Some((seq, text)) = c.backlog.pop_front() {
                        c.after = seq;
                        return Some((Ok(line(seq, &text)), c));
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}

/// The keep-alive comment every 15 s (proxies close quiet streams).
pub fn keep_alive() -> KeepAlive {
    KeepAlive::new().interval(std::time::Duration::from_secs(15))
}
