//! The release feed behind the app's update notice.
//!
//! The app does not update itself (a `.deb` is updated by the package manager, and a silent
//! self-update of a program that handles identity documents is not something users expect).
//! It only *tells* the user that a newer version exists and where to read about it. The
//! publisher (us, or an association for its branded build) serves one small JSON document:
//!
//! ```json
//! {
//!   "format": 1,
//!   "version": "0.2.0",
//!   "published": "2026-12-01",
//!   "notes_url": "https://example.invalid/pec-desktop/releases/0.2.0"
//! }
//! ```
//!
//! - `format`: this document's format, `1`; a feed with another format is refused, not guessed.
//! - `version`: the latest release, [semantic versioning](https://semver.org); compared with
//!   the running version. Pre-releases (`0.3.0-rc.1`) are announced only to pre-release builds.
//! - `published`: the release date, `YYYY-MM-DD`.
//! - `notes_url`: the release notes, https.
//!
//! The feed is fetched over https (plain http only on loopback, for tests), with no redirects,
//! a 10 s timeout and a 64 KiB limit. Failures are errors for the caller to log; the app then
//! simply shows no notice.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The feed format this crate reads.
pub const FEED_FORMAT: u32 = 1;

/// A feed larger than this is not a feed.
pub const MAX_FEED_BYTES: usize = 64 * 1024;

const TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed, checked release feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub version: semver::Version,
    pub published: chrono::NaiveDate,
    pub notes_url: String,
}

/// What the UI shows: a newer version exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct Notice {
    /// The running version.
    pub current: String,
    /// The latest release.
    pub latest: String,
    /// Its release date, `YYYY-MM-DD`.
    pub published: String,
    /// Its release notes (https).
    pub notes_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("the feed URL is not acceptable: {0}")]
    Url(String),
    #[error("the feed could not be fetched: {0}")]
    Network(String),
    #[error("the feed server answered HTTP {0}")]
    Status(u16),
    #[error("the feed is larger than {MAX_FEED_BYTES} bytes")]
    TooLarge,
    #[error("the feed is not valid: {0}")]
    Format(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    format: u32,
    version: String,
    published: String,
    notes_url: String,
}

/// Parses and checks a feed document.
pub fn parse(bytes: &[u8]) -> Result<Feed, FeedError> {
    if bytes.len() > MAX_FEED_BYTES {
        return Err(FeedError::TooLarge);
    }
    let wire: Wire = serde_json::from_slice(bytes).map_err(|e| FeedError::Format(e.to_string()))?;
    if wire.format != FEED_FORMAT {
        return Err(FeedError::Format(format!(
            "format {} (this app reads format {FEED_FORMAT})",
            wire.format
        )));
    }
    let version = semver::Version::parse(&wire.version)
        .map_err(|e| FeedError::Format(format!("version {:?}: {e}", wire.version)))?;
    let published = chrono::NaiveDate::parse_from_str(&wire.published, "%Y-%m-%d")
        .map_err(|e| FeedError::Format(format!("published {:?}: {e}", wire.published)))?;
    check_url(&wire.notes_url).map_err(|e| FeedError::Format(format!("notes_url: {e}")))?;
    Ok(Feed {
        version,
        published,
        notes_url: wire.notes_url,
    })
}

/// The notice to show, if the feed names a newer version than `current`.
pub fn compare(feed: &Feed, current: &str) -> Result<Option<Notice>, FeedError> {
    let running = semver::Version::parse(current)
        .map_err(|e| FeedError::Format(format!("running version {current:?}: {e}")))?;
    // A stable build is not pointed at release candidates.
    let announce =
        feed.version > running && (feed.version.pre.is_empty() || !running.pre.is_empty());
    Ok(announce.then(|| Notice {
        current: running.to_string(),
        latest: feed.version.to_string(),
        published: feed.published.format("%Y-%m-%d").to_string(),
        notes_url: feed.notes_url.clone(),
    }))
}

