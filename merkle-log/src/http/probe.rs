//! Hostile clients, to check a server's limits from outside: connections that stay
//! silent, stall after a request head, or drip a head one byte at a time.
//!
//! Blocking sockets and one thread, so that a test or a benchmark can hold a siege
//! against a server without a runtime of its own.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long each connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The start of a request head that a dripping connection never finishes.
pub const DRIP_HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: siege\r\nX-Drip: ";

/// Connections held open against a server; closed when dropped.
#[derive(Debug)]
pub struct Siege {
    streams: Arc<Mutex<Vec<TcpStream>>>,
    stop: Arc<AtomicBool>,
    dripper: Option<JoinHandle<()>>,
}

impl Siege {
    /// Opens `n` connections to `addr` that each send `prefix` (possibly nothing)
    /// and then stay silent.
    ///
    /// # Errors
    /// When a connection cannot be opened or the prefix cannot be sent.
    pub fn silent(addr: SocketAddr, n: usize, prefix: &[u8]) -> std::io::Result<Siege> {
        let mut streams = Vec::new();
        for _ in 0..n {
            let mut s = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
            if !prefix.is_empty() {
                s.write_all(prefix)?;
            }
            streams.push(s);
        }
        Ok(Siege {
            streams: Arc::new(Mutex::new(streams)),
            stop: Arc::new(AtomicBool::new(false)),
            dripper: None,
        })
    }

    /// Opens `n` connections that send [`DRIP_HEAD`] and then one more header byte
    /// every `interval`, never ending the head, until the siege is dropped.
    ///
    /// # Errors
    /// When a connection cannot be opened or a thread cannot start.
    pub fn drip(addr: SocketAddr, n: usize, interval: Duration) -> std::io::Result<Siege> {
        let mut siege = Siege::silent(addr, n, DRIP_HEAD)?;
        let streams = Arc::clone(&siege.streams);
        let stop = Arc::clone(&siege.stop);
        let step = interval
            .min(Duration::from_millis(20))
            .max(Duration::from_millis(1));
        siege.dripper = Some(
            std::thread::Builder::new()
                .name("siege-drip".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        if let Ok(mut list) = streams.lock() {
                            for s in list.iter_mut() {
                                // A connection the server closed fails here; it stays
                                // closed, which `closed_by_server` reports.
                                let _ = s.write_all(b"a");
                            }
                        }
                        let mut slept = Duration::ZERO;
                        while slept < interval && !stop.load(Ordering::Relaxed) {
                            std::thread::sleep(step);
                            slept += step;
                        }
                    }
                })?,
        );
        Ok(siege)
    }

    /// Connections in the siege.
    pub fn len(&self) -> usize {
        self.streams.lock().map_or(0, |l| l.len())
    }

    /// Whether the siege holds no connection.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Connections the server has answered or closed so far (seen without
    /// blocking: data waiting, end of stream, or an error).
    pub fn closed_by_server(&self) -> usize {
        let Ok(list) = self.streams.lock() else {
            return 0;
        };
        list.iter()
            .filter(|s| {
                if s.set_nonblocking(true).is_err() {
                    return true;
                }
                let mut buf = [0u8; 1];
                let mut reader: &TcpStream = s;
                let outcome = !matches!(
                    reader.read(&mut buf),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
                );
                let _ = s.set_nonblocking(false);
                outcome
            })
            .count()
    }
}

impl Drop for Siege {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.dripper.take() {
            let _ = t.join();
        }
    }
}
