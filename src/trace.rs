//! Where the time of `run` goes: with `MYDOCKER_TRACE=1` in the environment,
//! each phase prints its duration to stderr when it ends, e.g.
//! `trace: cgroups 0.21ms`. The start path is tuned from these numbers (see
//! `benches/`). Phases are marked with [`mark`] wherever they end, in `run`
//! and in the container's `init`.

use std::sync::Mutex;
use std::time::Instant;

/// When the previous phase ended, and when the first began (None: off).
static CLOCK: Mutex<Option<(Instant, Instant)>> = Mutex::new(None);

/// Start timing if `MYDOCKER_TRACE` is set to anything but `0` or empty.
pub fn start() {
    let on = std::env::var_os("MYDOCKER_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
    if on {
        let now = Instant::now();
        *CLOCK.lock().unwrap_or_else(|e| e.into_inner()) = Some((now, now));
    }
}

/// The phase `name` ended now.
pub fn mark(name: &str) {
    let mut clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((last, _)) = clock.as_mut() {
        let now = Instant::now();
        eprintln!("trace: {name} {:.2}ms", (now - *last).as_secs_f64() * 1e3);
        *last = now;
    }
}

/// Print the time since [`start`].
pub fn total(name: &str) {
    let clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, first)) = clock.as_ref() {
        eprintln!(
            "trace: {name} total {:.2}ms",
            first.elapsed().as_secs_f64() * 1e3
        );
    }
}
