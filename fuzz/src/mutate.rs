//! Deterministic, structure-aware mutations of valid inputs, for the bounded run in
//! `cargo test`.
//!
//! libFuzzer explores by coverage; this module instead aims at the places where
//! decoders of this workspace are known to go wrong: length fields (CompactSize
//! prefixes, u16 bundle lengths, decimal sizes), boundaries (truncations, one byte
//! more), separators of the text formats (newlines, spaces, `+`, `/`, `.p/`), and
//! pieces of one valid input inside another (splices). Everything is seeded, so a
//! failure names a case that reproduces on every machine.

/// A small deterministic generator (SplitMix64): the same seed gives the same cases.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// A generator seeded from a name (FNV-1a), so that each target has its own cases.
    pub fn from_name(name: &str) -> Rng {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // The modulo bias is irrelevant for test-case generation.
        (self.next_u64() % n as u64) as usize
    }

    /// One element of a non-empty slice.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }
}

/// Bytes that end or start fields in the formats under test, and the boundary values
/// of the binary length prefixes.
const INTERESTING: &[u8] = &[
    0x00, 0x01, 0x02, 0x7f, 0x80, 0xfc, 0xfd, 0xfe, 0xff, b'\n', b' ', b'+', b'/', b'.', b'=',
    b'0', b'1', b'9', b'x', b'p', b'-', 0xe2, 0x80, 0x94,
];

/// Byte strings worth inserting: CompactSize prefixes of every width, oversized
/// and non-canonical ones, big decimal numbers, pieces of the text formats, and
/// JSON values of the wrong type.
const TOKENS: &[&[u8]] = &[
    &[0xfd, 0xfc, 0x00],
    &[0xfd, 0xff, 0xff],
    &[0xfe, 0xff, 0xff, 0xff, 0xff],
    &[0xfe, 0x00, 0x00, 0x01, 0x00],
    &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    &[0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00],
    &[0xff, 0xff],
    b"18446744073709551615",
    b"18446744073709551616",
    b"00",
    b"-1",
    b"\n\n",
    "\n\u{2014} ".as_bytes(),
    b".p/",
    b".p/256",
    b"x000/",
    b"entries/",
    b"+00000000+",
    b"AAAA",
    b"===",
    b"null",
    b"[]",
    b"{}",
    b"1e400",
    b"\"\"",
    b"true",
    b"4294967296",
];

/// One mutation of `input`, possibly using `others` (other valid inputs of the same
/// kind) for splices. Applies one to three edits.
pub fn mutate(input: &[u8], others: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut out = input.to_vec();
    let edits = 1 + rng.below(3);
    for _ in 0..edits {
        edit(&mut out, others, rng);
    }
    out
}

fn edit(out: &mut Vec<u8>, others: &[Vec<u8>], rng: &mut Rng) {
    let len = out.len();
    match rng.below(14) {
        // Flip one bit.
        0 => {
            if let Some(b) = out.get_mut(rng.below(len)) {
                *b ^= 1 << rng.below(8);
            }
        }
        // Set one byte to a boundary or separator value.
        1 => {
            let v = rng.pick(INTERESTING).copied().unwrap_or(0);
            if let Some(b) = out.get_mut(rng.below(len)) {
                *b = v;
            }
        }
        // Nudge one byte by one: off-by-one lengths, counts and digits.
        2 => {
            let up = rng.below(2) == 0;
            if let Some(b) = out.get_mut(rng.below(len)) {
                *b = if up {
                    b.wrapping_add(1)
                } else {
                    b.wrapping_sub(1)
                };
            }
        }
        // Truncate.
        3 => out.truncate(rng.below(len)),
        // Delete a short range.
        4 => {
            let at = rng.below(len);
            let n = (1 + rng.below(8)).min(len - at.min(len));
            out.drain(at..at + n);
        }
        // Insert a token (a length prefix, a separator, a number) at some position.
        5 => {
            let token = rng.pick(TOKENS).copied().unwrap_or_default();
            let at = rng.below(len + 1);
            out.splice(at..at, token.iter().copied());
        }
        // Overwrite with a token: replaces a length field in place.
        6 => {
            let token = rng.pick(TOKENS).copied().unwrap_or_default();
            let at = rng.below(len);
            let end = (at + token.len()).min(len);
            out.splice(at..end, token.iter().copied());
        }
        // Duplicate a range (a repeated item, line or field).
        7 => {
            let at = rng.below(len);
            let n = 1 + rng.below(len - at.min(len) + 1);
            let piece: Vec<u8> = out.get(at..(at + n).min(len)).unwrap_or_default().to_vec();
            let to = rng.below(len + 1);
            out.splice(to..to, piece);
        }
        // Splice: this input's head with another valid input's tail.
        8 => {
            if let Some(other) = rng.pick(others) {
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                out.truncate(cut);
                out.extend_from_slice(other.get(from..).unwrap_or_default());
            }
        }
        // Append a few bytes (trailing data).
        9 => {
            let n = 1 + rng.below(4);
            for _ in 0..n {
                out.push(rng.pick(INTERESTING).copied().unwrap_or(0));
            }
        }
        // Line edits for the text formats: drop, repeat or swap lines.
        10 => line_edit(out, rng),
        // Write a small byte as a longer CompactSize of the same value (0xfd, 0xfe
        // or 0xff prefix): a non-canonical length that must be refused.
        11 => widen(out, rng),
        // A leading zero before a decimal number: a non-canonical size or index.
        12 => {
            let digits: Vec<usize> = (0..len)
                .filter(|&i| out.get(i).is_some_and(u8::is_ascii_digit))
                .collect();
            if let Some(&at) = rng.pick(&digits) {
                out.insert(at, b'0');
            }
        }
        // Increment or decrement a decimal number written in the text.
        _ => number_edit(out, rng),
    }
}

