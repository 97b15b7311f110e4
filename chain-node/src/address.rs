//! Addresses: the SHA-256 of an Ed25519 public key, written as bech32m with a
//! network-specific prefix so that an address of another network is rejected.

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use sha2::{Digest, Sha256};

use crate::error::AddressError;
use crate::params::Network;

/// Domain separation for address hashing.
const ADDRESS_TAG: &[u8] = b"chain-node/address/v1";

/// The hash of a public key that an output pays to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 32]);

impl Address {
    /// The address of an Ed25519 public key (32 compressed bytes).
    pub fn from_pubkey(pubkey: &[u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(ADDRESS_TAG);
        h.update(pubkey);
        Address(h.finalize().into())
    }

    /// The bech32m string of this address on `network`.
    pub fn encode(&self, network: Network) -> String {
        let hrp = Hrp::parse_unchecked(network.address_prefix());
        // Encoding 32 bytes under a valid prefix cannot exceed bech32's length limit.
        bech32::encode::<Bech32m>(hrp, &self.0).unwrap_or_default()
    }

    /// Parses a bech32m address, requiring `network`'s prefix.
    ///
    /// # Errors
    /// [`AddressError`] for a bad checksum (or plain bech32), another network's prefix, or a
    /// payload that is not 32 bytes.
    pub fn parse(s: &str, network: Network) -> Result<Self, AddressError> {
        let checked = CheckedHrpstring::new::<Bech32m>(s)
            .map_err(|e| AddressError::Encoding(e.to_string()))?;
        let prefix = checked.hrp().as_str().to_owned();
        if prefix != network.address_prefix() {
            return Err(AddressError::WrongNetwork {
                expected: network.address_prefix(),
                found: prefix,
            });
        }
        let data: Vec<u8> = checked.byte_iter().collect();
        let bytes: [u8; 32] = data
            .as_slice()
            .try_into()
            .map_err(|_| AddressError::BadLength { length: data.len() })?;
        Ok(Address(bytes))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", hex::encode(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_network_check() {
        let a = Address::from_pubkey(&[7; 32]);
        let s = a.encode(Network::Regtest);
        assert!(s.starts_with("rcn1"));
        assert_eq!(Address::parse(&s, Network::Regtest).unwrap(), a);
        assert!(matches!(
            Address::parse(&s, Network::Testnet),
            Err(AddressError::WrongNetwork { .. })
        ));
    }

    #[test]
    fn typo_and_bech32_checksum_are_rejected() {
        let a = Address::from_pubkey(&[9; 32]);
        let s = a.encode(Network::Regtest);
        let mut typo: Vec<char> = s.chars().collect();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == 'q' { 'p' } else { 'q' };
        let typo: String = typo.into_iter().collect();
        assert!(Address::parse(&typo, Network::Regtest).is_err());
        // The same payload under the original bech32 checksum is not accepted.
        let bech32 = bech32::encode::<bech32::Bech32>(Hrp::parse("rcn").unwrap(), &a.0).unwrap();
        assert!(Address::parse(&bech32, Network::Regtest).is_err());
    }
}
