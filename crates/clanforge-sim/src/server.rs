//! Just enough HTTP/1.1 to serve the simulator's replies, faults included: one request per
//! connection, answered with `Connection: close`.

use super::{Reply, Request, Sim, State};
use http::StatusCode;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// A request head larger than this is not read.
const MAX_HEAD: usize = 16 * 1024;

/// A simulator serving from a thread of its own; it stops when dropped.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl SimServer {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests served so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.requests()
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Sim {
    /// Serves on 127.0.0.1, on a free port, from a thread with its own runtime: for callers
    /// that are not in a runtime, such as tests that drive the binary.
    pub fn spawn(self) -> io::Result<SimServer> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let state = self.into_state();
        let served = Arc::clone(&state);
        let (shutdown, stop) = oneshot::channel::<()>();
        let thread = thread::spawn(move || {
            runtime.block_on(async move {
                if let Ok(listener) = TcpListener::from_std(listener) {
                    tokio::select! {
                        () = serve(listener, served) => {}
                        _ = stop => {}
                    }
                }
            });
        });
        Ok(SimServer { addr, state, shutdown: Some(shutdown), thread: Some(thread) })
    }

    /// Serves on 127.0.0.1, on a free port, from a task on the current runtime (`--demo`).
    pub async fn serve_in_background(self) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(serve(listener, self.into_state()));
        Ok(addr)
    }
}

async fn serve(listener: TcpListener, state: Arc<State>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, Arc::clone(&state)));
            }
            // Out of file descriptors, most likely: let some connections close.
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

async fn connection(mut stream: TcpStream, state: Arc<State>) {
    // Bytes that can't start a request (a TLS ClientHello, for `https://` to this plain-HTTP
    // server): a 400 at once, as a real server answers, not a wait for a head that never comes.
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await.is_ok_and(|n| n == 1) && !first[0].is_ascii_uppercase() {
        let _ = stream
            .write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        let _ = stream.shutdown().await;
        return;
    }
    if let Some(request) = read_request(&mut stream).await {
        let reply = state.answer(request);
        let _ = send(stream, reply).await;
    }
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 2048];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_owned();
    let target = request_line.next()?;
    // A proxy gets the absolute form (`GET http://host/path`); serve it like the origin would.
    let target = match target.strip_prefix("http://") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => target,
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Some(Request {
        at: Instant::now(),
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
    })
}

async fn send(mut stream: TcpStream, reply: Reply) -> io::Result<()> {
    match reply {
        Reply::Http { .. } => {
            let (head, body) = encode(&reply);
            stream.write_all(&head).await?;
            stream.write_all(&body).await?;
            stream.shutdown().await
        }
        #[cfg(feature = "faults")]
        Reply::Hang => std::future::pending().await,
        // Rendered before sending; one that was not is a bug in the simulator, not a fault.
        Reply::Status { .. } => Err(io::Error::other("an unrendered status reply")),
        #[cfg(feature = "faults")]
        Reply::Reset => {
            // A zero linger turns the close into a reset (RST), as a crashed proxy would.
            stream.set_zero_linger()?;
            Ok(())
        }
        #[cfg(feature = "faults")]
        Reply::CloseMidBody(inner) => {
            let (head, body) = encode(&inner);
            stream.write_all(&head).await?;
            stream.write_all(&body[..body.len() / 2]).await?;
            stream.shutdown().await
        }
        #[cfg(feature = "faults")]
        Reply::Huge { bytes, content_length } => {
            let length =
                if content_length { format!("Content-Length: {bytes}\r\n") } else { String::new() };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n"
            );
            stream.write_all(head.as_bytes()).await?;
            let chunk = [b' '; 64 * 1024];
            let mut left = bytes;
            while left > 0 {
                let n = left.min(chunk.len());
                stream.write_all(&chunk[..n]).await?;
                left -= n;
            }
            stream.shutdown().await
        }
        #[cfg(feature = "faults")]
        Reply::Trickle { reply, every } => {
            let (head, body) = encode(&reply);
            for byte in head.iter().chain(&body) {
                stream.write_all(&[*byte]).await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
            stream.shutdown().await
        }
    }
}

/// The head and body of an HTTP answer; empty for replies that are not one.
fn encode(reply: &Reply) -> (Vec<u8>, Vec<u8>) {
    let Reply::Http { status, headers, body } = reply else {
        return (Vec::new(), Vec::new());
    };
    let reason =
        StatusCode::from_u16(*status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown");
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    // Like any server, the simulator says what time it is (unless a fault says otherwise).
    if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("date")) {
        let now = httpdate::fmt_http_date(std::time::SystemTime::now());
        head.push_str(&format!("Date: {now}\r\n"));
    }
    head.push_str("\r\n");
    (head.into_bytes(), body.clone())
}
