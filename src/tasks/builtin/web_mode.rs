//! `web_mode:maintenance|live|status` and `web_mode:snippet=nginx|apache`: one command per web
//! host, or the snippet printed here.

use std::io::Write as _;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::exec::step::{LocalAction, RunCtx};
use crate::invocation::TaskCall;
use crate::web_mode::switch::{self, Mode};
use crate::web_mode::{self, snippet, Server, WebSettings};

use super::{PlanCtx, Step};

/// Check the arguments, read the settings, and plan the switch (or the snippet).
pub fn plan(cx: &PlanCtx<'_>, call: &TaskCall) -> Result<Vec<Step>> {
    let mode = call.kwarg("mode");
    let message = call.kwarg("message");
    let snippet_arg = call.kwarg("snippet");
    if mode == Some("snippet") || snippet_arg.is_some() {
        if message.is_some() || (mode.is_some() && snippet_arg.is_some()) {
            return Err(web_mode::usage(
                "web_mode:snippet takes no mode or message".into(),
            ));
        }
        let settings = WebSettings::from_env(cx.env)?;
        let server = match snippet_arg {
            Some(s) => Server::parse(s).ok_or_else(|| {
                web_mode::usage(format!("web_mode: unknown web server `{s}` for snippet="))
            })?,
            None => settings.server,
        };
        return Ok(vec![Step::Here {
            task: call.name.clone(),
            action: Arc::new(PrintSnippet {
                text: snippet::render(&settings, server, false),
            }),
        }]);
    }
    let Some(m) = mode else {
        return Err(web_mode::usage("web_mode needs a mode".into()));
    };
    let mode = Mode::parse(m).ok_or_else(|| {
        let modes = ["maintenance", "live", "status", "snippet"];
        let near = crate::suggestion::hint(m, modes.iter().copied(), "modes")
            .map(|h| format!("; {h}"))
            .unwrap_or_default();
        web_mode::usage(format!(
            "web_mode: unknown mode `{m}` (maintenance, live, status or snippet){near}"
        ))
    })?;
    if message.is_some() && mode != Mode::Maintenance {
        return Err(web_mode::usage(
            "web_mode: `message=` goes with web_mode:maintenance".into(),
        ));
    }
    let s = WebSettings::from_env(cx.env)?;
    let cmd = match mode {
        Mode::Maintenance => {
            let template = match cx.env.str("maintenance_page") {
                Some(p) => {
                    let path = cx.project_dir.join(p);
                    fs_err::read_to_string(&path).map_err(|e| {
                        cx.env.key_error(
                            "maintenance_page",
                            format!("cannot read the splash page: {e}"),
                            Some("an HTML file, relative to the project directory".into()),
                        )
                    })?
                }
                None => switch::SPLASH.to_string(),
            };
            let page = switch::page(&template, message);
            // In a deploy, the health checks that follow must get through maintenance.
            let health = if super::deploy::planning() {
                super::web_restart::health_url(cx.env)?
            } else {
                None
            };
            switch::maintenance_with(&s, &page, health.as_deref())
        }
        Mode::Live => switch::live(&s),
        Mode::Status => switch::status(&s),
    };
    let what = match mode {
        Mode::Maintenance => "turn maintenance on",
        Mode::Live => "take maintenance off",
        Mode::Status => "show whether maintenance is on",
    };
    Ok(vec![Step::Run {
        task: call.name.clone(),
        hosts: cx.hosts.clone(),
        cmd,
        warn_only: false,
        builtin: Some(what.into()),
    }])
}

/// Print the snippet on stdout, ready to include.
#[derive(Debug)]
struct PrintSnippet {
    text: String,
}

impl LocalAction for PrintSnippet {
    fn reaches_hosts(&self) -> bool {
        false
    }

    fn run(&self, _cx: &RunCtx<'_>) -> Result<()> {
        std::io::stdout()
            .write_all(self.text.as_bytes())
            .map_err(Error::from)
    }
}
