//! The fault-injecting proxy's own tests, on real sockets: an upstream that answers every
//! request line with a fixed reply, and a client that reads whatever comes back.

mod common;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::fault_proxy::{Fault, FaultProxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const REPLY_LEN: usize = 100_000;

fn reply() -> Vec<u8> {
    (0..REPLY_LEN).map(|i| (i % 251) as u8).collect()
}

/// An upstream that reads a 4-byte length and that many bytes, then writes [`reply`] and
/// closes. Counts connections and remembers how many request bytes each one delivered.
struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
    received: tokio::sync::mpsc::UnboundedReceiver<usize>,
}

async fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let (tx, received) = tokio::sync::mpsc::unbounded_channel();
    let count = connections.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            count.fetch_add(1, Ordering::SeqCst);
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                    if got.len() >= 4 {
                        let want = u32::from_be_bytes(got[..4].try_into().unwrap()) as usize;
                        if got.len() >= 4 + want {
                            break;
                        }
                    }
                }
                let _ = tx.send(got.len());
                if got.len() >= 4 {
                    let want = u32::from_be_bytes(got[..4].try_into().unwrap()) as usize;
                    if got.len() >= 4 + want {
                        let _ = s.write_all(&reply()).await;
                        let _ = s.shutdown().await;
                    }
                }
            });
        }
    });
    Upstream {
        addr,
        connections,
        received,
    }
}

fn request(body_len: usize) -> Vec<u8> {
    let mut r = (body_len as u32).to_be_bytes().to_vec();
    r.extend(std::iter::repeat_n(7u8, body_len));
    r
}

/// What the client saw: the bytes read, and how reading ended.
#[derive(Debug)]
enum End {
    Eof,
    Reset,
    /// Nothing more arrived within the wait.
    Silent,
}

async fn exchange(addr: SocketAddr, body_len: usize, wait: Duration) -> (Vec<u8>, End) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut got = Vec::new();
    // The write may itself fail once the proxy resets.
    if s.write_all(&request(body_len)).await.is_err() {
        return (got, End::Reset);
    }
    let mut buf = vec![0u8; 8192];
    loop {
        match tokio::time::timeout(wait, s.read(&mut buf)).await {
            Err(_) => return (got, End::Silent),
            Ok(Ok(0)) => return (got, End::Eof),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Ok(Err(e)) if e.kind() == ErrorKind::ConnectionReset => return (got, End::Reset),
            Ok(Err(e)) => panic!("unexpected read error {e}"),
        }
    }
}

const WAIT: Duration = Duration::from_secs(5);
const SHORT: Duration = Duration::from_millis(500);

#[tokio::test]
async fn passes_everything_through_by_default() {
    let mut up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    for _ in 0..3 {
        let (got, end) = exchange(proxy.addr(), 50_000, WAIT).await;
        assert!(matches!(end, End::Eof), "{end:?}");
        assert_eq!(got, reply());
        assert_eq!(up.received.recv().await, Some(50_004));
    }
    assert_eq!(proxy.accepted(), 3);
    assert_eq!(proxy.faulted(), 0);
}

#[tokio::test]
async fn truncate_down_forwards_exactly_n_bytes_then_a_clean_close() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.push(Fault::truncate_down(12_345));
    let (got, end) = exchange(proxy.addr(), 10, WAIT).await;
    assert!(matches!(end, End::Eof), "{end:?}");
    assert_eq!(got, reply()[..12_345]);
    assert_eq!(proxy.faulted(), 1);
    // The queue is used up: the next connection passes.
    let (got, _) = exchange(proxy.addr(), 10, WAIT).await;
    assert_eq!(got, reply());
}

#[tokio::test]
async fn reset_down_forwards_n_bytes_then_resets() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.set_default(Fault::reset_down(1000));
    let (got, end) = exchange(proxy.addr(), 10, WAIT).await;
    assert!(matches!(end, End::Reset), "{end:?}");
    assert!(
        got.len() <= 1000 && reply().starts_with(&got),
        "{}",
        got.len()
    );
    let (_, end) = exchange(proxy.addr(), 10, WAIT).await;
    assert!(
        matches!(end, End::Reset),
        "default applies to every connection"
    );
    assert_eq!(proxy.faulted(), 2);
}

#[tokio::test]
async fn reset_up_delivers_only_the_first_bytes_of_the_request() {
    let mut up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.push(Fault::reset_up(3000));
    let (got, end) = exchange(proxy.addr(), 50_000, WAIT).await;
    assert!(got.is_empty(), "no reply to a cut request");
    assert!(matches!(end, End::Reset), "{end:?}");
    assert_eq!(up.received.recv().await, Some(3000));
}

#[tokio::test]
async fn truncate_up_delivers_the_first_bytes_then_eof_upstream() {
    let mut up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.push(Fault::truncate_up(4));
    let (got, end) = exchange(proxy.addr(), 500, WAIT).await;
    assert!(got.is_empty());
    assert!(matches!(end, End::Eof | End::Reset), "{end:?}");
    assert_eq!(up.received.recv().await, Some(4));
}

#[tokio::test]
async fn stall_down_keeps_the_connection_open_and_silent() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.push(Fault::stall_down(5000));
    let (got, end) = exchange(proxy.addr(), 10, SHORT).await;
    assert!(matches!(end, End::Silent), "{end:?}");
    assert_eq!(got, reply()[..5000]);
}

#[tokio::test]
async fn stall_up_never_completes_the_request() {
    let mut up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.push(Fault::stall_up(100));
    let (got, end) = exchange(proxy.addr(), 10_000, SHORT).await;
    assert!(matches!(end, End::Silent), "{end:?}");
    assert!(got.is_empty());
    // Once the client gave up, the proxy let go of the upstream, which had seen only the
    // first 100 bytes.
    assert_eq!(up.received.recv().await, Some(100));
}

#[tokio::test]
async fn blackhole_accepts_and_never_connects_upstream() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.set_default(Fault::blackhole());
    let (got, end) = exchange(proxy.addr(), 10, SHORT).await;
    assert!(matches!(end, End::Silent), "{end:?}");
    assert!(got.is_empty());
    assert_eq!(up.connections.load(Ordering::SeqCst), 0);
    assert_eq!((proxy.accepted(), proxy.faulted()), (1, 1));
    proxy.heal();
    let (got, _) = exchange(proxy.addr(), 10, WAIT).await;
    assert_eq!(got, reply());
}

#[tokio::test]
async fn delay_holds_each_chunk_back() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.push(Fault::delay(300));
    let started = Instant::now();
    let (got, end) = exchange(proxy.addr(), 10, WAIT).await;
    assert!(matches!(end, End::Eof), "{end:?}");
    assert_eq!(got, reply());
    // A lower bound only: the request and at least one reply chunk each waited 300 ms.
    assert!(started.elapsed() >= Duration::from_millis(600));
}

#[tokio::test]
async fn sever_all_closes_live_connections() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.set_default(Fault::blackhole());
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    s.write_all(b"hello").await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.sever_all();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(WAIT, s.read(&mut buf))
        .await
        .expect("closed, not silent")
        .unwrap_or(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn dropping_the_proxy_drops_its_connections() {
    let up = upstream().await;
    let proxy = FaultProxy::start(up.addr).await;
    proxy.set_default(Fault::stall_down(0));
    let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
    s.write_all(&request(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(proxy);
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(WAIT, s.read(&mut buf))
        .await
        .expect("closed, not silent");
    assert!(matches!(r, Ok(0) | Err(_)), "{r:?}");
}
