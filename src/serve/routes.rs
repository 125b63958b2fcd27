//! The router: each URL and its handler (the session middleware and the sign-in, role and CSRF
//! checks they call are in `gate.rs`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self};
use axum::response::{IntoResponse, Redirect, Response, Sse};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};

use super::actions::Action;
use super::auth::Session;
use super::envfile::{self, NewEnv};
use super::gate::{csrf, deployer, login, login_page, logout, page, refuse, session, signed_in};
use super::pages::{self, seg, EnvState};
use super::App;

type Shared = State<Arc<App>>;
type Fields = Form<HashMap<String, String>>;

/// Every route of the app.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/envs") }))
        .route("/envs", get(envs))
        .route("/envs/{name}", get(env))
        .route("/envs/{name}/run", get(confirm))
        .route("/envs/{name}/jobs", post(start))
        .route("/jobs", get(jobs))
        .route("/jobs/{id}", get(job))
        .route("/jobs/{id}/events", get(events))
        .route("/jobs/{id}/resume", post(resume))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/new-env", get(new_env_page).post(new_env))
        .route(
            "/static/app.css",
            get(|| async { asset("text/css", include_str!("assets/app.css")) }),
        )
        .route(
            "/static/app.js",
            get(|| async { asset("text/javascript", include_str!("assets/app.js")) }),
        )
        .layer(middleware::from_fn_with_state(Arc::clone(&app), session))
        .with_state(app)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// [`env_states`] off the server's one thread (it waits for the hosts' answers), so other
/// pages and live logs go on meanwhile.
async fn states(app: &Arc<App>, view: &Arc<super::project::View>) -> Vec<EnvState> {
    let (app, view) = (Arc::clone(app), Arc::clone(view));
    tokio::task::spawn_blocking(move || env_states(&app, &view))
        .await
        .unwrap_or_default()
}

/// Each env's lock and last deploy: serve's running job, a journal left `running`, else what
/// the hosts say (`lock:status`, cached briefly; an LXC env is not asked, which would start its
/// container), never "free" without asking. The last outcome is that of the newest finished
/// deploy-kind job ([`Action::DEPLOYS`]).
fn env_states(app: &App, view: &super::project::View) -> Vec<EnvState> {
    let running = app.store.jobs_in("running").unwrap_or_default();
    let deploys: Vec<&str> = Action::DEPLOYS.iter().map(|a| a.name()).collect();
    let last = app.store.last_finished_of(&deploys).unwrap_or_default();
    let dir = view
        .file
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let journals: Vec<Option<String>> = view
        .envs
        .iter()
        .map(|e| {
            crate::pipeline::journal::load(&crate::pipeline::journal::path(&dir, &e.name))
                .ok()
                .flatten()
                .map(|j| j.status)
        })
        .collect();
    // The hosts of every env asked at once: a page waits for the slowest, not their sum.
    let locks: Vec<String> = std::thread::scope(|sc| {
        let asks: Vec<_> = view
            .envs
            .iter()
            .zip(&journals)
            .map(|(e, journal)| {
                let job = running.iter().find(|j| j.env == e.name).map(|j| j.id);
                let jobs = &app.jobs;
                sc.spawn(move || {
                    if let Some(id) = job {
                        format!("held by job #{id}")
                    } else if journal.as_deref() == Some("running") {
                        "held by a deploy that stopped part-way (journal: running); resume \
                         finishes it"
                            .into()
                    } else if e.error.is_some() {
                        "not known (the env does not load)".into()
                    } else if e.lxc.is_some() {
                        format!(
                            "not checked (an LXC env: asking would start its container; \
                             `dfab {} lock:status` asks)",
                            e.name
                        )
                    } else {
                        jobs.lock_seen(&e.name)
                    }
                })
            })
            .collect();
        asks.into_iter()
            .map(|h| h.join().unwrap_or_else(|_| "not known".into()))
            .collect()
    });
    view.envs
        .iter()
        .zip(locks)
        .zip(journals)
        .map(|((e, lock), journal)| EnvState {
            lock,
            last: last.iter().find(|j| j.env == e.name).cloned(),
            journal,
        })
        .collect()
}

