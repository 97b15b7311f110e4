//! Targets for the files the `wallet` reads: the keystore (`keystore.json`) and the
//! state file of `wallet log audit`.

use std::path::PathBuf;

use wallet_cli::audit_state::AuditState;
use wallet_cli::keystore::{FILE_NAME, Keystore};

/// The passphrase of the seed keystores in `seeds/keystore/`.
pub const KEYSTORE_PASSPHRASE: &str = "fuzz passphrase";

/// Largest Argon2 cost (memory KiB times passes) the keystore target unlocks with:
/// the seeds use the smallest cost, and a mutated file asking for gigabytes is only
/// opened, not unlocked, so that each case stays fast.
const MAX_UNLOCK_COST: u64 = 64;

/// The wallet directory of one case, unique to this process, removed when dropped.
struct WalletDir(PathBuf);

impl WalletDir {
    fn new() -> Option<WalletDir> {
        let dir = std::env::temp_dir().join(format!("fuzz-keystore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        Some(WalletDir(dir))
    }
}

impl Drop for WalletDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unlock_cost(data: &[u8]) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_slice(data).ok()?;
    let cost = v.get("kdf_cost")?;
    let m = cost.get("memory_kib")?.as_u64()?;
    let t = cost.get("iterations")?.as_u64()?;
    let p = cost.get("parallelism")?.as_u64()?;
    Some(m.saturating_mul(t).saturating_mul(p))
}

/// `keystore.json`: opening any file never panics; a cheap one is unlocked with the
/// seeds' passphrase, and when that succeeds it hands out exactly the keys the file
/// lists, each the key derived from the sealed words at its index, and the next key
/// is a new one.
pub fn keystore(data: &[u8]) -> bool {
    let Some(dir) = WalletDir::new() else {
        return false;
    };
    if std::fs::write(dir.0.join(FILE_NAME), data).is_err() {
        return false;
    }
    let Ok(store) = Keystore::open(&dir.0) else {
        return false;
    };
    let _ = store.network();
    let recorded = store.recorded_key_count();
    if unlock_cost(data).is_some_and(|c| c <= MAX_UNLOCK_COST)
        && let Ok(unlocked) = store.unlock(KEYSTORE_PASSPHRASE)
    {
        assert_eq!(
            unlocked.keys().len(),
            recorded,
            "unlock handed out another number of keys than the file lists"
        );
        for (position, entry) in unlocked.keys().iter().enumerate() {
            assert_eq!(u32::try_from(position).ok(), Some(entry.index));
            let derived = unlocked.signing_key(entry.index).verifying_key();
            assert_eq!(
                derived.as_bytes(),
                &entry.public_key,
                "unlock handed out a public key that the sealed words do not derive"
            );
        }
        if let Ok(next) = unlocked.next_key() {
            assert!(unlocked.keys().iter().all(|k| k.index != next.index));
        }
    }
    true
}

/// The audit state file: what parses is written back to a text that parses to the
/// same state, and writing that again changes nothing (one canonical form).
pub fn audit_state(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(state) = AuditState::parse(text) else {
        return false;
    };
    let Ok(written) = state.to_text() else {
        panic!("a parsed state cannot be written");
    };
    let again = AuditState::parse(&written).ok();
    assert_eq!(
        again.as_ref(),
        Some(&state),
        "the written state reads back differently"
    );
    assert_eq!(
        again.and_then(|s| s.to_text().ok()).as_ref(),
        Some(&written)
    );
    true
}

/// Seeds of [`audit_state`]: the empty state and one with two logs, as the wallet
/// writes them.
pub fn audit_state_seeds() -> Vec<Vec<u8>> {
    let mut two = AuditState::default();
    for (origin, size) in [("example.org/log", 5u64), ("Log", 0)] {
        two.record(
            origin,
            wallet_cli::audit_state::StoredHead {
                size,
                root: merkle_log::Hash::leaf(origin.as_bytes()).to_hex(),
                checkpoint: format!("{origin}\n{size}\nAAAA\n\n\u{2014} {origin} AAAAAAA=\n"),
            },
        );
    }
    [AuditState::default(), two]
        .iter()
        .filter_map(|s| s.to_text().ok())
        .map(String::into_bytes)
        .collect()
}
