//! `mydocker inspect [-f TEMPLATE] CONTAINER...` (step 37): each
//! container's state and configuration as one JSON array, with Docker's
//! field names where Docker has the field (`Id`, `State.Pid`,
//! `State.ExitCode`, `Config.Env`, `NetworkSettings.IPAddress`, ...), so
//! scripts written against `docker inspect` read the same paths. What
//! only mydocker records (its cgroup directories, its layers, its
//! capability profile) is under `Mydocker`.
//!
//! `-f` prints one line per container: `{{.State.Pid}}` follows a path of
//! field names, `{{json .NetworkSettings}}` prints a part as JSON (without
//! `json`, lists and maps print as Go prints them: `[a b]`, `map[k:v]`). That is
//! the part of Docker's Go templates scripts use most; anything else is
//! refused rather than half understood.

use std::path::Path;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::cli::InspectArgs;
use crate::container::state::{ContainerInfo, Status, Store};

/// `inspect`: each key's container, else (from step 38) its image.
pub fn inspect(root: &Path, args: &InspectArgs) -> Result<i32> {
    let store = Store::new(root);
    print_documents(args, |key| match store.find(key) {
        Ok(info) => Ok(document(&info)),
        Err(e) => image_or(root, key, e.into()),
    })
}

/// The document of the image `key`, else `err` (no container had it).
#[cfg(not(feature = "oci_image"))]
fn image_or(_root: &Path, _key: &str, err: anyhow::Error) -> Result<Value> {
    Err(err)
}

/// The document of the image `key` (step 38), else `err`.
#[cfg(feature = "oci_image")]
fn image_or(root: &Path, key: &str, err: anyhow::Error) -> Result<Value> {
    crate::commands::inspect_image::document(root, key)?.ok_or(err)
}

/// Print the document `find` gives for each of `args`' keys, as a JSON
/// array or through `-f`; a key `find` refuses is reported on stderr and
/// makes the exit code 125, the others are still printed (as Docker).
pub fn print_documents(args: &InspectArgs, find: impl Fn(&str) -> Result<Value>) -> Result<i32> {
    // An empty template is none, as Docker reads `-f ""`: the JSON.
    let template = args
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .map(Template::parse)
        .transpose()?;
    let mut found = Vec::new();
    let mut code = 0;
    for key in &args.containers {
        match find(key) {
            Ok(doc) => found.push(doc),
            Err(e) => {
                eprintln!("mydocker: {e}");
                code = crate::exit_code::EXIT_MYDOCKER;
            }
        }
    }
    match template {
        Some(t) => {
            for doc in &found {
                println!("{}", t.render(doc)?);
            }
        }
        None => println!("{}", serde_json::to_string_pretty(&found)?),
    }
    Ok(code)
}

/// Seconds since the epoch as RFC 3339 in UTC, as Docker prints times;
/// Docker's zero time when there is none (or it is past what a time holds).
fn rfc3339(secs: Option<u64>) -> String {
    secs.and_then(|s| std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s)))
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

/// The JSON document of one container.
pub fn document(info: &ContainerInfo) -> Value {
    // The capabilities, no_new_privs and which seccomp profile; not the
    // compiled filter (kilobytes of BPF in hex, which only init reads).
    let mut security = info.security.clone();
    security.seccomp.program = None;
    let status = info.current_status();
    let running = status == Status::Running;
    let (path, args) = match info.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (String::new(), Vec::new()),
    };
    let mut ports = serde_json::Map::new();
    for (host, ctr) in &info.ports {
        ports.insert(
            format!("{ctr}/tcp"),
            json!([{ "HostIp": "0.0.0.0", "HostPort": host.to_string() }]),
        );
    }
    let networks = match (&info.network, info.ip) {
        (Some(net), ip) => {
            json!({ net.clone(): { "IPAddress": ip.map(|i| i.to_string()).unwrap_or_default() } })
        }
        (None, _) => json!({}),
    };
    json!({
        "Id": info.id,
        "Created": rfc3339(Some(info.created)),
        "Path": path,
        "Args": args,
        "State": {
            "Status": info.docker_status(),
            "Running": running,
            "Paused": false,
            "Restarting": info.restarting && status == Status::Exited,
            "OOMKilled": false,
            "Dead": false,
            "Pid": if running { info.pid.unwrap_or(0) } else { 0 },
            "ExitCode": info.exit_code.unwrap_or(0),
            "Error": "",
            "StartedAt": rfc3339(info.started),
            "FinishedAt": rfc3339(info.finished),
        },
        "RestartCount": info.restart_count,
        "Image": info.image,
        "Name": format!("/{}", info.name),
        "Config": {
            "Hostname": info.hostname,
            "Env": info.env,
            "Cmd": info.command,
            "Image": info.image,
        },
        "HostConfig": {
            "Binds": info.volumes,
            "NetworkMode": info.net.clone().unwrap_or_else(|| "none".into()),
            "AutoRemove": !info.detached || info.auto_remove,
            "RestartPolicy": {
                "Name": info.restart.name_and_max().0,
                "MaximumRetryCount": info.restart.name_and_max().1,
            },
        },
        "NetworkSettings": {
            "IPAddress": info.ip.map(|i| i.to_string()).unwrap_or_default(),
            "Ports": ports,
            "Networks": networks,
        },
        "Mydocker": {
            "Detached": info.detached,
            "Cgroups": info.cgroups,
            "Layers": info.layers,
            "Security": security,
        },
    })
}

