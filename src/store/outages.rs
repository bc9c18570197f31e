//! Destinations found down (no answer, or 5xx, through a whole retry schedule), one row per URL
//! as the log shows it, until a request to it is answered (see `run::outage`).

use anyhow::{Context, Result};

use super::Store;

/// A destination the log remembers as down.
#[derive(Debug, Clone, PartialEq)]
pub struct Outage {
    pub url: String,
    /// When a command first found it down (milliseconds since the epoch).
    pub down_since: i64,
    /// When a whole retry schedule last failed on it: probes count from here.
    pub checked_at: i64,
    /// When a request last went to it.
    pub last_tried: i64,
    /// What that request got: `HTTP 503`, or the network error.
    pub last_error: String,
}

/// The last request a run's delivery made.
#[derive(Debug, Clone, PartialEq)]
pub struct LastAttempt {
    /// 0: no response.
    pub http_status: u16,
    pub error: Option<String>,
    pub started_at: i64,
}

impl Store {
    /// The outage recorded for `url`, if any.
    pub fn outage(&self, url: &str) -> Result<Option<Outage>> {
        self.db
            .query_opt(
                "SELECT url, down_since, checked_at, last_tried, last_error FROM outages
                 WHERE url = ?1",
                &[&url],
                |r| {
                    Ok(Outage {
                        url: r.get(0)?,
                        down_since: r.get(1)?,
                        checked_at: r.get(2)?,
                        last_tried: r.get(3)?,
                        last_error: r.get(4)?,
                    })
                },
            )
            .context("reading the destination's outage")
    }

    /// Every recorded outage, longest first.
    pub fn outages(&self) -> Result<Vec<Outage>> {
        self.db.query(
            "SELECT url, down_since, checked_at, last_tried, last_error FROM outages
             ORDER BY down_since, url",
            &[],
            |r| {
                Ok(Outage {
                    url: r.get(0)?,
                    down_since: r.get(1)?,
                    checked_at: r.get(2)?,
                    last_tried: r.get(3)?,
                    last_error: r.get(4)?,
                })
            },
        )
    }

    /// Records that a request to `url` at `tried` failed with `error`; `whole_schedule`: after
    /// every retry (probes count from it). The outage's start is kept.
    pub fn record_outage(
        &self,
        url: &str,
        tried: i64,
        error: &str,
        whole_schedule: bool,
    ) -> Result<()> {
        let checked = if whole_schedule { tried } else { 0 };
        self.db
            .execute(
                "INSERT INTO outages (url, down_since, checked_at, last_tried, last_error)
                 VALUES (?1, ?2, ?3, ?2, ?4)
                 ON CONFLICT (url) DO UPDATE SET last_tried = excluded.last_tried,
                     last_error = excluded.last_error,
                     checked_at = CASE WHEN excluded.checked_at > outages.checked_at
                         THEN excluded.checked_at ELSE outages.checked_at END",
                &[&url, &tried, &checked, &error],
            )
            .context("recording the destination's outage")?;
        Ok(())
    }

    /// Forgets the outage of `url` (it answered); whether there was one.
    pub fn end_outage(&self, url: &str) -> Result<bool> {
        let ended = self
            .db
            .execute("DELETE FROM outages WHERE url = ?1", &[&url])
            .context("ending the destination's outage")?;
        Ok(ended > 0)
    }

    /// The last request made for `run_id` from `since` on (milliseconds), if any.
    pub fn last_attempt_of_run(&self, run_id: &str, since: i64) -> Result<Option<LastAttempt>> {
        self.db.query_opt(
            "SELECT a.http_status, a.error, a.started_at FROM attempts a
             JOIN batches b ON b.id = a.batch_id JOIN events e ON e.id = b.event_id
             WHERE e.run_id = ?1 AND a.started_at >= ?2
             ORDER BY a.started_at DESC, a.id DESC LIMIT 1",
            &[&run_id, &since],
            |r| {
                Ok(LastAttempt {
                    http_status: u16::try_from(r.get::<i64>(0)?).unwrap_or(0),
                    error: r.get(1)?,
                    started_at: r.get(2)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use crate::store::Store;

    #[test]
    fn an_outage_keeps_its_start_and_ends_once() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(store.outage("u").unwrap(), None);
        store.record_outage("u", 100, "HTTP 503", true).unwrap();
        store
            .record_outage("u", 200, "connection refused", false)
            .unwrap();
        let outage = store.outage("u").unwrap().unwrap();
        assert_eq!(
            (outage.down_since, outage.checked_at, outage.last_tried),
            (100, 100, 200)
        );
        assert_eq!(outage.last_error, "connection refused");
        store.record_outage("u", 300, "HTTP 502", true).unwrap();
        assert_eq!(store.outage("u").unwrap().unwrap().checked_at, 300);
        assert_eq!(store.outages().unwrap().len(), 1);
        assert!(store.end_outage("u").unwrap());
        assert!(!store.end_outage("u").unwrap());
        assert_eq!(store.outage("u").unwrap(), None);
    }
}
