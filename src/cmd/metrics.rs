//! `pulse metrics`: the log's state in Prometheus' text format, for a textfile collector run
//! from cron or a scrape of a shared PostgreSQL log: runs by status and, per destination, the
//! backlog, the oldest unfinished run, failed batches and the last delivery.

use std::fmt::Write as _;

use anyhow::{Context, Result};

use crate::cli::MetricsArgs;
use crate::store::{Location, LogGauges, Store};

pub fn run(args: &MetricsArgs, db: &Location) -> Result<()> {
    let store = Store::open_to_read(db)?;
    let text = render(&store.gauges()?);
    match &args.output {
        Some(path) => crate::metrics::write_whole(path, &text)
            .with_context(|| format!("--output {}", path.display())),
        None => {
            crate::output::outln!("{}", text.trim_end());
            Ok(())
        }
    }
}

/// The gauges as Prometheus families.
fn render(gauges: &LogGauges) -> String {
    let mut out = String::new();
    let mut family = |name: &str, help: &str, samples: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let label = crate::metrics::label;
    family(
        "pulse_runs",
        "Runs in the log, by status.",
        gauges
            .runs_by_status
            .iter()
            .map(|(status, n)| (format!("status=\"{}\"", label(status)), n.to_string()))
            .collect(),
    );
    let per_destination = |value: &dyn Fn(&crate::store::DestinationGauges) -> Option<String>| {
        gauges
            .destinations
            .iter()
            .filter_map(|(url, d)| Some((format!("destination=\"{}\"", label(url)), value(d)?)))
            .collect::<Vec<_>>()
    };
    let seconds = |ms: i64| format!("{:.3}", ms as f64 / 1000.0);
    family(
        "pulse_backlog_batches",
        "Batches of unfinished runs not delivered yet, per destination.",
        per_destination(&|d| Some(d.backlog_batches.to_string())),
    );
    family(
        "pulse_oldest_unfinished_run_timestamp_seconds",
        "When the oldest run not yet delivered started, per destination (Unix time).",
        per_destination(&|d| d.oldest_unfinished.map(seconds)),
    );
    family(
        "pulse_failed_batches",
        "Batches that failed for good, per destination.",
        per_destination(&|d| Some(d.failed_batches.to_string())),
    );
    family(
        "pulse_last_delivery_timestamp_seconds",
        "When a batch was last delivered, per destination (Unix time).",
        per_destination(&|d| d.last_delivery.map(seconds)),
    );
    out
}
