//! `mydocker check` (step 01): can this machine run containers?

use anyhow::Result;

use crate::check;
use crate::cli::CheckArgs;

pub fn check(args: &CheckArgs) -> Result<i32> {
    let report = check::run(&args.proc);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", check::render(&report));
    }
    let missing = report.missing();
    if missing.is_empty() {
        Ok(0)
    } else {
        eprintln!("mydocker: missing: {}", missing.join(", "));
        Ok(1)
    }
}
