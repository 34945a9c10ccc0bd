//! Who this process is, for the claims and leases it holds in the database: the host name, the
//! process id and a nonce drawn at start. The nonce matters: a daemon restarted in a container
//! is PID 1 on the same host name every time, and must not pass for the process that died.

use std::sync::OnceLock;

/// This process's name, the same for its whole life and never another's.
pub fn id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        use rand::TryRng;
        let mut nonce = [0u8; 4];
        // Without the system's randomness, the start time in nanoseconds still tells two
        // starts apart.
        if rand::rngs::SysRng.try_fill_bytes(&mut nonce).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            nonce = t.to_le_bytes();
        }
        format!(
            "{}/{}/{}",
            host().unwrap_or_else(|| "host".into()),
            std::process::id(),
            crate::audit::hex(&nonce)
        )
    })
}

/// The host's name, if it has one.
pub fn host() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned()).filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_name_for_the_process_with_its_nonce() {
        let id = super::id();
        assert_eq!(id, super::id());
        let parts: Vec<&str> = id.rsplitn(3, '/').collect();
        assert_eq!(parts.len(), 3, "{id}");
        assert_eq!(parts[0].len(), 8, "{id}");
        assert_eq!(parts[1], std::process::id().to_string());
    }
}
