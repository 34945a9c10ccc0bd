//! A CSV file's text as a stream: its bytes read from the one file first opened, decoded to
//! UTF-8 a block at a time, and the places of its line breaks noted as the CSV reader takes
//! them. Nothing here holds more than a block of the file, however large it is.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::sync::Arc;

/// Bytes of the file decoded per step.
const BLOCK: usize = 1 << 16;

/// Where a CSV file's bytes come from. They are read more than once (the checks, then the
/// rows), always from the same open file: a file replaced under its name meanwhile is not
/// mixed into the one being read.
#[derive(Clone)]
pub(super) struct Origin(pub(super) Arc<std::fs::File>);

impl Origin {
    /// The bytes from `start` on.
    pub(super) fn from(&self, start: u64) -> Box<dyn Read + Send + Sync> {
        Box::new(At {
            file: self.0.clone(),
            pos: start,
        })
    }

    /// The first bytes, at most `n`.
    pub(super) fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let mut head = Vec::with_capacity(n);
        self.from(0).take(n as u64).read_to_end(&mut head)?;
        Ok(head)
    }

    pub(super) fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

/// An open file read from a position of its own (positioned reads leave the handle shared).
struct At {
    file: Arc<std::fs::File>,
    pos: u64,
}

impl Read for At {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// A text's bytes as UTF-8: UTF-8 checked as it passes, any other encoding converted. A byte
/// the encoding does not allow ends the stream with an `InvalidData` error, after every good
/// byte before it has been handed out; [`Decoded::bad_at`] then says at which byte of the
/// UTF-8 output it stopped.
pub(super) struct Decoded {
    inner: Box<dyn Read + Send + Sync>,
    /// None: the text is UTF-8 already.
    decoder: Option<encoding_rs::Decoder>,
    /// The end of a UTF-8 sequence cut by the block's end, kept for the next block.
    carry: Vec<u8>,
    out: Vec<u8>,
    pos: usize,
    /// Bytes taken from the file, and bytes handed out.
    taken: u64,
    handed: u64,
    ended: bool,
    bad_at: Option<u64>,
    /// The digest of every byte taken, when asked for (see [`Decoded::digest`]).
    hasher: Option<sha2::Sha256>,
}

impl Decoded {
    pub(super) fn new(
        inner: Box<dyn Read + Send + Sync>,
        encoding: Option<&'static encoding_rs::Encoding>,
    ) -> Decoded {
        Decoded {
            inner,
            decoder: encoding.map(|e| e.new_decoder_without_bom_handling()),
            carry: Vec::new(),
            out: Vec::new(),
            pos: 0,
            taken: 0,
            handed: 0,
            ended: false,
            bad_at: None,
            hasher: None,
        }
    }

    /// Also hashes the file's bytes as they are taken, `skipped` (the byte-order mark the
    /// stream starts after) first.
    pub(super) fn hashed(mut self, skipped: &[u8]) -> Decoded {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        hasher.update(skipped);
        self.hasher = Some(hasher);
        self
    }

    /// The SHA-256 of the whole file, once the stream has ended well: what was read is then
    /// known to be the file its digest was recorded for.
    pub(super) fn digest(&self) -> Option<String> {
        use sha2::Digest;
        let hasher = self
            .hasher
            .as_ref()
            .filter(|_| self.ended && self.bad_at.is_none())?;
        Some(crate::audit::hex(&hasher.clone().finalize()))
    }

    /// Where the text stopped being valid, as a byte offset of the UTF-8 handed out.
    pub(super) fn bad_at(&self) -> Option<u64> {
        self.bad_at
    }

    /// Bytes taken from the file so far.
    pub(super) fn taken(&self) -> u64 {
        self.taken
    }

