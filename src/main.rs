//! The `suiji` command line: parses arguments, loads settings, and hands each command to the
//! library. Exit codes: 0 success, 2 invalid input or usage, 1 internal failure.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
