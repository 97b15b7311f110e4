//! The pages, as maud templates: typed values in, HTML out. maud escapes every
//! value it splices (`(value)`), so names, burn data and anything else a stranger
//! chose reach the page as text; nothing here writes raw HTML from a value.

use maud::{DOCTYPE, Markup, html};

use super::charts::{Series, chart};
use super::live::{Reorg, Sample};
use super::query::{
    AddressPage, BlockPage, BlockRow, HISTORY_BLOCKS, MAX_ZONE_FILE_SHOWN, MempoolPage, NamePage,
    Place, Summary, TX_SCAN_BLOCKS, TxPage, ZoneShown, approx,
};
use crate::chain::ChainTip;
use crate::hash::{BlockHash, TxId};
use crate::p2p::PeerSummary;
use crate::params::Network;
use crate::rpc::{name_status, namespace_status, owner_text};
use crate::transaction::{OutputKind, TxInputs};
use crate::u256::U256;
use crate::units::Amount;

/// Everything every page needs to know.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Site {
    pub(crate) network: Network,
}

/// `YYYY-MM-DD HH:MM:SS UTC` for Unix seconds (the proleptic Gregorian calendar).
pub(crate) fn utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An amount in coins, as the wallet writes them.
pub(crate) fn coins(a: Amount) -> String {
    format!("{a} coins")
}

/// A 256-bit number in hex without leading zeros.
fn hex_u256(v: &U256) -> String {
    let h = hex::encode(v.to_be_bytes());
    let t = h.trim_start_matches('0');
    format!("0x{}", if t.is_empty() { "0" } else { t })
}

/// The first and last characters of a hash, for narrow columns.
fn short(hex: &str) -> String {
    match (hex.get(..10), hex.get(hex.len().saturating_sub(6)..)) {
        (Some(a), Some(b)) if hex.len() > 16 => format!("{a}…{b}"),
        _ => hex.to_owned(),
    }
}

fn block_link(hash: &BlockHash) -> Markup {
    let hex = hash.to_hex();
    html! { a.hash href={ "/block/" (hex) } title=(hex) { (short(&hex)) } }
}

fn tx_link(txid: &TxId, block: Option<&BlockHash>) -> Markup {
    let hex = txid.to_hex();
    let href = match block {
        Some(b) => format!("/tx/{hex}?block={}", b.to_hex()),
        None => format!("/tx/{hex}"),
    };
    html! { a.hash href=(href) title=(hex) { (short(&hex)) } }
}

fn address_link(encoded: &str) -> Markup {
    html! { a.addr href={ "/address/" (encoded) } { (encoded) } }
}

/// The frame of every page.
pub(crate) fn layout(site: Site, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · chain-node explorer (" (site.network.name()) ")" }
                link rel="stylesheet" href="/static/style.css";
                script src="/static/live.js" defer {}
            }
            body {
                header {
                    a.brand href="/" { "chain-node explorer" }
                    span.net { (site.network.name()) }
                    nav {
                        a href="/" { "Blocks" }
                        a href="/mempool" { "Mempool" }
                        a href="/tips" { "Tips" }
                        a href="/peers" { "Peers" }
                    }
                    form id="search" action="/search" method="get" role="search" {
                        input id="q" type="search" name="q" maxlength="128"
                            placeholder="height, block hash, txid, address or name"
                            aria-label="search";
                        button type="submit" { "Search" }
                    }
                }
                main { (body) }
                footer { "Read-only view of this node. Nothing here loads from the internet." }
            }
        }
    }
}

/// A page that says what went wrong (400, 404, 429, 503).
pub(crate) fn problem(site: Site, title: &str, message: &str) -> Markup {
    layout(
        site,
        title,
        html! {
            section.problem {
                h1 { (title) }
                p id="problem" { (message) }
                p { a href="/" { "Back to the latest blocks" } }
            }
        },
    )
}

/// The latest blocks table (also sent alone to refresh the front page).
pub(crate) fn latest_table(rows: &[BlockRow]) -> Markup {
    html! {
        table id="latest-blocks" {
            thead { tr { th { "Height" } th { "Hash" } th { "Time" } th { "Transactions" } th { "Size (bytes)" } } }
            tbody {
                @for r in rows {
                    tr data-height=(r.height.0) {
                        td { a href={ "/block/" (r.hash.to_hex()) } { (r.height.0) } }
                        td { (block_link(&r.hash)) }
                        td { (utc(u64::from(r.time))) }
                        td { (r.txs) }
                        td { (r.size) }
                    }
                }
            }
        }
    }
}

