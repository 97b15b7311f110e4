//! The log never adds a committed entry twice: not after a rebuild of the dedup
//! index killed part-way (SIGKILL of a child process at each stage), not with a
//! damaged, outdated or old-format table. After each, every entry is submitted
//! again and must get the index it got the first time (known from the first
//! submission, not from the code).
//!
//! The table is read here from its documented layout (docs/storage.md), to find
//! where an entry's slot is and to damage exactly that.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use merkle_log::dedup::RebuildStage;
use merkle_log::fsck::fsck;
use merkle_log::{Log, LogConfig, RebuildReason, Sequenced};
use sha2::{Digest, Sha256};

use crate::common::{Scratch, test_signer};

const PAGE: u64 = 4096;
const SLOT: u64 = 16;
const SLOTS: u64 = 255;

pub(crate) fn entry(i: u64) -> Vec<u8> {
    format!("dedup recovery entry {i}").into_bytes()
}

fn open(data: &Path) -> Log {
    Log::open(data, test_signer(), LogConfig::default()).unwrap()
}

/// A log of entries `0..n`, integrated in batches of `batch`.
fn grow(data: &Path, n: u64, batch: u64) {
    let mut log = open(data);
    let mut next = log.published().checkpoint.size();
    while next < n {
        let end = (next + batch).min(n);
        let entries: Vec<Vec<u8>> = (next..end).map(entry).collect();
        let out = log.integrate(&entries).unwrap();
        let want: Vec<Sequenced> = (next..end).map(Sequenced::Added).collect();
        assert_eq!(out, want);
        next = end;
    }
}

/// Submits entries `0..n` again and one new one: each old entry must come back
/// at its first index, and the new one is added at `n`.
fn resubmit_all(log: &mut Log, n: u64) {
    let mut entries: Vec<Vec<u8>> = (0..n).map(entry).collect();
    entries.push(entry(n));
    let out = log.integrate(&entries).unwrap();
    let mut want: Vec<Sequenced> = (0..n).map(Sequenced::Duplicate).collect();
    want.push(Sequenced::Added(n));
    let wrong: Vec<(usize, &Sequenced)> = out
        .iter()
        .enumerate()
        .filter(|(i, o)| want.get(*i) != Some(o))
        .take(5)
        .collect();
    assert!(
        wrong.is_empty(),
        "entries not at their first index: {wrong:?}"
    );
    assert_eq!(log.published().checkpoint.size(), n + 1);
}

fn assert_clean(data: &Path) {
    let report = fsck(data, &mut |_, _| {}).unwrap();
    assert!(report.is_clean(), "{:?}", report.damage);
    for leftover in ["dedup.new", "dedup.old"] {
        assert!(!data.join(leftover).exists(), "{leftover} left behind");
    }
}

/// The one table file of `dedup/`.
pub(crate) fn table_file(data: &Path) -> PathBuf {
    let tables: Vec<PathBuf> = std::fs::read_dir(data.join("dedup"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("table-")
        })
        .collect();
    assert_eq!(tables.len(), 1, "{tables:?}");
    tables.into_iter().next().unwrap()
}

/// The table as documented: header page (bits at 20..24, secret at 24..56),
/// then 2^bits pages of 255 slots (key, index + 1) and a checksum trailer.
pub(crate) struct Layout {
    bits: u32,
    secret: [u8; 32],
    bytes: Vec<u8>,
}

impl Layout {
    pub(crate) fn read(path: &Path) -> Layout {
        let bytes = std::fs::read(path).unwrap();
        let bits = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        let secret = bytes[24..56].try_into().unwrap();
        assert_eq!(bytes.len() as u64, (1 + (1u64 << bits)) * PAGE);
        Layout {
            bits,
            secret,
            bytes,
        }
    }

    /// The page a leaf hash lives in: the top bits of SHA-256(secret || hash).
    fn page_of(&self, entry: &[u8]) -> u64 {
        let mut leaf = Sha256::new();
        leaf.update([0u8]);
        leaf.update(entry);
        let mut d = Sha256::new();
        d.update(self.secret);
        d.update(leaf.finalize());
        let key = u64::from_be_bytes(d.finalize()[..8].try_into().unwrap());
        key >> (64 - self.bits)
    }

