//! ADLER32, the checksum Rucio and FTS agree on, and the `ALG:hex` form they exchange it in.

/// The modulus of both ADLER32 sums: the largest prime below 2^16.
const MOD: u32 = 65_521;

/// The most bytes that can be summed before `b` may overflow a `u32` (zlib's NMAX).
const CHUNK: usize = 5_552;

/// A running ADLER32 (RFC 1950) over a stream of byte slices.
#[derive(Debug, Clone, Copy)]
pub struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Self { a: 1, b: 0 }
    }
}

impl Adler32 {
    /// Adds `bytes` to the sum.
    pub fn update(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(CHUNK) {
            for &byte in chunk {
                self.a += u32::from(byte);
                self.b += self.a;
            }
            self.a %= MOD;
            self.b %= MOD;
        }
    }

    /// The checksum of everything added so far.
    pub fn value(&self) -> u32 {
        (self.b << 16) | self.a
    }

    /// The checksum as Rucio stores it: eight lowercase hex digits.
    pub fn hex(&self) -> String {
        format!("{:08x}", self.value())
    }
}

/// The ADLER32 of one buffer.
pub fn adler32(bytes: &[u8]) -> u32 {
    let mut sum = Adler32::default();
    sum.update(bytes);
    sum.value()
}

/// A checksum as FTS receives it: `ADLER32:0cc737eb`, or the algorithm alone (`ADLER32`),
/// which asks FTS to compute the checksum and compare source with destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChecksum {
    /// The algorithm, upper-cased (`ADLER32`, `MD5`, ...).
    pub algorithm: String,
    /// The expected value, lower-cased, when one was given.
    pub value: Option<String>,
}

impl UserChecksum {
    /// Parses `ALG[:value]`; the algorithm is case-insensitive, as in FTS.
    pub fn parse(text: &str) -> Self {
        match text.split_once(':') {
            Some((alg, value)) if !value.is_empty() => Self {
                algorithm: alg.trim().to_ascii_uppercase(),
                value: Some(value.trim().to_ascii_lowercase()),
            },
            Some((alg, _)) => Self {
                algorithm: alg.trim().to_ascii_uppercase(),
                value: None,
            },
            None => Self {
                algorithm: text.trim().to_ascii_uppercase(),
                value: None,
            },
        }
    }

    /// Whether an ADLER32 `value` matches; leading zeros may be omitted, as some
    /// catalogues do.
    pub fn adler32_matches(&self, value: u32) -> Option<bool> {
        if self.algorithm != "ADLER32" {
            return None;
        }
        let expected = self.value.as_deref()?;
        Some(u32::from_str_radix(expected, 16).ok() == Some(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"a"), 0x0062_0062);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(adler32(b"abcdefghijklmnopqrstuvwxyz"), 0x9086_0b20);
    }

    #[test]
    fn streaming_equals_one_shot_across_chunk_boundaries() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut sum = Adler32::default();
        for piece in data.chunks(4_097) {
            sum.update(piece);
        }
        assert_eq!(sum.value(), adler32(&data));
        let all_ff = vec![0xffu8; 1 << 20];
        let mut sum = Adler32::default();
        sum.update(&all_ff);
        // Reference value from zlib for one MiB of 0xff: the worst case for overflow.
        assert_eq!(sum.hex(), "8e88ef11");
    }

    #[test]
    fn user_checksum_forms() {
        let full = UserChecksum::parse("adler32:0CC737EB");
        assert_eq!(full.algorithm, "ADLER32");
        assert_eq!(full.value.as_deref(), Some("0cc737eb"));
        assert_eq!(full.adler32_matches(0x0cc7_37eb), Some(true));
        assert_eq!(
            UserChecksum::parse("ADLER32:cc737eb").adler32_matches(0x0cc7_37eb),
            Some(true)
        );
        assert_eq!(
            UserChecksum::parse("ADLER32:00000001").adler32_matches(2),
            Some(false)
        );
        assert_eq!(UserChecksum::parse("ADLER32").value, None);
        assert_eq!(UserChecksum::parse("MD5:abc").adler32_matches(1), None);
    }
}
