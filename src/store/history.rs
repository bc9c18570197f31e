//! Reading the log back: runs, events, batches and attempts as `log`, `resend` and `resume` see
//! them.

use anyhow::Result;

use super::db::{Row, SqlDialect};
use super::{BatchRef, EventRecord, RowCounts, RunStatus, Store};

/// A run with its batch totals.
#[derive(Debug, Clone)]
pub struct RunRow {
    pub id: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub source: String,
    pub source_size: Option<u64>,
    pub source_hash: Option<String>,
    pub url: String,
    /// JSON, see `RunOptions`.
    pub options: String,
    /// Kept as text: newer pulse versions may know more statuses.
    pub status: String,
    pub rows: RowCounts,
    pub batches_total: u64,
    pub batches_delivered: u64,
    /// Rows of delivered batches their receiver refused (`--rejected-rows`).
    pub rows_rejected: u64,
    /// Input read and hashed when the last batch was staged (runs killed while staging).
    pub staged_bytes: Option<u64>,
    pub staged_hash: Option<String>,
}

impl RunRow {
    /// The run's status; none for one this version does not know.
    pub fn status(&self) -> Option<RunStatus> {
        RunStatus::from_stored(&self.status)
    }

    /// Staging finished: every batch is in the log. The whole input's hash is stored only then.
    pub fn is_staged(&self) -> bool {
        self.source_hash.is_some()
    }
}

pub(super) const RUN_COLUMNS: &str = "r.id, r.started_at, r.finished_at, r.source, r.source_size,
    r.source_hash, r.url, r.options, r.status, r.rows_total, r.rows_valid, r.rows_invalid,
    r.blank_rows, r.staged_bytes, r.staged_hash,
    (SELECT count(*) FROM batches b JOIN events e ON e.id = b.event_id WHERE e.run_id = r.id),
    (SELECT count(*) FROM batches b JOIN events e ON e.id = b.event_id
     WHERE e.run_id = r.id AND b.status = 'delivered'),
    (SELECT CAST(coalesce(sum(b.rejected), 0) AS BIGINT) FROM batches b JOIN events e ON e.id = b.event_id
     WHERE e.run_id = r.id AND b.status = 'delivered')";

/// `RUN_COLUMNS` for a list of every run: the batch counts from one pass over the batches,
/// joined as `c`, rather than two lookups per run (a third of the time for 10,000 runs on
/// PostgreSQL, bench/README.md). A short list (`LIMIT`) looks its few runs up instead.
const RUN_COLUMNS_COUNTED: &str = "r.id, r.started_at, r.finished_at, r.source, r.source_size,
    r.source_hash, r.url, r.options, r.status, r.rows_total, r.rows_valid, r.rows_invalid,
    r.blank_rows, r.staged_bytes, r.staged_hash, coalesce(c.total, 0), coalesce(c.delivered, 0),
    coalesce(c.rejected, 0)";
const BATCH_COUNTS: &str = "LEFT JOIN (SELECT e.run_id, count(*) AS total,
        sum(CASE WHEN b.status = 'delivered' THEN 1 ELSE 0 END) AS delivered,
        CAST(sum(CASE WHEN b.status = 'delivered' THEN b.rejected ELSE 0 END) AS BIGINT)
            AS rejected
    FROM batches b JOIN events e ON e.id = b.event_id GROUP BY e.run_id) c ON c.run_id = r.id";

pub(super) fn run_row(r: &Row) -> Result<RunRow> {
    let u = |i| r.opt_count(i);
    Ok(RunRow {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        source: r.get(3)?,
        source_size: u(4)?,
        source_hash: r.get(5)?,
        url: r.get(6)?,
        options: r.get(7)?,
        status: r.get(8)?,
        rows: RowCounts {
            total: r.count(9)?,
            valid: r.count(10)?,
            invalid: r.count(11)?,
            blank: r.count(12)?,
            // Mirror counts are reported by push; the log does not keep them.
            ..RowCounts::default()
        },
        staged_bytes: u(13)?,
        staged_hash: r.get(14)?,
        batches_total: r.count(15)?,
        batches_delivered: r.count(16)?,
        rows_rejected: r.count(17)?,
    })
}

/// A batch with its delivery history in brief.
/// A run's requests in flight, as its attempts recorded them (`Store::in_flight_of_run`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InFlightRow {
    /// Requests on the wire as each went out (itself included): their mean and the most.
    pub mean: f64,
    pub peak: u64,
    /// The concurrency limit's lowest and highest (`auto` moves it).
    pub lowest_limit: u64,
    pub highest_limit: u64,
}