fn widen(out: &mut Vec<u8>, rng: &mut Rng) {
    let at = rng.below(out.len());
    let Some(&b) = out.get(at) else {
        return;
    };
    if b >= 0xfd {
        return;
    }
    let wide: &[u8] = match rng.below(3) {
        0 => &[0xfd, b, 0],
        1 => &[0xfe, b, 0, 0, 0],
        _ => &[0xff, b, 0, 0, 0, 0, 0, 0, 0],
    };
    out.splice(at..=at, wide.iter().copied());
}

fn line_edit(out: &mut Vec<u8>, rng: &mut Rng) {
    let mut lines: Vec<Vec<u8>> = out.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len();
    let i = rng.below(n);
    match rng.below(3) {
        0 => {
            if i < n {
                lines.remove(i);
            }
        }
        1 => {
            if let Some(line) = lines.get(i).cloned() {
                lines.insert(i, line);
            }
        }
        _ => {
            let j = rng.below(n);
            if i < n && j < n {
                lines.swap(i, j);
            }
        }
    }
    *out = lines.join(&b'\n');
}

fn number_edit(out: &mut [u8], rng: &mut Rng) {
    let digits: Vec<usize> = (0..out.len())
        .filter(|&i| out.get(i).is_some_and(u8::is_ascii_digit))
        .collect();
    let Some(&at) = rng.pick(&digits) else {
        return;
    };
    // Change the last digit of the run, carrying nothing: 9 -> 0, 0 -> 9.
    let mut end = at;
    while out.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    if let Some(d) = out.get_mut(end) {
        *d = if rng.below(2) == 0 {
            if *d == b'9' { b'0' } else { *d + 1 }
        } else if *d == b'0' {
            b'9'
        } else {
            *d - 1
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let seed = b"c2sp.org/tlog-proof@v1\nindex 5\n".to_vec();
        let mut a = Rng::from_name("x");
        let mut b = Rng::from_name("x");
        for _ in 0..200 {
            assert_eq!(
                mutate(&seed, std::slice::from_ref(&seed), &mut a),
                mutate(&seed, std::slice::from_ref(&seed), &mut b)
            );
        }
    }

    #[test]
    fn mutations_change_inputs_of_every_size() {
        let mut rng = Rng::new(1);
        // Most edits of an empty input have nothing to work on; the inserting ones do.
        for (len, least) in [(0usize, 20), (1, 50), (2, 50), (80, 50)] {
            let seed = vec![7u8; len];
            let changed = (0..100)
                .filter(|_| mutate(&seed, &[], &mut rng) != seed)
                .count();
            assert!(
                changed > least,
                "only {changed} of 100 mutations of {len} bytes changed"
            );
        }
    }
}
