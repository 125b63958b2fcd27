//! The HTML of every page (maud, which escapes every value it is given): the layout, the
//! environments, one env, the confirmation of an action, the jobs, one job, login and the forms.

use maud::{html, Markup, DOCTYPE};

use super::actions::Action;
use super::auth::{Role, Session};
use super::project::{EnvView, View};
use super::store::{now, Job};

/// A path segment with every byte but the unreserved ones percent-encoded (env names may hold
/// anything the file allows).
#[must_use]
pub fn seg(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// A message written for the terminal, where `name` marks a code span: each such span as
/// `<code>` (escaped, as every value), the rest as text; an unpaired backtick stays as it is.
#[must_use]
pub fn text(s: &str) -> Markup {
    let parts: Vec<&str> = s.split('`').collect();
    // An even count of parts: the last backtick has no partner.
    let paired = if parts.len().is_multiple_of(2) {
        parts.len() - 1
    } else {
        parts.len()
    };
    html! {
        @for (i, p) in parts[..paired].iter().enumerate() {
            @if i % 2 == 1 { code { (p) } } @else { (p) }
        }
        @if paired < parts.len() { "`" (parts[paired]) }
    }
}

/// Every page's frame: the title, the menu, who is signed in.
#[must_use]
pub fn layout(title: &str, s: &Session, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · dfab" }
                link rel="stylesheet" href="/static/app.css";
                script src="/static/app.js" defer {}
            }
            body {
                header {
                    a.brand href="/envs" { "dfab" }
                    nav {
                        a href="/envs" { "Environments" }
                        a href="/jobs" { "Jobs" }
                    }
                    @if let Some(u) = &s.user {
                        span.who { (u.name) " (" (u.role.name()) ")" }
                        @if u.name != "local" {
                            form.inline method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

fn when(t: i64) -> String {
    let ago = now() - t;
    match ago {
        i64::MIN..=59 => format!("{}s ago", ago.max(0)),
        60..=3599 => format!("{}m ago", ago / 60),
        3600..=86_399 => format!("{}h ago", ago / 3600),
        _ => format!("{}d ago", ago / 86_400),
    }
}

fn status(s: &str) -> Markup {
    html! { span class={ "status " (s) } data-status { (s) } }
}

/// The lock state and the last deploy's outcome of an env, as the pages say them.
#[derive(Debug, Default, Clone)]
pub struct EnvState {
    /// `held by job #N`, `free (asked 3 s ago)`, `held: …`, `not known: …`, `not checked …`
    /// ([`super::lockseen`]).
    pub lock: String,
    /// The newest finished deploy-kind job (deploy, deb.deploy, rollback, resume).
    pub last: Option<Job>,
    /// The deploy journal's status, if there is a journal.
    pub journal: Option<String>,
}

/// The environments page.
#[must_use]
pub fn envs(view: &View, states: &[EnvState], s: &Session) -> Markup {
    let deployer = s.user.as_ref().is_some_and(|u| u.role == Role::Deployer);
    html! {
        h1 { "Environments" }
        p.muted { "From " code { (view.file.display()) } }
        @if let Some(e) = &view.error { pre.error { (text(e)) } }
        @if view.python {
            p.note { "This project's environments live in environments.py: they are shown read-only. dfab reads that file but never writes it (it is Python, and may hold code); edit it by hand to add an environment." }
        } @else if deployer {
            p { a.button href="/new-env" { "Add an environment" } }
        }
        table.envs {
            thead { tr { th { "Environment" } th { "Hosts" } th { "Roles" } th { "Strategy" } th { "Deploy sequence" } th { "Protected" } th { "Lock" } th { "Last deploy" } } }
            tbody {
                @for (e, st) in view.envs.iter().zip(states) {
                    tr {
                        td { a href={ "/envs/" (seg(&e.name)) } { (e.name) } }
                        @if let Some(err) = &e.error {
                            td colspan="7" { pre.error { (text(err)) } }
                        } @else {
                            td { (hosts(e)) }
                            td { @for (r, h) in &e.roles { div { b { (r) } ": " (h.join(", ")) } } }
                            td { (e.strategy) }
                            td.seq { (e.sequence.join(" → ")) }
                            td { @if let Some(p) = e.protected { span.badge { (p) } } @else { "no" } }
                            td { (text(&st.lock)) }
                            td { @if let Some(j) = &st.last { a href={ "/jobs/" (j.id) } { (status(&j.status)) } " " (j.action) " " span.muted { (when(j.finished.unwrap_or(j.queued))) } } @else if let Some(js) = &st.journal { "journal: " (js) } @else { span.muted { "none yet" } } }
                        }
                    }
                }
            }
        }
    }
}

fn hosts(e: &EnvView) -> Markup {
    html! {
        @if let Some(c) = &e.lxc { "LXC container " code { (c) } }
        @else if e.hosts.is_empty() { span.muted { "none" } }
        @else { @for h in &e.hosts { div { code { (h) } } } }
    }
}

/// What the env page shows besides the env's settings.
pub struct EnvPage<'a> {
    pub env: &'a EnvView,
    pub state: &'a EnvState,
    /// `releases` output and when it was read.
    pub releases: Option<(String, i64)>,
    /// The journal, summed up: status, steps, maintenance.
    pub journal: Option<JournalView>,
    pub jobs: &'a [Job],
    /// The project is environments.py (no instance form).
    pub python: bool,
}

/// The deploy journal, as the env page shows it (never its lock token).
#[derive(Debug, Clone)]
pub struct JournalView {
    pub path: String,
    pub status: String,
    pub sequence: Vec<String>,
    /// The first unfinished step's index.
    pub next: Option<usize>,
    pub maintenance_on: Vec<String>,
    pub error: Option<String>,
    pub updated: i64,
}

/// One environment's page.
#[must_use]
pub fn env(p: &EnvPage<'_>, s: &Session) -> Markup {
    let e = p.env;
    let deployer = s.user.as_ref().is_some_and(|u| u.role == Role::Deployer);
    html! {
        h1 { "Environment " span.name { (e.name) } @if let Some(pr) = e.protected { " " span.badge { (pr) } } }
        @if let Some(err) = &e.error { pre.error { (text(err)) } }
        section.grid {
            div {
                h2 { "Settings" }
                dl {
                    dt { "Hosts" } dd { (hosts(e)) }
                    @if !e.roles.is_empty() { dt { "Roles" } dd { @for (r, h) in &e.roles { div { b { (r) } ": " (h.join(", ")) } } } }
                    dt { "Strategy" } dd { (e.strategy) }
                    dt { "Deploy sequence" } dd.seq { (e.sequence.join(" → ")) }
                    dt { "Maintenance" } dd { (e.maintenance) }
                    dt { "Lock" } dd { (text(&p.state.lock)) }
                }
            }
            div {
                h2 { "Actions" }
                @if deployer {
                    div.actions {
                        @for a in Action::OFFERED {
                            a.button href={ "/envs/" (seg(&e.name)) "/run?action=" (seg(a.name())) } title=(a.doc()) { (a.name()) }
                        }
                    }
                    @if !p.python { p { a href={ "/new-env?like=" (seg(&e.name)) } { "Add another instance like this one" } } }
                } @else {
                    p.muted { "Viewers see jobs; a deployer starts them." }
                }
            }
        }
        h2 { "Releases" }
        @if let Some((text, at)) = &p.releases {
            p.muted { "What " code { "dfab " (e.name) " releases" } " printed " (when(*at)) ":" }
            pre.log.releases { (text) }
        } @else {
            p.muted { "Not read yet: the releases are read after each job, or with the " b { "releases" } " action." }
        }
        h2 { "Deploy journal" }
        @if let Some(j) = &p.journal {
            p { code { (j.path) } ": " (status(&j.status)) " " span.muted { "updated " (when(j.updated)) } }
            ol.steps { @for (i, w) in j.sequence.iter().enumerate() {
                li class=@if j.next == Some(i) { "next" } @else if j.next.is_some_and(|n| i < n) || j.status == "done" { "done" } @else { "" } { (w) }
            } }
            p { "Maintenance: " @if j.maintenance_on.is_empty() { "off (no host put into maintenance by this deploy)" } @else { "on for " (j.maintenance_on.join(", ")) } }
            @if let Some(err) = &j.error { pre.error { (text(err)) } }
        } @else {
            p.muted { "No deploy journal yet." }
        }
        h2 { "Jobs" }
        (job_table(p.jobs))
    }
}

/// A table of jobs.
#[must_use]
pub fn job_table(jobs: &[Job]) -> Markup {
    let t = now();
    html! {
        table.jobs {
            thead { tr { th { "#" } th { "Environment" } th { "Action" } th { "Who" } th { "Queued" } th { "Took" } th { "Outcome" } } }
            tbody {
                @for j in jobs {
                    tr {
                        td { a href={ "/jobs/" (j.id) } { "#" (j.id) } }
                        td { a href={ "/envs/" (seg(&j.env)) } { (j.env) } }
                        td { code { (j.words) } }
                        td { (j.who) }
                        td { (when(j.queued)) }
                        td { @if let Some(sec) = j.seconds(t) { (sec) " s" } }
                        td { (status(&j.status)) @if let Some(f) = &j.failure { div.failure { (text(f)) } } }
                    }
                }
            }
        }
    }
}

/// The jobs page.
#[must_use]
pub fn jobs(jobs: &[Job]) -> Markup {
    html! {
        h1 { "Jobs" }
        @if jobs.is_empty() { p.muted { "No job yet." } } @else { (job_table(jobs)) }
    }
}

/// One job, with its log (live while it runs, through `/jobs/N/events`).
#[must_use]
pub fn job(j: &Job, lines: &[(i64, String)], s: &Session) -> Markup {
    let last = lines.last().map_or(0, |l| l.0);
    let deployer = s.user.as_ref().is_some_and(|u| u.role == Role::Deployer);
    let live = j.status == "queued" || j.status == "running";
    html! {
        h1 { "Job #" (j.id) ": " code { (j.words) } " on " a href={ "/envs/" (seg(&j.env)) } { (j.env) } }
        p { (status(&j.status)) " started by " (j.who) " " (when(j.queued))
            @if let Some(sec) = j.seconds(now()) { ", " (sec) " s" }
            @if let Some(r) = j.resumes { " · resumes " a href={ "/jobs/" (r) } { "#" (r) } } }
        @if let Some(f) = &j.failure { pre.error #failure { (text(f)) } }
        pre.log #log data-job=(j.id) data-after=(last) data-live=(if live { "1" } else { "0" }) {
            @for (_, l) in lines { (l) "\n" }
        }
        @if j.status == "interrupted" && deployer {
            form method="post" action={ "/jobs/" (j.id) "/resume" } {
                input type="hidden" name="csrf" value=(s.csrf);
                button #resume type="submit" { @if j.words.starts_with("deploy") { "Resume (deploy:resume=yes)" } @else { "Run again" } }
            }
        }
    }
}

/// The confirmation of an action: once for any env, and a second time, typing the env's name,
/// for a protected one.
#[must_use]
pub fn confirm(e: &EnvView, a: Action, s: &Session, error: Option<&str>) -> Markup {
    let double = e.protected.is_some() && a.changes();
    html! {
        h1 { "Run " code { (a.name()) } " on " span.name { (e.name) } "?" }
        p { (a.doc()) "." }
        @if let Some(err) = error { p.error { (text(err)) } }
        form method="post" action={ "/envs/" (seg(&e.name)) "/jobs" } {
            input type="hidden" name="csrf" value=(s.csrf);
            input type="hidden" name="action" value=(a.name());
            label { input type="checkbox" name="confirm" value="yes"; " Yes, run " code { (a.name()) } " on this env" }
            @if double {
                p.warn { code { (e.name) } " is a " (e.protected.unwrap_or("protected")) " environment. Type its name to confirm:" }
                input type="text" name="confirm_env" autocomplete="off" placeholder=(e.name);
            }
            p { button #start type="submit" { "Start job" } " " a href={ "/envs/" (seg(&e.name)) } { "Cancel" } }
        }
    }
}

/// The sign-in page.
#[must_use]
pub fn login(s: &Session, error: Option<&str>) -> Markup {
    html! {
        h1 { "Sign in" }
        @if let Some(e) = error { p.error #login-error { (text(e)) } }
        form.login method="post" action="/login" {
            input type="hidden" name="csrf" value=(s.csrf);
            label { "User " input type="text" name="user" autocomplete="username"; }
            label { "Password " input type="password" name="password" autocomplete="current-password"; }
            button #signin type="submit" { "Sign in" }
        }
    }
}

/// The form that adds an environment to dfab.toml (`like`: copy that env's settings).
#[must_use]
pub fn new_env(s: &Session, like: Option<&str>, error: Option<&str>) -> Markup {
    html! {
        h1 { @if let Some(l) = like { "Add an instance like " span.name { (l) } } @else { "Add an environment" } }
        p.muted { "Written into dfab.toml as a new " code { "[environments.NAME]" } " table; the rest of the file, comments included, stays as it is." }
        @if let Some(e) = error { pre.error { (text(e)) } }
        form.stack method="post" action="/new-env" {
            input type="hidden" name="csrf" value=(s.csrf);
            @if let Some(l) = like { input type="hidden" name="like" value=(l); }
            label { "Name " input type="text" name="name" required; }
            fieldset {
                legend { "Roles" }
                label { input type="radio" name="layout" value="all" checked; " all on the same hosts" }
                label { input type="radio" name="layout" value="split"; " db, web and app apart" }
            }
            label { "Hosts (all) " input type="text" name="hosts" placeholder="deploy@app1.example.com, app2.example.com"; }
            label { "db hosts " input type="text" name="db"; }
            label { "web hosts " input type="text" name="web"; }
            label { "app hosts " input type="text" name="app"; }
            label { input type="checkbox" name="protected" value="yes"; " protected (a second confirmation naming it before anything changes it)" }
            button #add type="submit" { "Add" }
        }
    }
}

/// A short page saying why something was refused.
#[must_use]
pub fn message(title: &str, text: &str) -> Markup {
    html! { h1 { (title) } p.error { (self::text(text)) } p { a href="/envs" { "Back to the environments" } } }
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn backticks_become_code_spans_and_markup_stays_text() {
        assert_eq!(
            text("`rprod` is a protected environment").into_string(),
            "<code>rprod</code> is a protected environment"
        );
        assert_eq!(
            text("no env `<b>` in `x`, and a lone ` here").into_string(),
            "no env <code>&lt;b&gt;</code> in <code>x</code>, and a lone ` here"
        );
        assert_eq!(text("plain").into_string(), "plain");
    }
}
