//! `pulse prune`: delete old runs with their events, batches, payloads and attempts, and say
//! what that freed. Runs another process is still sending are kept, and so are unfinished ones
//! (they can still be resumed) unless `--unfinished` is given.

use anyhow::Result;
use serde_json::json;

use crate::cli::PruneSettings;
use crate::plural::count;
use crate::run::RunLock;
use crate::store::{Location, Store};

pub fn run(asked: &PruneSettings, db: &Location) -> Result<()> {
    let (args, cutoff) = (asked.args, asked.cutoff);
    let mut store = Store::open(db)?;
    let size_before = store.size_on_disk()?;
    let mut locks = Vec::new();
    let (mut busy, mut unfinished) = (0u64, 0u64);
    for (id, finished) in store.runs_started_before(cutoff)? {
        if !finished && !args.unfinished {
            unfinished += 1;
            continue;
        }
        match RunLock::try_acquire(&store, &id)? {
            Some(lock) => locks.push((id, lock)),
            None => busy += 1,
        }
    }
    let ids: Vec<String> = locks.iter().map(|(id, _)| id.clone()).collect();
    let report = store.delete_runs(&ids)?;
    // Deleted while held: a process opening one now finds no run in the log. Each lock's file
    // goes with it.
    drop(locks);
    if args.vacuum {
        store.vacuum()?;
    }
    let size_after = store.size_on_disk()?;
    let floor = store.size_floor()?;
    if args.json {
        let line = json!({
            "runs": report.runs,
            "events": report.events,
            "batches": report.batches,
            "attempts": report.attempts,
            "payload_bytes": report.payload_bytes,
            "kept_busy": busy,
            "kept_unfinished": unfinished,
            "file_bytes_before": size_before,
            "file_bytes_after": size_after,
            "file_bytes_min": floor.map(|(floor, _)| floor),
        });
        crate::output::outln!("{line}");
        return Ok(());
    }
    crate::output::outln!(
        "pruned {}: {}, {} ({} of payloads), {}",
        count(report.runs, "run", "runs"),
        count(report.events, "event", "events"),
        count(report.batches, "batch", "batches"),
        human_bytes(report.payload_bytes),
        count(report.attempts, "attempt", "attempts")
    );
    if busy > 0 {
        crate::output::outln!(
            "kept {} that another pulse process is sending",
            count(busy, "old run", "old runs")
        );
    }
    if unfinished > 0 {
        println!(
            "kept {} (they can still be resumed); pass --unfinished to delete them",
            count(unfinished, "unfinished run", "unfinished runs")
        );
    }
    if args.vacuum {
        // An empty log is not an empty file: say why it does not shrink further.
        let why = match floor {
            Some((floor, page)) if size_after <= floor + 2 * page => format!(
                " (a log takes at least {}: a {} KiB page for each table and index, the page \
                 size that keeps pushes fast)",
                human_bytes(floor),
                page / 1024
            ),
            Some(_) => String::new(),
            None => " (PostgreSQL keeps the space for later runs; VACUUM FULL returns it)".into(),
        };
        crate::output::outln!(
            "compacted {}: {} -> {}{why}",
            db,
            human_bytes(size_before),
            human_bytes(size_after)
        );
    } else if report.runs > 0 {
        crate::output::outln!("the space is reused by later runs; --vacuum shrinks the file");
    }
    Ok(())
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }
}
