//! C2SP tlog-tiles: tile coordinates, their URL paths, and the bytes of hash tiles
//! and entry bundles.
//!
//! A tile at level `L`, index `N` holds up to 256 consecutive node hashes of tree
//! level `8·L`, starting at node `256·N`. A partial tile (fewer than 256 hashes)
//! is addressed `<N>.p/<W>`. Entry bundles hold the entries of level-0 tile `N`,
//! each prefixed with its length as a big-endian u16.

use crate::error::TileError;
use crate::hash::Hash;
use crate::tree_math::NodeId;

/// Hashes in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels covered by one tile level.
pub const TILE_HEIGHT: u8 = 8;
/// Largest entry an entry bundle can carry (its length prefix is a u16).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// A tile of `width` hashes (1 to 256) at tile `level`, tile `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Tile level: hashes of tree level `8 * level`.
    pub level: u8,
    /// Position of the tile among the tiles of its level.
    pub index: u64,
    /// Number of hashes (256 for a full tile).
    pub width: u16,
}

impl TileId {
    /// Whether the tile is full.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tile of `level` and `index` as it exists in a tree of `size` leaves,
    /// or `None` when that tree has no such tile yet.
    pub fn at_size(level: u8, index: u64, size: u64) -> Option<TileId> {
        let nodes = nodes_at_level(level, size);
        let first = index.checked_mul(TILE_WIDTH)?;
        if first >= nodes {
            return None;
        }
        let width = (nodes - first).min(TILE_WIDTH);
        // INVARIANT: 1 <= width <= 256.
        Some(TileId {
            level,
            index,
            width: u16::try_from(width).ok()?,
        })
    }

    /// The URL path under the log prefix, such as `tile/1/x001/234.p/17`.
    pub fn path(&self) -> String {
        format!(
            "tile/{}/{}{}",
            self.level,
            index_path(self.index),
            width_suffix(self.width)
        )
    }

    /// The URL path of the entry bundle that goes with this level-0 tile.
    pub fn entries_path(&self) -> String {
        format!(
            "tile/entries/{}{}",
            index_path(self.index),
            width_suffix(self.width)
        )
    }
}

/// Number of tree nodes at tree level `8 * tile_level` in a tree of `size` leaves.
fn nodes_at_level(tile_level: u8, size: u64) -> u64 {
    let shift = u32::from(tile_level) * u32::from(TILE_HEIGHT);
    size.checked_shr(shift).unwrap_or(0)
}

fn width_suffix(width: u16) -> String {
    if u64::from(width) == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// Encodes a tile index as path elements of three digits, all but the last
/// prefixed with `x`: 1234067 is `x001/x234/067`.
pub fn index_path(mut n: u64) -> String {
    let mut groups = vec![n % 1000];
    n /= 1000;
    while n > 0 {
        groups.push(n % 1000);
        n /= 1000;
    }
    let mut out = String::with_capacity(groups.len() * 5);
    for (i, g) in groups.iter().rev().enumerate() {
        if i > 0 {
            out.push('/');
        }
        if i + 1 < groups.len() {
            out.push('x');
        }
        out.push_str(&format!("{g:03}"));
    }
    out
}

/// Parses an index path (`x001/x234/067`), accepting only the canonical form.
pub fn parse_index_path(s: &str) -> Option<u64> {
    let elems: Vec<&str> = s.split('/').collect();
    // u64::MAX has 20 digits: 7 groups.
    if elems.len() > 7 {
        return None;
    }
    let (last, init) = elems.split_last()?;
    let mut n: u64 = 0;
    for e in init {
        let digits = e.strip_prefix('x')?;
        n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
    }
    n = n.checked_mul(1000)?.checked_add(three_digits(last)?)?;
    (index_path(n) == s).then_some(n)
}

fn three_digits(s: &str) -> Option<u64> {
    if s.len() != 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// What a `tile/...` path asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TileRequest {
    /// A hash tile.
    Hashes(TileId),
    /// The entry bundle of level-0 tile `index` with `width` entries.
    Entries {
        /// Bundle index.
        index: u64,
        /// Number of entries (256 when full).
        width: u16,
    },
}

/// Parses the part of a tile URL after `tile/`: `<L>/<N>[.p/<W>]` or
/// `entries/<N>[.p/<W>]`, canonical forms only.
///
/// # Errors
/// [`TileError::Path`] for anything else.
pub fn parse_tile_path(s: &str) -> Result<TileRequest, TileError> {
    let bad = || TileError::Path;
    let (kind, rest) = s.split_once('/').ok_or_else(bad)?;
    let (index_part, width) = match rest.split_once(".p/") {
        Some((idx, w)) => {
            let w: u16 = crate::checkpoint::parse_decimal(w)
                .and_then(|w| u16::try_from(w).ok())
                .ok_or_else(bad)?;
            if w == 0 || u64::from(w) >= TILE_WIDTH {
                return Err(bad());
            }
            (idx, w)
        }
        None => (rest, 256u16),
    };
    let index = parse_index_path(index_part).ok_or_else(bad)?;
    if kind == "entries" {
        return Ok(TileRequest::Entries { index, width });
    }
    let level = crate::checkpoint::parse_decimal(kind)
        .and_then(|l| u8::try_from(l).ok())
        .filter(|&l| l <= 63 / TILE_HEIGHT)
        .ok_or_else(bad)?;
    Ok(TileRequest::Hashes(TileId {
        level,
        index,
        width,
    }))
}

/// The bytes of a hash tile: the hashes concatenated.
pub fn encode_hash_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * Hash::LEN);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// Reads a hash tile that must hold exactly `width` hashes.
///
/// # Errors
/// [`TileError::TileLength`] when the byte length is not `32 * width`.
pub fn decode_hash_tile(bytes: &[u8], width: u16) -> Result<Vec<Hash>, TileError> {
    let want = usize::from(width) * Hash::LEN;
    if bytes.len() != want {
        return Err(TileError::TileLength {
            got: bytes.len(),
            want,
        });
    }
    Ok(bytes
        .chunks_exact(Hash::LEN)
        .filter_map(|c| Hash::from_slice(c).ok())
        .collect())
}

