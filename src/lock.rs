//! Advisory file locks between processes on one host (`flock`): who leads on SQLite, and one
//! site rebuild at a time.

use std::fs::File;

/// An exclusive, non-blocking lock on the whole file (held until the file is closed).
pub fn try_exclusive(file: &File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}