fn secs(v: f64) -> String {
    format!("{v:.0} s")
}

fn diff(v: f64) -> String {
    if v >= 1000.0 || (v != 0.0 && v < 0.01) {
        format!("{v:.3e}")
    } else {
        format!("{v:.2}")
    }
}

fn count(v: f64) -> String {
    format!("{v:.0}")
}

/// A series of the mempool samples, against seconds since the first one.
fn sampled<'a>(title: &'a str, samples: &[Sample], value: fn(&Sample) -> usize) -> Series<'a> {
    let first = samples.first().map_or(0, |x| x.time);
    Series {
        title,
        x_label: "seconds since the explorer started sampling:",
        points: samples
            .iter()
            .map(|x| (x.time.saturating_sub(first) as f64, value(x) as f64))
            .collect(),
        format_y: count,
    }
}

/// The front page.
pub(crate) fn home(site: Site, s: &Summary, samples: &[Sample]) -> Markup {
    let intervals = Series {
        title: "Block interval (seconds)",
        x_label: "heights",
        points: s
            .chart
            .iter()
            .map(|p| (f64::from(p.height.0), p.interval as f64))
            .collect(),
        format_y: secs,
    };
    let difficulty = Series {
        title: "Difficulty",
        x_label: "heights",
        points: s
            .chart
            .iter()
            .map(|p| (f64::from(p.height.0), p.difficulty))
            .collect(),
        format_y: diff,
    };
    let mempool = sampled("Mempool transactions over time", samples, |x| x.txs);
    layout(
        site,
        "Latest blocks",
        html! {
            section.summary {
                h1 { "Latest blocks" }
                p {
                    "Tip: height " span id="tip-height" { (s.height.0) } " "
                    span id="tip-link" { (block_link(&s.tip)) }
                    " · mempool " a href="/mempool" { (s.mempool_txs) " transactions, " (s.mempool_bytes) " bytes" }
                }
                p.muted id="live-status" { "New blocks appear here as the node connects them." }
            }
            div id="latest" { (latest_table(&s.latest)) }
            section.charts {
                (chart(&intervals))
                (chart(&difficulty))
                (chart(&mempool))
            }
        },
    )
}

fn output_kind(site: Site, kind: &OutputKind) -> Markup {
    match kind {
        OutputKind::Pay(a) => address_link(&a.encode(site.network)),
        OutputKind::Burn(data) => {
            let text = std::str::from_utf8(data).ok().filter(|t| !t.is_empty());
            html! {
                span.burn { "burn" }
                @if data.is_empty() {
                    " (no data)"
                } @else {
                    " data " code.data { (hex::encode(data)) }
                    @if let Some(t) = text {
                        " text " q.data-text { (t) }
                    }
                }
            }
        }
    }
}