/// Appends one entry, length-prefixed, to a bundle being built.
///
/// # Errors
/// [`TileError::EntryTooLong`] when the entry exceeds [`MAX_ENTRY_LEN`].
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), TileError> {
    let len =
        u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLong { len: entry.len() })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into exactly `width` entries, rejecting trailing bytes.
///
/// # Errors
/// [`TileError::Bundle`] when the bytes do not hold exactly `width` entries.
pub fn decode_bundle(bytes: &[u8], width: u16) -> Result<Vec<&[u8]>, TileError> {
    let mut out = Vec::with_capacity(usize::from(width));
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest.split_first_chunk::<2>().ok_or(TileError::Bundle {
            why: "truncated length prefix",
        })?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TileError::Bundle {
                why: "entry runs past the end",
            });
        }
        let (entry, tail) = tail.split_at(len);
        if out.len() == usize::from(width) {
            return Err(TileError::Bundle {
                why: "more entries than the width",
            });
        }
        out.push(entry);
        rest = tail;
    }
    if out.len() != usize::from(width) {
        return Err(TileError::Bundle {
            why: "fewer entries than the width",
        });
    }
    Ok(out)
}

/// For each tile level of a tree of `size` leaves: the number of full tiles and
/// the width of the partial tile (0 when there is none). Levels are listed up to
/// the first that holds no full tile.
pub fn tiles_for_size(size: u64) -> Vec<(u8, u64, u16)> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let nodes = nodes_at_level(level, size);
        if nodes == 0 {
            break;
        }
        // INVARIANT: nodes % 256 < 256.
        let partial = u16::try_from(nodes % TILE_WIDTH).unwrap_or(0);
        out.push((level, nodes / TILE_WIDTH, partial));
        if nodes < TILE_WIDTH {
            break;
        }
        level += 1;
    }
    out
}

/// Where the hash of a tree node lives: the tile (at the width it has in a tree
/// of `size` leaves) and the range of hashes in it whose subtree the node is.
/// A node at a tree level that is not a multiple of 8 is the Merkle root of
/// `2^(level % 8)` consecutive hashes of its tile.
///
/// Returns `None` when the node is not complete in a tree of `size` leaves.
pub fn locate_node(node: NodeId, size: u64) -> Option<(TileId, std::ops::Range<usize>)> {
    let tile_level = node.level / TILE_HEIGHT;
    let sub = node.level % TILE_HEIGHT;
    let count = 1u64 << sub;
    let first = node.index.checked_mul(count)?;
    let tile_index = first / TILE_WIDTH;
    let tile = TileId::at_size(tile_level, tile_index, size)?;
    let start = first % TILE_WIDTH;
    let end = start + count;
    if end > u64::from(tile.width) {
        return None;
    }
    let start = usize::try_from(start).ok()?;
    let end = usize::try_from(end).ok()?;
    Some((tile, start..end))
}

/// The Merkle root of a perfect run of hashes (length a power of two).
pub(crate) fn perfect_root(hashes: &[Hash]) -> Option<Hash> {
    match hashes.len() {
        0 => None,
        1 => hashes.first().copied(),
        n => {
            let (l, r) = hashes.split_at(n / 2);
            Some(Hash::node(&perfect_root(l)?, &perfect_root(r)?))
        }
    }
}
