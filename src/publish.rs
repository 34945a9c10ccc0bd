//! Published artefacts on disk: `<public>/<year>/<plan>/manifest.json`, `draw.json`, each with a
//! `sha256sum`-style `.sha256` beside it. Files are written whole or not at all (temporary file,
//! fsync, rename), so a reader never sees half a document. The database keeps every document's
//! bytes, so a file lost to a crash between commit and write is written again from there.

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn plan_dir(public: &Path, year: i64, plan_id: &str) -> PathBuf {
    public.join(year.to_string()).join(plan_id)
}

/// Writes `<dir>/<name>.json` and `<dir>/<name>.sha256`; returns the document's path.
pub fn write_document(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let json = dir.join(format!("{name}.json"));
    let digest = crate::audit::sha256_hex(bytes);
    write_atomic(&json, bytes)?;
    write_atomic(
        &dir.join(format!("{name}.sha256")),
        format!("{digest}  {name}.json\n").as_bytes(),
    )?;
    Ok(json)
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
