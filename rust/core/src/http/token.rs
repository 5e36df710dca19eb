//! A cache for an expiring bearer token that refreshes before expiry, one caller at a time.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::Secret;

/// A token and the moment it stops being valid.
#[derive(Debug, Clone)]
pub struct CachedToken {
    /// The token itself.
    pub value: Secret,
    /// When the server will stop accepting it.
    pub expires_at: Instant,
}

/// Holds one token; refreshes it when less than `min_ttl` of its life remains.
///
/// The lock is held while refreshing, so concurrent callers wait for the one refresh instead of
/// each authenticating; the validity check happens after the lock is taken.
#[derive(Debug)]
pub struct TokenCache {
    slot: Mutex<Option<CachedToken>>,
    min_ttl: Duration,
}

impl TokenCache {
    /// An empty cache that refreshes tokens with less than `min_ttl` left.
    pub fn new(min_ttl: Duration) -> Self {
        Self {
            slot: Mutex::new(None),
            min_ttl,
        }
    }

    /// The cached token, or a fresh one from `fetch` when it is missing or about to expire.
    pub async fn get<F, Fut, E>(&self, fetch: F) -> Result<Secret, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<CachedToken, E>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(token) = slot.as_ref() {
            if token.expires_at > Instant::now() + self.min_ttl {
                return Ok(token.value.clone());
            }
        }

        let fresh = fetch().await?;
        let value = fresh.value.clone();
        *slot = Some(fresh);
        Ok(value)
    }

    /// Forgets `stale` after the server refused it; a newer token fetched meanwhile is kept.
    pub async fn invalidate(&self, stale: &Secret) {
        let mut slot = self.slot.lock().await;
        if slot.as_ref().is_some_and(|token| &token.value == stale) {
            *slot = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    use super::*;

    async fn issue(counter: &AtomicU32, life: Duration) -> Result<CachedToken, String> {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        // Authenticating takes time: concurrent callers must wait for this one refresh.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(CachedToken {
            value: Secret::new(format!("token-{n}")),
            expires_at: Instant::now() + life,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_refresh() {
        let cache = Arc::new(TokenCache::new(Duration::from_secs(300)));
        let fetches = Arc::new(AtomicU32::new(0));

        let callers = (0..20).map(|_| {
            let (cache, fetches) = (cache.clone(), fetches.clone());
            tokio::spawn(async move {
                cache
                    .get(|| issue(&fetches, Duration::from_secs(3600)))
                    .await
                    .unwrap()
            })
        });
        let tokens = futures::future::join_all(callers).await;

        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert!(tokens
            .iter()
            .all(|t| t.as_ref().unwrap().expose() == "token-0"));
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry() {
        let cache = TokenCache::new(Duration::from_secs(300));
        let fetches = AtomicU32::new(0);
        let life = Duration::from_secs(3600);

        let first = cache.get(|| issue(&fetches, life)).await.unwrap();
        tokio::time::advance(Duration::from_secs(3000)).await;
        let still = cache.get(|| issue(&fetches, life)).await.unwrap();
        assert_eq!(first, still, "a token with 10 minutes left is still served");

        tokio::time::advance(Duration::from_secs(400)).await;
        let renewed = cache.get(|| issue(&fetches, life)).await.unwrap();
        assert_ne!(
            first, renewed,
            "a token with under 5 minutes left is replaced"
        );
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_drops_only_the_stale_token() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let fetches = AtomicU32::new(0);
        let life = Duration::from_secs(3600);

        let stale = cache.get(|| issue(&fetches, life)).await.unwrap();
        cache.invalidate(&stale).await;
        let fresh = cache.get(|| issue(&fetches, life)).await.unwrap();
        assert_ne!(stale, fresh);

        // A second caller that saw the same refusal must not throw the new token away.
        cache.invalidate(&stale).await;
        let again = cache.get(|| issue(&fetches, life)).await.unwrap();
        assert_eq!(fresh, again);
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_is_returned_and_not_cached() {
        let cache = TokenCache::new(Duration::from_secs(60));
        let error = cache
            .get(|| async { Err::<CachedToken, _>("CannotAuthenticate".to_owned()) })
            .await
            .unwrap_err();
        assert_eq!(error, "CannotAuthenticate");

        let fetches = AtomicU32::new(0);
        cache
            .get(|| issue(&fetches, Duration::from_secs(3600)))
            .await
            .unwrap();
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
    }
}
