//! The canonical binary encoding: every byte that is hashed, signed or stored.
//!
//! Integers are little-endian and fixed-width; lengths are Bitcoin's CompactSize in its
//! shortest form only. Decoders check every length against its bound *and* against the
//! bytes that remain before they allocate, and [`decode_exact`] rejects trailing bytes.
//! Consensus types are encoded in `consensus.rs`, chain-state records in `records.rs`.

mod consensus;
mod records;

pub use records::{BlockStatus, Failure, IndexEntry, Validity};

use crate::error::DecodeError;

/// A value with one canonical byte encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// A value that can be read back from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from `r`, leaving `r` positioned after it.
    ///
    /// # Errors
    /// Any [`DecodeError`]: truncated input, non-canonical forms, lengths over bound.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Encodes `value` into a fresh vector.
pub fn encode_to_vec<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out);
    out
}

/// Decodes exactly one `T` from `bytes`.
///
/// # Errors
/// [`DecodeError::TrailingBytes`] if anything is left over, or the decoder's own error.
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let value = T::decode(&mut r)?;
    if r.remaining() != 0 {
        return Err(DecodeError::TrailingBytes {
            count: r.remaining(),
        });
    }
    Ok(value)
}

/// A cursor over untrusted bytes. Every read is bounds-checked.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Reads `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`] when fewer than `n` bytes remain.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::UnexpectedEnd {
                needed: n,
                remaining: self.buf.len(),
            });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Reads a fixed-size array.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// Reads one byte.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u16`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u32`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a little-endian `u64`.
    ///
    /// # Errors
    /// [`DecodeError::UnexpectedEnd`].
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a boolean byte, which must be 0 or 1.
    ///
    /// # Errors
    /// [`DecodeError::BadTag`] for any other byte.
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::BadTag { what: "bool", tag }),
        }
    }

    /// Reads a CompactSize in its shortest form.
    ///
    /// # Errors
    /// [`DecodeError::NonCanonicalLength`] for a longer-than-needed form.
    pub fn compact_size(&mut self) -> Result<u64, DecodeError> {
        let first = self.u8()?;
        let (value, min) = match first {
            0..=0xfc => return Ok(u64::from(first)),
            0xfd => (u64::from(self.u16()?), 0xfd),
            0xfe => (u64::from(self.u32()?), 0x1_0000),
            0xff => (self.u64()?, 0x1_0000_0000),
        };
        if value < min {
            return Err(DecodeError::NonCanonicalLength { value });
        }
        Ok(value)
    }

    /// Reads a length prefix for items of at least `min_item_size` bytes each, checking it
    /// against `max` and against the remaining input before anything is allocated.
    ///
    /// # Errors
    /// [`DecodeError::LengthOverBound`] or [`DecodeError::UnexpectedEnd`].
    pub fn length(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_size: usize,
    ) -> Result<usize, DecodeError> {
        let raw = self.compact_size()?;
        let len = usize::try_from(raw).unwrap_or(usize::MAX);
        if len > max {
            return Err(DecodeError::LengthOverBound {
                what,
                length: raw,
                max,
            });
        }
        let needed = len.saturating_mul(min_item_size);
        if needed > self.remaining() {
            return Err(DecodeError::UnexpectedEnd {
                needed,
                remaining: self.remaining(),
            });
        }
        Ok(len)
    }

    /// Reads a length-prefixed byte string of at most `max` bytes.
    ///
    /// # Errors
    /// As [`Reader::length`].
    pub fn var_bytes(&mut self, what: &'static str, max: usize) -> Result<Vec<u8>, DecodeError> {
        let len = self.length(what, max, 1)?;
        Ok(self.take(len)?.to_vec())
    }

    /// Reads a length-prefixed list of at most `max` items.
    ///
    /// # Errors
    /// As [`Reader::length`] and the item decoder.
    pub fn list<T: Decode>(
        &mut self,
        what: &'static str,
        max: usize,
        min_item_size: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let len = self.length(what, max, min_item_size)?;
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(T::decode(self)?);
        }
        Ok(items)
    }
}

/// Appends a CompactSize in its shortest form.
pub fn put_compact_size(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=0xfc => out.push(value as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(value as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// Appends a length-prefixed byte string.
pub fn put_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_compact_size(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a length-prefixed list.
pub fn put_list<T: Encode>(out: &mut Vec<u8>, items: &[T]) {
    put_compact_size(out, items.len() as u64);
    for item in items {
        item.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_size_matches_bitcoin_boundaries() {
        // Boundaries from Bitcoin's serialize.h WriteCompactSize.
        let cases: [(u64, &[u8]); 7] = [
            (0, &[0x00]),
            (0xfc, &[0xfc]),
            (0xfd, &[0xfd, 0xfd, 0x00]),
            (0xffff, &[0xfd, 0xff, 0xff]),
            (0x1_0000, &[0xfe, 0x00, 0x00, 0x01, 0x00]),
            (0xffff_ffff, &[0xfe, 0xff, 0xff, 0xff, 0xff]),
            (0x1_0000_0000, &[0xff, 0, 0, 0, 0, 1, 0, 0, 0]),
        ];
        for (value, bytes) in cases {
            let mut out = Vec::new();
            put_compact_size(&mut out, value);
            assert_eq!(out, bytes, "encoding {value}");
            assert_eq!(Reader::new(bytes).compact_size().unwrap(), value);
        }
    }

    #[test]
    fn non_canonical_compact_size_is_rejected() {
        for bytes in [
            &[0xfd, 0xfc, 0x00][..],
            &[0xfe, 0xff, 0xff, 0x00, 0x00],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0],
        ] {
            assert!(matches!(
                Reader::new(bytes).compact_size(),
                Err(DecodeError::NonCanonicalLength { .. })
            ));
        }
    }

    #[test]
    fn huge_length_is_rejected_before_allocation() {
        // Claims 2^32 items of 32 bytes with nothing behind it.
        let bytes = [0xff, 0, 0, 0, 0, 1, 0, 0, 0];
        let err = Reader::new(&bytes).length("x", usize::MAX, 32).unwrap_err();
        assert!(matches!(err, DecodeError::UnexpectedEnd { .. }));
        let err = Reader::new(&bytes).length("x", 10, 1).unwrap_err();
        assert!(matches!(err, DecodeError::LengthOverBound { max: 10, .. }));
    }
}
