//! A check of a compound file (the OLE container of `.xls` workbooks and of encrypted `.xlsx`)
//! before calamine reads it. calamine follows sector chains without noticing a chain that loops
//! back on itself (it then appends the same sectors forever: out of memory, or a hang when they
//! are empty), a link past the end of its sector table, or a sector beyond the end of the file
//! (both panic). A file whose chains calamine will follow does any of that is refused here.
//!
//! The model follows calamine 0.38's `cfb.rs` step by step: the header, the DIFAT and the FAT,
//! the directory chain, the mini stream and mini FAT, and the streams calamine opens by name.
//! Anything calamine refuses by itself before touching a sector (signature, sector shift) is left
//! to it.

const MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// The streams calamine reads from a workbook (`xls.rs`): the sheets, then the properties.
const STREAMS: [&str; 4] = [
    "Workbook",
    "Book",
    "\u{5}SummaryInformation",
    "\u{5}DocumentSummaryInformation",
];

/// Whether the bytes are a compound file at all (the rest of the check only applies to them).
pub fn is_compound(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// Why calamine cannot safely read this compound file, if it cannot.
pub fn damage(bytes: &[u8]) -> Option<String> {
    check(bytes).err()
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2)
        .map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u32s(b: &[u8]) -> impl Iterator<Item = u32> + '_ {
    b.chunks_exact(4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Sectors of one size over a byte area (the file after its header, or the mini stream), with
/// calamine's bound on ids: past `maxid` calamine returns an error, which is safe.
struct Area<'a> {
    data: &'a [u8],
    size: usize,
    maxid: usize,
}

enum Step<'a> {
    /// calamine stops with an error of its own.
    Refused,
    Sector(&'a [u8]),
}

impl<'a> Area<'a> {
    fn get(&self, id: u32, what: &str) -> Result<Step<'a>, String> {
        let id = id as usize;
        if id > self.maxid {
            return Ok(Step::Refused);
        }
        let start = id * self.size;
        self.data
            .get(start..start + self.size)
            .map(Step::Sector)
            .ok_or_else(|| format!("{what} uses sector {id}, which lies past the end of the file"))
    }

    /// A chain's bytes as calamine's `get_chain` reads them (at most `len`), or `None` where
    /// calamine stops with an error. Refused if calamine would loop, or index past `table`.
    fn chain(
        &self,
        start: u32,
        table: &[u32],
        len: usize,
        what: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        let mut out = Vec::new();
        let mut id = start;
        let mut steps = 0usize;
        while id != ENDOFCHAIN {
            let Step::Sector(sector) = self.get(id, what)? else {
                return Ok(None);
            };
            let take = sector.len().min(len - out.len());
            out.extend_from_slice(&sector[..take]);
            if out.len() >= len {
                break;
            }
            steps += 1;
            if steps > table.len() {
                return Err(format!("the sector chain of {what} loops back on itself"));
            }
            id = *table.get(id as usize).ok_or_else(|| {
                format!("the sector chain of {what} links past the end of the sector table")
            })?;
        }
        Ok(Some(out))
    }
}

struct Entry {
    name: String,
    start: u32,
    len: usize,
}

