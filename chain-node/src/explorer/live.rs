//! What the explorer follows while it runs: the tip (for server-sent events), the
//! recent reorganisations and the mempool's size over time, each in a buffer of
//! fixed size, fed by one thread reading the node's bounded event subscription.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body::Frame;
use tokio::sync::{mpsc, watch};

use crate::error::EventError;
use crate::hash::BlockHash;
use crate::node::{Node, NodeEvent, unix_now};
use crate::units::Height;

/// Reorganisations remembered.
pub const MAX_REORGS: usize = 32;

/// One mempool sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Unix seconds.
    pub(crate) time: u64,
    pub(crate) txs: usize,
    pub(crate) bytes: usize,
}

/// A change of the active chain that took blocks off it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reorg {
    /// Unix seconds.
    pub(crate) time: u64,
    /// The tip before.
    pub(crate) old_tip: (Height, BlockHash),
    /// Blocks disconnected.
    pub(crate) depth: u32,
    /// The tip after the blocks that followed.
    pub(crate) new_tip: Option<(Height, BlockHash)>,
}

/// The followed state.
#[derive(Debug)]
pub(crate) struct Followed {
    pub(crate) samples: VecDeque<Sample>,
    pub(crate) reorgs: VecDeque<Reorg>,
    /// Events the subscription dropped because this thread fell behind.
    pub(crate) missed: u64,
    max_samples: usize,
    /// A reorganisation still collecting the blocks connected after it.
    open_reorg: bool,
}

/// Shared between the thread, the pages and the event streams.
#[derive(Debug)]
pub(crate) struct Live {
    state: Mutex<Followed>,
    /// The active tip as last seen.
    pub(crate) tip: watch::Sender<(Height, BlockHash)>,
    stop: AtomicBool,
}

impl Live {
    pub(crate) fn new(tip: (Height, BlockHash), max_samples: usize) -> Arc<Live> {
        Arc::new(Live {
            state: Mutex::new(Followed {
                samples: VecDeque::new(),
                reorgs: VecDeque::new(),
                missed: 0,
                max_samples: max_samples.max(1),
                open_reorg: false,
            }),
            tip: watch::channel(tip).0,
            stop: AtomicBool::new(false),
        })
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, Followed> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    fn sample(&self, node: &Node) {
        if let Ok((txs, bytes)) = node.read(|v| (v.mempool().len(), v.mempool().bytes())) {
            let mut s = self.state();
            if s.samples.len() >= s.max_samples {
                s.samples.pop_front();
            }
            s.samples.push_back(Sample {
                time: unix_now(),
                txs,
                bytes,
            });
        }
    }

    fn event(&self, event: &NodeEvent) {
        match *event {
            NodeEvent::BlockDisconnected { hash, height } => {
                let mut s = self.state();
                let open = s.open_reorg;
                match s.reorgs.back_mut() {
                    Some(r) if open && r.new_tip.is_none() => r.depth += 1,
                    _ => {
                        if s.reorgs.len() >= MAX_REORGS {
                            s.reorgs.pop_front();
                        }
                        s.reorgs.push_back(Reorg {
                            time: unix_now(),
                            old_tip: (height, hash),
                            depth: 1,
                            new_tip: None,
                        });
                        s.open_reorg = true;
                    }
                }
                // The follower reads the tip after it from the node.
            }
            NodeEvent::BlockConnected { hash, height } => {
                let mut s = self.state();
                if s.open_reorg
                    && let Some(r) = s.reorgs.back_mut()
                {
                    r.new_tip = Some((height, hash));
                }
                drop(s);
                self.tip.send_replace((height, hash));
            }
            NodeEvent::TxAccepted { .. } => {
                self.state().open_reorg = false;
            }
        }
    }
}

/// Follows `node` until the explorer stops or the node closes: tip changes as they
/// come, a mempool sample every `every`.
pub(crate) fn spawn_follower(
    node: Node,
    live: Arc<Live>,
    every: Duration,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    let mut events = node.subscribe();
    std::thread::Builder::new()
        .name("chain-node-explorer".into())
        .spawn(move || {
            let mut next_sample = Instant::now();
            while !live.stopped() {
                let now = Instant::now();
                if now >= next_sample {
                    live.sample(&node);
                    // A reorganisation ends with the events that came with it.
                    live.state().open_reorg = false;
                    next_sample = now + every;
                }
                let wait = next_sample
                    .saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(250));
                match events.recv_timeout(wait) {
                    Ok(e) => {
                        live.event(&e);
                        // A disconnect does not say which block is the tip now.
                        if matches!(e, NodeEvent::BlockDisconnected { .. })
                            && events.pending() == 0
                            && let Ok(tip) = node.tip()
                        {
                            live.tip.send_replace(tip);
                        }
                    }
                    Err(EventError::Lagged { missed }) => {
                        live.state().missed += missed;
                        if let Ok(tip) = node.tip() {
                            live.tip.send_replace(tip);
                        }
                    }
                    Err(EventError::Closed) => return,
                    Err(_) => {}
                }
            }
        })
}

/// A `text/event-stream` body: one `block` event per tip change, a comment every
/// `keepalive`, ended after `lifetime` (the browser reconnects) or when the
/// explorer stops.
pub(crate) struct EventStream {
    rx: mpsc::Receiver<Bytes>,
    /// Held while the stream lives: one of the bounded number of streams.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl EventStream {
    pub(crate) fn start(
        mut tip: watch::Receiver<(Height, BlockHash)>,
        mut stopped: watch::Receiver<bool>,
        permit: tokio::sync::OwnedSemaphorePermit,
        keepalive: Duration,
        lifetime: Duration,
    ) -> EventStream {
        let (tx, rx) = mpsc::channel(4);
        tokio::spawn(async move {
            let end = tokio::time::Instant::now() + lifetime;
            // The reconnection delay for the browser, and the tip now.
            let first = {
                let (h, hash) = *tip.borrow_and_update();
                format!(
                    "retry: 1000\nevent: block\ndata: {{\"height\":{},\"hash\":\"{hash}\"}}\n\n",
                    h.0
                )
            };
            if tx.send(Bytes::from(first)).await.is_err() {
                return;
            }
            loop {
                let message = tokio::select! {
                    changed = tip.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        let (h, hash) = *tip.borrow_and_update();
                        format!("event: block\ndata: {{\"height\":{},\"hash\":\"{hash}\"}}\n\n", h.0)
                    }
                    () = tokio::time::sleep(keepalive) => ": keepalive\n\n".to_owned(),
                    () = tokio::time::sleep_until(end) => return,
                    _ = stopped.wait_for(|s| *s) => return,
                    () = tx.closed() => return,
                };
                if tx.send(Bytes::from(message)).await.is_err() {
                    return;
                }
            }
        });
        EventStream {
            rx,
            _permit: permit,
        }
    }
}

impl http_body::Body for EventStream {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}
