//! Memoize version strings (FC-2.5.1): the first 6 characters of standard base64 of a
//! uuid4's 16 bytes, drawn from a seeded generator so that runs are reproducible.

use base64::Engine as _;

/// A 6-character version string, held inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version([u8; 6]);

impl Version {
    /// `base64.b64encode(uuid_bytes)[:6]`.
    pub fn from_uuid_bytes(bytes: &[u8; 16]) -> Self {
        let mut text = [0u8; 8];
        // 6 input bytes encode to exactly 8 characters; the first 6 are the version.
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(&bytes[..6], &mut text)
            .unwrap_or(0);
        debug_assert_eq!(written, 8);
        let mut v = [0u8; 6];
        v.copy_from_slice(&text[..6]);
        Version(v)
    }

    /// The version text (always ASCII base64 characters).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// Parses a recorded version string (exactly 6 standard-base64 characters).
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 6] = text.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
            .then_some(Version(bytes))
    }
}

impl std::fmt::Debug for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Version({})", self.as_str())
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Draws uuid4-shaped random bytes from a seed (SplitMix64: tiny, fast, and fully
/// determined by the seed; cryptographic quality is not needed for cache versions).
#[derive(Clone, Debug)]
pub struct VersionGenerator {
    state: u64,
}

impl VersionGenerator {
    /// A generator whose sequence is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        VersionGenerator { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next `uuid.uuid4().bytes`: 16 random bytes with the version nibble set to 4 and
    /// the RFC 4122 variant bits set to `10`.
    pub fn next_uuid_bytes(&mut self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        bytes
    }

    /// The next version string.
    pub fn next_version(&mut self) -> Version {
        Version::from_uuid_bytes(&self.next_uuid_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uuid(hex: &str) -> [u8; 16] {
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or(0);
        }
        out
    }

    /// The three UUIDs of FC-2.5.1, whose versions were measured with the real library.
    #[test]
    fn versions_match_the_measured_examples() {
        let cases = [
            ("0123456789abcdef0123456789abcdef", "ASNFZ4"),
            ("fedcba9876543210fedcba9876543210", "/ty6mH"),
            ("00112233445566778899aabbccddeeff", "ABEiM0"),
        ];
        for (hex, version) in cases {
            assert_eq!(Version::from_uuid_bytes(&uuid(hex)).as_str(), version);
        }
    }

    #[test]
    fn generator_is_deterministic_and_uuid4_shaped() {
        let mut a = VersionGenerator::new(7);
        let mut b = VersionGenerator::new(7);
        for _ in 0..100 {
            let bytes = a.next_uuid_bytes();
            assert_eq!(bytes, b.next_uuid_bytes());
            assert_eq!(bytes[6] >> 4, 4);
            assert_eq!(bytes[8] >> 6, 2);
        }
        assert_ne!(
            VersionGenerator::new(1).next_version(),
            VersionGenerator::new(2).next_version()
        );
    }
}
