//! The `mydocker` binary: parse the command line, run it, exit with Docker's codes.
fn main() {
    mydocker::exit_code::install_panic_hook();
    std::process::exit(mydocker::entry(std::env::args_os().collect()));
}