/// A `-f` template: text with actions `{{.A.B}}` or `{{json .A.B}}`
/// (spaces inside the braces allowed).
#[derive(Debug, PartialEq, Eq)]
struct Template(Vec<Part>);

#[derive(Debug, PartialEq, Eq)]
enum Part {
    Text(String),
    Field { json: bool, path: Vec<String> },
}

impl Template {
    fn parse(s: &str) -> Result<Template> {
        let unsupported = || {
            anyhow::anyhow!(
                "unsupported --format {s:?}: mydocker understands {{{{.Field.Path}}}} and {{{{json .Field.Path}}}}"
            )
        };
        let mut parts = Vec::new();
        let mut rest = s;
        while let Some((text, after)) = rest.split_once("{{") {
            let (inner, after) = after.split_once("}}").ok_or_else(unsupported)?;
            if !text.is_empty() {
                parts.push(Part::Text(text.to_string()));
            }
            let inner = inner.trim();
            let (json, path) = match inner.strip_prefix("json ") {
                Some(p) => (true, p.trim()),
                None => (false, inner),
            };
            let path = path.strip_prefix('.').ok_or_else(unsupported)?;
            let path: Vec<String> = if path.is_empty() {
                Vec::new()
            } else {
                path.split('.').map(str::to_string).collect()
            };
            let name_ok =
                |p: &String| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !path.iter().all(name_ok) {
                return Err(unsupported());
            }
            parts.push(Part::Field { json, path });
            rest = after;
        }
        if rest.contains("}}") {
            return Err(unsupported());
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        Ok(Template(parts))
    }

    fn render(&self, doc: &Value) -> Result<String> {
        let mut out = String::new();
        for part in &self.0 {
            let (json, path) = match part {
                Part::Text(t) => {
                    out.push_str(t);
                    continue;
                }
                Part::Field { json, path } => (*json, path),
            };
            let mut v = doc;
            for (i, key) in path.iter().enumerate() {
                v = match v.get(key) {
                    Some(v) => v,
                    None => bail!("template: no field {key:?} in .{}", path[..i].join(".")),
                };
            }
            match (json, v) {
                (true, v) => out.push_str(&serde_json::to_string(v)?),
                (false, Value::Null) => out.push_str("<no value>"),
                (false, v) => go_value(v, &mut out),
            }
        }
        Ok(out)
    }
}

/// `v` as Go's templates print a value without `json` (its `%v`): a
/// list as `[a b]`, a map as `map[k:v]` with its keys sorted, text
/// unquoted, nothing as `<nil>` inside a list or map. (A Go struct would
/// print as `{a b}`; in the JSON document it cannot be told from a map.)
fn go_value(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Null => out.push_str("<nil>"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                go_value(&map[key], out);
            }
            out.push(']');
        }
        v => out.push_str(&v.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_follow_paths_and_print_json() {
        let doc = json!({"State": {"Pid": 42, "Status": "running"}, "Env": ["A=1"]});
        let t = Template::parse("{{.State.Pid}}").unwrap();
        assert_eq!(t.render(&doc).unwrap(), "42");
        let t = Template::parse("pid={{ .State.Status }}!").unwrap();
        assert_eq!(t.render(&doc).unwrap(), "pid=running!");
        let t = Template::parse("{{json .Env}}").unwrap();
        assert_eq!(t.render(&doc).unwrap(), r#"["A=1"]"#);
        let t = Template::parse("{{.State.Nope}}").unwrap();
        assert!(t.render(&doc).unwrap_err().to_string().contains("Nope"));
    }

    #[test]
    fn lists_and_maps_print_as_go_prints_them() {
        let doc = json!({"Env": ["A=1", "B=2"], "None": [], "Ports": {"80/tcp": [{"HostPort": "8080"}]}, "N": null});
        let t = Template::parse("{{.Env}} {{.None}} {{.Ports}} {{.N}}").unwrap();
        assert_eq!(
            t.render(&doc).unwrap(),
            "[A=1 B=2] [] map[80/tcp:[map[HostPort:8080]]] <no value>"
        );
    }

    #[test]
    fn other_templates_are_refused() {
        let t = Template::parse("{{.State.Pid}} {{.State.Status}}").unwrap();
        let doc = json!({"State": {"Pid": 42, "Status": "running"}});
        assert_eq!(t.render(&doc).unwrap(), "42 running");
        // Text alone is printed as it is, once per container (Go's
        // templates do the same).
        let t = Template::parse("text").unwrap();
        assert_eq!(t.render(&doc).unwrap(), "text");
        for bad in ["{{range .X}}", "{{.A.}}", "{{A}}", "{{.A", "{{.A}} }}"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(Some(0)), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
    }
}