/// A block.
pub(crate) fn block(site: Site, b: &BlockPage) -> Markup {
    let h = &b.header;
    let merkle = hex::encode(h.merkle_root);
    let body = html! {
        h1 { "Block " (b.height.0) }
        table.fields {
            tr { th { "Hash" } td { code id="block-hash" { (b.hash.to_hex()) } } }
            tr { th { "Status" } td { (b.status) } }
            tr { th { "Confirmations" } td { @match b.confirmations { Some(c) => (c), None => "none (not in the active chain)" } } }
            tr { th { "Previous block" } td {
                @if b.height.0 == 0 { "none (genesis)" } @else { (block_link(&h.prev)) }
            } }
            @if let Some(n) = &b.next { tr { th { "Next block" } td { (block_link(n)) } } }
            tr { th { "Time" } td { (utc(u64::from(h.time))) " (" (h.time) ")" } }
            tr { th { "Version" } td { (h.version) } }
            tr { th { "Bits" } td { (format!("{:08x}", h.bits.0)) } }
            tr { th { "Difficulty" } td { (diff(b.difficulty)) } }
            tr { th { "Nonce" } td { (h.nonce) } }
            tr { th { "Work of this block" } td { @match &b.work { Some(w) => { (hex_u256(w)) " (≈" (format!("{:.3e}", approx(w))) " hashes)" }, None => "unknown (bad bits)" } } }
            tr { th { "Chain work" } td { (hex_u256(&b.chainwork)) } }
            tr { th { "Merkle root" } td { code id="merkle-root" { (merkle) }
                @if let Some(body) = &b.body {
                    @if body.computed_root == h.merkle_root {
                        " " span.ok { "matches the transactions" }
                    } @else {
                        " " span.bad { "does not match the transactions: " (hex::encode(body.computed_root)) }
                    }
                }
            } }
        }
        @match &b.body {
            None => p { "The node has this block's header only." },
            Some(body) => {
                h2 { (body.txs.len()) " transactions · " (body.size) " bytes" }
                table id="block-txs" {
                    thead { tr { th { "Txid" } th { "Inputs" } th { "Outputs" } th { "Value out" } th { "Size" } } }
                    tbody {
                        @for t in &body.txs {
                            tr {
                                td { (tx_link(&t.txid, Some(&b.hash))) @if t.coinbase { " " span.tag { "coinbase" } } }
                                td { (t.inputs) }
                                td { (t.outputs) }
                                td { @match t.value_out { Some(v) => (coins(v)), None => "overflow" } }
                                td { (t.size) }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(site, &format!("Block {}", b.height.0), body)
}

/// A transaction.
pub(crate) fn transaction(site: Site, t: &TxPage) -> Markup {
    let tx = &t.tx;
    let body = html! {
        h1 { "Transaction" }
        table.fields {
            tr { th { "Txid" } td { code id="txid" { (t.txid.to_hex()) } } }
            tr { th { "Wtxid" } td { code { (tx.wtxid().to_hex()) } } }
            @match &t.place {
                Place::Mempool => tr { th { "Status" } td { "unconfirmed (in the mempool)" } },
                Place::Block { hash, height, confirmations, time } => {
                    tr { th { "Block" } td { (block_link(hash)) " at height " (height.0) } }
                    tr { th { "Confirmations" } td id="confirmations" { (confirmations) } }
                    tr { th { "Time" } td { (utc(u64::from(*time))) } }
                }
            }
            tr { th { "Size" } td { (tx.size()) " bytes" } }
            tr { th { "Fee" } td id="fee" { @match t.fee { Some(f) => (coins(f)), None => "unknown (a spent coin could not be read)" } } }
            tr { th { "Fee rate" } td { @match t.fee_rate() { Some(r) => { (format!("{r:.2}")) " base units per byte" }, None => "unknown" } } }
        }
        div.io {
            section {
                h2 { "Inputs" }
                @match &tx.inputs {
                    TxInputs::Coinbase { height, extra } => {
                        p { "Coinbase: new coins for block " (height.0) }
                        @if !extra.is_empty() { p { "Extra data " code.data { (hex::encode(extra)) } } }
                    }
                    TxInputs::Spend(_) => {
                        table id="inputs" {
                            thead { tr { th { "Spends" } th { "Address" } th { "Amount" } } }
                            tbody {
                                @for i in &t.inputs {
                                    tr {
                                        td { (tx_link(&i.prevout.txid, None)) ":" (i.prevout.vout) }
                                        td { (address_link(&i.address.encode(site.network))) }
                                        td { @match i.amount { Some(a) => (coins(a)), None => "unknown" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section {
                h2 { "Outputs" }
                table id="outputs" {
                    thead { tr { th { "#" } th { "To" } th { "Amount" } } }
                    tbody {
                        @for (n, o) in tx.outputs.iter().enumerate() {
                            tr { td { (n) } td { (output_kind(site, &o.kind)) } td { (coins(o.amount)) } }
                        }
                    }
                }
            }
        }
    };
    layout(site, "Transaction", body)
}

/// An address.
pub(crate) fn address(site: Site, a: &AddressPage) -> Markup {
    let encoded = a.address.encode(site.network);
    let body = html! {
        h1 { "Address" }
        p { code id="address" { (encoded) } }
        table.fields {
            tr { th { "Balance (confirmed)" } td id="balance" { (coins(a.confirmed)) } }
            tr { th { "Unconfirmed" } td { "+" (coins(a.pending_in)) " received, −" (coins(a.pending_out)) " being spent" } }
            tr { th { "Coins" } td { (a.coin_count) } }
        }
        h2 { "Coins" }
        @if a.coins.is_empty() { p { "No unspent coins." } } @else {
            table id="coins" {
                thead { tr { th { "Outpoint" } th { "Amount" } th { "Height" } th { "" } } }
                tbody {
                    @for c in &a.coins {
                        tr {
                            td { (tx_link(&c.outpoint.txid, None)) ":" (c.outpoint.vout) }
                            td { (coins(c.amount)) }
                            td { @match c.height { Some(h) => (h.0), None => "unconfirmed" } }
                            td {
                                @if c.coinbase { span.tag { "coinbase" } " " }
                                @if let Some(s) = &c.spent_by { "spent by " (tx_link(s, None)) " (unconfirmed)" }
                            }
                        }
                    }
                }
            }
            @if a.coin_count > a.coins.len() { p.muted { "The first " (a.coins.len()) " of " (a.coin_count) " coins." } }
        }
        h2 { "History" }
        p.muted { "Transactions paying or spending from this address in the mempool and in blocks "
            (a.scanned_from.0) " and above (the node keeps no full history index; at most the last "
            (HISTORY_BLOCKS) " blocks are searched)." }
        @if a.history.is_empty() { p { "None found." } } @else {
            table id="history" {
                thead { tr { th { "Height" } th { "Txid" } th { "Received" } th { "Coins spent" } } }
                tbody {
                    @for r in &a.history {
                        tr {
                            td { @match r.height { Some(h) => (h.0), None => "unconfirmed" } }
                            td { (tx_link(&r.txid, r.block.as_ref())) }
                            td { (coins(r.received)) }
                            td { (r.spends) }
                        }
                    }
                }
            }
        }
    };
    layout(site, "Address", body)
}

/// The mempool.
pub(crate) fn mempool(site: Site, m: &MempoolPage, samples: &[Sample]) -> Markup {
    let bytes = sampled("Mempool size over time (bytes)", samples, |x| x.bytes);
    let body = html! {
        h1 { "Mempool" }
        table.fields {
            tr { th { "Transactions" } td id="mempool-count" { (m.count) } }
            tr { th { "Size" } td { (m.bytes) " bytes" } }
            tr { th { "Fees" } td { (coins(m.fees)) } }
            tr { th { "Orphans held" } td { (m.orphans) } }
        }
        (chart(&bytes))
        @if m.rows.is_empty() { p { "The mempool is empty." } } @else {
            table id="mempool-txs" {
                thead { tr { th { "Txid" } th { "Size" } th { "Fee" } th { "Fee rate (units/byte)" } th { "Value out" } } }
                tbody {
                    @for r in &m.rows {
                        tr {
                            td { (tx_link(&r.txid, None)) }
                            td { (r.size) }
                            td { (coins(r.fee)) }
                            td { (format!("{:.2}", r.fee.units() as f64 / r.size.max(1) as f64)) }
                            td { @match r.value_out { Some(v) => (coins(v)), None => "overflow" } }
                        }
                    }
                }
            }
            @if m.count > m.rows.len() { p.muted { "The " (m.rows.len()) " highest fee rates of " (m.count) " transactions." } }
        }
    };
    layout(site, "Mempool", body)
}

/// The chain tips and the reorganisations seen since the explorer started.
pub(crate) fn tips(site: Site, tips: &[ChainTip], reorgs: &[Reorg], missed: u64) -> Markup {
    let body = html! {
        h1 { "Chain tips" }
        table id="tips" {
            thead { tr { th { "Height" } th { "Hash" } th { "Branch length" } th { "Status" } } }
            tbody {
                @for t in tips {
                    tr { td { (t.height.0) } td { (block_link(&t.hash)) } td { (t.branch_len) } td { (t.status.name()) } }
                }
            }
        }
        h2 { "Reorganisations" }
        @if reorgs.is_empty() { p { "None since the explorer started." } } @else {
            table id="reorgs" {
                thead { tr { th { "When" } th { "Old tip" } th { "Blocks disconnected" } th { "New tip" } } }
                tbody {
                    @for r in reorgs.iter().rev() {
                        tr {
                            td { (utc(r.time)) }
                            td { (r.old_tip.0.0) " " (block_link(&r.old_tip.1)) }
                            td { (r.depth) }
                            td { @match &r.new_tip { Some((h, hash)) => { (h.0) " " (block_link(hash)) }, None => "—" } }
                        }
                    }
                }
            }
        }
        @if missed > 0 { p.muted { (missed) " chain events were missed while the explorer was behind; the list may be incomplete." } }
    };
    layout(site, "Chain tips", body)
}

/// The peers, or why there are none.
pub(crate) fn peers(site: Site, peers: Option<&[PeerSummary]>) -> Markup {
    let body = html! {
        h1 { "Peers" }
        @match peers {
            None => p id="no-network" { "This node does no networking (it was started without --p2p-listen)." },
            Some([]) => p { "No peer is connected." },
            Some(list) => table id="peers" {
                thead { tr { th { "Id" } th { "Peer" } th { "Address" } th { "Direction" } th { "Ping" } th { "Starting height" } th { "Synced blocks" } th { "Agent" } } }
                tbody {
                    @for p in list {
                        tr {
                            td { (p.id) }
                            td { code { (short(&p.peer.to_string())) } }
                            td { @if let Some(a) = &p.address { code { (a.to_string()) } } }
                            td { @if p.inbound { "inbound" } @else { "outbound" } }
                            td { @if let Some(d) = p.ping { (format!("{:.1} ms", d.as_secs_f64() * 1000.0)) } }
                            td { (p.starting_height) }
                            td { (p.synced_blocks) }
                            td { @if let Some(a) = &p.agent { (a) } }
                        }
                    }
                }
            },
        }
    };
    layout(site, "Peers", body)
}

/// A name: its owner, status with the heights that decide it, namespace and zone
/// file. The zone file is a stranger's bytes: it is spliced as text (maud escapes
/// it) inside `<pre>`, never as markup.
pub(crate) fn name(site: Site, p: &NamePage) -> Markup {
    let r = &p.found.record;
    let owner = owner_text(r.owner, site.network);
    let body = html! {
        h1 { "Name" }
        p { code id="name" { (p.name) } }
        table.fields {
            tr { th { "Owner" } td { a.addr href={ "/address/" (owner) } id="owner" { (owner) } } }
            tr { th { "Status" } td { span id="status" { (name_status(p.found.status)) }
                 " " span.muted { "at height " (p.found.at.0) ", the next block's" } } }
            tr { th { "Registered at" } td { (r.registered_at.0) } }
            tr { th { "Expires at" } td id="expires" { (r.expires_at.0) } }
            tr { th { "Grace ends at" } td id="grace" { (r.grace_ends_at.0) } }
            @if r.revoked { tr { th { "Revoked" } td { "yes" } } }
            tr { th { "Namespace" } td id="namespace" { (p.name.namespace.as_str())
                 @if let Some(s) = p.namespace { " (" (namespace_status(s)) ")" } } }
            tr { th { "Last operation" } td { code { (hex::encode(r.last_txid.as_bytes())) } } }
            tr { th { "Zone-file hash" } td { @match &r.zone_file {
                Some(h) => code id="zonefilehash" { (hex::encode(h.as_bytes())) },
                None => "none",
            } } }
        }
        h2 { "Zone file" }
        @match &p.zone {
            ZoneShown::NoFile => p { "This name has no zone file." },
            ZoneShown::NotHere => p { "This node does not have the zone file (yet)." },
            ZoneShown::Held { text, size } => {
                pre id="zonefile" { (text) }
                @if *size > MAX_ZONE_FILE_SHOWN {
                    p.muted { "The first " (MAX_ZONE_FILE_SHOWN) " of " (size) " bytes." }
                }
            },
        }
    };
    layout(site, "Name", body)
}

/// Search results that name nothing, with the search repeated.
pub(crate) fn not_found_hash(site: Site, hex: &str) -> Markup {
    problem(
        site,
        "Not found",
        &format!(
            "no block and no transaction {hex} is known to this node (transactions are found in the mempool, by an unspent output, or in the last {TX_SCAN_BLOCKS} blocks)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_matches_known_dates() {
        // Known instants: the epoch, the 2000 leap day, Bitcoin's genesis time.
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_231_006_505), "2009-01-03 18:15:05 UTC");
    }

    #[test]
    fn values_are_escaped() {
        let site = Site {
            network: Network::Regtest,
        };
        let page = problem(site, "<b>x</b>", "<script>alert(1)</script>").into_string();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("&lt;b&gt;x&lt;/b&gt;"));
    }
}
