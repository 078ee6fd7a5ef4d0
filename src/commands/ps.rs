//! `mydocker ps [-a] [--no-trunc] [--format json]` (step 16): the
//! containers, with a status that is always true: one that died on its own
//! shows as exited, with its code, even if nothing told mydocker.
//!
//! The table's COMMAND column is Docker's: the command line quoted, with
//! control characters escaped so every container stays on one line, and
//! cut to 20 characters with an ellipsis (`"sh -c echo up; slee…"`) unless
//! `--no-trunc`. Whatever a state file holds, a row is built from it: a
//! 70000-character command or a date past the year 9999 is shown, never a
//! panic. The JSON output always carries the command whole.

use std::path::Path;

use anyhow::Result;

use crate::cli::PsArgs;
use crate::container::state::{ContainerInfo, Status, Store};
use crate::format::{ellipsis, format_epoch_secs, table};

/// Before step 27 a container has no network to show.
#[cfg(not(feature = "net-modes"))]
fn add_network(_entry: &mut serde_json::Value, _info: &ContainerInfo) {}

/// Its network mode (step 27).
#[cfg(all(feature = "net-modes", not(feature = "net-bridge")))]
fn add_network(entry: &mut serde_json::Value, info: &ContainerInfo) {
    entry["net"] = serde_json::json!(info.net);
}

/// Its network mode, network and address (step 28).
#[cfg(all(feature = "net-bridge", not(feature = "network")))]
fn add_network(entry: &mut serde_json::Value, info: &ContainerInfo) {
    entry["net"] = serde_json::json!(info.net);
    entry["network"] = serde_json::json!(info.network);
    entry["ip"] = serde_json::json!(info.ip);
}

/// Its network mode, network, address and published ports (step 31).
#[cfg(feature = "network")]
fn add_network(entry: &mut serde_json::Value, info: &ContainerInfo) {
    entry["net"] = serde_json::json!(info.net);
    entry["network"] = serde_json::json!(info.network);
    entry["ip"] = serde_json::json!(info.ip);
    let ports: Vec<String> = info.ports.iter().map(|(h, c)| format!("{h}:{c}")).collect();
    entry["ports"] = serde_json::json!(ports);
}

/// How wide the COMMAND column may be, in characters, before `--no-trunc`.
const COMMAND_WIDTH: usize = 20;

/// The COMMAND cell: the command line, cut unless `whole`, then quoted.
fn command_cell(command: &[String], whole: bool) -> String {
    let line = command.join(" ");
    let shown = if whole {
        line
    } else {
        ellipsis(&line, COMMAND_WIDTH)
    };
    format!("{shown:?}")
}

/// A cell read from a state file, kept on one line.
fn one_line(s: &str) -> String {
    if s.chars().any(char::is_control) {
        s.escape_debug().to_string()
    } else {
        s.to_string()
    }
}

/// The table row of one container.
fn row(info: &ContainerInfo, whole: bool) -> [String; 6] {
    [
        one_line(&info.id),
        one_line(&info.name),
        info.live_pid().map_or("-".to_string(), |p| p.to_string()),
        info.status_text(),
        command_cell(&info.command, whole),
        format_epoch_secs(info.created),
    ]
}

pub fn ps(root: &Path, args: &PsArgs) -> Result<i32> {
    let store = Store::new(root);
    let mut rows = vec![[
        "ID".to_string(),
        "NAME".into(),
        "PID".into(),
        "STATUS".into(),
        "COMMAND".into(),
        "CREATED".into(),
    ]];
    let mut json = Vec::new();
    for (name, loaded) in store.list() {
        let info = match loaded {
            Ok(i) => i,
            Err(e) => {
                eprintln!("mydocker: {e}");
                rows.push([
                    "-".into(),
                    one_line(&name),
                    "-".into(),
                    "broken".into(),
                    "-".into(),
                    "-".into(),
                ]);
                json.push(
                    serde_json::json!({ "name": name, "status": "broken", "error": e.to_string() }),
                );
                continue;
            }
        };
        let status = info.current_status();
        if !shown(args, &info, status) {
            continue;
        }
        let created = format_epoch_secs(info.created);
        let pid = info.live_pid();
        json.push(serde_json::json!({
            "id": info.id,
            "name": info.name,
            "pid": pid,
            "status": status.as_str(),
            "exit_code": if status == Status::Exited { info.exit_code } else { None },
            "command": info.command,
            "created": created,
            "image": info.image,
            "volumes": info.volumes,
            "env": info.env,
        }));
        add_network(json.last_mut().expect("just pushed"), &info);
        rows.push(row(&info, args.no_trunc));
    }
    print(args, &rows, &json)?;
    Ok(0)
}

