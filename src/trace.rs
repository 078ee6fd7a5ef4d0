//! Where the time of `run` goes: with `MYDOCKER_TRACE=1` in the environment,
//! each phase prints its duration to stderr when it ends, e.g.
//! `trace: cgroups 0.21ms`. The start path is tuned from these numbers (see
//! `benches/`).

use std::time::Instant;

/// A stopwatch over the phases of one command.
pub struct Trace {
    enabled: bool,
    last: Instant,
    start: Instant,
}

impl Trace {
    /// Enabled when `MYDOCKER_TRACE` is set to anything but `0` or empty.
    pub fn from_env() -> Trace {
        let enabled = std::env::var_os("MYDOCKER_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
        let now = Instant::now();
        Trace {
            enabled,
            last: now,
            start: now,
        }
    }

    /// The phase `name` ended now.
    pub fn mark(&mut self, name: &str) {
        let now = Instant::now();
        if self.enabled {
            eprintln!(
                "trace: {name} {:.2}ms",
                (now - self.last).as_secs_f64() * 1e3
            );
        }
        self.last = now;
    }

    /// Print the total since the trace began.
    pub fn total(&self, name: &str) {
        if self.enabled {
            eprintln!(
                "trace: {name} total {:.2}ms",
                self.start.elapsed().as_secs_f64() * 1e3
            );
        }
    }
}
