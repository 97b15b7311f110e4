//! The one canonical byte encoding of the crate: fixed-width little-endian integers,
//! one-byte flags (0 or 1), strings as a one-byte length and their bytes. Every byte that
//! is signed, hashed or stored comes from [`Writer`]; [`Reader`] is its strict inverse
//! (no trailing bytes, flags only 0 or 1, lengths checked against their bound before
//! anything is read).

use crate::error::DecodeError;
use crate::name::{Label, MAX_LABEL_LEN, MAX_NAMESPACE_LEN, Name, NamespaceId};
use crate::values::{Height, OutPoint, TxId};

/// Appends canonical bytes to a buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub(crate) fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    pub(crate) fn flag(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    pub(crate) fn height(&mut self, h: Height) {
        self.u32(h.0);
    }
    /// A string of at most 255 bytes (names are at most 37).
    fn short_str(&mut self, s: &str) {
        let len = u8::try_from(s.len()).unwrap_or(u8::MAX);
        self.u8(len);
        self.bytes(s.as_bytes().get(..usize::from(len)).unwrap_or_default());
    }
    pub(crate) fn namespace(&mut self, id: &NamespaceId) {
        self.short_str(id.as_str());
    }
    pub(crate) fn name(&mut self, name: &Name) {
        self.short_str(name.label.as_str());
        self.namespace(&name.namespace);
    }
    pub(crate) fn outpoint(&mut self, o: &OutPoint) {
        self.bytes(o.txid.as_bytes());
        self.u32(o.vout);
    }
}

/// Reads canonical bytes, never past the end, never allocating from a length it has
/// not checked.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError::Truncated { what });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(u8::from_le_bytes(self.array(what)?))
    }
    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub(crate) fn height(&mut self, what: &'static str) -> Result<Height, DecodeError> {
        Ok(Height(self.u32(what)?))
    }
    pub(crate) fn flag(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(DecodeError::BadFlag { what, value }),
        }
    }
    /// A string whose length byte must not exceed `max`.
    fn short_str(&mut self, what: &'static str, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = usize::from(self.u8(what)?);
        if len > max {
            return Err(DecodeError::TooLong { what, len, max });
        }
        self.take(len, what)
    }
    pub(crate) fn namespace(&mut self) -> Result<NamespaceId, DecodeError> {
        let bytes = self.short_str("namespace id", MAX_NAMESPACE_LEN)?;
        Ok(NamespaceId::from_bytes(bytes)?)
    }
    pub(crate) fn name(&mut self) -> Result<Name, DecodeError> {
        let label = Label::from_bytes(self.short_str("label", MAX_LABEL_LEN)?)?;
        let namespace = self.namespace()?;
        Ok(Name { label, namespace })
    }
    pub(crate) fn outpoint(&mut self) -> Result<OutPoint, DecodeError> {
        let txid = TxId(self.array("outpoint txid")?);
        let vout = self.u32("outpoint vout")?;
        Ok(OutPoint { txid, vout })
    }

    /// Succeeds only when every byte was read.
    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                count: self.rest.len(),
            })
        }
    }
}
