//! The `mydocker` binary: parse the command line, run it, exit with Docker's codes.
fn main() {
    std::process::exit(mydocker::main_with_args(std::env::args_os().collect()));
}