async fn envs(State(app): Shared, Extension(s): Extension<Session>) -> Response {
    if let Err(r) = signed_in(&s) {
        return r;
    }
    let view = app.view();
    let states = states(&app, &view).await;
    page(
        &app,
        StatusCode::OK,
        "Environments",
        &s,
        &pages::envs(&view, &states, &s),
    )
}

async fn env(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    if let Err(r) = signed_in(&s) {
        return r;
    }
    let view = app.view();
    let Some(i) = view.envs.iter().position(|e| e.name == name) else {
        return refuse(
            &app,
            &s,
            StatusCode::NOT_FOUND,
            "No such environment",
            &format!("no environment `{name}` in {}", view.file.display()),
        );
    };
    let states = states(&app, &view).await;
    let dir = view
        .file
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let path = crate::pipeline::journal::path(&dir, &name);
    let journal = crate::pipeline::journal::load(&path)
        .ok()
        .flatten()
        .map(|j| pages::JournalView {
            path: path
                .strip_prefix(&dir)
                .unwrap_or(&path)
                .display()
                .to_string(),
            status: j.status,
            sequence: j.sequence,
            next: j.next,
            maintenance_on: j.maintenance_on,
            error: j.error,
            updated: i64::try_from(j.updated).unwrap_or(0),
        });
    let jobs = app.store.jobs(Some(&name), 20).unwrap_or_default();
    let unknown = EnvState {
        lock: "not known".into(),
        ..EnvState::default()
    };
    let p = pages::EnvPage {
        env: &view.envs[i],
        state: states.get(i).unwrap_or(&unknown),
        releases: app.store.snapshot(&name).ok().flatten(),
        journal,
        jobs: &jobs,
        python: view.python,
    };
    page(&app, StatusCode::OK, &name, &s, &pages::env(&p, &s))
}

async fn confirm(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = deployer(&app, &s) {
        return r;
    }
    let view = app.view();
    let (Some(e), Some(a)) = (
        view.env(&name),
        q.get("action").and_then(|a| Action::parse(a)),
    ) else {
        return refuse(
            &app,
            &s,
            StatusCode::NOT_FOUND,
            "No such action",
            "no such environment or action",
        );
    };
    page(
        &app,
        StatusCode::OK,
        "Confirm",
        &s,
        &pages::confirm(e, a, &s, None),
    )
}

async fn start(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Path(name): Path<String>,
    Form(f): Fields,
) -> Response {
    let user = match deployer(&app, &s) {
        Ok(u) => u.name.clone(),
        Err(r) => return r,
    };
    if let Err(r) = csrf(&app, &s, &f) {
        return r;
    }
    let view = app.view();
    let (Some(e), Some(a)) = (
        view.env(&name),
        f.get("action").and_then(|a| Action::parse(a)),
    ) else {
        return refuse(
            &app,
            &s,
            StatusCode::NOT_FOUND,
            "No such action",
            "no such environment or action",
        );
    };
    if let Some(err) = &e.error {
        return refuse(
            &app,
            &s,
            StatusCode::BAD_REQUEST,
            "Environment not usable",
            err,
        );
    }
    if f.get("confirm").map(String::as_str) != Some("yes") {
        let body = pages::confirm(e, a, &s, Some("Tick the box to confirm."));
        return page(&app, StatusCode::BAD_REQUEST, "Confirm", &s, &body);
    }
    let protected = e.protected.is_some() && a.changes();
    if protected && f.get("confirm_env").map(|v| v.trim()) != Some(e.name.as_str()) {
        let body = pages::confirm(
            e,
            a,
            &s,
            Some("This environment is protected: type its exact name to confirm."),
        );
        return page(&app, StatusCode::BAD_REQUEST, "Confirm", &s, &body);
    }
    match app
        .store
        .add_job(&e.name, a.name(), &a.words(protected), &user, None)
    {
        Ok(id) => {
            app.jobs.kick();
            Redirect::to(&format!("/jobs/{id}")).into_response()
        }
        Err(err) => refuse(
            &app,
            &s,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Job not queued",
            &crate::error::render(&err.into()),
        ),
    }
}

