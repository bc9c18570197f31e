//! Delivery attempts: each recorded, and a batch marked delivered only with the attempt that
//! delivered it, in the same transaction.

use anyhow::{Context, Result};

use super::db::{Param, SqlDialect};
use super::{now_ms, Store};

/// Most of a response body kept in the log.
pub const RESPONSE_SNIPPET_BYTES: usize = 4096;

/// One delivery attempt, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptRecord<'a> {
    pub batch_id: &'a str,
    pub started_at: i64,
    pub duration_ms: i64,
    pub url: &'a str,
    /// HTTP status, or 0 when no response arrived.
    pub http_status: u16,
    pub error: Option<String>,
    pub response: Option<String>,
    /// JSON object of the request headers, secrets redacted.
    pub request_headers: String,
    /// The rows of the batch the receiver refused in a 2xx answer (`--rejected-rows`): a JSON
    /// array of `{position, error}`, credentials taken out; none when it refused none.
    pub rejected: Option<String>,
    /// How many: kept with the batch when this attempt delivers it.
    pub rejected_count: u64,
    /// Requests on the wire as this one went out (itself included), and the concurrency limit
    /// then (`--concurrency`, or `auto`'s): for the run's mean and peak in flight.
    pub in_flight: Option<i64>,
    pub in_flight_limit: Option<i64>,
}

const INSERT_ATTEMPT: &str = "INSERT INTO attempts (batch_id, started_at, duration_ms, url,
    http_status, error, response, request_headers, rejected, in_flight, in_flight_limit)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

impl Store {
    /// Records an attempt and, when it delivered the batch, marks the batch delivered in the same
    /// transaction: a batch is never marked delivered without the attempt that did it, and it
    /// keeps the count of rows that attempt's answer refused (a resend's answer replaces it).
    pub fn record_attempt(&mut self, attempt: &AttemptRecord, delivered: bool) -> Result<()> {
        let delivered_at = now_ms();
        let status = i64::from(attempt.http_status);
        let rejected = i64::try_from(attempt.rejected_count).unwrap_or(i64::MAX);
        let values: [&dyn Param; 11] = [
            &attempt.batch_id,
            &attempt.started_at,
            &attempt.duration_ms,
            &attempt.url,
            &status,
            &attempt.error,
            &attempt.response,
            &attempt.request_headers,
            &attempt.rejected,
            &attempt.in_flight,
            &attempt.in_flight_limit,
        ];
        if self.db.dialect() == SqlDialect::Postgres {
            // One statement is one transaction: a round trip and a commit per attempt
            // instead of four (delivery on PostgreSQL, bench/README.md).
            let mark: [&dyn Param; 3] = [&delivered_at, &delivered, &rejected];
            self.db
                .execute(
                    &format!(
                        "WITH attempt AS ({INSERT_ATTEMPT})
                         UPDATE batches SET status = 'delivered',
                             delivered_at = coalesce(delivered_at, ?12), rejected = ?14
                         WHERE id = ?1 AND ?13"
                    ),
                    &[&values[..], &mark[..]].concat(),
                )
                .context("recording a delivery attempt")?;
            return Ok(());
        }
        self.db.transaction("recording a delivery attempt", |tx| {
            tx.execute(INSERT_ATTEMPT, &values)?;
            if delivered {
                tx.execute(
                    // A resend keeps the time of the first delivery.
                    "UPDATE batches SET status = 'delivered',
                         delivered_at = coalesce(delivered_at, ?2), rejected = ?3
                     WHERE id = ?1",
                    &[&attempt.batch_id, &delivered_at, &rejected],
                )?;
            }
            Ok(())
        })
    }
}

impl Store {
    /// The rows the receiver refused in the answer that delivered `batch_id` (`--rejected-rows`):
    /// the JSON the attempt recorded; none when the batch is not delivered with refused rows.
    pub fn rejected_rows_of_batch(&self, batch_id: &str) -> Result<Option<String>> {
        Ok(self
            .db
            .query_opt(
                "SELECT a.rejected FROM attempts a JOIN batches b ON b.id = a.batch_id
                 WHERE a.batch_id = ?1 AND b.status = 'delivered' AND b.rejected > 0
                     AND a.rejected IS NOT NULL
                 ORDER BY a.id DESC LIMIT 1",
                &[&batch_id],
                |r| r.get::<Option<String>>(0),
            )
            .with_context(|| format!("reading the rows batch {batch_id} had refused"))?
            .flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::Packer;
    use crate::payload::TokenTable;
    use crate::store::test_support::store_with_event;
    use crate::store::OutboxWriter;

    #[test]
    fn delivered_only_with_its_attempt() {
        let mut store = store_with_event();
        let mut outbox = OutboxWriter::new(Packer::new(&TokenTable::default())).unwrap();
        let id = outbox
            .write_batch(&mut store, "evt_1", 1, 1, 1, &mut b"[]".to_vec(), 2)
            .unwrap();
        let mut attempt = AttemptRecord {
            batch_id: &id,
            started_at: 0,
            duration_ms: 1,
            url: "http://127.0.0.1/",
            http_status: 500,
            error: None,
            response: Some("oops".into()),
            request_headers: "{}".into(),
            rejected: None,
            rejected_count: 0,
            in_flight: None,
            in_flight_limit: None,
        };
        store.record_attempt(&attempt, false).unwrap();
        assert!(!store.batches_of_event("evt_1").unwrap()[0].delivered);
        attempt.http_status = 200;
        store.record_attempt(&attempt, true).unwrap();
        assert!(store.batches_of_event("evt_1").unwrap()[0].delivered);
        let attempts: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM attempts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(attempts, 2);
    }
}
