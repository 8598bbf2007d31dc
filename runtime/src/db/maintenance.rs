//! Background upkeep: purging the rows and index entries of dropped tables
//! and indexes, and trimming the event log to its retention.
//!
//! Both touch only keys that nothing else reads or writes any more (leftovers
//! of dropped internal ids, events older than the retention floor), so they
//! run beside the writer without coordination, in small steps so they never
//! hold the store for long.

use std::time::Duration;

use tokio::sync::watch;

use super::Db;
use crate::config::Retention;
use crate::model::time;

/// Keys removed per purge step.
const PURGE_STEP: usize = 2_000;
/// Events removed per trim step.
const TRIM_STEP: usize = 10_000;

/// Run until `stop` turns true.
pub async fn run(db: Db, retention: Retention, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let db2 = db.clone();
        let retention = retention.clone();
        let result = tokio::task::spawn_blocking(move || step(&db2, &retention)).await;
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "maintenance step failed");
        }
    }
}

fn step(db: &Db, retention: &Retention) -> Result<(), crate::store::StoreError> {
    let store = db.store();
    for tid in store.dropped_tables()? {
        store.purge_table(tid, PURGE_STEP)?;
    }
    for iid in store.dropped_indexes()? {
        store.purge_index(iid, PURGE_STEP)?;
    }
    let removed = store.trim_log(retention.max_events, retention.max_age_seconds * 1000, time::now_ms(), TRIM_STEP)?;
    if removed > 0 {
        tracing::debug!(removed, "trimmed the event log");
    }
    Ok(())
}
