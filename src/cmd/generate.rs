//! Shell completions and the man page, both generated from the clap definition.

use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "pulse", &mut std::io::stdout());
}

/// Writes `pulse.1` into `dir`.
pub fn man(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("pulse.1");
    std::fs::write(&path, man_page()?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The whole man page: every subcommand and flag, from clap, in one file.
pub fn man_page() -> Result<Vec<u8>> {
    let command = Cli::command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_subcommand(&mut out, sub, "pulse")?;
    }
    out.extend_from_slice(EXTRA_SECTIONS.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn render_subcommand(out: &mut Vec<u8>, sub: &clap::Command, parent: &str) -> Result<()> {
    let name = format!("{parent} {}", sub.get_name());
    out.extend_from_slice(format!(".SH \"{}\"\n", name.to_uppercase()).as_bytes());
    let sub = sub.clone().bin_name(name.clone());
    let man = clap_mangen::Man::new(sub.clone());
    let mut section = Vec::new();
    man.render_synopsis_section(&mut section)?;
    man.render_description_section(&mut section)?;
    man.render_options_section(&mut section)?;
    man.render_extra_section(&mut section)?;
    // Demote the sub-page's headings so they nest under this command's section.
    let text = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
    out.extend_from_slice(text.as_bytes());
    for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_subcommand(out, nested, &name)?;
    }
    Ok(())
}

const EXTRA_SECTIONS: &str = r#".SH "EXIT STATUS"
.TP
\fB0\fR
everything was delivered (or there was nothing to send)
.TP
\fB1\fR
runtime error: unreadable input, I/O or database error
.TP
\fB2\fR
usage error: a bad flag or value
.TP
\fB3\fR
invalid rows with \-\-fail\-on\-invalid (nothing was sent)
.TP
\fB4\fR
delivery failed: some batches are undelivered; \fBpulse resume\fR continues
.TP
\fB130\fR
interrupted (Ctrl\-C or SIGTERM); the run is resumable
.SH "PAYLOAD"
Each batch is one POST with a JSON body:
.PP
.nf
{"id":"evt_01JD...","templateId":"customers","index":1,"count":3,"totalRows":12000,
 "event_name":"all","data":[{"first_name":"Christy","email":"c@example.com",
 "__index":1,"__row":2,"__valid":true,"__errors":[]}],"user":null,"metadata":{}}
.fi
.PP
\fBid\fR is the event id, \fBindex\fR the 1\-based batch number, \fBcount\fR the batches in the
event, \fBtotalRows\fR the rows in the event. \fB__index\fR is the row's position among data
rows, \fB__row\fR the line where it starts (the header is line 1).
.SH "SIGNING"
Requests follow the Standard Webhooks specification: headers \fBwebhook\-id\fR (the batch id,
stable across retries and resends), \fBwebhook\-timestamp\fR (unix seconds, fresh on every
attempt) and \fBwebhook\-signature\fR (\fBv1,\fR base64 HMAC\-SHA256 of
\fIid\fR.\fItimestamp\fR.\fIbody\fR keyed with the base64\-decoded secret after \fBwhsec_\fR;
one space\-separated signature per \-\-secret). Without a secret, pulse generates one per URL,
stores it in the log and prints it once.
.SH "THE LOG, RESUMING AND RESENDING"
Every batch is written to the log before the first request, and every attempt is recorded
before the next one starts; a batch is marked delivered only together with the 2xx attempt
that delivered it. After Ctrl\-C (exit 130), a failure (exit 4) or even SIGKILL,
\fBpulse resume\fR continues from the first undelivered batch; a run stopped while staging
is staged again from its file if the file is unchanged (same size and hash). Stdin cannot be
read twice: such a run must be pushed again. \fBpulse resend\fR sends an event or a batch
again with the same \fBwebhook\-id\fR. Both take the signing secret from \-\-secret or
\fBPULSE_SECRET\fR, else the one stored for the URL, and the value of a stored auth header
name from \-\-auth\-header\-value or \fBPULSE_AUTH_HEADER_VALUE\fR: values are never
stored. \fBpulse log\fR never prints a secret.
.SH "FILES"
.TP
\fB$XDG_DATA_HOME/pulse/pulse.db\fR (default \fB~/.local/share/pulse/pulse.db\fR)
the delivery log: runs, events, batches with compressed payloads, attempts, generated secrets.
Created with mode 0600.
.TP
\fBpulse.db.locks/\fR
one lock file per run, held by the process sending it, so that \fBpulse resume\fR never
sends a run another live process is sending.
.SH "ENVIRONMENT"
.TP
\fBPULSE_DB\fR
path of the log database (as \-\-db)
.TP
\fBPULSE_SECRET\fR
signing secret(s), space\-separated (as \-\-secret)
.TP
\fBPULSE_AUTH_HEADER_VALUE\fR
value of the \-\-auth\-header\-name header (as \-\-auth\-header\-value); never stored
.TP
\fBXDG_DATA_HOME\fR
base of the default log path
"#;

#[cfg(test)]
mod tests {
    #[test]
    fn committed_man_page_is_current() {
        let committed = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/man/pulse.1"))
            .expect("man/pulse.1 exists");
        assert!(
            committed == super::man_page().unwrap(),
            "man/pulse.1 is stale: run `cargo run -- man man` and commit it"
        );
    }

    #[test]
    fn completions_generate_for_every_shell() {
        use clap::ValueEnum;
        for shell in clap_complete::Shell::value_variants() {
            let mut command = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut command, "pulse", &mut out);
            assert!(String::from_utf8(out).unwrap().contains("push"), "{shell}");
        }
    }
}
