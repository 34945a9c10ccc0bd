//! Records the commit the binary is built from, for `suiji --version` (and bug reports): the
//! short hash; `unknown` outside a git checkout (a source tarball, a package build without
//! `.git`). Uncommitted changes are not marked: watching the work tree would rebuild the crate
//! on every edit. (Not named SUIJI_…: cargo also sets it when it runs the tests, and the
//! configuration reads every SUIJI_ variable.)

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BUILT_FROM_COMMIT={commit}");
    for path in [".git/HEAD", ".git/refs/heads"] {
        println!("cargo:rerun-if-changed={path}");
    }
}
