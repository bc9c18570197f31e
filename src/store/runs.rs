//! Runs and their events: creating them, their status, and their totals once staged.

use anyhow::{Context, Result};

use super::{now_ms, Store};

/// The life of a run, as stored in `runs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Staging,
    Staged,
    Delivering,
    Delivered,
    Failed,
    Interrupted,
    /// Refused by `--fail-on-invalid`: nothing of it is ever sent.
    Invalid,
    /// Cancelled by `pulse cancel`: never resumed, blocks nothing.
    Cancelled,
    /// Staging stopped on bad input (a record too large, invalid UTF-8, ...): staging it again
    /// would fail again, so it is never resumed and blocks nothing.
    InputError,
    /// Stopped while staging (so nothing of it was sent) and its input is gone or changed (or
    /// was stdin): it can never be staged again, so it is final and blocks nothing. Why is in
    /// `runs.note`.
    Abandoned,
}

impl RunStatus {
    /// Every status, in a run's usual order.
    pub const ALL: [RunStatus; 10] = [
        RunStatus::Staging,
        RunStatus::Staged,
        RunStatus::Delivering,
        RunStatus::Delivered,
        RunStatus::Failed,
        RunStatus::Interrupted,
        RunStatus::Invalid,
        RunStatus::Cancelled,
        RunStatus::InputError,
        RunStatus::Abandoned,
    ];

    /// The status stored as `text`; none for a status this version does not know.
    pub fn from_stored(text: &str) -> Option<RunStatus> {
        RunStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the run is over for good: nothing of it will be sent by `resume`, and it holds
    /// up no later run to its destination.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Delivered
                | RunStatus::Invalid
                | RunStatus::Cancelled
                | RunStatus::InputError
                | RunStatus::Abandoned
        )
    }

    /// Whether a process is (or was, until it stopped) working on the run.
    pub fn is_in_progress(self) -> bool {
        matches!(
            self,
            RunStatus::Staging | RunStatus::Staged | RunStatus::Delivering
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Staging => "staging",
            RunStatus::Staged => "staged",
            RunStatus::Delivering => "delivering",
            RunStatus::Delivered => "delivered",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Invalid => "invalid",
            RunStatus::Cancelled => "cancelled",
            RunStatus::InputError => "input-error",
            RunStatus::Abandoned => "abandoned",
        }
    }
}

/// What is known about a run before staging starts.
pub struct NewRun<'a> {
    pub id: &'a str,
    pub source: &'a str,
    pub source_size: Option<u64>,
    pub url: &'a str,
    /// Options needed to rebuild bodies and resume, as JSON; never secrets or auth values.
    pub options: &'a str,
}

/// An event of a run with its totals.
#[derive(Debug, Clone)]
pub struct EventRecord {
    pub id: String,
    pub name: String,
    pub total_rows: u64,
    pub batch_count: u64,
}

