//! Fault injection for crash tests: with `SUIJI_FAILPOINT=<name>` in the environment, the
//! process announces on stderr that it reached the named point and stops there for a minute,
//! so a test can kill it at exactly that moment. Unset, `hit` does nothing.

/// The environment variable naming the active failpoint; kept out of the settings.
pub const VAR: &str = "SUIJI_FAILPOINT";

pub fn hit(name: &str) {
    if std::env::var(VAR).is_ok_and(|v| v == name) {
        eprintln!("failpoint {name} reached");
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}