    /// The byte offset of the slot holding leaf index `index`.
    pub(crate) fn slot_of(&self, index: u64) -> u64 {
        for page in 0..(1u64 << self.bits) {
            for s in 0..SLOTS {
                let at = (page + 1) * PAGE + s * SLOT;
                let stored = &self.bytes[at as usize + 8..(at + SLOT) as usize];
                if stored == (index + 1).to_be_bytes() {
                    return at;
                }
            }
        }
        panic!("no slot holds index {index}");
    }

    fn used_slots(&self, page: u64) -> u64 {
        (0..SLOTS)
            .filter(|s| {
                let at = ((page + 1) * PAGE + s * SLOT) as usize;
                self.bytes[at + 8..at + 16].iter().any(|&b| b != 0)
            })
            .count() as u64
    }
}

pub(crate) fn flip(path: &Path, at: u64) {
    use std::os::unix::fs::FileExt as _;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let mut b = [0u8];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x01], at).unwrap();
}

const CHILD: &str = "MERKLE_LOG_IT_REBUILD_CHILD";
const KILL_TEST: &str = "dedup_recovery::a_rebuild_killed_at_any_stage_is_discarded_and_redone";

/// In the child process: open the log, whose index needs a rebuild, and stop
/// for good at the named stage of the rebuild, saying so on stdout.
#[allow(clippy::print_stdout)] // the child reports to its parent on stdout
fn rebuild_child(spec: &str) {
    use std::io::Write as _;
    let (stage, data) = spec.split_once(':').unwrap();
    let mut pause = |s: RebuildStage| {
        let hit = match s {
            RebuildStage::Indexed { done: 0, .. } => stage == "start",
            RebuildStage::Indexed { done, total } => stage == "half" && done >= total / 2,
            RebuildStage::Written => stage == "written",
            RebuildStage::MovedAside => stage == "aside",
        };
        if hit {
            // A line of its own: the test harness has begun one with the test name.
            println!("\npaused at {stage}");
            std::io::stdout().flush().unwrap();
            loop {
                std::thread::sleep(Duration::from_secs(60));
            }
        }
    };
    let opened = Log::open_with_progress(
        Path::new(data),
        test_signer(),
        LogConfig::default(),
        &mut pause,
    );
    println!("\nfinished without pausing: {:?}", opened.map(|_| ()));
}

