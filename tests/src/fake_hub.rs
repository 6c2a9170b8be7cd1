//! A Hugging Face hub on the loopback address, for download tests without the internet.
//!
//! It answers the routes and headers hub clients read: `HEAD`/`GET`
//! `/{repo}/resolve/{revision}/{file}` with `X-Repo-Commit`, and for a small (git) file an
//! `ETag` of its git blob SHA-1 and the body; for a large (LFS) file a `302` to
//! `/lfs-objects/{sha256}` with `X-Linked-Etag` (its SHA-256) and `X-Linked-Size`. Bodies honour
//! `Range: bytes=N-` with `206` and `Content-Range`. Faults are switched on per test: a
//! connection cut after some bytes, a flipped byte, a 404, a web page instead of the file, a
//! slow server.

use anyhow::{Context, Result};
use ring::digest::{Context as Hasher, SHA1_FOR_LEGACY_USE_ONLY, SHA256};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// The commit every file resolves to.
pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Files at least this large are served as LFS objects (the checkpoint).
const LFS_MIN_BYTES: usize = 50_000;

/// One file the hub serves.
#[derive(Clone)]
struct Served {
    content: Arc<Vec<u8>>,
    /// SHA-256 for LFS objects, the git blob SHA-1 otherwise.
    digest_hex: String,
    is_lfs: bool,
}

/// Faults to inject; all off by default.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// The next body of an LFS object stops after this many bytes (then the fault clears).
    pub cut_next_lfs_after_bytes: Option<u64>,
    /// Every LFS body has the byte at this offset flipped.
    pub flip_lfs_byte_at: Option<u64>,
    /// `repo/file` keys that answer 404.
    pub missing: Vec<String>,
    /// Every answer is a 200 web page.
    pub web_page: bool,
    /// LFS bodies are sent at about this rate.
    pub lfs_bytes_per_s: Option<u64>,
}

struct State {
    files: BTreeMap<String, Served>,
    faults: Mutex<Faults>,
    /// `GET`s of LFS objects started (resumes included).
    num_lfs_gets: AtomicU64,
    /// LFS body bytes sent.
    num_lfs_bytes_sent: AtomicU64,
    stop: AtomicBool,
}

/// A running fake hub; stops when dropped.
pub struct FakeHub {
    addr: SocketAddr,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl FakeHub {
    /// Serves `files` (`("repo", "file", content)`) on a free loopback port.
    pub fn start(files: Vec<(&str, &str, Vec<u8>)>) -> Result<Self> {
        let files = files
            .into_iter()
            .map(|(repo, file, content)| {
                let is_lfs = content.len() >= LFS_MIN_BYTES;
                let digest_hex = if is_lfs {
                    sha256_hex(&content)
                } else {
                    git_sha1_hex(&content)
                };
                let served = Served {
                    content: Arc::new(content),
                    digest_hex,
                    is_lfs,
                };
                (format!("{repo}/{file}"), served)
            })
            .collect();
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the fake hub")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            files,
            faults: Mutex::new(Faults::default()),
            num_lfs_gets: AtomicU64::new(0),
            num_lfs_bytes_sent: AtomicU64::new(0),
            stop: AtomicBool::new(false),
        });
        let for_thread = Arc::clone(&state);
        let thread = std::thread::spawn(move || accept_loop(&listener, &for_thread));
        Ok(Self {
            addr,
            state,
            thread: Some(thread),
        })
    }

    /// The endpoint to give the downloader (`http://127.0.0.1:<port>`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, faults: Faults) {
        *self
            .state
            .faults
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = faults;
    }

    /// `GET`s of LFS objects so far.
    pub fn num_lfs_gets(&self) -> u64 {
        self.state.num_lfs_gets.load(Ordering::SeqCst)
    }

    /// LFS body bytes sent so far.
    pub fn num_lfs_bytes_sent(&self) -> u64 {
        self.state.num_lfs_bytes_sent.load(Ordering::SeqCst)
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        // Wake the accept call.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(Hasher::new(&SHA256), bytes)
}

pub fn git_sha1_hex(bytes: &[u8]) -> String {
    let mut hasher = Hasher::new(&SHA1_FOR_LEGACY_USE_ONLY);
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hex(hasher, bytes)
}

