//! Background jobs: a queue in the store, one running job per env at a time in the order they
//! were queued, each a child `dfab` of this same binary whose every output line (already
//! redacted by the child's console, redacted again here) is stored and broadcast to the pages.

use std::collections::HashSet;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::broadcast;

use crate::secret::Redactor;

use super::store::{Job, Store};

/// What the pages hear about jobs.
#[derive(Debug, Clone)]
pub enum Event {
    /// Line `seq` of job `job`'s log.
    Line { job: i64, seq: i64, text: String },
    /// Job `job` ended with `status`.
    End { job: i64, status: String },
}

/// The queue and its runner.
pub struct Jobs {
    pub store: Arc<Store>,
    pub events: broadcast::Sender<Event>,
    /// This program (`dfab`), run once per job.
    exe: PathBuf,
    /// The project's environments file, passed as `-f`.
    file: PathBuf,
    /// The project folder (the child's working directory).
    dir: PathBuf,
    /// The project's secrets, applied to every line before it is stored or sent.
    pub redactor: Arc<RwLock<Redactor>>,
    /// Envs whose releases are not read after a job (an LXC env: reading would clone it).
    pub no_snapshot: RwLock<HashSet<String>>,
    /// The deploy locks the hosts reported lately ([`super::lockseen`]).
    pub(super) locks: super::lockseen::Cache,
    kick: Mutex<()>,
}

impl Jobs {
    /// A runner for the project whose environments file is `file`.
    #[must_use]
    pub fn new(store: Arc<Store>, file: PathBuf, redactor: Arc<RwLock<Redactor>>) -> Jobs {
        let dir = file.parent().map(PathBuf::from).unwrap_or_default();
        Jobs {
            store,
            events: broadcast::channel(4096).0,
            exe: std::env::current_exe().unwrap_or_else(|_| "dfab".into()),
            file,
            dir,
            redactor,
            no_snapshot: RwLock::new(HashSet::new()),
            locks: super::lockseen::Cache::default(),
            kick: Mutex::new(()),
        }
    }

    pub(super) fn redact(&self, s: &str) -> String {
        self.redactor
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .apply(s)
    }

    /// Append a line to a job's log and tell the pages.
    pub fn say(&self, job: i64, text: &str) {
        let text = self.redact(text);
        if let Ok(seq) = self.store.add_line(job, &text) {
            let _ = self.events.send(Event::Line { job, seq, text });
        }
    }

    /// At start: jobs a previous server left running are marked interrupted, each with a line
    /// saying so and how to go on.
    pub fn recover(&self) {
        let Ok(jobs) = self.store.interrupt_running() else {
            return;
        };
        for j in jobs {
            self.say(
                j.id,
                "interrupted: `dfab serve` stopped while this job ran (its `dfab` process was ended with it)",
            );
            if j.words.starts_with("deploy") {
                let path = crate::pipeline::journal::path(&self.dir, &j.env);
                let status = crate::pipeline::journal::load(&path)
                    .ok()
                    .flatten()
                    .map_or_else(|| "no journal".to_string(), |jr| jr.status);
                self.say(
                    j.id,
                    &format!(
                        "the deploy journal {} says `{status}`: Resume (below) runs `dfab {} deploy:resume=yes`, which finishes it from its first unfinished step",
                        path.strip_prefix(&self.dir).unwrap_or(&path).display(),
                        j.env
                    ),
                );
            }
        }
    }

    /// Start every queued job whose env has none running, oldest first.
    pub fn kick(self: &Arc<Self>) {
        let _g = self
            .kick
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Ok(running) = self.store.jobs_in("running") else {
            return;
        };
        let mut busy: HashSet<String> = running.into_iter().map(|j| j.env).collect();
        let Ok(queued) = self.store.jobs_in("queued") else {
            return;
        };
        for job in queued {
            if !busy.insert(job.env.clone()) {
                continue;
            }
            if self.store.start_job(job.id).is_err() {
                continue;
            }
            let me = Arc::clone(self);
            let snap = job.words != "releases"
                && !self
                    .no_snapshot
                    .read()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .contains(&job.env);
            std::thread::spawn(move || me.run(&job, snap));
        }
    }

    /// The command of a job: `dfab -f FILE -y ENV WORDS...` (the page asked where the CLI asks).
    pub(super) fn command(&self, env: &str, words: &str, yes: bool) -> Command {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("-f").arg(&self.file);
        if yes {
            cmd.arg("-y");
        }
        cmd.arg(env)
            .args(words.split(' '))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .env("NO_COLOR", "1");
        // SAFETY: prctl is async-signal-safe; the child dies with the thread that waits for it,
        // so a stopped server leaves no job running unseen (it shows as interrupted).
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        cmd
    }

    /// Run one job to its end, then what is queued next. `snapshot`: read the env's releases
    /// afterwards, for its page.
    fn run(self: Arc<Self>, job: &Job, snapshot: bool) {
        self.say(
            job.id,
            &format!(
                "$ dfab {} {}    (job #{}, started by {})",
                job.env, job.words, job.id, job.who
            ),
        );
        let (status, failure) = match self.child(job) {
            Ok((true, _)) => ("succeeded", None),
            Ok((false, failure)) => ("failed", failure),
            Err(e) => {
                let line = format!("error: cannot run {}: {e}", self.exe.display());
                self.say(job.id, &line);
                ("failed", Some(line))
            }
        };
        if snapshot {
            self.snapshot(&job.env);
        }
        let _ = self.store.finish_job(job.id, status, failure.as_deref());
        let _ = self.events.send(Event::End {
            job: job.id,
            status: status.into(),
        });
        self.kick();
    }

    /// Run the child, streaming its lines; returns whether it succeeded and its first `error:`
    /// line.
    fn child(&self, job: &Job) -> std::io::Result<(bool, Option<String>)> {
        let (reader, writer) = std::io::pipe()?;
        let mut cmd = self.command(&job.env, &job.words, true);
        cmd.stdout(writer.try_clone()?).stderr(writer);
        let mut child = cmd.spawn()?;
        drop(cmd);
        let mut failure = None;
        let mut all = String::new();
        for line in std::io::BufReader::new(reader).split(b'\n') {
            let Ok(line) = line else { break };
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches('\r');
            if failure.is_none() && text.starts_with("error:") {
                failure = Some(self.redact(text));
            }
            if job.words == "releases" {
                all.push_str(text);
                all.push('\n');
            }
            self.say(job.id, text);
        }
        let status = child.wait()?;
        if job.words == "releases" {
            let _ = self.store.put_snapshot(&job.env, &self.redact(&all));
        }
        if !status.success() && failure.is_none() {
            failure = Some(format!("dfab exited with {status}"));
        }
        Ok((status.success(), failure))
    }

    /// Run `dfab ENV releases` and keep what it printed (redacted) for the env's page.
    pub fn snapshot(&self, env: &str) {
        let mut cmd = self.command(env, "releases", false);
        let text = match cmd.output() {
            Ok(o) => {
                let mut t = String::from_utf8_lossy(&o.stdout).into_owned();
                t.push_str(&String::from_utf8_lossy(&o.stderr));
                t
            }
            Err(e) => format!("cannot run dfab: {e}"),
        };
        let _ = self.store.put_snapshot(env, &self.redact(&text));
    }
}
