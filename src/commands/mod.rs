//! One file per verb. Each turns parsed arguments into library calls and
//! returns the process exit code.

#[cfg(feature = "terminal")]
pub mod attach;
#[cfg(feature = "check")]
pub mod check;
#[cfg(feature = "commit")]
pub mod commit;
#[cfg(feature = "cp")]
pub mod cp;
#[cfg(feature = "exec")]
pub mod exec;
#[cfg(feature = "oci_image")]
pub mod image_store;
#[cfg(all(feature = "commit", not(feature = "oci_image")))]
pub mod images;
#[cfg(feature = "oci_image")]
#[path = "images_oci.rs"]
pub mod images;
#[cfg(feature = "lifecycle")]
pub mod inspect;
#[cfg(feature = "oci_image")]
pub mod inspect_image;
#[cfg(feature = "lifecycle")]
pub mod kill;
#[cfg(feature = "pull")]
pub mod login;
#[cfg(all(feature = "logs", not(feature = "lifecycle")))]
pub mod logs;
#[cfg(feature = "lifecycle")]
#[path = "logs_json.rs"]
pub mod logs;
#[cfg(feature = "network")]
pub mod network;
#[cfg(feature = "ps")]
pub mod ps;
#[cfg(feature = "pull")]
pub mod pull;
#[cfg(feature = "lifecycle")]
pub mod restart;
#[cfg(feature = "rm")]
pub mod rm;
#[cfg(feature = "run")]
pub mod run;
#[cfg(feature = "lifecycle")]
pub mod start;
#[cfg(feature = "stop")]
pub mod stop;
#[cfg(feature = "lifecycle")]
pub mod wait;

use anyhow::Result;

use crate::cli::{Cli, Command};

/// Run the parsed command line; the result is the exit code.
pub fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        #[cfg(feature = "check")]
        Command::Check(args) => check::check(&args),
        #[cfg(feature = "run")]
        Command::Run(args) => run::run(&cli.root, &args),
        #[cfg(feature = "ps")]
        Command::Ps(args) => ps::ps(&cli.root, &args),
        #[cfg(feature = "logs")]
        Command::Logs(args) => logs::logs(&cli.root, &args),
        #[cfg(feature = "exec")]
        Command::Exec(args) => exec::exec(&cli.root, &args),
        #[cfg(feature = "terminal")]
        Command::Attach(args) => attach::attach(&cli.root, &args),
        #[cfg(feature = "stop")]
        Command::Stop(args) => stop::stop(&cli.root, &args),
        #[cfg(feature = "rm")]
        Command::Rm(args) => rm::rm(&cli.root, &args),
        #[cfg(feature = "cp")]
        Command::Cp(args) => cp::cp(&cli.root, &args),
        #[cfg(feature = "network")]
        Command::Network(args) => network::network(&cli.root, &args),
        #[cfg(feature = "commit")]
        Command::Commit(args) => commit::commit(&cli.root, &args),
        #[cfg(feature = "commit")]
        Command::Images(args) => images::images(&cli.root, &args),
        #[cfg(feature = "lifecycle")]
        Command::Kill(args) => kill::kill(&cli.root, &args),
        #[cfg(feature = "lifecycle")]
        Command::Wait(args) => wait::wait(&cli.root, &args),
        #[cfg(feature = "lifecycle")]
        Command::Inspect(args) => inspect::inspect(&cli.root, &args),
        #[cfg(feature = "lifecycle")]
        Command::Start(args) => start::start(&cli.root, &args),
        #[cfg(feature = "lifecycle")]
        Command::Restart(args) => restart::restart(&cli.root, &args),
        #[cfg(feature = "oci_image")]
        Command::Tag(args) => image_store::tag(&cli.root, &args),
        #[cfg(feature = "oci_image")]
        Command::Rmi(args) => image_store::rmi(&cli.root, &args),
        #[cfg(feature = "oci_image")]
        Command::Import(args) => image_store::import(&cli.root, &args),
        #[cfg(feature = "oci_image")]
        Command::Load(args) => image_store::load(&cli.root, &args),
        #[cfg(feature = "oci_image")]
        Command::Save(args) => image_store::save(&cli.root, &args),
        #[cfg(feature = "pull")]
        Command::Pull(args) => pull::pull(&cli.root, &args),
        #[cfg(feature = "pull")]
        Command::Login(args) => login::login(&args),
        #[cfg(feature = "pull")]
        Command::Logout(args) => login::logout(&args),
        #[cfg(feature = "oci_image")]
        Command::Image(args) => image_store::image(&cli.root, &args),
        #[cfg(feature = "run")]
        Command::Init(args) => crate::container::init::main(&args.inbox()),
        #[cfg(all(feature = "cli", not(feature = "run")))]
        Command::Run(_) | Command::Init(_) => {
            anyhow::bail!("run: containers arrive in chapter 05, after this build's chapters")
        }
    }
}
