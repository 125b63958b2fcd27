//! Phase timings of a build, printed to stderr when `DFAB_TIMINGS` is set (for profiling and the
//! benchmark's breakdown; silent otherwise).

use std::time::Instant;

/// Times consecutive phases.
pub(crate) struct Phases {
    on: bool,
    start: Instant,
    last: Instant,
}

impl Phases {
    pub(crate) fn start() -> Self {
        let now = Instant::now();
        Self {
            on: std::env::var_os("DFAB_TIMINGS").is_some(),
            start: now,
            last: now,
        }
    }

    /// Ends the phase `name`, printing its duration when enabled.
    pub(crate) fn mark(&mut self, name: &str) {
        if self.on {
            let now = Instant::now();
            eprintln!(
                "dfab: timing: {name:<24} {:>7.1} ms (at {:.1} ms)",
                (now - self.last).as_secs_f64() * 1e3,
                (now - self.start).as_secs_f64() * 1e3
            );
            self.last = now;
        }
    }
}
