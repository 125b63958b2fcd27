//! `web_mode:maintenance|live|status`: the commands that flip and read the flag file on a host,
//! and the splash page they upload. Switching to the current mode changes nothing and says so.

use crate::transport::cmd::{quote, Cmd};

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

fn since(var: &str) -> String {
    format!("$(date -u -r \"${var}\" +%Y-%m-%dT%H:%M:%SZ)")
}

/// Upload the page (on stdin, written beside it and renamed into place), then create the flag;
/// a no-op when the flag exists. The flag is an empty file whose presence is all the web server
/// tests, so it is created in place (shell builtins, as few processes as a deploy to many hosts
/// can afford).
#[must_use]
pub fn maintenance(s: &WebSettings, page: &str) -> Cmd {
    let script = format!(
        "set -e; f={f}; p={p}; s={snip}; e={env}\n\
         if [ -e \"$f\" ]; then \
         echo \"web_mode: already in maintenance since {since}; nothing changed\"; exit 0; fi\n\
         for x in \"${{p%/*}}\" \"${{f%/*}}\"; do [ -d \"$x\" ] || mkdir -p \"$x\"; done\n\
         t=$(mktemp \"$p.dfab-XXXXXX\"); cat > \"$t\"; chmod 644 \"$t\"; mv -f \"$t\" \"$p\"\n\
         umask 022; : > \"$f\"\n\
         echo \"web_mode: maintenance on (flag $f)\"\n\
         if [ ! -e \"$s\" ]; then echo \"web_mode: warning: no maintenance snippet at $s \
         (web_snippet_path): unless the web server tests $f another way, the site is still \
         live; 'dfab $e init' installs it\" >&2; fi",
        f = quote(&s.flag),
        p = quote(&s.page),
        since = since("f"),
        snip = quote(&s.snippet_path),
        env = quote(&s.env_name),
    );
    Cmd::shell(script)
        .sudo(None)
        .stdin(page.as_bytes().to_vec())
}

/// Remove the flag and record when (the mtime of the state file); a no-op when the flag is
/// absent.
#[must_use]
pub fn live(s: &WebSettings) -> Cmd {
    let script = format!(
        "set -e; f={f}; s={s}\n\
         if [ ! -e \"$f\" ]; then \
         if [ -e \"$s\" ]; then w=\" since {since}\"; else w=\"\"; fi; \
         echo \"web_mode: already live$w; nothing changed\"; exit 0; fi\n\
         umask 022; echo live > \"$s\"\n\
         rm -f \"$f\"\n\
         echo \"web_mode: live (flag $f removed)\"",
        f = quote(&s.flag),
        s = quote(&s.state),
        since = since("s"),
    );
    Cmd::shell(script).sudo(None)
}

/// Print the host's mode and since when.
#[must_use]
pub fn status(s: &WebSettings) -> Cmd {
    let script = format!(
        "f={f}; s={s}\n\
         if [ -e \"$f\" ]; then echo \"web_mode: maintenance since {fsince}\"; \
         elif [ -e \"$s\" ]; then echo \"web_mode: live since {ssince}\"; \
         else echo \"web_mode: live (no switch recorded by dfab)\"; fi",
        f = quote(&s.flag),
        s = quote(&s.state),
        fsince = since("f"),
        ssince = since("s"),
    );
    Cmd::shell(script).sudo(None)
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
