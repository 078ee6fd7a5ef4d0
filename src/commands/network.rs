//! `mydocker network create | list | remove` (step 31).

use std::path::Path;

use anyhow::{Result, bail};

use crate::cli::{NetworkArgs, NetworkCommand};
use crate::container::state::Store;
use crate::format::table;
use crate::network::store;

pub fn network(root: &Path, args: &NetworkArgs) -> Result<i32> {
    match &args.command {
        NetworkCommand::Create {
            driver: _,
            subnet,
            name,
        } => {
            let net = store::create(root, name, *subnet)?;
            println!("{}", net.name);
        }
        NetworkCommand::List => {
            let mut rows = vec![[
                "NAME".to_string(),
                "DRIVER".into(),
                "SUBNET".into(),
                "GATEWAY".into(),
            ]];
            for n in store::list(root)? {
                rows.push([
                    n.name,
                    n.driver,
                    n.subnet.to_string(),
                    n.gateway.to_string(),
                ]);
            }
            print!("{}", table(&rows));
        }
        NetworkCommand::Remove { names } => {
            let mut code = 0;
            for name in names {
                match remove(root, name) {
                    Ok(()) => println!("{name}"),
                    Err(e) => {
                        eprintln!("mydocker: {e:#}");
                        code = crate::exit_code::EXIT_MYDOCKER;
                    }
                }
            }
            return Ok(code);
        }
    }
    Ok(0)
}

fn remove(root: &Path, name: &str) -> Result<()> {
    store::load(root, name)?;
    let users: Vec<String> = Store::new(root)
        .list()
        .into_iter()
        .filter_map(|(_, r)| r.ok())
        .filter(|i| i.network.as_deref() == Some(name))
        .map(|i| i.name)
        .collect();
    if !users.is_empty() {
        bail!(
            "network {name} is in use by container(s) {}: remove them first",
            users.join(", ")
        );
    }
    store::remove(root, name)
}
