//! The hub's HTTP protocol, as `huggingface_hub` and `hf-hub` speak it: a `HEAD` of
//! `{endpoint}/{repo}/resolve/{revision}/{file}` without following redirects gives the commit
//! (`X-Repo-Commit`), the digest (`X-Linked-Etag` for LFS objects: their SHA-256; else `ETag`:
//! the git blob SHA-1), the size (`X-Linked-Size`, else `Content-Length`) and, for LFS objects,
//! the storage URL to fetch (`Location`). Relative redirects (a renamed repository) are followed.

use super::DownloadError;
use crate::models::mulan::hub::HubFile;
use std::io::Read;
use std::time::Duration;

/// Redirects between renamed repositories followed before giving up.
const MAX_RELATIVE_REDIRECTS: usize = 5;
/// A connection that takes longer than this counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// A server silent for this long counts as a broken connection (the download can resume).
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How a file's content is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256 of the content, lowercase hex (LFS objects).
    Sha256(String),
    /// SHA-1 of `blob <len>\0<content>`, lowercase hex (small files in git).
    GitSha1(String),
}

impl Digest {
    /// The hex string (also the blob's name in the hub cache).
    pub fn hex(&self) -> &str {
        match self {
            Self::Sha256(hex) | Self::GitSha1(hex) => hex,
        }
    }

    /// Reads a digest from a blob name of the hub cache (64 hex digits: SHA-256, 40: git SHA-1).
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex
            .trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_ascii_lowercase();
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        match hex.len() {
            64 => Some(Self::Sha256(hex)),
            40 => Some(Self::GitSha1(hex)),
            _ => None,
        }
    }
}

/// What the hub says about one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// The commit the revision resolved to (`None` when the server does not say).
    pub commit: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// What the content must hash to.
    pub digest: Digest,
    /// Where the bytes are fetched from (the storage URL for LFS objects).
    pub url: String,
}

/// An HTTP client for one hub address.
pub struct Hub {
    agent: ureq::Agent,
    endpoint: String,
}

impl Hub {
    pub fn new(endpoint: &str) -> Self {
        let agent = ureq::AgentBuilder::new()
            .redirects(0)
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(READ_TIMEOUT)
            .try_proxy_from_env(true)
            .user_agent(concat!("muq-live/", env!("CARGO_PKG_VERSION")))
            .build();
        Self {
            agent,
            endpoint: endpoint.trim_end_matches('/').to_string(),
        }
    }

    /// The address a file is resolved at.
    pub fn resolve_url(&self, file: HubFile, revision: &str) -> String {
        format!(
            "{}/{}/resolve/{revision}/{}",
            self.endpoint, file.repo, file.file
        )
    }

    /// Asks the hub for a file's commit, size, digest and storage URL.
    pub fn metadata(&self, file: HubFile, revision: &str) -> Result<RemoteFile, DownloadError> {
        let mut url = self.resolve_url(file, revision);
        for _ in 0..=MAX_RELATIVE_REDIRECTS {
            let response = self.call(self.agent.head(&url), &url)?;
            if !(300..400).contains(&response.status()) {
                return remote_file(&response, &url, url.clone());
            }
            let location = response
                .header("location")
                .ok_or_else(|| not_the_file(&url, "a redirect without a Location header"))?
                .to_string();
            if location.starts_with('/') {
                url = format!("{}{location}", origin(&self.endpoint));
                continue;
            }
            return remote_file(&response, &url, location);
        }
        Err(not_the_file(&url, "too many redirects"))
    }

