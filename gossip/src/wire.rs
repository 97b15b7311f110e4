//! What the application puts on the wire: its typed values (`Wire`), the protocol that
//! names them (`Protocol`), and the length-prefixed framing of request-response streams.
//!
//! One request-response stream carries one request and one response, each framed as an
//! unsigned varint length (minimal, at most 5 bytes) followed by that many bytes. The
//! length is checked against the type's `Wire::MAX_BYTES` before anything is read or
//! allocated, and the body is read into a buffer that grows with the bytes that
//! actually arrive.

use std::{fmt, io, marker::PhantomData};

use libp2p::{
    StreamProtocol,
    futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    request_response,
};

use crate::error::{DecodeError, WireError};

/// The longest length prefix accepted: 5 varint bytes carry 35 bits.
pub const MAX_PREFIX_BYTES: usize = 5;

/// Buffer reserved up front for a frame body; the rest grows as bytes arrive.
const INITIAL_BODY_CAPACITY: usize = 64 * 1024;

/// A value the application sends to peers: its canonical bytes and its size bound.
///
/// `from_bytes` must accept exactly what `to_bytes` produces and must be total (it gets
/// bytes from untrusted peers). Frames longer than `MAX_BYTES` are refused before their
/// body is read, and values whose encoding is longer are never sent.
pub trait Wire: Sized + Send + 'static {
    /// The largest encoding accepted or sent, in bytes.
    const MAX_BYTES: usize;

    /// The canonical encoding.
    fn to_bytes(&self) -> Vec<u8>;

    /// Decodes untrusted bytes.
    ///
    /// # Errors
    /// A [`DecodeError`] saying why the bytes are not a value of this type.
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError>;
}

/// The application's protocol: the status it exchanges when a connection opens, and the
/// requests and responses of its one request-response protocol.
///
/// The protocol ids on the wire are `/open-trust/<network>/status/<STATUS_VERSION>` and
/// `/open-trust/<network>/<REQUEST_PROTOCOL>` (docs/p2p.md).
pub trait Protocol: Send + 'static {
    /// What each side tells the other when a connection opens (network, genesis, best
    /// chain...): opaque to this crate.
    type Status: Wire + Clone + fmt::Debug + Sync;
    /// A request for history.
    type Request: Wire + fmt::Debug;
    /// The answer to a request.
    type Response: Wire + fmt::Debug;

    /// The version suffix of the status protocol id, e.g. `"1"`.
    const STATUS_VERSION: &'static str;
    /// The name and version of the request protocol id, e.g. `"sync/1"`.
    const REQUEST_PROTOCOL: &'static str;
}

/// What a request-response stream carries: a value read from a peer (decoded, or the
/// reason its bytes were refused), or the checked encoding of one we send.
pub(crate) enum Frame<T> {
    /// A value decoded from a peer's frame.
    Value(T),
    /// A peer's frame that was refused.
    Refused(WireError),
    /// Our own value, encoded once and checked against its `MAX_BYTES`.
    Encoded(Vec<u8>),
}

impl<T: Wire> Frame<T> {
    /// Encodes `value` for sending.
    ///
    /// # Errors
    /// [`WireError::TooLarge`] when the encoding is longer than `T::MAX_BYTES`.
    pub(crate) fn encode(value: &T) -> Result<Self, WireError> {
        let bytes = value.to_bytes();
        if bytes.len() > T::MAX_BYTES {
            return Err(WireError::TooLarge {
                len: bytes.len() as u64,
                max: T::MAX_BYTES as u64,
            });
        }
        Ok(Frame::Encoded(bytes))
    }
}