async fn jobs(State(app): Shared, Extension(s): Extension<Session>) -> Response {
    if let Err(r) = signed_in(&s) {
        return r;
    }
    let jobs = app.store.jobs(None, 200).unwrap_or_default();
    page(&app, StatusCode::OK, "Jobs", &s, &pages::jobs(&jobs))
}

async fn job(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = signed_in(&s) {
        return r;
    }
    let Ok(Some(j)) = app.store.job(id) else {
        return refuse(
            &app,
            &s,
            StatusCode::NOT_FOUND,
            "No such job",
            &format!("no job #{id}"),
        );
    };
    let lines = app.store.lines(id, 0).unwrap_or_default();
    page(
        &app,
        StatusCode::OK,
        &format!("Job #{id}"),
        &s,
        &pages::job(&j, &lines, &s),
    )
}

async fn events(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Path(id): Path<i64>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if s.user.is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let after = q.get("after").and_then(|a| a.parse().ok()).unwrap_or(0);
    Sse::new(super::events::stream(Arc::clone(&app.jobs), id, after))
        .keep_alive(super::events::keep_alive())
        .into_response()
}

async fn resume(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Path(id): Path<i64>,
    Form(f): Fields,
) -> Response {
    let user = match deployer(&app, &s) {
        Ok(u) => u.name.clone(),
        Err(r) => return r,
    };
    if let Err(r) = csrf(&app, &s, &f) {
        return r;
    }
    let Ok(Some(j)) = app.store.job(id) else {
        return refuse(
            &app,
            &s,
            StatusCode::NOT_FOUND,
            "No such job",
            &format!("no job #{id}"),
        );
    };
    if j.status != "interrupted" {
        return refuse(
            &app,
            &s,
            StatusCode::CONFLICT,
            "Nothing to resume",
            &format!("job #{id} is {}, not interrupted", j.status),
        );
    }
    let (action, words) = if j.words.starts_with("deploy") {
        (Action::Resume.name(), Action::Resume.words(false))
    } else {
        (j.action.as_str(), j.words.clone())
    };
    match app.store.add_job(&j.env, action, &words, &user, Some(id)) {
        Ok(new) => {
            app.jobs.kick();
            Redirect::to(&format!("/jobs/{new}")).into_response()
        }
        Err(err) => refuse(
            &app,
            &s,
            StatusCode::INTERNAL_SERVER_ERROR,
            "Job not queued",
            &crate::error::render(&err.into()),
        ),
    }
}

async fn new_env_page(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = deployer(&app, &s) {
        return r;
    }
    let view = app.view();
    if view.python {
        return refuse(&app, &s, StatusCode::CONFLICT, "Read-only", "this project's environments are in environments.py, which dfab reads but never writes: add the environment there by hand.");
    }
    page(
        &app,
        StatusCode::OK,
        "Add an environment",
        &s,
        &pages::new_env(&s, q.get("like").map(String::as_str), None),
    )
}

async fn new_env(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Form(f): Fields,
) -> Response {
    if let Err(r) = deployer(&app, &s) {
        return r;
    }
    if let Err(r) = csrf(&app, &s, &f) {
        return r;
    }
    let field = |k: &str| f.get(k).cloned().unwrap_or_default();
    let new = NewEnv {
        name: field("name").trim().to_string(),
        split: field("layout") == "split",
        hosts: envfile::host_list(&field("hosts")),
        db: envfile::host_list(&field("db")),
        web: envfile::host_list(&field("web")),
        app: envfile::host_list(&field("app")),
        protected: field("protected") == "yes",
        like: f.get("like").filter(|l| !l.is_empty()).cloned(),
    };
    match envfile::add(app.project.file(), &new) {
        Ok(()) => Redirect::to(&format!("/envs/{}", seg(&new.name))).into_response(),
        Err(e) => page(
            &app,
            StatusCode::BAD_REQUEST,
            "Add an environment",
            &s,
            &pages::new_env(&s, new.like.as_deref(), Some(&e)),
        ),
    }
}
