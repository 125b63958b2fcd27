//! `web_mode:maintenance|live|status`: the commands that flip and read the flag file on a host
//! (each checked with the web server), and the splash page they upload. Switching to the current
//! mode changes nothing and says so.

use crate::hostside;
use crate::transport::cmd::Cmd;

use super::WebSettings;

/// The built-in splash page; `{message}` is replaced by the (escaped) message.
pub const SPLASH: &str = include_str!("splash.html");

/// The text the splash page shows when the call gives no `message=`.
pub const DEFAULT_MESSAGE: &str =
    "This site is down for maintenance and will be back shortly. Thank you for your patience.";

/// The mode a call switches to (or reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Maintenance,
    Live,
    Status,
}

impl Mode {
    /// Parse a `web_mode` argument.
    #[must_use]
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "maintenance" => Some(Mode::Maintenance),
            "live" => Some(Mode::Live),
            "status" => Some(Mode::Status),
            _ => None,
        }
    }
}

/// Escape text for HTML.
#[must_use]
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The splash page: `template` (the built-in, or `maintenance_page`) with `{message}` filled in.
#[must_use]
pub fn page(template: &str, message: Option<&str>) -> String {
    template.replace(
        "{message}",
        &html_escape(message.unwrap_or(DEFAULT_MESSAGE)),
    )
}

/// `cmd` with the app's package in `DFAB_APP_PACKAGE`, when `package_name` names it: the host
/// program tells a host before its first deploy from a site without the snippet by it.
pub(crate) fn with_package(cmd: Cmd, s: &WebSettings) -> Cmd {
    match &s.package {
        Some(p) => cmd.env("DFAB_APP_PACKAGE", p.clone()),
        None => cmd,
    }
}

/// `dfab-host web maintenance`: upload the page (on stdin, written beside it and renamed into
/// place), then create the flag; a no-op when the flag exists. The flag is an empty file whose
/// presence is all the web server tests, so it is created in place. With `maintenance_check_url`
/// the switch is checked with the web server first (a check file in the flag's place), and the
/// result after: the web server's 503 is the truth, and a flag it does not answer is removed
/// again, the command failing with the cause.
#[must_use]
pub fn maintenance(s: &WebSettings, page: &str) -> Cmd {
    maintenance_with(s, page, None)
}

/// [`maintenance`] for a deploy whose health checks run during maintenance: the check also
/// asks `health_url` as those checks will, and refuses (before the flag) when dfab's own 503
/// would answer it.
#[must_use]
pub fn maintenance_with(s: &WebSettings, page: &str, health_url: Option<&str>) -> Cmd {
    let cmd = hostside::call(
        [
            "web",
            "maintenance",
            &s.flag,
            &s.page,
            &s.snippet_path,
            &s.env_name,
            s.server.name(),
            s.check_url.as_deref().unwrap_or("-"),
        ]
        .into_iter()
        .chain(health_url.filter(|_| s.check_url.is_some())),
    )
    .sudo(None)
    .stdin(page.as_bytes().to_vec());
    with_package(cmd, s)
}

/// `dfab-host web live`: remove the flag and record when (the mtime of the state file); a no-op
/// when the flag is absent. With `maintenance_check_url`, the web server must then answer
/// without dfab's 503 (the env named in the message that says what to run when it does not).
#[must_use]
pub fn live(s: &WebSettings) -> Cmd {
    let checked = s.check_url.as_deref().map(|url| [url, s.env_name.as_str()]);
    hostside::call(
        ["web", "live", &s.flag, &s.state]
            .into_iter()
            .chain(checked.into_iter().flatten()),
    )
    .sudo(None)
}

/// `dfab-host web status`: print the host's mode and since when, and (unless
/// `maintenance_check_url` is False, which it then says) what the web server answers at the
/// check URL; the command fails, naming the cause, when the flag and the answer disagree (the
/// flag set and the site live, or no flag and dfab's 503) or nothing answers.
#[must_use]
pub fn status(s: &WebSettings) -> Cmd {
    let cmd = hostside::call([
        "web",
        "status",
        &s.flag,
        &s.state,
        s.server.name(),
        s.check_url.as_deref().unwrap_or("-"),
        &s.snippet_path,
        &s.env_name,
    ])
    .sudo(None);
    with_package(cmd, s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_is_escaped_into_the_page() {
        let p = page(SPLASH, Some("Back at 14:00 <b>UTC</b> & soon"));
        assert!(p.contains("<p>Back at 14:00 &lt;b&gt;UTC&lt;/b&gt; &amp; soon</p>"));
        assert!(page(SPLASH, None).contains(DEFAULT_MESSAGE));
    }
}
