//! The log's state for `pulse metrics`: runs by status and, per destination (its URL as the
//! log shows it), the backlog, the oldest unfinished run, failed batches and the last delivery.

use std::collections::BTreeMap;

use anyhow::Result;

use super::Store;

/// Statuses of runs that will never be sent again (`RunStatus::is_final`).
const FINAL: &str = "('delivered', 'invalid', 'cancelled', 'input-error', 'abandoned')";

/// One destination's state.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DestinationGauges {
    /// Batches of unfinished runs not delivered yet.
    pub backlog_batches: u64,
    /// When the oldest unfinished run started (milliseconds since the epoch).
    pub oldest_unfinished: Option<i64>,
    /// Batches marked failed (of any run still in the log).
    pub failed_batches: u64,
    /// When a batch was last delivered there.
    pub last_delivery: Option<i64>,
}

/// The log's state.
#[derive(Debug, Default)]
pub struct LogGauges {
    pub runs_by_status: Vec<(String, u64)>,
    pub destinations: BTreeMap<String, DestinationGauges>,
}

impl Store {
    /// The log's state now, in a few aggregate queries.
    pub fn gauges(&self) -> Result<LogGauges> {
        let mut gauges = LogGauges {
            runs_by_status: self.db.query(
                "SELECT status, count(*) FROM runs GROUP BY status ORDER BY status",
                &[],
                |r| Ok((r.get(0)?, r.count(1)?)),
            )?,
            ..LogGauges::default()
        };
        let batches_of_runs = "FROM batches b JOIN events e ON e.id = b.event_id
                               JOIN runs r ON r.id = e.run_id";
        let per_url = |sql: String| -> Result<Vec<(String, Option<i64>)>> {
            self.db.query(&sql, &[], |r| Ok((r.get(0)?, r.get(1)?)))
        };
        let mut set = |rows: Vec<(String, Option<i64>)>, put: fn(&mut DestinationGauges, i64)| {
            for (url, value) in rows {
                let entry = gauges.destinations.entry(url).or_default();
                if let Some(value) = value {
                    put(entry, value);
                }
            }
        };
        set(
            per_url(format!(
                "SELECT r.url, count(*) {batches_of_runs}
                 WHERE b.status <> 'delivered' AND r.status NOT IN {FINAL} GROUP BY r.url"
            ))?,
            |d, n| d.backlog_batches = n.max(0) as u64,
        );
        set(
            per_url(format!(
                "SELECT url, min(started_at) FROM runs WHERE status NOT IN {FINAL} GROUP BY url"
            ))?,
            |d, t| d.oldest_unfinished = Some(t),
        );
        set(
            per_url(format!(
                "SELECT r.url, count(*) {batches_of_runs} WHERE b.status = 'failed' GROUP BY r.url"
            ))?,
            |d, n| d.failed_batches = n.max(0) as u64,
        );
        set(
            per_url(format!(
                "SELECT r.url, max(b.delivered_at) {batches_of_runs}
                 WHERE b.delivered_at IS NOT NULL GROUP BY r.url"
            ))?,
            |d, t| d.last_delivery = Some(t),
        );
        // Destinations with runs but none of the above still get their zeros.
        for url in self
            .db
            .query("SELECT DISTINCT url FROM runs", &[], |r| r.get::<String>(0))?
        {
            gauges.destinations.entry(url).or_default();
        }
        Ok(gauges)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_are_the_ones_run_status_calls_final() {
        use crate::store::RunStatus;
        for status in [
            "staging",
            "staged",
            "delivering",
            "delivered",
            "failed",
            "interrupted",
            "invalid",
            "cancelled",
            "input-error",
            "abandoned",
        ] {
            let parsed = RunStatus::from_stored(status).expect("a status");
            assert_eq!(
                parsed.is_final(),
                FINAL.contains(&format!("'{status}'")),
                "{status}"
            );
        }
    }
}
