//! Batches in the outbox as delivery sees them: their ids and order, their stored payloads,
//! and their status.

use anyhow::{Context, Result};

use super::Store;

/// A batch id, used as the `webhook-id`: stable for the batch's life and free of `.`.
pub fn new_batch_id() -> String {
    format!("msg_{}", ulid::Ulid::new())
}

/// A batch as the deliverer sees it.
#[derive(Debug, Clone)]
pub struct BatchRef {
    pub id: String,
    pub idx: u64,
    pub rows: u64,
    pub delivered: bool,
}

impl Store {
    /// The batches of an event in order.
    pub fn batches_of_event(&self, event_id: &str) -> Result<Vec<BatchRef>> {
        self.db.query(
            "SELECT id, idx, rows, status FROM batches WHERE event_id = ?1 ORDER BY idx",
            &[&event_id],
            |r| {
                Ok(BatchRef {
                    id: r.get(0)?,
                    idx: r.count(1)?,
                    rows: r.count(2)?,
                    delivered: r.get::<String>(3)? == "delivered",
                })
            },
        )
    }

    /// Hands `read` a batch's stored payload (opaque here: see `payload::stored`) and its
    /// recorded JSON length; an error from `read` says the payload is damaged.
    pub fn with_payload<T>(
        &self,
        batch_id: &str,
        read: impl FnOnce(&[u8], usize) -> Result<T>,
    ) -> Result<T> {
        let result = self
            .db
            .query_opt(
                "SELECT raw_len, data FROM payloads WHERE batch_id = ?1",
                &[&batch_id],
                |r| Ok(read(r.blob(1)?, r.count(0)? as usize)),
            )?
            .with_context(|| format!("batch {batch_id} has no payload in the log"))?;
        result.with_context(|| format!("payload of batch {batch_id} is damaged"))
    }

    /// How many batches of a run are delivered.
    pub fn delivered_batches(&self, run_id: &str) -> Result<u64> {
        let n: i64 = self.db.query_value(
            "SELECT count(*) FROM batches b JOIN events e ON e.id = b.event_id
             WHERE e.run_id = ?1 AND b.status = 'delivered'",
            &[&run_id],
        )?;
        Ok(n as u64)
    }

    /// Whether the batch is marked delivered in the log now.
    pub fn is_batch_delivered(&self, batch_id: &str) -> Result<bool> {
        let delivered: i64 = self.db.query_value(
            "SELECT count(*) FROM batches WHERE id = ?1 AND status = 'delivered'",
            &[&batch_id],
        )?;
        Ok(delivered > 0)
    }

    /// Times this process made a connection to a PostgreSQL log again after a loss (none for
    /// a SQLite file, whose connection is never lost): when it moved on, what was read before
    /// may be out of date.
    pub fn connections_made_again(&self) -> u64 {
        self.postgres().map_or(0, super::PgConn::made_again)
    }

    /// Marks a batch as failed after its last attempt (it stays undelivered and resumable).
    pub fn mark_batch_failed(&self, batch_id: &str) -> Result<()> {
        self.db.execute(
            "UPDATE batches SET status = 'failed' WHERE id = ?1 AND status != 'delivered'",
            &[&batch_id],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::payload::Packer;
    use crate::payload::TokenTable;
    use crate::store::test_support::{load, store_with_event};
    use crate::store::OutboxWriter;

    #[test]
    fn payload_round_trips_compressed() {
        let mut store = store_with_event();
        let mut outbox = OutboxWriter::new(Packer::new(&TokenTable::default())).unwrap();
        let data = br#"[{"a":"1"},{"a":"2"}]"#.repeat(100);
        let id = outbox
            .write_batch(
                &mut store,
                "evt_1",
                1,
                200,
                1,
                &mut data.clone(),
                data.len(),
            )
            .unwrap();
        let mut out = b"prefix".to_vec();
        load(&store, &id, &mut out).unwrap();
        assert_eq!(&out[6..], &data[..]);
        let stored: i64 = store
            .conn()
            .query_row("SELECT length(data) FROM payloads", [], |r| r.get(0))
            .unwrap();
        assert!((stored as usize) < data.len() / 5, "stored {stored} bytes");
    }

    #[test]
    fn a_payload_not_of_its_recorded_size_is_damaged() {
        let mut store = store_with_event();
        let mut outbox = OutboxWriter::new(Packer::new(&TokenTable::default())).unwrap();
        let id = outbox
            .write_batch(
                &mut store,
                "evt_1",
                1,
                1,
                1,
                &mut br#"[{"a":"1"}]"#.to_vec(),
                11,
            )
            .unwrap();
        store
            .conn()
            .execute("UPDATE payloads SET raw_len = raw_len - 1", [])
            .unwrap();
        let err = load(&store, &id, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("is damaged"), "{err}");
        store
            .conn()
            .execute("UPDATE payloads SET data = x'00112233'", [])
            .unwrap();
        let err = load(&store, &id, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("is damaged"), "{err}");
    }
}
