//! What the node announces: the active tip's block (never during initial block
//! download) and the transactions it accepted; a publication that finds no listener is
//! tried again for a while.

use std::time::{Duration, Instant};

use super::{Sync, blocking};
use crate::encoding::encode_to_vec;
use crate::hash::{BlockHash, TxId};
use crate::p2p::IBD_MARGIN;

/// How long a publication refused for want of listeners is tried again.
const REPUBLISH_FOR: Duration = Duration::from_secs(10);
/// Publications waiting to be tried again.
const MAX_UNSENT: usize = 256;

/// A publication that found no listener yet.
pub(super) struct Unsent {
    topic: String,
    data: Vec<u8>,
    /// For a block: dropped once it is no longer the tip.
    block: Option<BlockHash>,
    until: Instant,
}

impl Sync {
    /// Publishes the active tip's block if it is new and the node is not far behind its
    /// best header.
    pub(super) async fn announce_tip(&mut self) {
        let node = self.node.clone();
        let Some(Ok(Some((tip, block)))) = blocking(move || {
            node.read(|v| {
                let chain = v.chain();
                let (height, tip) = chain.tip();
                let (best, _) = chain.best_header();
                if best.0 > height.0.saturating_add(IBD_MARGIN) {
                    return None;
                }
                let block = chain.block(&tip).ok().flatten()?;
                Some((tip, encode_to_vec(&block)))
            })
        })
        .await
        else {
            return;
        };
        if self.announced_tip == Some(tip) {
            return;
        }
        self.announced_tip = Some(tip);
        self.publish(self.blocks_topic.clone(), block, Some(tip), None)
            .await;
    }

    /// Publishes `data`; when no peer listens yet, tries again on later ticks for a
    /// while (a block only while it is the tip). A duplicate (the message came by
    /// gossip) is not tried again.
    async fn publish(
        &mut self,
        topic: String,
        data: Vec<u8>,
        block: Option<BlockHash>,
        until: Option<Instant>,
    ) {
        match self.net.publish(topic.clone(), data.clone()).await {
            Err(gossip::CommandError::Publish { reason })
                if !reason.to_ascii_lowercase().contains("duplicate")
                    && self.unsent.len() < MAX_UNSENT =>
            {
                self.unsent.push(Unsent {
                    topic,
                    data,
                    block,
                    until: until.unwrap_or_else(|| Instant::now() + REPUBLISH_FOR),
                });
            }
            _ => {}
        }
    }

    pub(super) async fn republish(&mut self) {
        let now = Instant::now();
        let tip = self.status.as_ref().map(|s| s.tip_hash);
        for u in std::mem::take(&mut self.unsent) {
            if u.until <= now || u.block.is_some_and(|b| Some(b) != tip) {
                continue;
            }
            self.publish(u.topic, u.data, u.block, Some(u.until)).await;
        }
    }

    pub(super) async fn announce_txs(&mut self, txids: Vec<TxId>) {
        let node = self.node.clone();
        let Some(Ok(txs)) = blocking(move || {
            node.read(move |v| {
                txids
                    .iter()
                    .filter_map(|id| v.mempool().get(id).map(|e| encode_to_vec(&e.tx)))
                    .collect::<Vec<_>>()
            })
        })
        .await
        else {
            return;
        };
        for tx in txs {
            self.publish(self.txs_topic.clone(), tx, None, None).await;
        }
    }
}
