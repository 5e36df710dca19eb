//! The FTS service: the job table behind one lock, and the scheduler loop that starts
//! transfers on links with room, purges old jobs and releases retries.
//!
//! The loop wakes on submissions and completions, and at least every 200 ms. Transfers run
//! as tasks paced by the link's bandwidth share: the real copy, then a wait until the
//! simulated duration is reached.
//!
//! Limitation: jobs live in memory only; a restart of gridsim forgets them (clients then see
//! 404, as after a purge). Staging (`bring_online`) is a fixed delay, not a tape model.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

use super::store::{Order, Outcome, Store};
use super::transfer;
use crate::config::FtsConfig;
use crate::faults::TransferFaults;
use crate::storage::Storage;

/// The FTS3 service's state, shared by the handlers and the scheduler.
#[derive(Debug)]
pub struct Fts {
    pub config: FtsConfig,
    pub storage: Arc<Storage>,
    pub faults: TransferFaults,
    pub store: Mutex<Store>,
    pub wake: Notify,
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Fts {
    /// The service over `storage`, with no jobs.
    pub fn new(config: FtsConfig, storage: Arc<Storage>, faults: TransferFaults) -> Self {
        Self {
            config,
            store: Mutex::new(Store::new(storage.clone())),
            storage,
            faults,
            wake: Notify::new(),
        }
    }

    /// Runs the scheduler until `shutdown` resolves.
    pub async fn run(self: Arc<Self>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let retention = i64::try_from(self.config.retention_secs).unwrap_or(i64::MAX);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            let now = now();
            let orders = {
                let mut store = self.store.lock();
                store.release_delayed(now);
                let purged = store.purge(now, retention);
                if purged > 0 {
                    tracing::info!(purged, "purged FTS jobs past their retention");
                }
                store.dispatch(self.config.link_concurrency, now)
            };
            for order in orders {
                tokio::spawn(self.clone().transfer(order));
            }
        }
    }

    /// Runs one transfer and records its outcome.
    async fn transfer(self: Arc<Self>, order: Order) {
        let scale = self.config.time_scale;
        if order.staging {
            tokio::time::sleep(Duration::from_secs_f64(self.config.staging_secs * scale)).await;
            if !self.store.lock().staged(order.entry, now()) {
                self.store.lock().complete(
                    &order,
                    Outcome::Done {
                        size: 0,
                        seconds: 0.0,
                    },
                    now(),
                    0,
                    |_| Ok(()),
                );
                self.wake.notify_one();
                return;
            }
        }

        let started = Instant::now();
        let injected = self
            .faults
            .failure(&order.source, &order.destination, order.attempt);
        let result = match injected {
            Some(reason) => Err(transfer::CopyError {
                recoverable: recoverable(&reason),
                reason,
            }),
            None => {
                let (storage, copy_order) = (self.storage.clone(), order.clone());
                tokio::task::spawn_blocking(move || transfer::copy(&storage, &copy_order))
                    .await
                    .unwrap_or_else(|e| {
                        Err(transfer::CopyError {
                            reason: format!("TRANSFER [5] {e}"),
                            recoverable: true,
                        })
                    })
            }
        };

        let size = result.as_ref().map_or(0, |c| c.size);
        let share = self.config.link_bandwidth_mb_s * 1e6 / self.config.link_concurrency as f64;
        let simulated = Duration::from_millis(self.config.transfer_overhead_ms)
            .mul_f64(scale)
            .saturating_add(Duration::from_secs_f64(size as f64 / share * scale));
        if let Some(rest) = simulated.checked_sub(started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        let seconds = started.elapsed().as_secs_f32();

        let now = now();
        let retry_at = now + i64::from(self.retry_delay(&order));
        let (outcome, copied) = match result {
            Ok(copied) => (
                Outcome::Done {
                    size: copied.size,
                    seconds,
                },
                Some(copied),
            ),
            Err(e) => (
                Outcome::Failed {
                    reason: e.reason,
                    recoverable: e.recoverable,
                },
                None,
            ),
        };
        if let Outcome::Failed { reason, .. } = &outcome {
            tracing::info!(fts_job_id = %order.entry.job, file = %order.destination, %reason, "transfer failed");
        }
        self.store
            .lock()
            .complete(&order, outcome, now, retry_at, |keep| match &copied {
                Some(copied) => transfer::commit(copied, keep),
                None => Ok(()),
            });
        self.wake.notify_one();
    }

    fn retry_delay(&self, order: &Order) -> u32 {
        self.store
            .lock()
            .get(&order.entry.job)
            .map_or(0, |j| j.params.retry_delay)
    }
}

/// Whether a retry may help, from the errno FTS puts in brackets: a missing source (2) or an
/// existing destination (17) stays so.
fn recoverable(reason: &str) -> bool {
    !(reason.contains("[2]") || reason.contains("[17]"))
}
