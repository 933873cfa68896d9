//! The hash methods Flask-Caching accepts (`SUPPORTED_HASH_FUNCTIONS`), dispatched over
//! RustCrypto's implementations.

use crate::error::KeyError;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// One of `hashlib.md5`, `sha1`, `sha224`, `sha256`, `sha384`, `sha512`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashMethod {
    /// `hashlib.md5` (the ≤2.4.1 default).
    Md5,
    /// `hashlib.sha1`.
    Sha1,
    /// `hashlib.sha224`.
    Sha224,
    /// `hashlib.sha256` (the 2.5 default, `CACHE_HASH_METHOD`).
    Sha256,
    /// `hashlib.sha384`.
    Sha384,
    /// `hashlib.sha512`.
    Sha512,
}

impl HashMethod {
    /// Every supported method.
    pub const ALL: [HashMethod; 6] = [
        HashMethod::Md5,
        HashMethod::Sha1,
        HashMethod::Sha224,
        HashMethod::Sha256,
        HashMethod::Sha384,
        HashMethod::Sha512,
    ];

    /// The hashlib name (`md5`, `sha256`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            HashMethod::Md5 => "md5",
            HashMethod::Sha1 => "sha1",
            HashMethod::Sha224 => "sha224",
            HashMethod::Sha256 => "sha256",
            HashMethod::Sha384 => "sha384",
            HashMethod::Sha512 => "sha512",
        }
    }

    /// Parses a hashlib name; anything else is [`KeyError::UnknownHashMethod`].
    pub fn parse(name: &str) -> Result<Self, KeyError> {
        let bare = name.strip_prefix("hashlib.").unwrap_or(name);
        HashMethod::ALL
            .into_iter()
            .find(|m| m.as_str() == bare)
            .ok_or_else(|| KeyError::UnknownHashMethod(name.to_owned()))
    }

    /// A fresh hasher (`hashlib.<name>()`).
    pub fn hasher(self) -> Hasher {
        match self {
            HashMethod::Md5 => Hasher::Md5(Md5::new()),
            HashMethod::Sha1 => Hasher::Sha1(Sha1::new()),
            HashMethod::Sha224 => Hasher::Sha224(Sha224::new()),
            HashMethod::Sha256 => Hasher::Sha256(Sha256::new()),
            HashMethod::Sha384 => Hasher::Sha384(Sha384::new()),
            HashMethod::Sha512 => Hasher::Sha512(Sha512::new()),
        }
    }
}

/// A running hash: `update` any number of times, then read the digest.
#[derive(Clone)]
pub enum Hasher {
    /// md5
    Md5(Md5),
    /// sha1
    Sha1(Sha1),
    /// sha224
    Sha224(Sha224),
    /// sha256
    Sha256(Sha256),
    /// sha384
    Sha384(Sha384),
    /// sha512
    Sha512(Sha512),
}

/// A finished digest (at most 64 bytes, held inline).
pub struct DigestBytes {
    bytes: [u8; 64],
    len: usize,
}

impl DigestBytes {
    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// Appends `hexdigest()` (lowercase).
    pub fn write_hex(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for &b in self.as_bytes() {
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }

    /// Appends `base64.b64encode(digest)[:16]`: the memoize key body (FC-2.1). Every
    /// supported digest has at least 12 bytes, which encode to exactly 16 characters.
    pub fn write_b64_16(&self, out: &mut String) {
        let at = out.len();
        self.insert_b64_16(out, at);
    }

    /// Inserts `base64.b64encode(digest)[:16]` at byte `at` of `out` (as
    /// [`DigestBytes::write_b64_16`]).
    pub fn insert_b64_16(&self, out: &mut String, at: usize) {
        let mut head = [0u8; 12];
        let n = self.len.min(12);
        head[..n].copy_from_slice(&self.bytes[..n]);
        let text = b64_head(&head);
        // base64 is ASCII, so the text is always UTF-8.
        if let (Ok(text), true) = (std::str::from_utf8(&text), out.is_char_boundary(at)) {
            out.insert_str(at, text);
        }
    }
}

/// Standard base64 of 12 bytes: exactly 16 characters, no padding. Written out because it
/// runs on every memoize key, where the general encoder's setup costs more than the
/// encoding (checked against the `base64` crate in the tests).
fn b64_head(bytes: &[u8; 12]) -> [u8; 16] {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut text = [0u8; 16];
    for (group, out) in bytes.chunks_exact(3).zip(text.chunks_exact_mut(4)) {
        let n = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
        for (i, c) in out.iter_mut().enumerate() {
            *c = ALPHABET[(n >> (18 - 6 * i) & 63) as usize];
        }
    }
    text
}

impl Hasher {
    /// `h.update(data)`.
    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
        }
    }

    /// `h.digest()`.
    pub fn finish(self) -> DigestBytes {
        fn copy(src: &[u8]) -> DigestBytes {
            let mut bytes = [0u8; 64];
            bytes[..src.len()].copy_from_slice(src);
            DigestBytes {
                bytes,
                len: src.len(),
            }
        }
        match self {
            Hasher::Md5(h) => copy(&h.finalize()),
            Hasher::Sha1(h) => copy(&h.finalize()),
            Hasher::Sha224(h) => copy(&h.finalize()),
            Hasher::Sha256(h) => copy(&h.finalize()),
            Hasher::Sha384(h) => copy(&h.finalize()),
            Hasher::Sha512(h) => copy(&h.finalize()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_rejects_unknown() {
        assert_eq!(HashMethod::parse("sha256"), Ok(HashMethod::Sha256));
        assert_eq!(HashMethod::parse("hashlib.md5"), Ok(HashMethod::Md5));
        assert_eq!(
            HashMethod::parse("blake2b"),
            Err(KeyError::UnknownHashMethod("blake2b".into()))
        );
    }

    #[test]
    fn base64_head_is_the_crate_encoding() {
        use base64::Engine as _;
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        for round in 0..5_000 {
            let mut bytes = [0u8; 12];
            for b in &mut bytes {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            // Edges: every byte 0x00, every byte 0xff.
            if round < 2 {
                bytes = [if round == 0 { 0 } else { 0xff }; 12];
            }
            let expected = base64::engine::general_purpose::STANDARD.encode(bytes);
            assert_eq!(b64_head(&bytes), expected.as_bytes(), "{bytes:?}");
        }
    }
}
