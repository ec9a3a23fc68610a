//! The update notice: is there a newer release than this one?
//!
//! The feed URL comes from the settings (`release_feed_url`), else from the branding; with
//! neither, no check is made. The feed is fetched once per run, the first time the UI asks,
//! and the answer is kept; any failure is logged and means "no notice". Nothing is
//! downloaded or installed: the user reads the notes and updates the usual way (for a
//! `.deb`, the package manager). Feed format and rules: `crates/updates`.

use pec_updates::Notice;
use tokio::sync::OnceCell;

/// The release feed of this run and, once asked, its answer.
pub struct UpdateCheck {
    feed_url: Option<String>,
    result: OnceCell<Option<Notice>>,
}

impl UpdateCheck {
    pub fn new(feed_url: Option<String>) -> Self {
        Self {
            feed_url,
            result: OnceCell::new(),
        }
    }

    /// The notice, fetched on the first call only.
    pub async fn notice(&self, current: &str) -> Option<Notice> {
        self.result
            .get_or_init(|| async {
                let url = self.feed_url.as_deref()?;
                match pec_updates::check(url, current).await {
                    Ok(Some(notice)) => {
                        tracing::info!(latest = %notice.latest, "a newer release is available");
                        Some(notice)
                    }
                    Ok(None) => {
                        tracing::info!("this is the latest release");
                        None
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the release feed could not be checked");
                        None
                    }
                }
            })
            .await
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_feed_means_no_check_and_a_dead_feed_means_no_notice() {
        assert_eq!(UpdateCheck::new(None).notice("0.1.0").await, None);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let check = UpdateCheck::new(Some(format!("http://127.0.0.1:{port}/feed.json")));
        assert_eq!(check.notice("0.1.0").await, None);
        assert!(check.result.initialized(), "the answer is kept for the run");
    }
}
