//! Reading `/proc/PID/stat` (`man 5 proc`, step 15): a process's state,
//! parent, and start time. A PID alone can be handed to another process
//! once the first has ended; a PID *and* its start time (field 22) name
//! one process for its whole life, so a container's recorded process is
//! never mistaken for a stranger that reused its number.

use std::fs;

/// Field 22 of `/proc/PID/stat`: when the process started, in clock ticks
/// since boot. A PID plus this value names one process for its whole life.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start_time(&stat)
}

/// The start time of process `pid` while it has not ended: `None` when
/// there is no such process or it is a zombie (ended, not yet reaped by
/// its parent; state `Z` or `X` in field 3 of `/proc/PID/stat`).
pub fn live_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    match stat_field(&stat, 3)? {
        "Z" | "X" | "x" => None,
        _ => parse_start_time(&stat),
    }
}

/// The parent of process `pid` (field 4 of `/proc/PID/stat`).
pub fn parent_pid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat_field(&stat, 4)?.parse().ok()
}

fn parse_start_time(stat: &str) -> Option<u64> {
    stat_field(stat, 22)?.parse().ok()
}

/// Field `n` (from 1) of a `/proc/PID/stat` line.
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    // The command name (field 2) is in parentheses and may hold spaces or
    // parentheses itself: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    // `rest` starts at field 3.
    rest.split_whitespace().nth(n.checked_sub(3)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_survives_odd_command_names() {
        let stat = "42 (a) b (c) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 98765 1000 1";
        assert_eq!(parse_start_time(stat), Some(98765));
    }
    #[test]
    fn a_running_process_is_live() {
        assert_eq!(
            live_start_time(std::process::id() as i32),
            process_start_time(std::process::id() as i32)
        );
    }
    #[test]
    fn a_zombie_is_not_live() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: it stays a zombie until `wait`.
        while fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(process_start_time(pid).is_some());
        assert_eq!(live_start_time(pid), None);
        child.wait().unwrap();
    }
    #[test]
    fn own_start_time_is_readable() {
        assert!(process_start_time(std::process::id() as i32).is_some());
    }
}
