//! `login` and `logout` (step 39): a registry's user and password kept in
//! Docker's config file (`$DOCKER_CONFIG/config.json`, else
//! `~/.docker/config.json`), the format `docker login` writes and
//! [`crate::fs::registry`] reads back for `pull`: `{"auths": {"SERVER":
//! {"auth": "base64(user:password)"}}}`. Base64 is an encoding, not
//! encryption: the file is made readable by its owner only (0600), as
//! Docker makes it. Docker's credential helpers (`credsStore`) are other
//! programs: not run, and a config naming one is refused rather than
//! written past. The file is a few lines of JSON handled with
//! `serde_json` and `base64` ([`crate::fs::registry::set_auth`]).

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cli::{LoginArgs, LogoutArgs};
use crate::fs::registry::{self, Credentials};

/// The `auths` key and the host for SERVER (none: Docker Hub).
fn server(given: Option<&str>) -> (String, String) {
    match given {
        None => (
            registry::DOCKER_HUB_KEY.to_string(),
            registry::DOCKER_HUB.to_string(),
        ),
        Some(s) => {
            let host = s
                .trim_start_matches("https://")
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap_or(s)
                .to_string();
            if matches!(host.as_str(), "docker.io" | "index.docker.io") {
                (
                    registry::DOCKER_HUB_KEY.to_string(),
                    registry::DOCKER_HUB.to_string(),
                )
            } else {
                (host.clone(), host)
            }
        }
    }
}

fn config_path() -> Result<PathBuf> {
    registry::docker_config(|k| std::env::var(k).ok())
        .context("neither DOCKER_CONFIG nor HOME is set: no place for Docker's config.json")
}

fn read_config(path: &Path) -> Result<serde_json::Value> {
    match std::fs::read(path) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).with_context(|| format!("{}: not JSON", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(serde_json::json!({})),
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

fn write_config(path: &Path, json: &serde_json::Value) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let mut text = serde_json::to_vec_pretty(json).context("encode config.json")?;
    text.push(b'\n');
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("create a file in {}", dir.display()))?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o600))
        .context("make config.json private")?;
    std::io::Write::write_all(&mut tmp, &text).context("write config.json")?;
    tmp.as_file().sync_all().context("fsync config.json")?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

/// `login -u USER [-p PASSWORD | --password-stdin] [SERVER]`: check the
/// credentials against the registry, then keep them; prints `Login
/// Succeeded`, as Docker. No interactive prompt: the password comes from
/// `-p` or standard input.
pub fn login(args: &LoginArgs) -> Result<i32> {
    let (key, host) = server(args.server.as_deref());
    let password = match (&args.password, args.password_stdin) {
        (Some(p), _) => {
            eprintln!(
                "WARNING! A password given with -p can be read by other users: prefer --password-stdin."
            );
            p.clone()
        }
        (None, true) => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("read the password from standard input")?;
            text.trim_end_matches(['\n', '\r']).to_string()
        }
        (None, false) => bail!("login: give the password with --password-stdin (or -p)"),
    };
    if password.is_empty() {
        bail!("login: the password is empty");
    }
    let path = config_path()?;
    let mut json = read_config(&path)?;
    if json.get("credsStore").is_some() {
        bail!(
            "{}: names a credential helper (credsStore), which mydocker does not run: log in with docker",
            path.display()
        );
    }
    registry::check_login(
        &host,
        Credentials {
            user: args.username.clone(),
            password: password.clone(),
            file: PathBuf::from("the command line"),
        },
        &args.insecure_registries,
    )?;
    registry::set_auth(&mut json, &key, Some((&args.username, &password)));
    write_config(&path, &json)?;
    eprintln!(
        "WARNING! The password is kept unencrypted (base64) in {}.",
        path.display()
    );
    println!("Login Succeeded");
    Ok(0)
}

/// `logout [SERVER]`: forget the registry's credentials, as Docker
/// (`Removing login credentials for SERVER`; `Not logged in to SERVER`
/// when there were none, exit 0).
pub fn logout(args: &LogoutArgs) -> Result<i32> {
    let (key, _) = server(args.server.as_deref());
    let shown = args.server.clone().unwrap_or_else(|| key.clone());
    let path = config_path()?;
    let mut json = read_config(&path)?;
    if !registry::set_auth(&mut json, &key, None) {
        println!("Not logged in to {shown}");
        return Ok(0);
    }
    write_config(&path, &json)?;
    println!("Removing login credentials for {shown}");
    Ok(0)
}
