//! One file per verb. Each turns parsed arguments into library calls and
//! returns the process exit code.

#[cfg(feature = "check")]
pub mod check;
#[cfg(feature = "commit")]
pub mod commit;
#[cfg(feature = "cp")]
pub mod cp;
#[cfg(feature = "exec")]
pub mod exec;
#[cfg(feature = "commit")]
pub mod images;
#[cfg(feature = "logs")]
pub mod logs;
#[cfg(feature = "network")]
pub mod network;
#[cfg(feature = "ps")]
pub mod ps;
#[cfg(feature = "rm")]
pub mod rm;
#[cfg(feature = "run")]
pub mod run;
#[cfg(feature = "stop")]
pub mod stop;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Run the parsed command line; the result is the exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    let root = cli.root;
    let _ = &root;
    match cli.command {
        #[cfg(feature = "check")]
        Command::Check(args) => check::check(&args),
        #[cfg(feature = "run")]
        Command::Run(args) => run::run(&root, &args),
        #[cfg(feature = "ps")]
        Command::Ps(args) => ps::ps(&root, &args),
        #[cfg(feature = "logs")]
        Command::Logs(args) => logs::logs(&root, &args),
        #[cfg(feature = "exec")]
        Command::Exec(args) => exec::exec(&root, &args),
        #[cfg(feature = "stop")]
        Command::Stop(args) => stop::stop(&root, &args),
        #[cfg(feature = "rm")]
        Command::Rm(args) => rm::rm(&root, &args),
        #[cfg(feature = "cp")]
        Command::Cp(args) => cp::cp(&root, &args),
        #[cfg(feature = "network")]
        Command::Network(args) => network::network(&root, &args),
        #[cfg(feature = "commit")]
        Command::Commit(args) => commit::commit(&root, &args),
        #[cfg(feature = "commit")]
        Command::Images(args) => images::images(&root, &args),
        #[cfg(feature = "run")]
        Command::Init(args) => crate::container::init::main(&args.inbox()),
        #[cfg(all(feature = "cli", not(feature = "run")))]
        Command::Run(_) | Command::Init(_) => anyhow::bail!(
            "this build is at a step before 05: containers arrive in step 05 (build with --features step-05)"
        ),
    }
}
