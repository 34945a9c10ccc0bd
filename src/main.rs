//! The `suiji` command line: parses arguments, loads settings, and hands each command to the
//! library. Exit codes: 0 success, 2 invalid input or usage, 1 internal failure.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Like any Unix filter: when the reader of our output goes away (`suiji ... | head`), end
    // quietly instead of panicking on the failed write.
    // SAFETY: called first thing, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    cli::main()
}