/// Fetches the feed at `feed_url` and compares it with `current`.
pub async fn check(feed_url: &str, current: &str) -> Result<Option<Notice>, FeedError> {
    check_url(feed_url).map_err(FeedError::Url)?;
    // The OS certificate store and the system proxy, like the provider client (pec-net).
    let target = reqwest::Url::parse(feed_url).map_err(|e| FeedError::Url(e.to_string()))?;
    let client = pec_net::client_builder(&target)
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(format!("PEC-Desktop/{current}"))
        .build()
        .map_err(|e| FeedError::Network(e.to_string()))?;
    let mut response = client
        .get(feed_url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| FeedError::Network(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(FeedError::Status(response.status().as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_FEED_BYTES as u64)
    {
        return Err(FeedError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FeedError::Network(e.without_url().to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_FEED_BYTES {
            return Err(FeedError::TooLarge);
        }
    }
    compare(&parse(&body)?, current)
}

/// https, or plain http on loopback only.
fn check_url(value: &str) -> Result<(), String> {
    let url = url::Url::parse(value).map_err(|e| format!("{value:?}: {e}"))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(format!("{value:?} has no host")),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        other => Err(format!(
            "{value:?}: {other} is not allowed, https is required"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn feed(version: &str) -> Feed {
        parse(
            format!(
                r#"{{"format":1,"version":"{version}","published":"2026-12-01","notes_url":"https://example.invalid/n"}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn only_a_newer_version_is_announced() {
        assert_eq!(compare(&feed("0.1.0"), "0.1.0").unwrap(), None);
        assert_eq!(compare(&feed("0.0.9"), "0.1.0").unwrap(), None);
        let notice = compare(&feed("0.10.0"), "0.9.1").unwrap().unwrap();
        assert_eq!(notice.latest, "0.10.0", "compared as numbers, not text");
        assert_eq!(notice.current, "0.9.1");
        assert_eq!(notice.published, "2026-12-01");
        assert!(compare(&feed("1.0.0"), "not-a-version").is_err());
    }

    #[test]
    fn release_candidates_go_only_to_pre_release_builds() {
        assert_eq!(compare(&feed("0.2.0-rc.1"), "0.1.0").unwrap(), None);
        assert!(
            compare(&feed("0.2.0-rc.2"), "0.2.0-rc.1")
                .unwrap()
                .is_some()
        );
        assert!(compare(&feed("0.2.0"), "0.2.0-rc.1").unwrap().is_some());
    }

    #[test]
    fn malformed_feeds_are_refused() {
        for bad in [
            r#"{"format":2,"version":"1.0.0","published":"2026-12-01","notes_url":"https://x.it"}"#,
            r#"{"format":1,"version":"1.0","published":"2026-12-01","notes_url":"https://x.it"}"#,
            r#"{"format":1,"version":"1.0.0","published":"1/12/2026","notes_url":"https://x.it"}"#,
            r#"{"format":1,"version":"1.0.0","published":"2026-12-01","notes_url":"http://x.it"}"#,
            r#"{"format":1,"version":"1.0.0","published":"2026-12-01","notes_url":"javascript:alert(1)"}"#,
            r#"{"format":1,"version":"1.0.0","published":"2026-12-01"}"#,
            r#"{"format":1,"version":"1.0.0","published":"2026-12-01","notes_url":"https://x.it","x":1}"#,
            "[]",
        ] {
            assert!(
                matches!(parse(bad.as_bytes()), Err(FeedError::Format(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            parse(&vec![b' '; MAX_FEED_BYTES + 1]),
            Err(FeedError::TooLarge)
        ));
    }

    /// A one-route HTTP server on loopback answering every request with `status` and `body`,
    /// for `requests` requests. Returns its base URL.
    async fn serve(status: &'static str, body: String, requests: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for _ in 0..requests {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 4096];
                let mut read = 0;
                // Read the request head; the client sends no body.
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf[read..]).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    read += n;
                }
                let head = String::from_utf8_lossy(&buf[..read]).to_ascii_lowercase();
                assert!(head.contains("user-agent: pec-desktop/"), "{head}");
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                socket.write_all(reply.as_bytes()).await.unwrap();
                socket.shutdown().await.ok();
            }
        });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_feed_on_loopback_is_fetched_and_compared() {
        let body = r#"{"format":1,"version":"0.2.0","published":"2026-12-01","notes_url":"https://example.invalid/0.2.0"}"#;
        let url = serve("200 OK", body.to_owned(), 2).await;
        let feed_url = format!("{url}/feed.json");
        let notice = check(&feed_url, "0.1.0").await.unwrap().unwrap();
        assert_eq!(notice.latest, "0.2.0");
        assert_eq!(notice.notes_url, "https://example.invalid/0.2.0");
        assert_eq!(check(&feed_url, "0.2.0").await.unwrap(), None);
    }

    #[tokio::test]
    async fn server_errors_redirects_and_oversized_feeds_are_errors() {
        let url = serve("503 Service Unavailable", String::new(), 1).await;
        assert!(matches!(
            check(&url, "0.1.0").await,
            Err(FeedError::Status(503))
        ));
        // No redirects: a https feed must not be able to send the app elsewhere.
        let url = serve("302 Found", String::new(), 1).await;
        assert!(matches!(
            check(&url, "0.1.0").await,
            Err(FeedError::Status(302))
        ));
        let url = serve("200 OK", " ".repeat(MAX_FEED_BYTES + 10), 1).await;
        assert!(matches!(
            check(&url, "0.1.0").await,
            Err(FeedError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn plain_http_is_refused_off_loopback_and_a_dead_server_is_a_network_error() {
        assert!(matches!(
            check("http://feed.example.invalid/feed.json", "0.1.0").await,
            Err(FeedError::Url(_))
        ));
        // A port that was just free: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        assert!(matches!(
            check(&format!("http://127.0.0.1:{port}/feed.json"), "0.1.0").await,
            Err(FeedError::Network(_))
        ));
    }
}
