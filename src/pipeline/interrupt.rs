//! Ctrl-C during a deploy: the first SIGINT asks the pipeline to stop after the current step
//! (and release the lock); a second one quits at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

static REQUESTED: AtomicBool = AtomicBool::new(false);
static INSTALL: Once = Once::new();

/// Catch SIGINT from now on (once per process). A failure to install is returned as text.
pub fn install() -> Result<(), String> {
    let mut r = Ok(());
    INSTALL.call_once(|| {
        r = ctrlc::set_handler(|| {
            if REQUESTED.swap(true, Ordering::SeqCst) {
                eprintln!("dfab: interrupted again: quitting now; the deploy lock stays (`dfab <env> lock:release` frees it)");
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

/// Whether Ctrl-C was pressed.
#[must_use]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
