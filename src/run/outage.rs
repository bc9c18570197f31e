//! The outage policy for unattended runs. A destination found down (no answer, or a 5xx, after
//! the whole retry schedule) is remembered in the log (`store::outages`). For the cool-down
//! after that schedule (`--outage-cooldown`, 1h), later commands probe it with one request (no
//! retries, one in flight, the first failure stops the run) instead of waiting through the
//! schedule again: a `*/15` resume during an outage costs seconds, not minutes. Under `--quiet`
//! an outage is said when it starts and when it ends, not at every run in between. The first
//! answer, of any status, ends it. A probe is a real delivery: the run's next batch.

use anyhow::Result;

use crate::deliver::{DeliverySettings, OnFailure};
use crate::exit::{DeliveryError, InterruptedError, QuietDeliveryError};
use crate::store::{now_ms, Outage, Store};
use crate::time_text::show;

/// What the log knew of a destination before a run was sent to it.
pub struct Watch {
    url: String,
    known: Option<Outage>,
    probing: bool,
    cooldown: std::time::Duration,
}

/// Looks up `url` (as the log shows it) before a run goes there; within the cool-down of an
/// outage, `settings` are narrowed to one probe request.
pub fn before(
    store: &Store,
    url: &str,
    settings: &mut DeliverySettings,
    quiet: bool,
) -> Result<Watch> {
    let cooldown = settings.outage_cooldown;
    let known = match cooldown.is_zero() {
        true => None,
        false => store.outage(url)?,
    };
    let probing = known
        .as_ref()
        .is_some_and(|o| now_ms().saturating_sub(o.checked_at) < cooldown.as_millis() as i64);
    if let (true, Some(outage)) = (probing, &known) {
        settings.retry.max_retries = 0;
        settings.concurrency = crate::deliver::Concurrency::Fixed(1);
        settings.on_failure = OnFailure::Stop;
        if !quiet {
            crate::output::errln!(
                "pulse: {url} is down since {} (last tried {}: {}): trying it with one request",
                show(outage.down_since),
                show(outage.last_tried),
                outage.last_error
            );
        }
    }
    Ok(Watch {
        url: url.to_string(),
        known,
        probing,
        cooldown,
    })
}

/// Records what `run_id`'s delivery (started at `since`, milliseconds) found out about the
/// destination, and returns its outcome, said as the policy wants it.
pub fn after(
    store: &Store,
    watch: &Watch,
    run_id: &str,
    since: i64,
    outcome: Result<()>,
    quiet: bool,
) -> Result<()> {
    if watch.cooldown.is_zero() {
        return outcome;
    }
    let err = match outcome {
        Ok(()) => {
            end(store, watch)?;
            return Ok(());
        }
        Err(err) if err.is::<InterruptedError>() => return Err(err),
        Err(err) => err,
    };
    // What the last request got decides; none made: nothing learnt. A log that fails here (a
    // database gone away) most often failed the delivery: its error is the one to tell.
    let Ok(Some(last)) = store.last_attempt_of_run(run_id, since) else {
        return Err(err);
    };
    if last.http_status != 0 && last.http_status < 500 {
        // Best effort: the delivery's own error is the one to tell.
        let _ = end(store, watch);
        return Err(err);
    }
    let got = match (last.http_status, &last.error) {
        (0, Some(error)) => error.clone(),
        (0, None) => "no response".to_string(),
        (status, _) => format!("HTTP {status}"),
    };
    if store
        .record_outage(&watch.url, last.started_at, &got, !watch.probing)
        .is_err()
    {
        return Err(err);
    }
    let cooldown = humantime::format_duration(watch.cooldown);
    Err(match &watch.known {
        None => DeliveryError(format!(
            "{err:#}; {} is down: for {cooldown} commands try it with one request first \
             (--quiet ones say nothing more until it answers)",
            watch.url
        ))
        .into(),
        Some(outage) => {
            let text = format!(
                "{err:#}; {} is still down (since {}, last tried {})",
                watch.url,
                show(outage.down_since),
                show(last.started_at)
            );
            match quiet {
                true => QuietDeliveryError(text).into(),
                false => DeliveryError(text).into(),
            }
        }
    })
}

/// Forgets the destination's outage, saying so even under `--quiet`: the mail that says it
/// is over.
fn end(store: &Store, watch: &Watch) -> Result<()> {
    if let Some(outage) = &watch.known
        && store.end_outage(&watch.url)?
    {
        crate::output::errln!(
            "pulse: {} answers again (it was down since {})",
            watch.url,
            show(outage.down_since)
        );
    }
    Ok(())
}
