//! A fault-injecting TCP proxy for the wire-fault tests (`tests/faults_*.rs`).
//!
//! [`FaultProxy::start`] listens on `127.0.0.1:0` (or [`FaultProxy::start_on`] a given address)
//! and forwards every accepted connection to one upstream address. What happens to a connection
//! is decided when it is accepted, by a [`Fault`]: the next one queued with
//! [`FaultProxy::push`], else the default set with [`FaultProxy::set_default`]. A fault can
//! delay every forwarded chunk, and cut either direction after a number of bytes in one of
//! three ways: reset (RST to the client, as a crashed peer or a middlebox does), stall (stop
//! forwarding but keep the connection open: the half-open connection a partition leaves), or
//! close (forward the first bytes, then a clean FIN: a truncated response or request). A
//! blackhole accepts and never answers. The proxy's own tests are in `tests/faults_proxy.rs`.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What happens to one direction of a connection once `after` bytes went through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// Nothing: forward everything.
    Never,
    /// Forward `after` bytes, then reset the client connection (RST) and drop the upstream one.
    Reset { after: u64 },
    /// Forward `after` bytes, then forward nothing more in either direction; the connections
    /// stay open until the client closes its side (or the proxy is dropped).
    Stall { after: u64 },
    /// Forward `after` bytes, then close both connections cleanly (FIN).
    Close { after: u64 },
}

impl Cut {
    fn after(self) -> Option<u64> {
        match self {
            Cut::Never => None,
            Cut::Reset { after } | Cut::Stall { after } | Cut::Close { after } => Some(after),
        }
    }
}

/// The plan for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Wait before forwarding each chunk, in both directions.
    pub delay: Duration,
    /// Client to server.
    pub up: Cut,
    /// Server to client.
    pub down: Cut,
    /// Accept the connection but never connect upstream nor answer.
    pub blackhole: bool,
}

impl Fault {
    /// Forward everything untouched.
    pub fn pass() -> Fault {
        Fault {
            delay: Duration::ZERO,
            up: Cut::Never,
            down: Cut::Never,
            blackhole: false,
        }
    }

    /// Forward everything, each chunk `ms` milliseconds late.
    pub fn delay(ms: u64) -> Fault {
        Fault {
            delay: Duration::from_millis(ms),
            ..Fault::pass()
        }
    }

    /// Accept and never answer (a half-open connection from the client's point of view).
    pub fn blackhole() -> Fault {
        Fault {
            blackhole: true,
            ..Fault::pass()
        }
    }

    /// Reset after `n` bytes from the client to the server.
    pub fn reset_up(n: u64) -> Fault {
        Fault {
            up: Cut::Reset { after: n },
            ..Fault::pass()
        }
    }

    /// Reset after `n` bytes from the server to the client.
    pub fn reset_down(n: u64) -> Fault {
        Fault {
            down: Cut::Reset { after: n },
            ..Fault::pass()
        }
    }

    /// Stop forwarding (both ways, connections kept open) after `n` bytes client to server.
    pub fn stall_up(n: u64) -> Fault {
        Fault {
            up: Cut::Stall { after: n },
            ..Fault::pass()
        }
    }

    /// Stop forwarding (both ways, connections kept open) after `n` bytes server to client.
    pub fn stall_down(n: u64) -> Fault {
        Fault {
            down: Cut::Stall { after: n },
            ..Fault::pass()
        }
    }

    /// Forward `n` bytes of the client's request, then close both sides cleanly.
    pub fn truncate_up(n: u64) -> Fault {
        Fault {
            up: Cut::Close { after: n },
            ..Fault::pass()
        }
    }

    /// Forward `n` bytes of the server's reply, then close both sides cleanly.
    pub fn truncate_down(n: u64) -> Fault {
        Fault {
            down: Cut::Close { after: n },
            ..Fault::pass()
        }
    }

    /// Whether this fault does anything at all.
    pub fn is_pass(&self) -> bool {
        *self == Fault::pass()
    }
}

struct Control {
    queue: VecDeque<Fault>,
    default: Fault,
}

struct Shared {
    control: Mutex<Control>,
    accepted: AtomicUsize,
    /// Connections whose cut fired (or that were blackholed).
    faulted: AtomicUsize,
    /// Bumped by [`FaultProxy::sever_all`]: live connections watching it close.
    generation: watch::Sender<u64>,
}

