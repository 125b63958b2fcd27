//! Phase timings of a build, printed to stderr when `DFAB_TIMINGS` is set (for profiling and the
//! benchmark's breakdown; silent otherwise): wall time and CPU time (every thread of this
//! process and the children it has waited for, such as perl).

use std::time::{Duration, Instant};

/// Times consecutive phases.
pub(crate) struct Phases {
    on: bool,
    start: Instant,
    last: Instant,
    last_cpu: Duration,
}

impl Phases {
    pub(crate) fn start() -> Self {
        let now = Instant::now();
        let on = std::env::var_os("DFAB_TIMINGS").is_some();
        Self {
            on,
            start: now,
            last: now,
            last_cpu: if on { cpu_time() } else { Duration::ZERO },
        }
    }

    /// Ends the phase `name`, printing its duration when enabled.
    pub(crate) fn mark(&mut self, name: &str) {
        if self.on {
            let now = Instant::now();
            let cpu = cpu_time();
            eprintln!(
                "dfab: timing: {name:<24} {:>7.1} ms, cpu {:>7.1} ms (at {:.1} ms)",
                (now - self.last).as_secs_f64() * 1e3,
                cpu.saturating_sub(self.last_cpu).as_secs_f64() * 1e3,
                (now - self.start).as_secs_f64() * 1e3
            );
            self.last = now;
            self.last_cpu = cpu;
        }
    }
}

/// User + system time of this process (all threads) and of its waited-for children.
fn cpu_time() -> Duration {
    let of = |who| {
        // SAFETY: getrusage only writes the struct it is given, which is zeroed and ours.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage; `who` is RUSAGE_SELF or RUSAGE_CHILDREN.
        if unsafe { libc::getrusage(who, &raw mut usage) } != 0 {
            return Duration::ZERO;
        }
        let tv = |t: libc::timeval| {
            Duration::new(
                u64::try_from(t.tv_sec).unwrap_or(0),
                u32::try_from(t.tv_usec).unwrap_or(0) * 1000,
            )
        };
        tv(usage.ru_utime) + tv(usage.ru_stime)
    };
    of(libc::RUSAGE_SELF) + of(libc::RUSAGE_CHILDREN)
}
