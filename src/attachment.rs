//! Files attached to a task (现场检查笔录 as PDF, photos as JPEG or PNG): what is accepted,
//! judged from the bytes themselves (never the name or the type a browser claims), the name
//! kept for people, and where a file lives: content-addressed by its SHA-256 under the data
//! folder, so the same file is stored once and the audit chain's digest names it. No IO.

use std::path::{Path, PathBuf};

/// What a file is, from its first bytes.
pub fn content_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

/// Why a file is refused, if it is: empty, larger than `max_bytes`, or not a PDF, JPEG or PNG.
pub fn check(bytes: &[u8], max_bytes: usize) -> Result<&'static str, crate::text::Refusal> {
    use crate::text::Refusal;
    if bytes.is_empty() {
        return Err(Refusal::new("the file is empty", "文件为空"));
    }
    if bytes.len() > max_bytes {
        return Err(Refusal::new(
            format!(
                "the file has {} bytes; at most {max_bytes} are accepted",
                bytes.len()
            ),
            format!("文件有 {} 字节，超过上限 {max_bytes} 字节", bytes.len()),
        ));
    }
    content_type(bytes).ok_or_else(|| {
        Refusal::new(
            "only PDF (现场检查笔录), JPEG and PNG (photos) are accepted, judged from the file's \
             content",
            "只接受 PDF（现场检查笔录）、JPEG 和 PNG（照片），按文件内容判断",
        )
    })
}

/// The name as people will see it: the last path component, without control or hidden
/// characters, at most 100 characters; "附件" if nothing is left.
pub fn clean_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let kept: String = last
        .chars()
        .filter(|c| !c.is_control() && !crate::text::hidden(*c))
        .take(100)
        .collect();
    let kept = kept.trim().trim_start_matches('.').to_string();
    if kept.is_empty() {
        "附件".into()
    } else {
        kept
    }
}

/// The SHA-256 of the bytes, hex.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    crate::audit::hex(&sha2::Sha256::digest(bytes))
}

/// Where a file of digest `sha256` lives under `data_dir` (None for anything but 64 hex
/// digits: a digest from a URL never walks the file system).
pub fn path(data_dir: &Path, sha256: &str) -> Option<PathBuf> {
    let ok = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    ok.then(|| data_dir.join("attachments").join(&sha256[..2]).join(sha256))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_judged_by_their_bytes() {
        assert_eq!(check(b"%PDF-1.7 ...", 100), Ok("application/pdf"));
        assert_eq!(check(&[0xFF, 0xD8, 0xFF, 0xE0], 100), Ok("image/jpeg"));
        assert!(check(b"<html><script>", 100).is_err());
        assert!(check(b"MZ\x90\x00", 100).is_err());
        assert!(check(b"", 100).is_err());
        assert!(check(b"%PDF-1.7 and more", 5).is_err());
    }

    #[test]
    fn names_and_paths_stay_inside() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\x\\笔录.pdf"), "笔录.pdf");
        assert_eq!(clean_name("a\u{202e}fdp.exe"), "afdp.exe");
        assert_eq!(clean_name(".."), "附件");
        assert!(path(Path::new("/d"), "../x").is_none());
        assert!(path(Path::new("/d"), &"A".repeat(64)).is_none());
        let d = digest(b"x");
        assert_eq!(
            path(Path::new("/d"), &d),
            Some(PathBuf::from(format!("/d/attachments/{}/{d}", &d[..2])))
        );
    }
}
