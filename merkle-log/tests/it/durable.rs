//! The durable log as a library: batches, dedup, reopening, receipts, fsck.

use merkle_log::fsck::fsck;
use merkle_log::{Log, LogConfig, Sequenced, verify_receipt};

use crate::common::{Scratch, test_signer};
use crate::oracle;

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i}").into_bytes()
}

#[test]
fn batches_match_the_naive_tree_across_reopen() {
    let dir = Scratch::new("durable");
    let vkey = test_signer().verifier().clone();
    let mut leaves = Vec::new();
    let mut next = 0u64;
    // Batch sizes that cross tile boundaries in every way, reopening in between.
    for (round, sizes) in [[1usize, 2, 253], [256, 1, 300], [70_000 - 819, 5, 1]]
        .iter()
        .enumerate()
    {
        let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
        assert_eq!(log.published().checkpoint.size(), next, "round {round}");
        for &n in sizes {
            let batch: Vec<Vec<u8>> = (next..next + n as u64).map(entry).collect();
            let out = log.integrate(&batch).unwrap();
            for (k, o) in out.iter().enumerate() {
                assert_eq!(*o, Sequenced::Added(next + k as u64));
            }
            leaves.extend(batch.iter().map(|e| oracle::leaf(e)));
            next += n as u64;
            let cp = &log.published().checkpoint;
            assert_eq!(cp.size(), next);
            assert_eq!(cp.root().0, oracle::mth(&leaves), "size {next}");
            // A receipt for the first and last entry of the batch verifies.
            for i in [next - n as u64, next - 1] {
                let r = log.receipt(i).unwrap().encode();
                verify_receipt(&r, &entry(i), &vkey).unwrap();
            }
        }
    }
    assert_eq!(next, 70_000);
    // The dedup table doubled many times on the way (16 pages of 256 slots at
    // first); every entry still maps to its first index.
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    let again: Vec<Vec<u8>> = [0u64, 255, 256, 40_000, 69_999].map(entry).to_vec();
    let out = log.integrate(&again).unwrap();
    assert_eq!(
        out,
        [0u64, 255, 256, 40_000, 69_999].map(Sequenced::Duplicate)
    );
    assert_eq!(log.published().checkpoint.size(), 70_000);
    drop(log);
    let pages = std::fs::read_dir(dir.path().join("dedup"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .find_map(|n| n.strip_prefix("table-").map(str::to_owned))
        .unwrap();
    assert!(
        pages.parse::<u32>().unwrap() > 4,
        "table never doubled: table-{pages}"
    );
    let report = fsck(dir.path(), &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.damage);
    assert_eq!(report.entries_checked, 70_000);
}

#[test]
fn duplicates_get_their_first_index() {
    let dir = Scratch::new("dedup");
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    let out = log
        .integrate(&[b"a".to_vec(), b"b".to_vec(), b"a".to_vec()])
        .unwrap();
    assert_eq!(
        out,
        [
            Sequenced::Added(0),
            Sequenced::Added(1),
            Sequenced::Duplicate(0)
        ]
    );
    drop(log);
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    let out = log.integrate(&[b"b".to_vec(), b"c".to_vec()]).unwrap();
    assert_eq!(out, [Sequenced::Duplicate(1), Sequenced::Added(2)]);
    assert_eq!(log.published().checkpoint.size(), 3);
    // An over-long entry refuses the whole call and changes nothing.
    let err = log
        .integrate(&[b"d".to_vec(), vec![0; 65_536]])
        .unwrap_err();
    assert!(matches!(
        err,
        merkle_log::LogError::EntryTooLong { len: 65_536 }
    ));
    assert_eq!(
        log.integrate(&[b"d".to_vec()]).unwrap(),
        [Sequenced::Added(3)]
    );
}

#[test]
fn another_key_is_refused_and_a_second_process_is_locked_out() {
    let dir = Scratch::new("key");
    let log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    assert!(Log::open(dir.path(), test_signer(), LogConfig::default()).is_err());
    drop(log);
    let other = merkle_log::NoteSigner::from_private_key(
        "PRIVATE+KEY+Known+451c786d+AQPRoE2+Z+Ed1HaHBA9F/FfracvcZ2rDU39kCecMEoci",
    )
    .unwrap();
    let err = Log::open(dir.path(), other, LogConfig::default()).unwrap_err();
    assert!(err.to_string().contains("belongs to key"), "{err}");
}

fn flip(path: &std::path::Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn fsck_names_each_flipped_file_and_the_log_refuses_a_damaged_edge() {
    let dir = Scratch::new("fsck");
    {
        let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
        for chunk in (0..1000u64).collect::<Vec<_>>().chunks(97) {
            let batch: Vec<Vec<u8>> = chunk.iter().map(|&i| entry(i)).collect();
            log.integrate(&batch).unwrap();
        }
    }
    // (file, byte offset, whether the log must refuse to open)
    let cases = [
        ("tile/entries/001", 40, false),
        ("tile/0/001", 100, false),
        ("tile/0/003.p/232", 7000, true),
        ("tile/1/000.p/3", 33, true),
        ("tile/entries/003.p/232", 3000, true),
    ];
    for (file, at, refuses) in cases {
        let path = dir.path().join(file);
        let original = std::fs::read(&path).unwrap();
        flip(&path, at);
        let report = fsck(dir.path(), &mut |_, _| {}).unwrap();
        let named: Vec<&str> = report.damage.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(named, [file], "flipped {file}: {:?}", report.damage);
        let opened = Log::open(dir.path(), test_signer(), LogConfig::default());
        assert_eq!(opened.is_err(), refuses, "{file}: {:?}", opened.err());
        if let Err(e) = opened {
            assert!(e.to_string().contains("damaged"), "{e}");
        }
        std::fs::write(&path, original).unwrap();
    }
    assert!(fsck(dir.path(), &mut |_, _| {}).unwrap().is_clean());

    // A lost dedup index is named by fsck and rebuilt from the tiles on open.
    std::fs::remove_dir_all(dir.path().join("dedup")).unwrap();
    let report = fsck(dir.path(), &mut |_, _| {}).unwrap();
    assert_eq!(report.damage[0].path, "dedup");
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    let out = log.integrate(&[entry(5), entry(999), entry(1000)]).unwrap();
    assert_eq!(
        out,
        [
            Sequenced::Duplicate(5),
            Sequenced::Duplicate(999),
            Sequenced::Added(1000)
        ]
    );
    drop(log);
    assert!(fsck(dir.path(), &mut |_, _| {}).unwrap().is_clean());
}

#[test]
fn a_failed_write_halts_the_log_without_publishing() {
    let dir = Scratch::new("halt");
    let mut log = Log::open(dir.path(), test_signer(), LogConfig::default()).unwrap();
    log.integrate(&[b"first".to_vec()]).unwrap();
    // A plain file where the next partial tile's directory must go.
    std::fs::create_dir_all(dir.path().join("tile/entries")).unwrap();
    std::fs::remove_dir_all(dir.path().join("tile/0")).unwrap();
    std::fs::write(dir.path().join("tile/0"), b"in the way").unwrap();
    assert!(log.integrate(&[b"second".to_vec()]).is_err());
    assert_eq!(log.published().checkpoint.size(), 1);
    let err = log.integrate(&[b"third".to_vec()]).unwrap_err();
    assert!(matches!(err, merkle_log::LogError::Halted), "{err}");
    let note = std::fs::read_to_string(dir.path().join("checkpoint")).unwrap();
    assert!(note.contains("\n1\n"), "{note}");
}

#[test]
fn the_dedup_table_survives_an_interrupted_doubling() {
    use merkle_log::dedup::DedupIndex;
    let dir = Scratch::new("dedup-double");
    let path = dir.path().join("dedup");
    let hashes: Vec<merkle_log::Hash> = (0..5000u64)
        .map(|i| merkle_log::Hash::leaf(&i.to_be_bytes()))
        .collect();
    let records: Vec<(merkle_log::Hash, u64)> = hashes.iter().copied().zip(0u64..).collect();
    let mut index = DedupIndex::rebuild(&path, 0, std::iter::empty, &mut |_| {}).unwrap();
    index.insert(&records[..1000]).unwrap();
    index.sync().unwrap();
    let tables = |p: &std::path::Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with("table-"))
            .collect();
        v.sort();
        v
    };
    let before = tables(&path);
    assert_eq!(before.len(), 1);
    let old_copy = std::fs::read(path.join(&before[0])).unwrap();
    index.insert(&records[1000..]).unwrap();
    index.sync().unwrap();
    drop(index);
    let after = tables(&path);
    assert_ne!(after, before, "5000 entries cannot fit 4096 slots");
    // As if the process died after renaming the new table but before removing
    // the old one, with a half-written table of the next size lying around.
    std::fs::write(path.join(&before[0]), &old_copy).unwrap();
    std::fs::write(path.join("table-30.tmp"), b"partial").unwrap();
    let index = DedupIndex::open(&path).unwrap().unwrap();
    assert_eq!(tables(&path), after);
    assert!(!path.join("table-30.tmp").exists());
    for (h, i) in &records {
        assert!(index.candidates(h).unwrap().contains(i), "lost {i}");
    }
    assert!(
        index
            .candidates(&merkle_log::Hash::leaf(b"absent"))
            .unwrap()
            .is_empty()
    );
}