/// Before step 37 `ps` shows the running containers, all with `-a`.
#[cfg(not(feature = "lifecycle"))]
fn shown(args: &PsArgs, _info: &ContainerInfo, status: Status) -> bool {
    args.all || status == Status::Running
}

/// From step 37 `--filter` narrows the list as Docker's does: conditions
/// on different keys must all hold, on the same key any one; a `status`
/// filter looks at stopped containers without `-a`. A container waiting
/// to be restarted by its policy is listed without `-a`, as Docker lists
/// it (`restarting (CODE)`).
#[cfg(feature = "lifecycle")]
fn shown(args: &PsArgs, info: &ContainerInfo, status: Status) -> bool {
    use crate::cli::PsFilter;
    use std::mem::discriminant;
    let by_status = args.filter.iter().any(|f| matches!(f, PsFilter::Status(_)));
    if !(args.all || by_status || status == Status::Running || info.restarting) {
        return false;
    }
    let holds = |f: &PsFilter| match f {
        PsFilter::Status(s) => info.docker_status() == s,
        PsFilter::Name(n) => info.name.contains(n.as_str()),
        PsFilter::Id(p) => info.id.starts_with(p.as_str()),
        PsFilter::Exited(code) => status == Status::Exited && info.exit_code == Some(*code),
    };
    args.filter.iter().all(|f| {
        args.filter
            .iter()
            .filter(|g| discriminant(*g) == discriminant(f))
            .any(holds)
    })
}

/// The list as a table or as JSON.
fn print_list(args: &PsArgs, rows: &[[String; 6]], json: &[serde_json::Value]) -> Result<()> {
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(json)?);
    } else {
        print!("{}", table(rows));
    }
    Ok(())
}

/// Before step 37 there is only the list.
#[cfg(not(feature = "lifecycle"))]
fn print(args: &PsArgs, rows: &[[String; 6]], json: &[serde_json::Value]) -> Result<()> {
    print_list(args, rows, json)
}

/// From step 37 `-q` prints only the IDs (of readable containers), one a
/// line, for scripts: `mydocker rm -f $(mydocker ps -aq)`.
#[cfg(feature = "lifecycle")]
fn print(args: &PsArgs, rows: &[[String; 6]], json: &[serde_json::Value]) -> Result<()> {
    if !args.quiet {
        return print_list(args, rows, json);
    }
    for row in rows.iter().skip(1).filter(|r| r[0] != "-") {
        println!("{}", row[0]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::tests::Gen;

    #[test]
    fn commands_are_quoted_and_cut_as_docker_does() {
        let cmd = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(command_cell(&cmd("sleep 60"), false), "\"sleep 60\"");
        assert_eq!(
            command_cell(&cmd("sh -c echo up; sleep 60"), false),
            "\"sh -c echo up; slee…\""
        );
        assert_eq!(
            command_cell(&cmd("sh -c echo up; sleep 60"), true),
            "\"sh -c echo up; sleep 60\""
        );
        assert_eq!(command_cell(&["a\nb".into()], true), "\"a\\nb\"");
        assert_eq!(command_cell(&[], false), "\"\"");
    }

    /// Whatever a state file holds, its row is built, stays on one line
    /// and fits the table.
    #[test]
    fn any_state_makes_one_table_line() {
        let mut g = Gen::new(7);
        let mut rows = Vec::new();
        for _ in 0..300 {
            let mut text = || {
                let mut s = g.line();
                if g.next().is_multiple_of(5) {
                    s.push_str("\n\t\r\u{1b}[2J");
                }
                s
            };
            let info = ContainerInfo {
                id: text(),
                name: text(),
                image: text(),
                command: (0..3).map(|_| text()).collect(),
                created: g.next(),
                status: [Status::Created, Status::Running, Status::Exited][(g.next() % 3) as usize],
                pid: Some(g.next() as i32),
                pid_start: Some(g.next()),
                exit_code: Some(g.next() as i32),
                finished: Some(g.next()),
                ..ContainerInfo::default()
            };
            for whole in [false, true] {
                let r = row(&info, whole);
                assert!(r.iter().all(|c| !c.contains('\n') && !c.contains('\r')));
                if !whole {
                    // 20 characters, each escaped to at most `\u{10ffff}`, quoted.
                    assert!(r[4].chars().count() <= COMMAND_WIDTH * 10 + 2, "{}", r[4]);
                }
                rows.push(r);
            }
        }
        assert_eq!(table(&rows).lines().count(), rows.len());
    }
}