/// Writes `n` as an unsigned varint (LEB128, as multiformats' unsigned-varint).
pub fn encode_length(n: u32, out: &mut Vec<u8>) {
    let mut n = n;
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Where reading a length prefix byte by byte stands.
#[derive(Debug, PartialEq, Eq)]
pub enum Prefix {
    /// The prefix is complete: the frame's length.
    Done(u64),
    /// More bytes are needed.
    More,
}

/// Parses the varint bytes read so far (`bytes` is never empty when called by the
/// reader): complete, incomplete, or refused (non-minimal or longer than
/// [`MAX_PREFIX_BYTES`]).
///
/// # Errors
/// [`WireError::BadLengthPrefix`] for a prefix that is not minimal or is too long.
pub fn parse_length(bytes: &[u8]) -> Result<Prefix, WireError> {
    let mut value: u64 = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if i >= MAX_PREFIX_BYTES {
            return Err(WireError::BadLengthPrefix);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // Minimal: the last byte of a multi-byte varint is never zero.
            if i > 0 && *byte == 0 {
                return Err(WireError::BadLengthPrefix);
            }
            if i + 1 != bytes.len() {
                return Err(WireError::BadLengthPrefix);
            }
            return Ok(Prefix::Done(value));
        }
    }
    if bytes.len() >= MAX_PREFIX_BYTES {
        return Err(WireError::BadLengthPrefix);
    }
    Ok(Prefix::More)
}

/// The length prefix of a body of `len` bytes.
///
/// # Errors
/// [`WireError::TooLarge`] when `len` does not fit the 5-byte prefix (32 bits here).
pub fn length_prefix(len: usize) -> Result<Vec<u8>, WireError> {
    let len32 = u32::try_from(len).map_err(|_| WireError::TooLarge {
        len: len as u64,
        max: u64::from(u32::MAX),
    })?;
    let mut out = Vec::with_capacity(MAX_PREFIX_BYTES);
    encode_length(len32, &mut out);
    Ok(out)
}

/// Reads one frame of at most `max` bytes. `Ok(Err(_))` is a refusal the peer is to
/// blame for; `Err(_)` an I/O failure (closed stream, reset) nobody is blamed for.
async fn read_frame<R: AsyncRead + Unpin + Send>(
    io: &mut R,
    max: usize,
) -> io::Result<Result<Vec<u8>, WireError>> {
    let mut prefix = [0u8; MAX_PREFIX_BYTES];
    let mut used = 0;
    let len = loop {
        let Some(slot) = prefix.get_mut(used..=used) else {
            return Ok(Err(WireError::BadLengthPrefix));
        };
        io.read_exact(slot).await?;
        used += 1;
        match parse_length(prefix.get(..used).unwrap_or_default()) {
            Ok(Prefix::Done(len)) => break len,
            Ok(Prefix::More) => {}
            Err(e) => return Ok(Err(e)),
        }
    };
    if len > max as u64 {
        return Ok(Err(WireError::TooLarge {
            len,
            max: max as u64,
        }));
    }
    // INVARIANT: len <= max, a usize.
    let len = len as usize;
    let mut body = Vec::with_capacity(len.min(INITIAL_BODY_CAPACITY));
    (&mut *io).take(len as u64).read_to_end(&mut body).await?;
    if body.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "stream ended inside a frame",
        ));
    }
    Ok(Ok(body))
}

async fn read_value<T: Wire, R: AsyncRead + Unpin + Send>(io: &mut R) -> io::Result<Frame<T>> {
    Ok(match read_frame(io, T::MAX_BYTES).await? {
        Ok(bytes) => match T::from_bytes(&bytes) {
            Ok(value) => Frame::Value(value),
            Err(e) => Frame::Refused(WireError::Decode(e)),
        },
        Err(e) => Frame::Refused(e),
    })
}