impl InFlightRow {
    /// `mean 5.8, peak 7, limit 1 to 7`.
    pub fn text(&self) -> String {
        let limit = if self.lowest_limit == self.highest_limit {
            format!("limit {}", self.highest_limit)
        } else {
            format!("limit {} to {}", self.lowest_limit, self.highest_limit)
        };
        format!("mean {:.1}, peak {}, {limit}", self.mean, self.peak)
    }
}

#[derive(Debug, Clone)]
pub struct BatchRow {
    pub id: String,
    pub event_id: String,
    pub idx: u64,
    pub rows: u64,
    pub first_row: u64,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub delivered_at: Option<i64>,
    pub attempts: u64,
    pub last_attempt: Option<LastAttempt>,
    /// Rows the answer that delivered it refused (`--rejected-rows`).
    pub rejected: u64,
}

/// The latest attempt of a batch.
#[derive(Debug, Clone)]
pub struct LastAttempt {
    pub started_at: i64,
    pub http_status: u16,
    pub error: Option<String>,
}

impl BatchRow {
    pub fn delivered(&self) -> bool {
        self.status == "delivered"
    }

    pub fn as_ref(&self) -> BatchRef {
        BatchRef {
            id: self.id.clone(),
            idx: self.idx,
            rows: self.rows,
            delivered: self.delivered(),
        }
    }
}

pub(super) const BATCH_COLUMNS: &str = "b.id, b.event_id, b.idx, b.rows, b.first_row, b.status,
    b.delivered_at, (SELECT count(*) FROM attempts a WHERE a.batch_id = b.id),
    la.started_at, la.http_status, la.error, b.rejected";
pub(super) const BATCH_FROM: &str = "batches b LEFT JOIN attempts la
    ON la.id = (SELECT max(id) FROM attempts a WHERE a.batch_id = b.id)";

pub(super) fn batch_row(r: &Row) -> Result<BatchRow> {
    let last_at: Option<i64> = r.get(8)?;
    Ok(BatchRow {
        id: r.get(0)?,
        event_id: r.get(1)?,
        idx: r.count(2)?,
        rows: r.count(3)?,
        first_row: r.count(4)?,
        status: r.get(5)?,
        delivered_at: r.get(6)?,
        attempts: r.count(7)?,
        last_attempt: match last_at {
            Some(started_at) => Some(LastAttempt {
                started_at,
                http_status: http_status(r, 9)?,
                error: r.get(10)?,
            }),
            None => None,
        },
        rejected: r.count(11)?,
    })
}

/// An HTTP status column: 0 (no response) for anything out of range.
pub(super) fn http_status(r: &Row, column: usize) -> Result<u16> {
    Ok(u16::try_from(r.get::<i64>(column)?).unwrap_or(0))
}

/// No limit, as a `LIMIT` both databases take.
const NO_LIMIT: i64 = i64::MAX;

/// One attempt as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRow {
    pub started_at: i64,
    pub duration_ms: i64,
    pub url: String,
    /// 0 when no response arrived.
    pub http_status: u16,
    pub error: Option<String>,
    pub response: Option<String>,
    /// JSON object, secret values already redacted when recorded.
    pub request_headers: String,
    /// The rows its 2xx answer refused: a JSON array of `{position, error}` (`--rejected-rows`).
    pub rejected: Option<String>,
}

/// An undelivered batch found across runs, with where it belongs.
#[derive(Debug, Clone)]
pub struct UndeliveredBatch {
    pub run_id: String,
    pub run_status: String,
    pub event_name: String,
    pub event_batches: u64,
    pub batch: BatchRow,
}

/// What an id names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdRef {
    Run,
    Event { run_id: String },
    Batch { run_id: String, event_id: String },
}

impl Store {
    /// Runs started at or after `since`, newest first, at most `limit` (None: all).
    pub fn runs(&self, since: Option<i64>, limit: Option<u64>) -> Result<Vec<RunRow>> {
        let sql = match limit {
            Some(_) => format!(
                "SELECT {RUN_COLUMNS} FROM runs r WHERE r.started_at >= ?1
                 ORDER BY r.started_at DESC, r.id DESC LIMIT ?2"
            ),
            None => format!(
                "SELECT {RUN_COLUMNS_COUNTED} FROM runs r {BATCH_COUNTS}
                 WHERE r.started_at >= ?1 ORDER BY r.started_at DESC, r.id DESC LIMIT ?2"
            ),
        };
        let limit = limit.map_or(NO_LIMIT, |n| n.min(NO_LIMIT as u64) as i64);
        self.db
            .query(&sql, &[&since.unwrap_or(i64::MIN), &limit], run_row)
    }