    /// Starts receiving `url` from byte `from_byte`. Returns the body and the byte it starts at:
    /// `from_byte`, or 0 when the server ignored the range (the caller starts over).
    pub fn open_from(
        &self,
        url: &str,
        from_byte: u64,
    ) -> Result<(Box<dyn Read + Send>, u64), DownloadError> {
        let mut request = self.agent.get(url);
        if from_byte > 0 {
            request = request.set("Range", &format!("bytes={from_byte}-"));
        }
        let response = self.call(request, url)?;
        reject_web_page(&response, url)?;
        let start_byte = match response.status() {
            206 => content_range_start(&response)
                .filter(|&start| start == from_byte)
                .ok_or_else(|| not_the_file(url, "a partial answer for the wrong range"))?,
            200 => 0,
            status => {
                return Err(DownloadError::Status {
                    url: url.to_string(),
                    status,
                });
            }
        };
        Ok((response.into_reader(), start_byte))
    }

    fn call(&self, request: ureq::Request, url: &str) -> Result<ureq::Response, DownloadError> {
        match request.set("Accept-Encoding", "identity").call() {
            Ok(response) => Ok(response),
            Err(ureq::Error::Status(status, _)) => Err(DownloadError::Status {
                url: url.to_string(),
                status,
            }),
            Err(ureq::Error::Transport(transport)) => Err(DownloadError::Unreachable {
                url: url.to_string(),
                detail: transport.to_string(),
            }),
        }
    }
}

fn not_the_file(url: &str, detail: &str) -> DownloadError {
    DownloadError::NotTheFile {
        url: url.to_string(),
        detail: detail.to_string(),
    }
}

/// `scheme://host[:port]` of an endpoint.
fn origin(endpoint: &str) -> &str {
    let after_scheme = endpoint.find("://").map_or(0, |idx| idx + 3);
    match endpoint[after_scheme..].find('/') {
        Some(idx) => &endpoint[..after_scheme + idx],
        None => endpoint,
    }
}

/// A web page where a file was expected: a captive portal, a login or a proxy's error page.
fn reject_web_page(response: &ureq::Response, url: &str) -> Result<(), DownloadError> {
    if response.content_type().eq_ignore_ascii_case("text/html") {
        return Err(not_the_file(
            url,
            "a web page (text/html) came instead of the file: a proxy, a login or a captive \
             portal is in the way",
        ));
    }
    Ok(())
}

fn remote_file(
    response: &ureq::Response,
    url: &str,
    download_url: String,
) -> Result<RemoteFile, DownloadError> {
    reject_web_page(response, url)?;
    let digest = response
        .header("x-linked-etag")
        .or_else(|| response.header("etag"))
        .and_then(Digest::from_hex)
        .ok_or_else(|| {
            not_the_file(
                url,
                "no usable ETag, so the file could not be verified (not a hub?)",
            )
        })?;
    let size = response
        .header("x-linked-size")
        .or_else(|| response.header("content-length"))
        .and_then(|size| size.trim().parse::<u64>().ok())
        .ok_or_else(|| not_the_file(url, "no size in the answer (not a hub?)"))?;
    let commit = response
        .header("x-repo-commit")
        .map(str::trim)
        .filter(|commit| !commit.is_empty() && commit.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_string);
    Ok(RemoteFile {
        commit,
        size,
        digest,
        url: download_url,
    })
}

/// The first byte of a `Content-Range: bytes <start>-<end>/<total>` header.
fn content_range_start(response: &ureq::Response) -> Option<u64> {
    let range = response.header("content-range")?.trim();
    let range = range.strip_prefix("bytes")?.trim_start();
    range.split('-').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_read_from_etags_and_blob_names() {
        let sha256 = "a".repeat(64);
        assert_eq!(
            Digest::from_hex(&format!("\"{sha256}\"")),
            Some(Digest::Sha256(sha256.clone()))
        );
        let sha1 = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(
            Digest::from_hex(&format!("W/\"{sha1}\"")),
            Some(Digest::GitSha1(sha1.to_ascii_lowercase()))
        );
        assert_eq!(Digest::from_hex("\"abc\""), None);
        assert_eq!(Digest::from_hex(&"g".repeat(64)), None);
    }

    #[test]
    fn origins_keep_scheme_host_and_port() {
        assert_eq!(
            origin("http://127.0.0.1:8080/mirror"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(origin("https://huggingface.co"), "https://huggingface.co");
    }
}