/// A running proxy; stops (and drops every connection) when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy on `127.0.0.1:0` in front of `upstream`, passing everything through.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        FaultProxy::start_on("127.0.0.1:0".parse().expect("address"), upstream).await
    }

    /// A proxy listening on `bind` in front of `upstream`.
    pub async fn start_on(bind: SocketAddr, upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind(bind)
            .await
            .unwrap_or_else(|e| panic!("fault proxy cannot listen on {bind}: {e}"));
        let addr = listener.local_addr().expect("local address");
        let shared = Arc::new(Shared {
            control: Mutex::new(Control {
                queue: VecDeque::new(),
                default: Fault::pass(),
            }),
            accepted: AtomicUsize::new(0),
            faulted: AtomicUsize::new(0),
            generation: watch::channel(0).0,
        });
        let task = tokio::spawn(accept_loop(listener, upstream, shared.clone()));
        FaultProxy {
            addr,
            upstream,
            shared,
            task,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the proxy forwards to.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }

    /// `http://127.0.0.1:port`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The fault of every connection for which none is queued.
    pub fn set_default(&self, fault: Fault) {
        self.lock().default = fault;
    }

    /// Queues `fault` for the next accepted connection (before the default applies again).
    pub fn push(&self, fault: Fault) {
        self.lock().queue.push_back(fault);
    }

    /// Drops the queue and makes every new connection pass through.
    pub fn heal(&self) {
        let mut c = self.lock();
        c.queue.clear();
        c.default = Fault::pass();
    }

    /// Closes every live connection (pooled keep-alive ones included), so the next request
    /// opens a new connection that the current plan applies to.
    pub fn sever_all(&self) {
        self.shared.generation.send_modify(|g| *g += 1);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections on which a fault fired so far (cut reached, or blackholed).
    pub fn faulted(&self) -> usize {
        self.shared.faulted.load(Ordering::SeqCst)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Control> {
        self.shared
            .control
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let (client, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("fault proxy: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        let fault = {
            let mut c = shared.control.lock().unwrap_or_else(|p| p.into_inner());
            let default = c.default;
            c.queue.pop_front().unwrap_or(default)
        };
        let shared = shared.clone();
        connections.spawn(async move {
            let mut severed = shared.generation.subscribe();
            severed.mark_unchanged();
            tokio::select! {
                _ = serve(client, upstream, fault, &shared) => {}
                _ = severed.changed() => {}
            }
        });
        // Reap finished connection tasks so the set does not grow without bound.
        while connections.try_join_next().is_some() {}
    }
}

/// How a direction ended.
enum Ended {
    /// The source closed its side; the sink was shut down for writing.
    Eof,
    /// The cut fired.
    Cut(Cut),
    /// An I/O error on either socket.
    Failed,
}

async fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Fault, shared: &Shared) {
    let _ = client.set_nodelay(true);
    if fault.blackhole {
        shared.faulted.fetch_add(1, Ordering::SeqCst);
        drain(&mut client).await;
        return;
    }
    let mut server = match TcpStream::connect(upstream).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fault proxy: cannot connect to {upstream}: {e}");
            reset(&client);
            return;
        }
    };
    let _ = server.set_nodelay(true);
    let outcome = {
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        let up = pump(&mut cr, &mut sw, fault.up, fault.delay);
        let down = pump(&mut sr, &mut cw, fault.down, fault.delay);
        tokio::pin!(up, down);
        let (mut up_done, mut down_done) = (false, false);
        loop {
            let ended = tokio::select! {
                e = &mut up, if !up_done => { up_done = true; e }
                e = &mut down, if !down_done => { down_done = true; e }
            };
            match ended {
                Ended::Eof if !(up_done && down_done) => continue,
                other => break other,
            }
        }
    };
    match outcome {
        Ended::Eof | Ended::Failed => {}
        Ended::Cut(cut) => {
            shared.faulted.fetch_add(1, Ordering::SeqCst);
            match cut {
                Cut::Reset { .. } => reset(&client),
                Cut::Stall { .. } => {
                    // Keep both connections open, forwarding nothing, until the client gives up.
                    drain(&mut client).await;
                    drop(server);
                }
                Cut::Close { .. } | Cut::Never => {
                    let _ = client.shutdown().await;
                    let _ = server.shutdown().await;
                }
            }
        }
    }
}

/// Copies `src` to `dst` until EOF, an error, or the cut.
async fn pump<R, W>(src: &mut R, dst: &mut W, cut: Cut, delay: Duration) -> Ended
where
    R: AsyncReadExt + Unpin,
    W: AsyncWriteExt + Unpin,
{
    let limit = cut.after();
    let mut sent = 0u64;
    if limit == Some(0) {
        return Ended::Cut(cut);
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match src.read(&mut buf).await {
            Ok(0) => {
                let _ = dst.shutdown().await;
                return Ended::Eof;
            }
            Ok(n) => n,
            Err(_) => return Ended::Failed,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let allowed = match limit {
            Some(limit) => usize::try_from(limit - sent).unwrap_or(usize::MAX).min(n),
            None => n,
        };
        if dst.write_all(&buf[..allowed]).await.is_err() {
            return Ended::Failed;
        }
        let _ = dst.flush().await;
        sent += allowed as u64;
        if limit == Some(sent) {
            return Ended::Cut(cut);
        }
    }
}

/// Reads and discards until the peer closes or fails.
async fn drain(stream: &mut TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Makes the coming close of `stream` a reset (RST) instead of a FIN.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
