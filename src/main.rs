//! The `mydocker` binary: parse the command line, run it, exit with Docker's codes.
fn main() {
    mydocker::exit_code::install_panic_hook();
    std::process::exit(mydocker::main_with_args(std::env::args_os().collect()));
}