#[test]
fn a_rebuild_killed_at_any_stage_is_discarded_and_redone() {
    if let Ok(spec) = std::env::var(CHILD) {
        return rebuild_child(&spec);
    }
    const N: u64 = 3000;
    // (stage to kill at, whether the old index is removed or damaged first)
    let cases = [
        ("start", true),
        ("half", true),
        ("written", true),
        ("half", false),
        ("written", false),
        ("aside", false),
    ];
    for (stage, removed) in cases {
        let dir = Scratch::new("rebuild-kill");
        let data = dir.path().join("data");
        grow(&data, N, 700);
        if removed {
            std::fs::remove_dir_all(data.join("dedup")).unwrap();
        } else {
            // A flipped byte of the secret: the header fails its checksum.
            flip(&table_file(&data), 30);
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([KILL_TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, format!("{stage}:{}", data.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap_or_default();
                let done = line.starts_with("paused at") || line.starts_with("finished");
                let _ = tx.send(line);
                if done {
                    break;
                }
            }
        });
        let line = loop {
            let line = rx.recv_timeout(Duration::from_secs(300)).unwrap();
            if line.starts_with("paused at") || line.starts_with("finished") {
                break line;
            }
        };
        assert_eq!(line, format!("paused at {stage}"), "{stage}/{removed}");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        // The kill landed in the middle of the rebuild.
        let (new, old, current) = (
            data.join("dedup.new").exists(),
            data.join("dedup.old").exists(),
            data.join("dedup").exists(),
        );
        if stage == "aside" {
            assert!(new && old && !current, "{stage}: {new} {old} {current}");
        } else {
            assert!(new && current != removed, "{stage}: {new} {current}");
        }

        let mut log = open(&data);
        assert!(log.last_rebuild().is_some(), "{stage}/{removed}");
        assert!(!data.join("dedup.new").exists() && !data.join("dedup.old").exists());
        resubmit_all(&mut log, N);
        drop(log);
        assert_clean(&data);
    }
}

#[test]
fn a_damaged_table_is_rebuilt_before_anything_is_added() {
    const N: u64 = 3000;
    // Each case damages the table of a log of N entries in one way.
    type Damage = fn(&Path, &Layout);
    let cases: [(&str, Damage); 8] = [
        ("key of the slot of entry 63", |t, l| {
            flip(t, l.slot_of(63) + 3)
        }),
        ("index of the slot of entry 63", |t, l| {
            flip(t, l.slot_of(63) + 15)
        }),
        ("checksum of the page of entry 63", |t, l| {
            let page_end = (l.slot_of(63) / PAGE + 1) * PAGE;
            flip(t, page_end - 1)
        }),
        ("a byte of the secret", |t, _| flip(t, 40)),
        ("the page count in the header", |t, _| flip(t, 23)),
        ("the page of entry 63 zeroed", |t, l| {
            use std::os::unix::fs::FileExt as _;
            let f = std::fs::OpenOptions::new().write(true).open(t).unwrap();
            let page_start = l.slot_of(63) / PAGE * PAGE;
            f.write_all_at(&[0u8; PAGE as usize], page_start).unwrap();
        }),
        ("the table cut short", |t, _| {
            let f = std::fs::OpenOptions::new().write(true).open(t).unwrap();
            let len = f.metadata().unwrap().len();
            f.set_len(len - PAGE).unwrap();
        }),
        ("the table removed", |t, _| std::fs::remove_file(t).unwrap()),
    ];
    for (what, damage) in cases {
        let dir = Scratch::new("dedup-damage");
        let data = dir.path();
        grow(data, N, 1000);
        let table = table_file(data);
        damage(&table, &Layout::read(&table));
        // fsck names the index, and nothing else.
        let report = fsck(data, &mut |_, _| {}).unwrap();
        assert!(!report.is_clean(), "{what}");
        assert!(
            report.damage.iter().all(|d| d.path.starts_with("dedup")),
            "{what}: {:?}",
            report.damage
        );
        // The start-up check reads the page of every entry of the tail, which in
        // a table of 16 pages is every page: the damage is found at open.
        let mut log = open(data);
        assert!(
            matches!(log.last_rebuild(), Some(RebuildReason::Damaged(_))),
            "{what}: {:?}",
            log.last_rebuild()
        );
        resubmit_all(&mut log, N);
        drop(log);
        assert_clean(data);
    }
}

/// Entries in the logs that are damaged while open.
const LIVE_N: u64 = 3000;

/// A log of `LIVE_N` entries, open and past its start-up check, with its table.
fn open_grown(tag: &str) -> (Scratch, Log, PathBuf, Layout) {
    let dir = Scratch::new(tag);
    grow(dir.path(), LIVE_N, 1000);
    let log = open(dir.path());
    assert_eq!(log.last_rebuild(), None);
    let table = table_file(dir.path());
    let layout = Layout::read(&table);
    (dir, log, table, layout)
}

#[test]
fn a_lookup_that_meets_a_damaged_page_rebuilds_instead_of_missing() {
    const N: u64 = LIVE_N;
    let (dir, mut log, table, layout) = open_grown("dedup-live");
    let data = dir.path();
    // Damaged under the running log, after its start-up check.
    let page = layout.slot_of(63) / PAGE - 1;
    flip(&table, layout.slot_of(63) + 2);
    assert!(log.find(&merkle_log::Hash::leaf(&entry(63))).is_err());
    resubmit_all(&mut log, N);
    match log.last_rebuild() {
        Some(RebuildReason::Damaged(what)) => {
            assert!(what.contains(&format!("page {page} ")), "{what}")
        }
        other => panic!("no rebuild: {other:?}"),
    }
    drop(log);
    assert_clean(data);
}

#[test]
fn a_doubling_that_meets_a_damaged_page_rebuilds_and_records_the_batch() {
    const N: u64 = LIVE_N;
    let (dir, mut log, table, layout) = open_grown("dedup-double-damage");
    let data = dir.path();
    // New entries that all live in one page, enough to overflow it, so that
    // the table doubles and reads every page; another page is damaged, which
    // none of their lookups reads.
    let full = layout.page_of(&entry(0));
    let free = SLOTS - layout.used_slots(full);
    let batch: Vec<Vec<u8>> = (N + 1..)
        .map(entry)
        .filter(|e| layout.page_of(e) == full)
        .take(free as usize + 1)
        .collect();
    let victim = (full + 1) % (1u64 << layout.bits);
    flip(&table, (victim + 1) * PAGE + 5);
    let out = log.integrate(&batch).unwrap();
    assert!(
        out.iter().all(|o| matches!(o, Sequenced::Added(_))),
        "{out:?}"
    );
    assert!(
        matches!(log.last_rebuild(), Some(RebuildReason::Damaged(w)) if w.contains(&format!("page {victim} "))),
        "{:?}",
        log.last_rebuild()
    );
    // The batch is in the new index, and so is everything before it.
    let again = log.integrate(&batch).unwrap();
    let first = out.iter().map(|o| o.index());
    assert!(again.iter().map(|o| o.index()).eq(first));
    let mut entries: Vec<Vec<u8>> = (0..N).map(entry).collect();
    entries.push(entry(N));
    let out = log.integrate(&entries).unwrap();
    assert!(
        out[..N as usize]
            .iter()
            .zip(0..)
            .all(|(o, i)| *o == Sequenced::Duplicate(i))
    );
    drop(log);
    assert_clean(data);
}

#[test]
fn an_index_older_than_the_log_is_rebuilt() {
    let dir = Scratch::new("dedup-behind");
    let data = dir.path().join("data");
    let saved = dir.path().join("dedup-saved");
    grow(&data, 1000, 300);
    std::fs::create_dir(&saved).unwrap();
    for e in std::fs::read_dir(data.join("dedup")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), saved.join(e.file_name())).unwrap();
    }
    grow(&data, 1500, 300);
    // Restored from an earlier copy: sound pages, but the last 500 entries missing.
    std::fs::remove_dir_all(data.join("dedup")).unwrap();
    std::fs::rename(&saved, data.join("dedup")).unwrap();
    let report = fsck(&data, &mut |_, _| {}).unwrap();
    assert!(
        report
            .damage
            .iter()
            .any(|d| d.what.starts_with("entry 1000 is not indexed")),
        "{:?}",
        report.damage
    );
    let mut log = open(&data);
    assert!(
        matches!(log.last_rebuild(), Some(RebuildReason::Behind { index }) if *index >= 1000),
        "{:?}",
        log.last_rebuild()
    );
    resubmit_all(&mut log, 1500);
    drop(log);
    assert_clean(&data);
}

