//! What a search box query names: a height, a block hash or txid, an address or a
//! name. Pure: the server then looks the value up in the chain.

use std::str::FromStr as _;

use crate::address::Address;
use crate::hash::BlockHash;
use crate::params::Network;
use crate::units::Height;

/// Longest query the search box accepts, in bytes (an address is 63 characters, a
/// hash 64).
pub const MAX_QUERY: usize = 128;
/// Longest name the explorer takes for one.
pub const MAX_NAME: usize = 64;

/// What a query is, before anything is looked up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Query {
    /// A block height.
    Height(Height),
    /// 64 hex digits: a block hash or a txid (the same bytes either way).
    Hash(BlockHash),
    /// An address of the node's network.
    Address(Address),
    /// Something a name could be.
    Name(String),
}

/// Why a query names nothing this explorer can look up.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum QueryError {
    /// Nothing to search for.
    #[error("type a height, a block hash, a txid, an address or a name")]
    Empty,
    /// Longer than [`MAX_QUERY`].
    #[error("the query is {len} bytes long; at most {MAX_QUERY} are searched")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A height past what a block height can be.
    #[error("{text} is not a block height (at most {max})", max = u32::MAX)]
    BadHeight {
        /// What was typed.
        text: String,
    },
    /// Looks like an address of this network but does not decode.
    #[error("not a valid address: {reason}")]
    BadAddress {
        /// Why.
        reason: String,
    },
    /// Nothing it could be.
    #[error("not a height, a hash, an address or a name")]
    Unrecognised,
}

/// Whether `s` is a name the explorer would look up: 1 to [`MAX_NAME`] characters,
/// lower-case letters, digits, `-`, `_` and `.`.
pub(crate) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
}

/// Classifies `text` (trimmed) for `network`.
///
/// # Errors
/// [`QueryError`] for an empty, over-long or unrecognised query.
pub(crate) fn parse(text: &str, network: Network) -> Result<Query, QueryError> {
    if text.len() > MAX_QUERY {
        return Err(QueryError::TooLong { len: text.len() });
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(QueryError::Empty);
    }
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let lower = text.to_ascii_lowercase();
        if let Ok(hash) = BlockHash::from_str(&lower) {
            return Ok(Query::Hash(hash));
        }
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<u32>()
            .map(|h| Query::Height(Height(h)))
            .map_err(|_| QueryError::BadHeight {
                text: text.to_owned(),
            });
    }
    let prefix = format!("{}1", network.address_prefix());
    if text.to_ascii_lowercase().starts_with(&prefix) {
        return Address::parse(text, network)
            .map(Query::Address)
            .map_err(|e| QueryError::BadAddress {
                reason: e.to_string(),
            });
    }
    if is_name(text) {
        return Ok(Query::Name(text.to_owned()));
    }
    Err(QueryError::Unrecognised)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn each_kind_of_query_is_told_apart() {
        let net = Network::Regtest;
        assert_eq!(parse(" 42 ", net), Ok(Query::Height(Height(42))));
        assert!(matches!(
            parse("4294967296", net),
            Err(QueryError::BadHeight { .. })
        ));
        let hex = "AB".repeat(32);
        assert_eq!(parse(&hex, net), Ok(Query::Hash(BlockHash([0xab; 32]))));
        let addr = Address([9; 32]).encode(net);
        assert_eq!(parse(&addr, net), Ok(Query::Address(Address([9; 32]))));
        let mut broken = addr.clone();
        broken.pop();
        broken.push(if addr.ends_with('q') { 'p' } else { 'q' });
        assert!(matches!(
            parse(&broken, net),
            Err(QueryError::BadAddress { .. })
        ));
        assert_eq!(parse("alice.id", net), Ok(Query::Name("alice.id".into())));
        assert_eq!(parse("  ", net), Err(QueryError::Empty));
        // 64 digits are a hash, not a height.
        let digits = "0".repeat(64);
        assert_eq!(parse(&digits, net), Ok(Query::Hash(BlockHash([0; 32]))));
        assert_eq!(parse("<script>", net), Err(QueryError::Unrecognised));
        assert!(matches!(
            parse(&"a".repeat(MAX_QUERY + 1), net),
            Err(QueryError::TooLong { .. })
        ));
    }
}
