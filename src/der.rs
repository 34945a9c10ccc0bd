//! A small reader and writer of DER (ITU-T X.690), enough for what suiji reads of RFC 3161
//! tokens (`timestamp`) and of X.509 certificates (`tls`): elements with one-byte tags and
//! lengths up to 4 bytes. Every read is bounded by its input; nothing is trusted here.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DerError(pub String);

impl DerError {
    fn new(reason: impl Into<String>) -> DerError {
        DerError(reason.into())
    }
}

/// One DER element: its tag, its content, and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub struct Der<'a> {
    pub tag: u8,
    pub body: &'a [u8],
    pub raw: &'a [u8],
}

/// Reads the element at the start of `input`; returns it and what follows.
pub fn read(input: &[u8]) -> Result<(Der<'_>, &[u8]), DerError> {
    let (&tag, rest) = input
        .split_first()
        .ok_or_else(|| DerError::new("truncated"))?;
    if tag & 0x1f == 0x1f {
        return Err(DerError::new("multi-byte tags are not used here"));
    }
    let (&first, rest) = rest
        .split_first()
        .ok_or_else(|| DerError::new("truncated length"))?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(DerError::new("bad length"));
        }
        let len = rest[..n].iter().fold(0usize, |a, &b| (a << 8) | b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(DerError::new("truncated element"));
    }
    let header = input.len() - rest.len();
    Ok((
        Der {
            tag,
            body: &rest[..len],
            raw: &input[..header + len],
        },
        &rest[len..],
    ))
}

/// The elements inside a constructed element, in order.
pub fn children(d: Der<'_>) -> Result<Vec<Der<'_>>, DerError> {
    let mut out = Vec::new();
    let mut rest = d.body;
    while !rest.is_empty() {
        let (e, r) = read(rest)?;
        out.push(e);
        rest = r;
    }
    Ok(out)
}

pub fn expect<'a>(d: Option<&Der<'a>>, tag: u8, what: &str) -> Result<Der<'a>, DerError> {
    match d {
        Some(d) if d.tag == tag => Ok(*d),
        _ => Err(DerError::new(format!("{what} is missing or malformed"))),
    }
}

pub fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = body.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(body);
    out
}
