//! The explorer in a real browser: headless Chromium from Debian's `chromium` and
//! `chromium-driver` packages, driven over WebDriver (fantoccini, ADR 0030), against a
//! `chain-node` process serving the explorer on an ephemeral port of 127.0.0.1.
//!
//! `.ci/run` installs the packages when `chromedriver` is missing; without them the
//! test fails saying so, unless `OPEN_TRUST_SKIP_BROWSER=1`. Its screenshots are kept
//! under `target/explorer-artifacts/`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chain_node::{COIN, Network};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::explorer::coins;
use crate::helpers::{address, key, temp_dir};
use crate::process::NodeProcess;

/// The block must be on the open page this soon after `generatetoaddress` answers:
/// the requirement itself, a deadline to wait until, not a measurement.
const LIVE_DEADLINE: Duration = Duration::from_secs(2);
/// How long a page may take to show an element after a click or a search.
const PAGE_DEADLINE: Duration = Duration::from_secs(20);

/// `chromedriver` on `PATH`, or `None` when the test is to be skipped.
fn chromedriver() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromedriver"))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var_os("OPEN_TRUST_SKIP_BROWSER").is_some_and(|v| v == "1") {
        return None;
    }
    assert!(
        found.is_some(),
        "chromedriver is not installed: run .ci/run, or `apt-get install -y chromium \
         chromium-driver` (Debian's packages); set OPEN_TRUST_SKIP_BROWSER=1 to skip this test"
    );
    found
}

/// A running chromedriver; killed when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(binary: &PathBuf) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let driver = Driver { child, port };
        let end = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < end,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the test keeps its screenshots.
fn artifacts() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let dir = dir.join("explorer-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn connect(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    let mut chrome = json!({
        "args": [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,1000",
        ]
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = json!("/usr/bin/chromium");
    }
    caps.insert("goog:chromeOptions".into(), chrome);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("cannot open a Chromium session through chromedriver")
}

/// Waits until `css` matches an element, up to `deadline`; whether it did.
async fn appears(client: &Client, css: &str, deadline: Duration) -> bool {
    let end = Instant::now() + deadline;
    loop {
        if client
            .find_all(Locator::Css(css))
            .await
            .is_ok_and(|found| !found.is_empty())
        {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .wait()
        .at_most(PAGE_DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("no {css}: {e}"))
        .click()
        .await
        .unwrap();
}

#[test]
fn the_explorer_in_headless_chromium_shows_a_new_block_live_and_navigates() {
    let Some(binary) = chromedriver() else {
        return;
    };
    let driver = Driver::start(&binary);
    let dir = temp_dir("explorer-browser");
    let node = NodeProcess::start_with(&dir, &["--explorer-listen", "127.0.0.1:0"]);
    let url = node.info["explorer"].as_str().unwrap().to_owned();
    let miner = address(&key(9)).encode(Network::Regtest);
    let payee = address(&key(10)).encode(Network::Regtest);
    node.ok("generatetoaddress", json!([3, miner]));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = connect(&driver).await;
        client.goto(&url).await.unwrap();
        assert!(appears(&client, "#latest-blocks", PAGE_DEADLINE).await);
        // The page is open: a block mined over RPC appears on it without a reload.
        let mined = node.ok("generatetoaddress", json!([1, payee]));
        let hash = mined[0].as_str().unwrap().to_owned();
        let link = format!("#latest a[href='/block/{hash}']");
        assert!(
            appears(&client, &link, LIVE_DEADLINE).await,
            "block {hash} did not appear on the open page within {LIVE_DEADLINE:?}"
        );
        assert_eq!(text_of(&client, "#tip-height").await, "4");
        let shot = client.screenshot().await.unwrap();
        std::fs::write(artifacts().join("explorer-home.png"), &shot).unwrap();

        // Through to the block, then to its coinbase transaction.
        click(&client, &link).await;
        assert_eq!(text_of(&client, "#block-hash").await, hash);
        let block = node.ok("getblock", json!([hash, 1]));
        let coinbase = block["tx"][0].as_str().unwrap().to_owned();
        click(&client, "#block-txs tbody tr:first-child td a").await;
        assert_eq!(text_of(&client, "#txid").await, coinbase);
        assert!(
            client
                .source()
                .await
                .unwrap()
                .contains("Coinbase: new coins for block 4")
        );

        // Search the payee's address: its balance is the one block's subsidy, 50
        // coins on regtest before the first halving (docs/consensus.md).
        let search = client.find(Locator::Id("q")).await.unwrap();
        search.send_keys(&payee).await.unwrap();
        client
            .form(Locator::Id("search"))
            .await
            .unwrap()
            .submit()
            .await
            .unwrap();
        assert_eq!(text_of(&client, "#balance").await, coins(50 * COIN));
        assert_eq!(text_of(&client, "#address").await, payee);
        let shot = client.screenshot().await.unwrap();
        assert!(shot.starts_with(b"\x89PNG"));
        std::fs::write(artifacts().join("explorer-address.png"), &shot).unwrap();
        client.close().await.unwrap();
    });
    node.stop();
}