fn hex(mut hasher: Hasher, bytes: &[u8]) -> String {
    hasher.update(bytes);
    hasher
        .finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn accept_loop(listener: &TcpListener, state: &Arc<State>) {
    for stream in listener.incoming() {
        if state.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let state = Arc::clone(state);
        std::thread::spawn(move || {
            let _ = serve(stream, &state);
        });
    }
}

/// One request per connection (`Connection: close`).
fn serve(mut stream: TcpStream, state: &State) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut range_from = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("range")
        {
            range_from = value
                .trim()
                .strip_prefix("bytes=")
                .and_then(|r| r.strip_suffix('-'))
                .and_then(|n| n.parse::<u64>().ok());
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let faults = state
        .faults
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let is_head = method == "HEAD";
    if faults.web_page {
        let page = b"<html><body>Please log in to the network</body></html>";
        return respond(
            &mut stream,
            "200 OK",
            &[("Content-Type", "text/html")],
            page,
            is_head,
        );
    }
    if let Some(digest) = path.strip_prefix("/lfs-objects/") {
        let Some(served) = state
            .files
            .values()
            .find(|f| f.is_lfs && f.digest_hex == digest)
        else {
            return respond(&mut stream, "404 Not Found", &[], b"", is_head);
        };
        return send_lfs(&mut stream, state, served, range_from, &faults, is_head);
    }
    let Some((repo, rest)) = path.trim_start_matches('/').split_once("/resolve/") else {
        return respond(&mut stream, "404 Not Found", &[], b"", is_head);
    };
    let file = rest.split_once('/').map_or("", |(_, file)| file);
    let key = format!("{repo}/{file}");
    let served = state.files.get(&key);
    let Some(served) = served.filter(|_| !faults.missing.contains(&key)) else {
        return respond(
            &mut stream,
            "404 Not Found",
            &[("X-Error-Code", "EntryNotFound")],
            b"Entry not found",
            is_head,
        );
    };
    let etag = format!("\"{}\"", served.digest_hex);
    if served.is_lfs {
        let location = format!("/lfs-objects/{}", served.digest_hex);
        let location = format!(
            "http://{}{location}",
            stream
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        let size = served.content.len().to_string();
        return respond(
            &mut stream,
            "302 Found",
            &[
                ("Location", &location),
                ("X-Repo-Commit", COMMIT),
                ("X-Linked-Etag", &etag),
                ("X-Linked-Size", &size),
                ("ETag", &etag),
            ],
            b"",
            is_head,
        );
    }
    let from = range_from.unwrap_or(0).min(served.content.len() as u64) as usize;
    let status = if range_from.is_some() {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let content_range = format!(
        "bytes {from}-{}/{}",
        served.content.len().saturating_sub(1),
        served.content.len()
    );
    let mut headers = vec![
        ("X-Repo-Commit", COMMIT),
        ("ETag", etag.as_str()),
        ("Content-Type", "application/json"),
    ];
    if range_from.is_some() {
        headers.push(("Content-Range", &content_range));
    }
    respond(
        &mut stream,
        status,
        &headers,
        &served.content[from..],
        is_head,
    )
}

fn send_lfs(
    stream: &mut TcpStream,
    state: &State,
    served: &Served,
    range_from: Option<u64>,
    faults: &Faults,
    is_head: bool,
) -> std::io::Result<()> {
    let total = served.content.len() as u64;
    let from = range_from.unwrap_or(0).min(total);
    let status = if range_from.is_some() {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let content_range = format!("bytes {from}-{}/{total}", total.saturating_sub(1));
    let length = (total - from).to_string();
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {length}\r\n");
    head += "Content-Type: application/octet-stream\r\nConnection: close\r\n";
    if range_from.is_some() {
        head += &format!("Content-Range: {content_range}\r\n");
    }
    head += "\r\n";
    stream.write_all(head.as_bytes())?;
    if is_head {
        return Ok(());
    }
    state.num_lfs_gets.fetch_add(1, Ordering::SeqCst);
    let cut_after = {
        let mut current = state.faults.lock().unwrap_or_else(PoisonError::into_inner);
        current.cut_next_lfs_after_bytes.take()
    };
    let mut offset = from;
    const CHUNK: u64 = 16 * 1024;
    while offset < total {
        let end = (offset + CHUNK).min(total);
        let mut chunk = served.content[offset as usize..end as usize].to_vec();
        if let Some(flip) = faults.flip_lfs_byte_at
            && (offset..end).contains(&flip)
        {
            chunk[(flip - offset) as usize] ^= 0xff;
        }
        if let Some(cut) = cut_after {
            let sent = offset - from;
            if sent + chunk.len() as u64 > cut {
                let keep = (cut - sent) as usize;
                stream.write_all(&chunk[..keep])?;
                state
                    .num_lfs_bytes_sent
                    .fetch_add(keep as u64, Ordering::SeqCst);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                return Ok(());
            }
        }
        if stream.write_all(&chunk).is_err() {
            return Ok(());
        }
        state
            .num_lfs_bytes_sent
            .fetch_add(chunk.len() as u64, Ordering::SeqCst);
        offset = end;
        if let Some(rate) = faults.lfs_bytes_per_s {
            std::thread::sleep(Duration::from_secs_f64(CHUNK as f64 / rate as f64));
        }
        if state.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
    }
    Ok(())
}

fn respond(
    stream: &mut TcpStream,
    status: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    is_head: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head += &format!("{name}: {value}\r\n");
    }
    head += "\r\n";
    stream.write_all(head.as_bytes())?;
    if !is_head {
        stream.write_all(body)?;
    }
    stream.flush()
}
