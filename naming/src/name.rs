//! Names and namespace ids: lowercase strings from a fixed alphabet with bounded lengths.
//!
//! The alphabet is `a-z`, `0-9`, `-` and `_`. A namespace id has 1 to
//! [`MAX_NAMESPACE_LEN`] characters, a label (the part of a name before the dot) 1 to
//! [`MAX_LABEL_LEN`]; a [`Name`] is `label.namespace`.

use std::fmt;
use std::str::FromStr;

use crate::error::{NameError, NamePart};

/// Longest namespace id, in characters (Blockstack's bound).
pub const MAX_NAMESPACE_LEN: usize = 19;
/// Longest label, in characters (Blockstack's 37-byte name field).
pub const MAX_LABEL_LEN: usize = 37;

/// Whether `byte` is in the name alphabet.
pub fn is_name_char(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
}

/// Checks `bytes` against the alphabet and `1..=max` characters.
fn check(bytes: &[u8], part: NamePart, max: usize) -> Result<(), NameError> {
    if bytes.is_empty() {
        return Err(NameError::Empty { part });
    }
    if bytes.len() > max {
        return Err(NameError::TooLong {
            part,
            len: bytes.len(),
            max,
        });
    }
    if let Some((position, &byte)) = bytes.iter().enumerate().find(|(_, b)| !is_name_char(**b)) {
        return Err(NameError::BadChar {
            part,
            byte,
            position,
        });
    }
    Ok(())
}

/// Defines a validated string type of the name alphabet.
macro_rules! name_string {
    ($(#[$doc:meta])* $type:ident, $part:expr, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $type(String);

        impl $type {
            /// Checks and wraps `bytes`.
            ///
            /// # Errors
            /// [`NameError`] naming the first broken rule: empty, too long, or a byte
            /// outside the alphabet (with its position).
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, NameError> {
                check(bytes, $part, $max)?;
                Ok($type(bytes.iter().map(|&b| char::from(b)).collect()))
            }

            /// The string.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Its length in characters (bytes: the alphabet is ASCII).
            pub fn len(&self) -> usize {
                self.0.len()
            }

            /// Always false (at least one character); for clippy's `len` convention.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }
        }

        impl FromStr for $type {
            type Err = NameError;
            fn from_str(s: &str) -> Result<Self, NameError> {
                $type::from_bytes(s.as_bytes())
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($type), self.0)
            }
        }
    };
}

name_string!(
    /// A namespace id such as `id`.
    ///
    /// INVARIANT: 1 to [`MAX_NAMESPACE_LEN`] characters, each [`is_name_char`].
    NamespaceId,
    NamePart::Namespace,
    MAX_NAMESPACE_LEN
);

name_string!(
    /// The part of a name before the dot, such as `alice` in `alice.id`; what is priced.
    ///
    /// INVARIANT: 1 to [`MAX_LABEL_LEN`] characters, each [`is_name_char`].
    Label,
    NamePart::Label,
    MAX_LABEL_LEN
);

/// A full name, `label.namespace`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name {
    /// The part before the dot.
    pub label: Label,
    /// The namespace it lives in.
    pub namespace: NamespaceId,
}

impl Name {
    /// A name from its parts.
    pub fn new(label: Label, namespace: NamespaceId) -> Self {
        Name { label, namespace }
    }
}

impl FromStr for Name {
    type Err = NameError;
    /// Parses `label.namespace` (exactly one dot).
    fn from_str(s: &str) -> Result<Self, NameError> {
        let (label, namespace) = s.split_once('.').ok_or(NameError::NoDot)?;
        Ok(Name {
            label: label.parse()?,
            namespace: namespace.parse()?,
        })
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.label, self.namespace)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Name({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_and_bounds() {
        assert!("alice_1-x.id".parse::<Name>().is_ok());
        assert_eq!(
            "Alice.id".parse::<Name>(),
            Err(NameError::BadChar {
                part: NamePart::Label,
                byte: b'A',
                position: 0
            })
        );
        assert_eq!("alice".parse::<Name>(), Err(NameError::NoDot));
        assert_eq!(
            "a.b.c".parse::<Name>(),
            Err(NameError::BadChar {
                part: NamePart::Namespace,
                byte: b'.',
                position: 1
            })
        );
        assert_eq!(
            ".id".parse::<Name>(),
            Err(NameError::Empty {
                part: NamePart::Label
            })
        );
        let long = "a".repeat(MAX_NAMESPACE_LEN + 1);
        assert_eq!(
            long.parse::<NamespaceId>(),
            Err(NameError::TooLong {
                part: NamePart::Namespace,
                len: 20,
                max: 19
            })
        );
        assert!("a".repeat(MAX_LABEL_LEN).parse::<Label>().is_ok());
        assert!("a".repeat(MAX_LABEL_LEN + 1).parse::<Label>().is_err());
        assert!("é.id".parse::<Name>().is_err());
    }
}