    pub fn run(&self, id: &str) -> Result<Option<RunRow>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.id = ?1");
        self.db.query_opt(&sql, &[&id], run_row)
    }

    /// Runs not over yet, oldest first: the candidates of `pulse resume`. Final runs (see
    /// `RunStatus::is_final`) never are.
    pub fn unfinished_runs(&self) -> Result<Vec<RunRow>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r
             WHERE r.status NOT IN ('delivered', 'invalid', 'cancelled', 'input-error')
               AND r.status != 'abandoned'
             ORDER BY r.started_at, r.id"
        );
        // 'abandoned' in a term of its own: the partial index runs_unfinished is used only
        // where the query repeats its NOT IN list as written.
        self.db.query(&sql, &[], run_row)
    }

    /// Runs to `url` whose stored options have this payload `shape` and whose input had this
    /// `size`, newest first, leaving out those that sent nothing and never will (refused,
    /// cancelled, failed on their input) and those not staged to the end.
    pub fn runs_of_shape(&self, url: &str, shape: &str, size: Option<u64>) -> Result<Vec<RunRow>> {
        let shape_of = match self.db.dialect() {
            SqlDialect::Sqlite => "json_extract(r.options, '$.shape')",
            SqlDialect::Postgres => "(r.options::jsonb ->> 'shape')",
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r
             WHERE r.url = ?1 AND {shape_of} = ?2 AND r.source_hash IS NOT NULL
               AND r.status NOT IN ('invalid', 'cancelled', 'input-error', 'abandoned')
               AND (r.source_size = ?3 OR ?4)
             ORDER BY r.started_at DESC, r.id DESC"
        );
        let size_known = size.map(|size| size.min(i64::MAX as u64) as i64);
        self.db.query(
            &sql,
            &[&url, &shape, &size_known, &size_known.is_none()],
            run_row,
        )
    }

    /// Requests on the wire as the attempts of a run since `since_ms` went out, and the
    /// concurrency limits then; none when no attempt recorded them (made before schema 8).
    pub fn in_flight_of_run(&self, run_id: &str, since_ms: i64) -> Result<Option<InFlightRow>> {
        let row = self.db.query_opt(
            "SELECT CAST(avg(a.in_flight) AS DOUBLE PRECISION), max(a.in_flight),
                 min(a.in_flight_limit), max(a.in_flight_limit)
             FROM attempts a JOIN batches b ON b.id = a.batch_id
             JOIN events e ON e.id = b.event_id
             WHERE e.run_id = ?1 AND a.started_at >= ?2 AND a.in_flight IS NOT NULL",
            &[&run_id, &since_ms],
            |r| {
                Ok((
                    r.get::<Option<f64>>(0)?,
                    r.get::<Option<i64>>(1)?,
                    r.get::<Option<i64>>(2)?,
                    r.get::<Option<i64>>(3)?,
                ))
            },
        )?;
        Ok(match row {
            Some((Some(mean), Some(peak), lowest, highest)) => Some(InFlightRow {
                mean,
                peak: peak.max(0) as u64,
                lowest_limit: lowest.unwrap_or(peak).max(0) as u64,
                highest_limit: highest.unwrap_or(peak).max(0) as u64,
            }),
            _ => None,
        })
    }

    /// The concurrency limit over a run's attempts: its highest in each of `slots` equal spans
    /// of time from the first attempt to the last (a span without attempts keeps the one
    /// before). Empty when no attempt recorded a limit.
    pub fn limit_over_time(&self, run_id: &str, slots: i64) -> Result<Vec<u64>> {
        let found = self.db.query(
            "WITH run_attempts AS (
                 SELECT a.started_at, a.in_flight_limit FROM attempts a
                 JOIN batches b ON b.id = a.batch_id JOIN events e ON e.id = b.event_id
                 WHERE e.run_id = ?1 AND a.in_flight_limit IS NOT NULL),
             span AS (SELECT min(started_at) AS lo, max(started_at) AS hi FROM run_attempts)
             SELECT (r.started_at - span.lo) * ?2 / (span.hi - span.lo + 1) AS slot,
                    max(r.in_flight_limit)
             FROM run_attempts r, span GROUP BY slot ORDER BY slot",
            &[&run_id, &slots],
            |r| Ok((r.get::<i64>(0)?, r.get::<i64>(1)?)),
        )?;
        let mut limits = Vec::new();
        for (slot, limit) in found {
            let slot = slot.clamp(0, slots - 1) as usize;
            let before = limits.last().copied().unwrap_or(limit.max(0) as u64);
            limits.resize(slot, before);
            limits.push(limit.max(0) as u64);
        }
        Ok(limits)
    }

    /// Attempts made for a run's batches since `since_ms`.
    pub fn attempts_since(&self, run_id: &str, since_ms: i64) -> Result<u64> {
        let n: i64 = self.db.query_value(
            "SELECT count(*) FROM attempts a JOIN batches b ON b.id = a.batch_id
             JOIN events e ON e.id = b.event_id WHERE e.run_id = ?1 AND a.started_at >= ?2",
            &[&run_id, &since_ms],
        )?;
        Ok(n as u64)
    }

    /// The events of a run in delivery order.
    pub fn events_of_run(&self, run_id: &str) -> Result<Vec<EventRecord>> {
        self.db.query(
            "SELECT id, name, total_rows, batch_count FROM events WHERE run_id = ?1 ORDER BY seq",
            &[&run_id],
            |r| {
                Ok(EventRecord {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    total_rows: r.count(2)?,
                    batch_count: r.count(3)?,
                })
            },
        )
    }

    /// The batches of an event in order, with their last attempt.
    pub fn batch_rows_of_event(&self, event_id: &str) -> Result<Vec<BatchRow>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM {BATCH_FROM} WHERE b.event_id = ?1 ORDER BY b.idx"
        );
        self.db.query(&sql, &[&event_id], batch_row)
    }

    /// Every attempt of a batch, oldest first.
    pub fn attempts_of_batch(&self, batch_id: &str) -> Result<Vec<AttemptRow>> {
        self.db.query(
            "SELECT started_at, duration_ms, url, http_status, error, response, request_headers,
                 rejected
             FROM attempts WHERE batch_id = ?1 ORDER BY id",
            &[&batch_id],
            |r| {
                Ok(AttemptRow {
                    started_at: r.get(0)?,
                    duration_ms: r.get(1)?,
                    url: r.get(2)?,
                    http_status: http_status(r, 3)?,
                    error: r.get(4)?,
                    response: r.get(5)?,
                    request_headers: r.get(6)?,
                    rejected: r.get(7)?,
                })
            },
        )
    }

    /// Undelivered batches of runs started at or after `since`, newest run first, in delivery
    /// order within a run.
    /// Batches not delivered, newest run first. Runs that will never be sent (cancelled,
    /// refused as invalid, input errors) only `with_final_runs`: they are not failures to act on.
    pub fn undelivered_batches(
        &self,
        since: Option<i64>,
        limit: Option<u64>,
        with_final_runs: bool,
    ) -> Result<Vec<UndeliveredBatch>> {
        let final_runs = if with_final_runs {
            ""
        } else {
            "AND r.status NOT IN ('invalid', 'cancelled', 'input-error', 'abandoned')"
        };
        let sql = format!(
            "SELECT {BATCH_COLUMNS}, r.id, e.name, e.batch_count, r.status
             FROM {BATCH_FROM} JOIN events e ON e.id = b.event_id JOIN runs r ON r.id = e.run_id
             WHERE b.status != 'delivered' AND r.started_at >= ?1 {final_runs}
             ORDER BY r.started_at DESC, r.id DESC, e.seq, b.idx LIMIT ?2"
        );
        let limit = limit.map_or(NO_LIMIT, |n| n.min(NO_LIMIT as u64) as i64);
        self.db
            .query(&sql, &[&since.unwrap_or(i64::MIN), &limit], |r| {
                Ok(UndeliveredBatch {
                    batch: batch_row(r)?,
                    run_id: r.get(12)?,
                    event_name: r.get(13)?,
                    event_batches: r.count(14)?,
                    run_status: r.get(15)?,
                })
            })
    }

    /// Finds what an id names: a run, an event or a batch.
    pub fn identify(&self, id: &str) -> Result<Option<IdRef>> {
        let run: Option<String> =
            self.db
                .query_opt("SELECT id FROM runs WHERE id = ?1", &[&id], |r| r.get(0))?;
        if run.is_some() {
            return Ok(Some(IdRef::Run));
        }
        let event: Option<String> =
            self.db
                .query_opt("SELECT run_id FROM events WHERE id = ?1", &[&id], |r| {
                    r.get(0)
                })?;
        if let Some(run_id) = event {
            return Ok(Some(IdRef::Event { run_id }));
        }
        let batch: Option<(String, String)> = self.db.query_opt(
            "SELECT e.run_id, e.id FROM batches b JOIN events e ON e.id = b.event_id
             WHERE b.id = ?1",
            &[&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(batch.map(|(run_id, event_id)| IdRef::Batch { run_id, event_id }))
    }
}
