//! A per-process cache of each merchant's routing config (connectors, published policy, API
//! keys). Correctness does not depend on it: every payment's first transaction checks that the
//! config version it routed with is still current (`store::payments::start_payment`), and on a
//! mismatch the engine reloads and routes again. Entries also expire after `max_age`.

use crate::EngineError;
use routing::Mode;
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use store::config::MerchantConfig;
use uuid::Uuid;

/// A cached config and when it was loaded.
type Entry = (Arc<MerchantConfig>, Instant);

/// The cache.
#[derive(Clone)]
pub struct ConfigCache {
    pool: PgPool,
    entries: Arc<RwLock<HashMap<(Uuid, Mode), Entry>>>,
    max_age: Duration,
}

impl ConfigCache {
    /// A cache whose entries live at most `max_age`.
    pub fn new(pool: PgPool, max_age: Duration) -> ConfigCache {
        ConfigCache {
            pool,
            entries: Arc::new(RwLock::new(HashMap::new())),
            max_age,
        }
    }

    /// The config of a merchant and mode, from cache or freshly loaded.
    pub async fn get(
        &self,
        merchant_id: Uuid,
        mode: Mode,
    ) -> Result<Arc<MerchantConfig>, EngineError> {
        if let Ok(map) = self.entries.read()
            && let Some((cfg, at)) = map.get(&(merchant_id, mode))
            && at.elapsed() < self.max_age
        {
            return Ok(cfg.clone());
        }
        self.reload(merchant_id, mode).await
    }

    /// Loads the config from the database and caches it.
    pub async fn reload(
        &self,
        merchant_id: Uuid,
        mode: Mode,
    ) -> Result<Arc<MerchantConfig>, EngineError> {
        let cfg = Arc::new(store::config::load_config(&self.pool, merchant_id, mode).await?);
        if let Ok(mut map) = self.entries.write() {
            map.insert((merchant_id, mode), (cfg.clone(), Instant::now()));
        }
        Ok(cfg)
    }

    /// Drops every cached entry of a merchant (e.g. on `NOTIFY switchboard_config`).
    pub fn invalidate(&self, merchant_id: Uuid) {
        if let Ok(mut map) = self.entries.write() {
            map.retain(|(m, _), _| *m != merchant_id);
        }
    }
}
