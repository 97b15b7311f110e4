//! Secrets from the user: the passphrase (environment or terminal prompt) and the
//! recovery words (terminal prompt or standard input).

use std::io::{IsTerminal as _, Read as _};
use std::os::fd::AsFd as _;

use zeroize::Zeroizing;

/// The environment variable that carries the passphrase for scripts.
pub const PASSPHRASE_ENV: &str = "WALLET_PASSPHRASE";
/// At most this much is read from standard input for the words.
const MAX_WORDS_INPUT: u64 = 4096;

/// Why no secret could be had.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    /// Neither the environment nor a terminal.
    #[error(
        "this command needs the wallet's passphrase (it checks the wallet's keys against the sealed recovery words): set {PASSPHRASE_ENV} or run in a terminal"
    )]
    NoPassphrase,
    /// The passphrase is empty.
    #[error("the passphrase is empty; choose a passphrase that protects the keystore")]
    Empty,
    /// The two entries differ.
    #[error("the two passphrases differ; nothing was written")]
    Mismatch,
    /// Reading failed.
    #[error("reading {what}: {source}")]
    Io {
        /// What was being read.
        what: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The passphrase: from `WALLET_PASSPHRASE`, else asked on the terminal (twice when
/// `confirm`, as for a new wallet).
///
/// # Errors
/// [`PromptError`] when there is no passphrase to be had, or it is empty.
pub fn passphrase(confirm: bool) -> Result<Zeroizing<String>, PromptError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return non_empty(Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(PromptError::NoPassphrase);
    }
    let read = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|source| PromptError::Io {
                what: "the passphrase",
                source,
            })
    };
    let first = non_empty(read("Passphrase: ")?)?;
    if confirm && *read("Repeat passphrase: ")? != *first {
        return Err(PromptError::Mismatch);
    }
    Ok(first)
}

fn non_empty(p: Zeroizing<String>) -> Result<Zeroizing<String>, PromptError> {
    if p.is_empty() {
        Err(PromptError::Empty)
    } else {
        Ok(p)
    }
}

/// The recovery words: asked on the terminal, or read from standard input when it
/// is not one.
///
/// # Errors
/// [`PromptError::Io`] when reading fails.
pub fn recovery_words() -> Result<Zeroizing<String>, PromptError> {
    let io = |source| PromptError::Io {
        what: "the recovery words",
        source,
    };
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("Recovery words: ")
            .map(Zeroizing::new)
            .map_err(io);
    }
    // Read from the descriptor itself, not through the standard input's buffer,
    // which would keep a copy; and into a buffer sized once, which never moves.
    let raw = std::io::stdin().as_fd().try_clone_to_owned().map_err(io)?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_WORDS_INPUT as usize + 1));
    std::fs::File::from(raw)
        .take(MAX_WORDS_INPUT)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let mut words = Zeroizing::new(String::with_capacity(bytes.len()));
    match std::str::from_utf8(&bytes) {
        Ok(text) => words.push_str(text),
        Err(_) => {
            return Err(PromptError::Io {
                what: "the recovery words",
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "standard input is not UTF-8 text",
                ),
            });
        }
    }
    Ok(words)
}

/// Asks a yes/no question on the terminal; without a terminal the answer is no.
///
/// # Errors
/// [`PromptError::Io`] when reading fails.
pub fn confirm(question: &str) -> Result<bool, PromptError> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let answer = rpassword::prompt_password(question).map_err(|source| PromptError::Io {
        what: "the confirmation",
        source,
    })?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES"))
}