fn check(bytes: &[u8]) -> Result<(), String> {
    if !is_compound(bytes) || bytes.len() < 512 {
        return Ok(());
    }
    let size = match u16_at(bytes, 30) {
        0x09 => 512,
        0x0C => 4096,
        _ => return Ok(()),
    };
    if u16_at(bytes, 32) != 0x06 || bytes.len() < size {
        return Ok(());
    }
    let version = u16_at(bytes, 26);
    let dir_start = u32_at(bytes, 48);
    let mini_fat_start = u32_at(bytes, 60);
    let mini_fat_len = u32_at(bytes, 64) as usize;
    let difat_start = u32_at(bytes, 68);
    let maxid = bytes.len() / size;
    let sectors = Area {
        data: &bytes[size..],
        size,
        maxid,
    };

    let mut difat: Vec<u32> = u32s(&bytes[76..512]).collect();
    let mut id = difat_start;
    let mut count = 0usize;
    while id < RESERVED_SECTORS {
        count += 1;
        if count > maxid.saturating_add(1) {
            return Ok(());
        }
        let Step::Sector(sector) = sectors.get(id, "the sector table")? else {
            return Ok(());
        };
        difat.extend(u32s(sector));
        match difat.pop() {
            Some(next) => id = next,
            None => return Ok(()),
        }
    }
    let mut fat = Vec::new();
    for id in difat.into_iter().filter(|id| *id < DIFSECT) {
        let Step::Sector(sector) = sectors.get(id, "the sector table")? else {
            return Ok(());
        };
        fat.extend(u32s(sector));
    }

    let Some(dirs) = sectors.chain(dir_start, &fat, usize::MAX, "the directory")? else {
        return Ok(());
    };
    let entries: Vec<Entry> = dirs
        .chunks_exact(128)
        .map(|d| {
            let (name, _, _) = encoding_rs::UTF_16LE.decode(&d[..64]);
            let name = name.split('\0').next().unwrap_or_default().to_string();
            let len = if size == 512 {
                u32_at(d, 120) as usize
            } else {
                usize::try_from(u64::from(u32_at(d, 120)) | u64::from(u32_at(d, 124)) << 32)
                    .unwrap_or(usize::MAX)
            };
            Entry {
                name,
                start: u32_at(d, 116),
                len,
            }
        })
        .collect();
    let Some(root) = entries.first() else {
        return Ok(());
    };
    if version != 3 && root.start == ENDOFCHAIN {
        return Ok(());
    }
    let (mini_fat, mini_stream) = if mini_fat_len > 0 {
        let Some(stream) = sectors.chain(root.start, &fat, root.len, "the mini stream")? else {
            return Ok(());
        };
        let Some(table) = sectors.chain(
            mini_fat_start,
            &fat,
            mini_fat_len.saturating_mul(size),
            "the mini sector table",
        )?
        else {
            return Ok(());
        };
        (u32s(&table).collect::<Vec<u32>>(), stream)
    } else {
        (Vec::new(), Vec::new())
    };
    let minis = Area {
        data: &mini_stream,
        size: 64,
        maxid: maxid * 8,
    };
    for name in STREAMS {
        let Some(e) = entries
            .iter()
            .find(|e| e.name.as_bytes().eq_ignore_ascii_case(name.as_bytes()))
        else {
            continue;
        };
        let what = format!("the stream {}", name.trim_start_matches('\u{5}'));
        if e.len < 4096 {
            minis.chain(e.start, &mini_fat, e.len, &what)?;
        } else {
            sectors.chain(e.start, &fat, e.len, &what)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compound file of 512-byte sectors: the header, then `sectors`.
    fn compound(fat: &[u32], dir_start: u32, sectors: &[[u8; 512]]) -> Vec<u8> {
        let mut header = [0u8; 512];
        header[..8].copy_from_slice(MAGIC);
        header[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
        header[26..28].copy_from_slice(&3u16.to_le_bytes());
        header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        header[30..32].copy_from_slice(&9u16.to_le_bytes());
        header[32..34].copy_from_slice(&6u16.to_le_bytes());
        header[44..48].copy_from_slice(&1u32.to_le_bytes());
        header[48..52].copy_from_slice(&dir_start.to_le_bytes());
        header[56..60].copy_from_slice(&4096u32.to_le_bytes());
        header[60..64].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        header[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        // DIFAT: the FAT is sector 0, no other.
        for (i, chunk) in header[76..].chunks_exact_mut(4).enumerate() {
            let id = if i == 0 { 0 } else { 0xFFFF_FFFF };
            chunk.copy_from_slice(&u32::to_le_bytes(id));
        }
        let mut fat_sector = [0xFFu8; 512];
        for (chunk, id) in fat_sector.chunks_exact_mut(4).zip(fat) {
            chunk.copy_from_slice(&id.to_le_bytes());
        }
        let mut out = header.to_vec();
        out.extend_from_slice(&fat_sector);
        for s in sectors {
            out.extend_from_slice(s);
        }
        out
    }

    /// Fuzzing finding (`cargo fuzz run table`, a 5.6 KB file named `.xlsx` that was a
    /// compound file): its directory chain looped, and calamine's `Cfb::new`, which every
    /// `.xlsx` goes through to spot a password-protected workbook, appended the same sectors
    /// until the process ran out of memory (a 2 GB allocation).
    #[test]
    fn a_looping_directory_chain_is_refused() {
        // FAT: sector 0 is the FAT itself, the directory is sector 1 linking back to itself.
        let looped = compound(&[0xFFFF_FFFD, 1], 1, &[[0; 512]]);
        assert_eq!(
            damage(&looped).as_deref(),
            Some("the sector chain of the directory loops back on itself")
        );
        let ended = compound(&[0xFFFF_FFFD, ENDOFCHAIN], 1, &[[0; 512]]);
        assert_eq!(damage(&ended), None);
        // A link past the sector table, and a sector past the end of the file, panic calamine.
        let mut far = compound(&[0xFFFF_FFFD, 1], 1, &[[0; 512]]);
        far[512 + 4..512 + 8].copy_from_slice(&200u32.to_le_bytes());
        far.extend(std::iter::repeat_n(0, 512 * 200));
        assert_eq!(
            damage(&far).as_deref(),
            Some("the sector chain of the directory links past the end of the sector table")
        );
        let short = compound(&[0xFFFF_FFFD, 2], 1, &[[0; 512]]);
        let short = &short[..short.len() + 100 - 512];
        assert!(
            damage(short).is_some_and(|d| d.contains("past the end of the file")),
            "{:?}",
            damage(short)
        );
        // Not a compound file, or one calamine refuses by its header: not this check's business.
        assert_eq!(damage(b"PK\x03\x04"), None);
        assert_eq!(damage(&looped[..300]), None);
    }
}
