//! The README's walkthroughs and every `--help` page of the three programs, run against
//! fresh processes and compared with the snapshots in `tests/snapshots/`, so that a
//! change of output fails here before it makes the README wrong.
//!
//! Every ` ```sh ` block of the README is preceded by a marker: `<!-- readme-test: run -->`
//! (the block runs, in order, in one shell, against a regtest node the test starts as
//! the quick start does) or `<!-- readme-test: skip: REASON -->`. Values that differ
//! from run to run (hashes, addresses, keys, signatures, recovery words, times) are
//! replaced by a placeholder before the comparison. After a deliberate change of output,
//! `SNAPSHOTS=overwrite cargo test -p wallet-cli --test it docs::` rewrites the
//! snapshots; review their diff before committing it.

use std::fs;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::sibling_binary;

/// The programs whose help pages are snapshotted: (package, binary).
const PROGRAMS: [(&str, &str); 3] = [
    ("wallet-cli", "wallet"),
    ("chain-node", "chain-node"),
    ("merkle-log", "merkle-log"),
];

/// Ports the README's commands name: the regtest node's RPC and the log's server.
const README_PORTS: [u16; 2] = [18443, 8080];

/// How long the README's blocks may take together.
const README_TIMEOUT: Duration = Duration::from_secs(300);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The directory that holds `wallet`, `chain-node` and `merkle-log`, all up to date.
fn binaries() -> PathBuf {
    for (package, bin) in PROGRAMS {
        sibling_binary(package, bin);
    }
    Path::new(env!("CARGO_BIN_EXE_wallet"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Compares `actual` with the snapshot `name`, or writes it under `SNAPSHOTS=overwrite`.
fn check_snapshot(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(name);
    if std::env::var("SNAPSHOTS").as_deref() == Ok("overwrite") {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; make it with SNAPSHOTS=overwrite and review it",
            path.display()
        )
    });
    if expected == actual {
        return;
    }
    let (old, new): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut report = String::new();
    let mut shown = 0;
    for i in 0..old.len().max(new.len()) {
        let (o, n) = (old.get(i), new.get(i));
        if o != n && shown < 20 {
            shown += 1;
            report.push_str(&format!(
                "line {}:\n  snapshot: {}\n  now:      {}\n",
                i + 1,
                o.unwrap_or(&"<none>"),
                n.unwrap_or(&"<none>")
            ));
        }
    }
    panic!(
        "the output differs from {} ({} lines against {}); if the change is meant, \
         rewrite it with SNAPSHOTS=overwrite and review the diff:\n{report}",
        path.display(),
        new.len(),
        old.len()
    );
}

/// Replaces what differs from run to run with placeholders: 64-digit hex hashes
/// (`[HASH]`), addresses (`[ADDR]`), base64 keys, roots and signatures (`[B64]`),
/// a line of 24 recovery words (`[WORDS]`) and the time fields of JSON answers
/// (`[TIME]`).
fn redact(text: &str) -> String {
    text.lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() == 24
                && words
                    .iter()
                    .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
            {
                let indent = &line[..line.len() - line.trim_start().len()];
                return format!("{indent}[WORDS]");
            }
            redact_tokens(line)
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn redact_tokens(line: &str) -> String {
    let is_token = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=');
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(start) = rest.find(is_token) {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail.find(|c: char| !is_token(c)).unwrap_or(tail.len());
        let token = &tail[..end];
        let time_field = [
            "\"time\":",
            "\"mediantime\":",
            "\"blocktime\":",
            "\"timestamp\":",
        ]
        .iter()
        .any(|f| out.ends_with(f));
        let base64_chars = token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '='));
        let replaced = if token.len() == 64 && token.chars().all(|c| c.is_ascii_hexdigit()) {
            "[HASH]"
        } else if token.starts_with("rcn1") && token.len() >= 40 {
            "[ADDR]"
        } else if time_field && token.chars().all(|c| c.is_ascii_digit()) {
            "[TIME]"
        } else if token.len() >= 40 && base64_chars {
            "[B64]"
        } else {
            token
        };
        out.push_str(replaced);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// One fenced shell block of the README.
struct Block {
    /// The line of its opening fence (1-based).
    line: usize,
    /// Whether the test runs it.
    run: bool,
    body: String,
}

/// The README's ` ```sh ` blocks with their markers; an error names a block without
/// a marker or a skip without a reason.
fn readme_blocks(readme: &str) -> Result<Vec<Block>, String> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```sh" {
            i += 1;
            continue;
        }
        let line = i + 1;
        let marker = if i > 0 { lines[i - 1].trim() } else { "" };
        let run = match marker
            .strip_prefix("<!-- readme-test: ")
            .and_then(|m| m.strip_suffix("-->"))
            .map(str::trim)
        {
            Some("run") => true,
            Some(skip)
                if skip
                    .strip_prefix("skip:")
                    .is_some_and(|r| !r.trim().is_empty()) =>
            {
                false
            }
            _ => {
                return Err(format!(
                    "README.md line {line}: a shell block needs `<!-- readme-test: run -->` or \
                     `<!-- readme-test: skip: REASON -->` on the line before it"
                ));
            }
        };
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .ok_or_else(|| format!("README.md line {line}: the block is not closed"))?;
        blocks.push(Block {
            line,
            run,
            body: lines[i + 1..end].join("\n"),
        });
        i = end + 1;
    }
    Ok(blocks)
}

/// `line` with the output of a command it starts in the background (`cmd &`, not
/// `a && b`) sent to `$BACKGROUND_LOG`: a server started that way prints at moments
/// that depend on scheduling, into the middle of the walkthrough's own lines.
fn quiet_background(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len() + 32);
    for (i, c) in line.char_indices() {
        let lone_ampersand = c == '&'
            && i > 0
            && bytes.get(i - 1) == Some(&b' ')
            && bytes.get(i + 1).is_none_or(|b| *b == b' ');
        if lone_ampersand && !line[..i].contains('#') {
            out.push_str(">>\"$BACKGROUND_LOG\" 2>&1 ");
        }
        out.push(c);
    }
    out
}

/// Kills `child` (SIGTERM, then SIGKILL after 10 s) and waits for it.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn every_shell_block_of_the_readme_is_run_or_says_why_not() {
    let readme = fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let blocks = readme_blocks(&readme).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        blocks.iter().filter(|b| b.run).count() >= 4,
        "too few blocks run"
    );
    // The parser refuses what it must refuse.
    assert!(readme_blocks("text\n```sh\nls\n```\n").is_err());
    assert!(readme_blocks("<!-- readme-test: skip: -->\n```sh\nls\n```\n").is_err());
    assert!(readme_blocks("<!-- readme-test: run -->\n```sh\nls\n").is_err());
    let ok =
        readme_blocks("<!-- readme-test: skip: needs the internet -->\n```sh\nls\n```\n").unwrap();
    assert_eq!((ok.len(), ok[0].run, ok[0].body.as_str()), (1, false, "ls"));
}

#[test]
fn only_commands_sent_to_the_background_are_quieted() {
    assert_eq!(
        quiet_background("serve --x 1 & sleep 1   # a & b"),
        "serve --x 1 >>\"$BACKGROUND_LOG\" 2>&1 & sleep 1   # a & b"
    );
    assert_eq!(
        quiet_background("serve &"),
        "serve >>\"$BACKGROUND_LOG\" 2>&1 &"
    );
    assert_eq!(quiet_background("a && b"), "a && b");
    assert_eq!(quiet_background("cmd 2>&1 | x"), "cmd 2>&1 | x");
}

#[test]
fn redaction_replaces_only_what_differs_between_runs() {
    let words = "news twist baby wreck fiction possible beef riot will lion divide city never voice replace eye one thumb fragile dash photo dinner stamp polar";
    let text = format!(
        "  {words}\nsent 12.50000000 to rcn154f62t6qst7j92kn59gv29vfgk7zhfylcrl4hjvlq9nr773mk83s93hlnt (fee 0.00002210); txid 3c0d469b4b5256bb061cc2af235b58e240dd7f05b0ab80d9e85e261d6e1ea77d\n\
         {{\"mediantime\":1796011322,\"blocks\":104,\"amount\":1250000000}}\n\
         j63AQw/ZpgNvb9I7NV9vqCr2R4zqJVprQzqVC8XwUHM=\nblock 102 -12.5"
    );
    assert_eq!(
        redact(&text),
        "  [WORDS]\nsent 12.50000000 to [ADDR] (fee 0.00002210); txid [HASH]\n\
         {\"mediantime\":[TIME],\"blocks\":104,\"amount\":1250000000}\n[B64]\nblock 102 -12.5\n"
    );
}

#[test]
fn every_help_page_matches_its_snapshot() {
    let dir = binaries();
    for (_, bin) in PROGRAMS {
        let mut pages = String::new();
        let mut queue: Vec<Vec<String>> = vec![Vec::new()];
        let mut seen = 0;
        while let Some(args) = queue.pop() {
            seen += 1;
            assert!(seen < 200, "{bin}: too many help pages");
            let out = Command::new(dir.join(bin))
                .args(&args)
                .arg("--help")
                .env("COLUMNS", "100")
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{bin} {} --help failed",
                args.join(" ")
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let mut command_line = vec![bin.to_owned()];
            command_line.extend(args.iter().cloned());
            pages.push_str(&format!("$ {} --help\n{text}\n", command_line.join(" ")));
            // Subcommands, listed in clap's "Commands:" section; visited in order.
            let subcommands: Vec<String> = text
                .lines()
                .skip_while(|l| l.trim_end() != "Commands:")
                .skip(1)
                .take_while(|l| !l.trim().is_empty())
                .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
                .filter_map(|l| l.split_whitespace().next())
                .filter(|name| *name != "help")
                .map(str::to_owned)
                .collect();
            for sub in subcommands.into_iter().rev() {
                let mut next = args.clone();
                next.push(sub);
                queue.push(next);
            }
        }
        assert!(seen > 1, "{bin} lists no subcommands");
        check_snapshot(&format!("help-{bin}.txt"), &pages);
    }
}

#[test]
fn the_readme_walkthroughs_run_and_print_what_their_snapshot_shows() {
    for port in README_PORTS {
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            panic!(
                "port {port} is taken ({e}): the README's commands use the default ports; \
                 stop the local node or log that holds it and run the test again"
            );
        }
    }
    let readme = fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let blocks = readme_blocks(&readme).unwrap_or_else(|e| panic!("{e}"));
    let bin_dir = binaries();
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let scratch = tmp.path().join("scratch");
    fs::create_dir_all(&home).unwrap();
    fs::create_dir_all(&scratch).unwrap();

    // The quick start's node, as it runs it: regtest on its defaults, in the foreground
    // of another terminal.
    let node_log = fs::File::create(tmp.path().join("node.log")).unwrap();
    let mut node = Command::new(bin_dir.join("chain-node"))
        .args(["--network", "regtest"])
        .env("HOME", &home)
        .stdout(node_log.try_clone().unwrap())
        .stderr(node_log)
        .spawn()
        .unwrap();
    let cookie = home.join(".chain-node/regtest/.cookie");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !cookie.exists() {
        assert!(
            Instant::now() < deadline && node.try_wait().unwrap().is_none(),
            "the node did not start: {}",
            fs::read_to_string(tmp.path().join("node.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let mut script = String::from("set -eo pipefail\nexec 2>&1\n");
    for block in blocks.iter().filter(|b| b.run) {
        let body = block
            .body
            .replace("$PWD/target/release", &bin_dir.display().to_string())
            .replace(
                "/tmp/open-trust-",
                &format!("{}/open-trust-", scratch.display()),
            );
        let body: Vec<String> = body.lines().map(quiet_background).collect();
        script.push_str(&format!(
            "echo '@@ README.md line {}'\n{}\n",
            block.line,
            body.join("\n")
        ));
    }
    let mut shell = Command::new("bash")
        .args(["-c", &script])
        .current_dir(workspace_root())
        .env("HOME", &home)
        .env("BACKGROUND_LOG", tmp.path().join("background.log"))
        .env_remove("WALLET_PASSPHRASE")
        .env("COLUMNS", "100")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = shell.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        stdout.read_to_string(&mut text).map(|_| text)
    });
    let deadline = Instant::now() + README_TIMEOUT;
    let status = loop {
        if let Some(status) = shell.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = shell.kill();
            let _ = shell.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = reader.join().unwrap().unwrap();
    stop(&mut node);
    let node_said = fs::read_to_string(tmp.path().join("node.log")).unwrap_or_default();
    let status = status.unwrap_or_else(|| {
        panic!("the README's blocks did not end in {README_TIMEOUT:?}:\n{output}")
    });
    let background = fs::read_to_string(tmp.path().join("background.log")).unwrap_or_default();
    assert!(
        status.success(),
        "a README block failed ({status}):\n{output}\nnode:\n{node_said}\nbackground:\n{background}"
    );
    let compared = output.replace(&scratch.display().to_string(), "[SCRATCH]");
    check_snapshot("readme.txt", &redact(&compared));
    assert!(
        !workspace_root().join("log.key").exists() && !workspace_root().join("alice").exists(),
        "the walkthroughs left keys in the repository's root"
    );
}