    /// Decodes the next block into `out`.
    fn fill(&mut self) -> io::Result<()> {
        let mut block = std::mem::take(&mut self.carry);
        let had = block.len();
        block.resize(had + BLOCK, 0);
        let n = self.inner.read(&mut block[had..])?;
        block.truncate(had + n);
        self.taken += n as u64;
        if let Some(h) = &mut self.hasher {
            sha2::Digest::update(h, &block[had..]);
        }
        let last = n == 0;
        self.out = match &mut self.decoder {
            None => match std::str::from_utf8(&block) {
                Ok(_) => block,
                Err(e) => {
                    let valid = e.valid_up_to();
                    if e.error_len().is_none() && !last {
                        self.carry = block.split_off(valid);
                    } else {
                        self.bad_at = Some(self.handed + valid as u64);
                    }
                    block.truncate(valid);
                    block
                }
            },
            Some(decoder) => {
                let room = decoder
                    .max_utf8_buffer_length(block.len())
                    .unwrap_or(block.len() * 3 + 16);
                let mut out = vec![0; room];
                let (result, _, written) =
                    decoder.decode_to_utf8_without_replacement(&block, &mut out, last);
                out.truncate(written);
                if matches!(result, encoding_rs::DecoderResult::Malformed(..)) {
                    self.bad_at = Some(self.handed + written as u64);
                }
                out
            }
        };
        self.pos = 0;
        self.handed += self.out.len() as u64;
        self.ended = last;
        Ok(())
    }
}

impl Read for Decoded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.out.len() {
            if self.bad_at.is_some() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "bytes the file's encoding does not allow",
                ));
            }
            if self.ended {
                return Ok(0);
            }
            self.fill()?;
        }
        let n = buf.len().min(self.out.len() - self.pos);
        buf[..n].copy_from_slice(&self.out[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The text as the CSV reader takes it, with the places of its line breaks (CR and LF) not yet
/// counted: enough to tell a record's line without keeping the text.
pub(super) struct Breaks {
    inner: Decoded,
    at: u64,
    /// Each break read and not yet counted: where, and whether it is an LF.
    pending: VecDeque<(u64, bool)>,
    line: u64,
}

impl Breaks {
    pub(super) fn new(inner: Decoded) -> Breaks {
        Breaks {
            inner,
            at: 0,
            pending: VecDeque::new(),
            line: 1,
        }
    }

    pub(super) fn decoded(&self) -> &Decoded {
        &self.inner
    }

    /// The line of the record at `byte`, as an editor shows it. The CSV reader's own count is
    /// wrong after a blank line and after every CRLF (Excel's CSV on Windows): it notes where
    /// a record starts before skipping the line breaks in front of it. So the breaks right at
    /// `byte` count as before the record (a record never starts with one: a value holding a
    /// line break is quoted). Records come in order, so each break is counted once.
    pub(super) fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = byte;
        while let Some(&(at, lf)) = self.pending.front() {
            if at > start {
                break;
            }
            if at == start {
                start += 1;
            }
            self.line += u64::from(lf);
            self.pending.pop_front();
        }
        self.line
    }
}

impl Read for Breaks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if matches!(b, b'\r' | b'\n') {
                self.pending.push_back((self.at + i as u64, *b == b'\n'));
            }
        }
        self.at += n as u64;
        Ok(n)
    }
}

/// Where a quoted value opens and never closes, if one does, found as the text streams past.
/// The CSV reader takes the rest of the file as that one value without a word, and the rows it
/// swallowed would only show up as empty cells; the scan follows the reader's rules (a quote is
/// special only at the start of a value; `""` inside quotes is a quote). Only ASCII bytes
/// matter, and in UTF-8 those never occur inside another character.
pub(super) struct Quotes {
    delimiter: u8,
    /// The line of the next byte.
    pub(super) line: u64,
    open_on: Option<u64>,
    at_start: bool,
    /// Inside quotes, a quote was just read: a second one makes it a literal quote.
    closing: bool,
}

impl Quotes {
    pub(super) fn new(delimiter: u8) -> Quotes {
        Quotes {
            delimiter,
            line: 1,
            open_on: None,
            at_start: true,
            closing: false,
        }
    }

    pub(super) fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.closing {
                self.closing = false;
                if b == b'"' {
                    continue;
                }
                self.open_on = None;
                self.at_start = false;
            }
            if self.open_on.is_some() {
                self.closing = b == b'"';
            } else if b == b'"' && self.at_start {
                self.open_on = Some(self.line);
                self.at_start = false;
            } else {
                self.at_start = b == self.delimiter || b == b'\n' || b == b'\r';
            }
            if b == b'\n' {
                self.line += 1;
            }
        }
    }

    /// The line of a quote left open at the end of the text.
    pub(super) fn unclosed(&self) -> Option<u64> {
        self.open_on.filter(|_| !self.closing)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    fn decode_all(bytes: &[u8], enc: Option<&'static encoding_rs::Encoding>) -> (Vec<u8>, bool) {
        let origin = Origin(Arc::new(temp_file(bytes)));
        let mut d = Decoded::new(origin.from(0), enc);
        let mut out = Vec::new();
        let ok = d.read_to_end(&mut out).is_ok();
        (out, ok)
    }

    /// An open file holding `bytes`, already unlinked.
    pub(in crate::import) fn temp_file(bytes: &[u8]) -> std::fs::File {
        use std::io::{Seek, Write};
        let mut f = tempfile::tempfile().expect("a temporary file");
        f.write_all(bytes).expect("written");
        f.rewind().expect("rewound");
        f
    }

    #[test]
    fn utf8_cut_by_blocks_decodes_and_bad_bytes_stop_after_the_good_ones() {
        // A three-byte character across every block boundary.
        let text = "字".repeat(BLOCK);
        assert_eq!(
            decode_all(text.as_bytes(), None),
            (text.clone().into_bytes(), true)
        );
        let mut bad = text.clone().into_bytes();
        bad.truncate(bad.len() - 1);
        let (out, ok) = decode_all(&bad, None);
        assert!(!ok);
        assert_eq!(out.len(), bad.len() - 2);
        let gbk = encoding_rs::GBK.encode(&text).0;
        assert_eq!(
            decode_all(&gbk, Some(encoding_rs::GB18030)),
            (text.into_bytes(), true)
        );
    }

    #[test]
    fn quotes_across_feeds_match_one_feed() {
        let text = b"a,\"b\"\"\nc\",d\n\"e\n";
        let mut whole = Quotes::new(b',');
        whole.feed(text);
        let mut bytewise = Quotes::new(b',');
        for b in text {
            bytewise.feed(&[*b]);
        }
        assert_eq!(whole.unclosed(), Some(3));
        assert_eq!(bytewise.unclosed(), Some(3));
        let mut closed = Quotes::new(b',');
        closed.feed(b"a,\"b\"");
        assert_eq!(closed.unclosed(), None);
    }
}
