//! Ctrl-C during a deploy: the first SIGINT asks the pipeline to stop after the current step
//! (and release the lock); a second one quits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();
/// The env of the deploy in progress, for the command the second Ctrl-C's message names.
static ENV: Mutex<String> = Mutex::new(String::new());

/// Catch SIGINT from now on (once per process), for a deploy of `env`. A failure to install
/// is returned as text.
pub fn install(env: &str) -> Result<(), String> {
    if let Ok(mut e) = ENV.lock() {
        env.clone_into(&mut e);
    }
    let mut r = Ok(());
    INSTALL.call_once(|| {
        r = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                let env = ENV.lock().map(|e| e.clone()).unwrap_or_default();
                eprintln!("{}", quit_message(&env));
                std::process::exit(130);
            }
            eprintln!(
                "dfab: interrupted: stopping after the current step and releasing the deploy lock (Ctrl-C again to quit at once)"
            );
        })
        .map_err(|e| e.to_string());
    });
    r
}

/// What the second Ctrl-C prints: the lock stays, and the command that frees it.
fn quit_message(env: &str) -> String {
    format!(
        "dfab: interrupted again: quitting now; the deploy lock stays (`dfab {env} lock:release` frees it)"
    )
}

/// Whether Ctrl-C was pressed.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_quit_message_names_the_env() {
        let m = super::quit_message("staging");
        assert!(m.contains("`dfab staging lock:release`"), "{m}");
        assert!(!m.contains("<env>"), "{m}");
    }
}