impl Store {
    /// Records a new run in `staging` with its events (in delivery order).
    pub fn create_run(&mut self, run: &NewRun, events: &[(String, &str)]) -> Result<()> {
        let started_at = now_ms();
        self.db.transaction("recording the new run", |tx| {
            tx.execute(
                // Run again after a lost commit answer (see `Db::transaction`): as it was.
                "INSERT INTO runs (id, started_at, source, source_size, url, options, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                &[
                    &run.id,
                    &started_at,
                    &run.source,
                    &run.source_size.map(|s| s as i64),
                    &run.url,
                    &run.options,
                    &RunStatus::Staging.as_str(),
                ],
            )?;
            for (seq, (id, name)) in events.iter().enumerate() {
                tx.execute(
                    "INSERT INTO events (id, run_id, seq, name) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT DO NOTHING",
                    &[id, &run.id, &(seq as i64), name],
                )?;
            }
            Ok(())
        })
    }

    /// Marks staging complete: event totals, row counts, the source hash, status `staged`, at once.
    pub fn finish_staging(
        &mut self,
        run_id: &str,
        events: &[EventRecord],
        counts: &RowCounts,
        source_hash: &str,
    ) -> Result<()> {
        self.db.transaction("marking the run staged", |tx| {
            for event in events {
                tx.execute(
                    "UPDATE events SET total_rows = ?2, batch_count = ?3 WHERE id = ?1",
                    &[
                        &event.id,
                        &(event.total_rows as i64),
                        &(event.batch_count as i64),
                    ],
                )?;
            }
            tx.execute(
                "UPDATE runs SET status = ?2, rows_total = ?3, rows_valid = ?4,
                     rows_invalid = ?5, blank_rows = ?6, source_hash = ?7 WHERE id = ?1",
                &[
                    &run_id,
                    &RunStatus::Staged.as_str(),
                    &(counts.total as i64),
                    &(counts.valid as i64),
                    &(counts.invalid as i64),
                    &(counts.blank as i64),
                    &source_hash,
                ],
            )?;
            Ok(())
        })
    }

    /// Marks a run stopped while staging `abandoned`, with why (see `RunStatus::Abandoned`).
    pub fn abandon_run(&self, run_id: &str, why: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, note = ?4 WHERE id = ?1",
                &[&run_id, &RunStatus::Abandoned.as_str(), &now_ms(), &why],
            )
            .context("marking the run abandoned")?;
        Ok(())
    }

    /// Why a run ended as it did, when the log says (an abandoned run's reason).
    pub fn run_note(&self, run_id: &str) -> Result<Option<String>> {
        Ok(self
            .db
            .query_opt("SELECT note FROM runs WHERE id = ?1", &[&run_id], |r| {
                r.get::<Option<String>>(0)
            })?
            .flatten())
    }

    /// The data rows a run read (0 for a run the log does not have).
    pub fn run_rows_total(&self, run_id: &str) -> Result<u64> {
        let rows = self
            .db
            .query_opt(
                "SELECT rows_total FROM runs WHERE id = ?1",
                &[&run_id],
                |r| r.get::<i64>(0),
            )
            .context("reading the run's row count")?;
        Ok(rows.unwrap_or(0).max(0) as u64)
    }

    /// Marks a staged run failed on its input for good, with why (a `--template` that cannot
    /// render its first batch): it is never sent and holds up no later run.
    pub fn fail_run_on_input(&self, run_id: &str, why: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, note = ?4 WHERE id = ?1",
                &[&run_id, &RunStatus::InputError.as_str(), &now_ms(), &why],
            )
            .context("marking the run failed on its input")?;
        Ok(())
    }

    pub fn set_run_status(&self, run_id: &str, status: RunStatus) -> Result<()> {
        let finished =
            status.is_final() || matches!(status, RunStatus::Failed | RunStatus::Interrupted);
        let finished_at = finished.then(now_ms);
        self.db
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3 WHERE id = ?1",
                &[&run_id, &status.as_str(), &finished_at],
            )
            .context("setting the run's status")?;
        Ok(())
    }
}

impl Store {
    /// Marks a run cancelled: it keeps its batches and attempts (`pulse log`, `pulse resend`),
    /// but is never resumed and holds up no later run.
    pub fn cancel_run(&self, run_id: &str) -> Result<()> {
        self.set_run_status(run_id, RunStatus::Cancelled)
    }

    /// Cancels a run with the reason `pulse log` shows (`push --replaces`).
    pub fn cancel_run_because(&self, run_id: &str, why: &str) -> Result<()> {
        self.db
            .execute(
                "UPDATE runs SET status = ?2, finished_at = ?3, note = ?4 WHERE id = ?1",
                &[&run_id, &RunStatus::Cancelled.as_str(), &now_ms(), &why],
            )
            .context("cancelling the run")?;
        Ok(())
    }

    /// Marks a run `invalid` (refused by --fail-on-invalid) and drops its outbox, so no resume
    /// or resend can ever send it.
    pub fn reject_run(&mut self, run_id: &str) -> Result<()> {
        let finished_at = now_ms();
        self.db.transaction("refusing the run", |tx| {
            tx.execute("DELETE FROM events WHERE run_id = ?1", &[&run_id])?;
            tx.execute(
                "UPDATE runs SET status = ?3, finished_at = ?2 WHERE id = ?1",
                &[&run_id, &finished_at, &RunStatus::Invalid.as_str()],
            )?;
            Ok(())
        })
    }
}

/// Row counts of a staged run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RowCounts {
    pub total: u64,
    pub valid: u64,
    pub invalid: u64,
    pub blank: u64,
    /// Mirror mode: rows skipped because they did not change since the last delivery.
    pub unchanged: u64,
    /// Mirror mode: delete rows sent for keys that disappeared.
    pub deleted: u64,
}