async fn write_value<T: Wire, W: AsyncWrite + Unpin + Send>(
    io: &mut W,
    frame: Frame<T>,
) -> io::Result<()> {
    let invalid = |e: WireError| io::Error::new(io::ErrorKind::InvalidInput, e);
    let bytes = match frame {
        Frame::Encoded(bytes) => bytes,
        Frame::Value(value) => value.to_bytes(),
        Frame::Refused(e) => return Err(invalid(e)),
    };
    if bytes.len() > T::MAX_BYTES {
        return Err(invalid(WireError::TooLarge {
            len: bytes.len() as u64,
            max: T::MAX_BYTES as u64,
        }));
    }
    io.write_all(&length_prefix(bytes.len()).map_err(invalid)?)
        .await?;
    io.write_all(&bytes).await?;
    io.flush().await
}

/// The request-response codec: one framed `Q` each way in, one framed `R` back.
pub(crate) struct FrameCodec<Q, R> {
    types: PhantomData<fn() -> (Q, R)>,
}

impl<Q, R> FrameCodec<Q, R> {
    pub(crate) fn new() -> Self {
        FrameCodec { types: PhantomData }
    }
}

impl<Q, R> Clone for FrameCodec<Q, R> {
    fn clone(&self) -> Self {
        Self::new()
    }
}

impl<Q: Wire, R: Wire> request_response::Codec for FrameCodec<Q, R> {
    type Protocol = StreamProtocol;
    type Request = Frame<Q>;
    type Response = Frame<R>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Frame<Q>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_value(io).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Frame<R>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_value(io).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Frame<Q>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_value(io, req).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Frame<R>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_value(io, res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_known_answers() {
        // The unsigned-varint spec's examples (multiformats/unsigned-varint README).
        for (n, bytes) in [
            (1u32, vec![0x01]),
            (127, vec![0x7f]),
            (128, vec![0x80, 0x01]),
            (255, vec![0xff, 0x01]),
            (300, vec![0xac, 0x02]),
            (16384, vec![0x80, 0x80, 0x01]),
        ] {
            let mut out = Vec::new();
            encode_length(n, &mut out);
            assert_eq!(out, bytes);
            assert_eq!(parse_length(&bytes), Ok(Prefix::Done(u64::from(n))));
        }
    }

    /// A naive reading of the unsigned-varint rules: 7 bits per byte, low group first,
    /// continuation bit 0x80, minimal, at most 5 bytes.
    fn oracle(bytes: &[u8]) -> Option<Result<u64, ()>> {
        let mut n = 0u64;
        for (i, b) in bytes.iter().enumerate() {
            if i == 5 {
                return Some(Err(()));
            }
            n += u64::from(b % 128) * 128u64.pow(i as u32);
            if *b < 128 {
                let minimal = i == 0 || *b != 0;
                let whole = i + 1 == bytes.len();
                return Some(if minimal && whole { Ok(n) } else { Err(()) });
            }
        }
        if bytes.len() >= 5 {
            Some(Err(()))
        } else {
            None
        }
    }

    #[test]
    fn varint_parser_matches_a_naive_oracle_on_every_short_prefix() {
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for a in 0..=255u8 {
            inputs.push(vec![a]);
            for b in 0..=255u8 {
                inputs.push(vec![a, b]);
                inputs.push(vec![a | 0x80, b | 0x80, 0x80, 0x80, b]);
                inputs.push(vec![a | 0x80, 0x80, b]);
            }
        }
        for bytes in inputs {
            let got = match parse_length(&bytes) {
                Ok(Prefix::Done(n)) => Some(Ok(n)),
                Ok(Prefix::More) => None,
                Err(_) => Some(Err(())),
            };
            assert_eq!(got, oracle(&bytes), "{bytes:02x?}");
        }
    }

    #[test]
    fn varint_refusals() {
        assert_eq!(parse_length(&[0x80]), Ok(Prefix::More));
        assert_eq!(parse_length(&[0x80, 0x00]), Err(WireError::BadLengthPrefix));
        assert_eq!(
            parse_length(&[0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(WireError::BadLengthPrefix)
        );
        assert_eq!(parse_length(&[0x01, 0x01]), Err(WireError::BadLengthPrefix));
    }
}
