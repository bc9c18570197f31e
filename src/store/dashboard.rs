//! Reading the log for `pulse ui`: a page of runs by status and destination, the destinations
//! there are, and a run's attempts and deliveries in time order for its charts.

use anyhow::Result;

use super::history::{batch_row, http_status, run_row, BATCH_COLUMNS, BATCH_FROM, RUN_COLUMNS};
use super::{BatchRow, RunRow, Store};

/// Which runs a page of runs lists: empty strings match every run.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub status: String,
    pub url: String,
}

/// One attempt of a run, with the batch it belongs to.
#[derive(Debug, Clone)]
pub struct RunAttempt {
    pub batch_id: String,
    pub event_name: String,
    pub batch_idx: u64,
    pub started_at: i64,
    pub duration_ms: i64,
    /// 0 when no response arrived.
    pub http_status: u16,
    pub error: Option<String>,
    /// The start of the response body as recorded (redacted when it was recorded).
    pub response: Option<String>,
}

/// A delivered batch: when, and how many rows.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub at: i64,
    pub rows: u64,
}

/// The most characters of a response the run page shows.
const RESPONSE_SHOWN: u32 = 300;

impl Store {
    /// A page of runs, newest first, and how many runs the filter matches in all. Each run's
    /// batch counts are looked up for the page's runs only, so a page costs the same in a log of
    /// ten runs or of a hundred thousand.
    pub fn runs_page(
        &self,
        filter: &RunFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<RunRow>, u64)> {
        let matching = "(?1 = '' OR r.status = ?1) AND (?2 = '' OR r.url = ?2)";
        // The page's ids first: the batch counts are then looked up for its runs only, not
        // for the runs `OFFSET` skips (PostgreSQL computes a skipped row's columns too).
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM (SELECT r.id FROM runs r WHERE {matching}
                 ORDER BY r.started_at DESC, r.id DESC LIMIT ?3 OFFSET ?4) page
             JOIN runs r ON r.id = page.id ORDER BY r.started_at DESC, r.id DESC"
        );
        let (limit, offset) = (
            limit.min(i64::MAX as u64) as i64,
            offset.min(i64::MAX as u64) as i64,
        );
        let (status, url) = (filter.status.as_str(), filter.url.as_str());
        let runs = self
            .db
            .query(&sql, &[&status, &url, &limit, &offset], run_row)?;
        let total = self.db.query_value::<i64>(
            &format!("SELECT count(*) FROM runs r WHERE {matching}"),
            &[&status, &url],
        )?;
        Ok((runs, u64::try_from(total).unwrap_or(0)))
    }

    /// The first `limit` batches of an event, in order, with their last attempt: a page of a
    /// run polled while it is delivered reads its first batches, not all of a long run's.
    pub fn first_batches_of_event(&self, event_id: &str, limit: u64) -> Result<Vec<BatchRow>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM {BATCH_FROM} WHERE b.event_id = ?1
             ORDER BY b.idx LIMIT ?2"
        );
        let limit = limit.min(i64::MAX as u64) as i64;
        self.db.query(&sql, &[&event_id, &limit], batch_row)
    }

    /// Every destination URL runs were pushed to, as the log keeps it (password masked).
    pub fn destinations(&self) -> Result<Vec<String>> {
        self.db
            .query("SELECT DISTINCT url FROM runs ORDER BY url", &[], |r| {
                r.get(0)
            })
    }

    /// Every attempt of a run, oldest first, with its batch.
    pub fn attempts_of_run(&self, run_id: &str) -> Result<Vec<RunAttempt>> {
        let sql = format!(
            "SELECT b.id, e.name, b.idx, a.started_at, a.duration_ms, a.http_status, a.error,
                 substr(a.response, 1, {RESPONSE_SHOWN})
             FROM attempts a JOIN batches b ON b.id = a.batch_id
                 JOIN events e ON e.id = b.event_id
             WHERE e.run_id = ?1 ORDER BY a.started_at, a.id"
        );
        self.db.query(&sql, &[&run_id], |r| {
            Ok(RunAttempt {
                batch_id: r.get(0)?,
                event_name: r.get(1)?,
                batch_idx: r.count(2)?,
                started_at: r.get(3)?,
                duration_ms: r.get(4)?,
                http_status: http_status(r, 5)?,
                error: r.get(6)?,
                response: r.get(7)?,
            })
        })
    }

    /// A run's delivered batches in the order they were delivered.
    pub fn deliveries_of_run(&self, run_id: &str) -> Result<Vec<Delivery>> {
        self.db.query(
            "SELECT b.delivered_at, b.rows FROM batches b JOIN events e ON e.id = b.event_id
             WHERE e.run_id = ?1 AND b.status = 'delivered' AND b.delivered_at IS NOT NULL
             ORDER BY b.delivered_at",
            &[&run_id],
            |r| {
                Ok(Delivery {
                    at: r.get(0)?,
                    rows: r.count(1)?,
                })
            },
        )
    }
}
