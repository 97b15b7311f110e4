//! Addresses: the SHA-256 of an Ed25519 public key, written as bech32m with a
//! network-specific prefix so that an address of another network is rejected. The hash
//! is defined once, by the `naming` crate (`naming::OwnerAddress::of_key`), because
//! names are owned by the same addresses that coins are paid to (ADR 0037).

use std::fmt;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};

use crate::error::AddressError;
use crate::params::Network;

/// The hash of a public key that an output pays to.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 32]);

impl Address {
    /// The address of an Ed25519 public key (32 compressed bytes):
    /// `SHA-256("chain-node/address/v1" ‖ pubkey)`, as [`naming::OwnerAddress::of_key`]
    /// defines it.
    pub fn from_pubkey(pubkey: &[u8; 32]) -> Self {
        Address::from(naming::OwnerAddress::of_key(&naming::OwnerKey(*pubkey)))
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

impl From<naming::OwnerAddress> for Address {
    /// The same 32 bytes: a name's owner is a payment address.
    fn from(owner: naming::OwnerAddress) -> Self {
        Address(owner.0)
    }
}

impl From<Address> for naming::OwnerAddress {
    fn from(address: Address) -> Self {
        naming::OwnerAddress(address.0)
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

    /// The address hash written out from its definition, independently of `naming`.
    #[test]
    fn the_address_is_the_tagged_sha256_of_the_key() {
        use sha2::{Digest, Sha256};
        let mut preimage = b"chain-node/address/v1".to_vec();
        preimage.extend_from_slice(&[7; 32]);
        let expected: [u8; 32] = Sha256::digest(&preimage).into();
        assert_eq!(Address::from_pubkey(&[7; 32]), Address(expected));
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