#[test]
fn a_format_v1_directory_is_upgraded_and_its_index_never_trusted() {
    let dir = Scratch::new("dedup-v1");
    let data = dir.path();
    grow(data, 600, 250);
    // As the previous format left it after a rebuild killed at its start: a
    // secret and an empty table of 16 pages of 256 slots, no checksums.
    std::fs::write(data.join("FORMAT"), "merkle-log data v1\n").unwrap();
    std::fs::remove_dir_all(data.join("dedup")).unwrap();
    std::fs::create_dir(data.join("dedup")).unwrap();
    std::fs::write(data.join("dedup/secret"), [7u8; 32]).unwrap();
    std::fs::write(data.join("dedup/index-4"), vec![0u8; 16 * 4096]).unwrap();
    let report = fsck(data, &mut |_, _| {}).unwrap();
    assert_eq!(report.entries_checked, 600);
    let named: Vec<_> = report.damage.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(named, ["dedup"], "{:?}", report.damage);
    assert!(
        report.damage[0].what.contains("format v1"),
        "{:?}",
        report.damage
    );
    // fsck changed nothing; opening upgrades.
    assert_eq!(
        std::fs::read_to_string(data.join("FORMAT")).unwrap(),
        "merkle-log data v1\n"
    );
    let mut log = open(data);
    assert_eq!(
        std::fs::read_to_string(data.join("FORMAT")).unwrap(),
        "merkle-log data v3\n"
    );
    assert!(
        matches!(log.last_rebuild(), Some(RebuildReason::Damaged(w)) if w.contains("format v1")),
        "{:?}",
        log.last_rebuild()
    );
    resubmit_all(&mut log, 600);
    drop(log);
    assert_clean(data);
    assert!(!data.join("dedup/secret").exists());

    // A format this program does not know is refused, naming what it reads.
    std::fs::write(data.join("FORMAT"), "merkle-log data v4\n").unwrap();
    let err = Log::open(data, test_signer(), LogConfig::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("merkle-log data v4") && msg.contains("merkle-log data v3"),
        "{msg}"
    );
}
