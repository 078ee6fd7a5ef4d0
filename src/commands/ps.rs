//! `mydocker ps [-a] [--format json]` (step 16): the containers, with a
//! status that is always true: one that died on its own shows as exited,
//! with its code, even if nothing told mydocker.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Result;

use crate::cli::PsArgs;
use crate::container::state::{ContainerInfo, Status, Store};
use crate::util::{format_time, table};

/// Before step 27 a container has no network to show.
#[cfg(not(feature = "net-modes"))]
fn add_network(_entry: &mut serde_json::Value, _info: &ContainerInfo) {}

/// Its network mode (step 27).
#[cfg(all(feature = "net-modes", not(feature = "net-bridge")))]
fn add_network(entry: &mut serde_json::Value, info: &ContainerInfo) {
    entry["net"] = serde_json::json!(info.net);
}

/// Its network mode, network, address and published ports (step 28).
#[cfg(feature = "net-bridge")]
fn add_network(entry: &mut serde_json::Value, info: &ContainerInfo) {
    entry["net"] = serde_json::json!(info.net);
    entry["network"] = serde_json::json!(info.network);
    entry["ip"] = serde_json::json!(info.ip);
    let ports: Vec<String> = info.ports.iter().map(|(h, c)| format!("{h}:{c}")).collect();
    entry["ports"] = serde_json::json!(ports);
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
                    name.clone(),
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
        if !args.all && status != Status::Running {
            continue;
        }
        let created = format_time(UNIX_EPOCH + Duration::from_secs(info.created));
        let pid = info.live_pid();
        json.push(serde_json::json!({
            "id": info.id,
            "name": info.name,
            "pid": pid,
            "status": match status { Status::Created => "created", Status::Running => "running", Status::Exited => "exited" },
            "exit_code": if status == Status::Exited { info.exit_code } else { None },
            "command": info.command,
            "created": created,
            "image": info.image,
            "volumes": info.volumes,
            "env": info.env,
        }));
        add_network(json.last_mut().expect("just pushed"), &info);
        rows.push([
            info.id.clone(),
            info.name.clone(),
            pid.map_or("-".to_string(), |p| p.to_string()),
            info.status_text(),
            info.command.join(" "),
            created,
        ]);
    }
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", table(&rows));
    }
    Ok(0)
}
