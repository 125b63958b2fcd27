//! The gate: a session for every visitor (the cookie, made if missing, with the headers every
//! response carries), the sign-in, role and CSRF checks, the page frame with its redaction, and
//! the sign-in and sign-out handlers.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use maud::Markup;

use super::auth::{self, Role, Session, User};
use super::pages;
use super::App;

type Shared = State<Arc<App>>;
type Fields = Form<HashMap<String, String>>;

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == auth::COOKIE)
        .map(|(_, v)| v.to_string())
}

fn set_cookie(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        auth::COOKIE,
        auth::SESSION_SECONDS
    ))
    .expect("a hex token is a valid header")
}

/// A new session (no user yet), stored.
pub(super) fn new_session(app: &App, user: Option<User>) -> Session {
    let s = Session {
        id: auth::token(32),
        user,
        csrf: auth::token(32),
    };
    let _ = app.store.put_session(
        &auth::id_hash(&s.id),
        s.user.as_ref().map(|u| u.name.as_str()),
        &s.csrf,
    );
    s
}

/// The visitor's session, made if missing; in single-user mode the visitor is `local`.
pub(super) async fn session(State(app): Shared, mut req: Request, next: Next) -> Response {
    let mut fresh = false;
    let found = cookie_value(req.headers()).and_then(|id| {
        let (user, csrf) = app
            .store
            .session(&auth::id_hash(&id), auth::SESSION_SECONDS)
            .ok()??;
        let user = user.and_then(|name| {
            let (_, role) = app.store.user(&name).ok()??;
            Some(User {
                name,
                role: Role::parse(&role)?,
            })
        });
        Some(Session { id, user, csrf })
    });
    let mut s = found.unwrap_or_else(|| {
        fresh = true;
        new_session(&app, None)
    });
    if app.single_user() {
        s.user = Some(User {
            name: "local".into(),
            role: Role::Deployer,
        });
    }
    let id = s.id.clone();
    req.extensions_mut().insert(s);
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if fresh {
        h.append(header::SET_COOKIE, set_cookie(&id));
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// A whole page, with every secret of the project replaced (the same redaction as the
/// terminal's), as a response with `code`.
pub(super) fn page(
    app: &App,
    code: StatusCode,
    title: &str,
    s: &Session,
    body: &Markup,
) -> Response {
    let html = pages::layout(title, s, body).into_string();
    let html = app
        .redactor
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .apply(&html);
    (
        code,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

pub(super) fn refuse(
    app: &App,
    s: &Session,
    code: StatusCode,
    title: &str,
    text: &str,
) -> Response {
    page(app, code, title, s, &pages::message(title, text))
}

/// Signed in (any role), else to the sign-in page.
pub(super) fn signed_in(s: &Session) -> Result<&User, Response> {
    s.user
        .as_ref()
        .ok_or_else(|| Redirect::to("/login").into_response())
}

/// A deployer, else 403.
pub(super) fn deployer<'a>(app: &App, s: &'a Session) -> Result<&'a User, Response> {
    let u = signed_in(s)?;
    if u.role == Role::Deployer {
        Ok(u)
    } else {
        Err(refuse(
            app,
            s,
            StatusCode::FORBIDDEN,
            "Not allowed",
            &format!(
                "{} is a viewer: only a deployer starts jobs or changes environments.",
                u.name
            ),
        ))
    }
}

/// The form's CSRF token is the session's, else 403.
pub(super) fn csrf(app: &App, s: &Session, f: &HashMap<String, String>) -> Result<(), Response> {
    match f.get("csrf") {
        Some(t) if auth::same(t, &s.csrf) => Ok(()),
        _ => Err(refuse(
            app,
            s,
            StatusCode::FORBIDDEN,
            "Refused",
            "the form's CSRF token is missing or wrong: reload the page and try again.",
        )),
    }
}

pub(super) async fn login_page(State(app): Shared, Extension(s): Extension<Session>) -> Response {
    if app.single_user() {
        return Redirect::to("/envs").into_response();
    }
    page(&app, StatusCode::OK, "Sign in", &s, &pages::login(&s, None))
}

pub(super) async fn login(
    State(app): Shared,
    Extension(s): Extension<Session>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(f): Fields,
) -> Response {
    if let Err(r) = csrf(&app, &s, &f) {
        return r;
    }
    let name = f.get("user").cloned().unwrap_or_default();
    let password = f.get("password").cloned().unwrap_or_default();
    let keys = [format!("user:{name}"), format!("addr:{}", peer.ip())];
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if let Some(wait) = app.limiter.wait(&keys) {
        let msg = format!("Too many failed sign-ins: try again in {wait} s.");
        return page(
            &app,
            StatusCode::TOO_MANY_REQUESTS,
            "Sign in",
            &s,
            &pages::login(&s, Some(&msg)),
        );
    }
    let stored = app.store.user(&name).ok().flatten();
    let ok = match stored.clone() {
        Some((hash, _)) => {
            tokio::task::spawn_blocking(move || auth::verify_password(&password, &hash))
                .await
                .unwrap_or(false)
        }
        None => false,
    };
    let Some((_, role)) = stored.filter(|_| ok) else {
        app.limiter.failed(&keys);
        return page(
            &app,
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &s,
            &pages::login(&s, Some("Wrong user name or password.")),
        );
    };
    // A new session id at sign-in: an id known before it opens nothing.
    let _ = app.store.drop_session(&auth::id_hash(&s.id));
    let user = User {
        name,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
    };
    let fresh = new_session(&app, Some(user));
    let mut resp = Redirect::to("/envs").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, set_cookie(&fresh.id));
    resp
}

pub(super) async fn logout(
    State(app): Shared,
    Extension(s): Extension<Session>,
    Form(f): Fields,
) -> Response {
    if let Err(r) = csrf(&app, &s, &f) {
        return r;
    }
    let _ = app.store.drop_session(&auth::id_hash(&s.id));
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("dfab_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    resp
}
