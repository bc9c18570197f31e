//! Shell completions and the man page, both generated from the clap definition.

use std::io::Write;
use std::path::Path;

use crate::cli::command as pulse_command;
use anyhow::{Context, Result};

pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut command = pulse_command();
    // Into memory first: clap_complete panics when its writer fails.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "pulse", &mut script);
    let mut out = crate::output::stdout();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}

/// Writes `pulse.1` into `dir`.
pub fn man(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("pulse.1");
    std::fs::write(&path, man_page()?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The whole man page: every subcommand and flag, from clap, in one file, then the
/// hand-written sections (payload, signing, sync modes, exit status, files, environment).
pub fn man_page() -> Result<Vec<u8>> {
    let command = pulse_command();
    let mut out = Vec::new();
    let man = clap_mangen::Man::new(command.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    out.extend_from_slice(DESCRIPTION.as_bytes());
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
    // Demote the sub-page's headings so they nest under this command's section.
    let text = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
    out.extend_from_slice(text.as_bytes());
    if let Some(examples) = sub.get_after_help() {
        render_examples(out, &examples.to_string());
    }
    for nested in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
        render_subcommand(out, nested, &name)?;
    }
    Ok(())
}

/// The `after_help` examples of a command (an `Examples:` line, then indented command lines)
/// as an EXAMPLES subsection, verbatim.
fn render_examples(out: &mut Vec<u8>, after_help: &str) {
    let body = after_help.strip_prefix("Examples:\n").unwrap_or(after_help);
    out.extend_from_slice(b".SS EXAMPLES\n.nf\n");
    for line in body.lines() {
        out.extend_from_slice(roff_literal(line.trim_start()).as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b".fi\n");
}

/// One line of text for a no-fill block: backslashes and dashes escaped, and a leading `.` or
/// `'` guarded so roff does not read it as a request.
fn roff_literal(line: &str) -> String {
    let escaped = line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

const DESCRIPTION: &str = r#".SH DESCRIPTION
\fBpulse\fR pushes CSV data into webhooks. \fBpulse push\fR first stages the whole input into a
local SQLite log (the outbox): it reads the CSV, validates each row against an optional
Frictionless Table Schema, groups the rows into events (\fBall\fR, \fBvalidData\fR,
\fBinvalidData\fR), cuts each event into batches of \fB\-\-batch\-size\fR rows and stores every
batch. Only then does delivery start: one signed request per batch, in order, the next one only
after the receiver answered 2xx. Every attempt is recorded, so a failed or interrupted run can be
inspected with \fBpulse log\fR, continued with \fBpulse resume\fR and replayed with
\fBpulse resend\fR.
.PP
\fBpulse receive\fR is a local receiver for trying pulse and testing integrations,
\fBpulse validate\fR checks a file without sending anything, and \fBpulse completions\fR
prints a completion script for bash, zsh, fish, powershell or elvish, e.g.
\fBpulse completions bash > ~/.local/share/bash\-completion/completions/pulse\fR.
"#;

const EXTRA_SECTIONS: &str = r#".SH PAYLOAD
\fB\-\-format\fR changes only the request body; batching, signing, logging, resume and resend
are the same for every format. The examples below are the bodies that
\fBpulse push two.csv \-\-schema team.schema.json \-\-template\-id team \-\-user\-id u_42
\-\-metadata '{"source":"crm"}' \-\-mode upsert \-\-dry\-run \-\-format\fR \fIFORMAT\fR prints
(each after its request line and headers) for this file, where the second row is invalid:
.PP
.nf
id,name,email,age
1,Ada,ada@example.com,36
2,Linus,linus\-at\-example.com,abc
.fi
.PP
Every row is an object keyed by the header names. With a schema, the cells of a valid row are
cast to their JSON type (integer, number, boolean; dates stay ISO strings); an invalid row keeps
all its cells as the original text. \fB__index\fR is the row's 1\-based position among data
rows, \fB__row\fR the line where it starts (the header is line 1), \fB__valid\fR and
\fB__errors\fR (\fBtype\fR, \fBfieldName\fR, \fBfieldNumber\fR, \fBcell\fR, \fBmessage\fR; the
types are frictionless error types such as \fBtype\-error\fR, \fBconstraint\-error\fR,
\fBunique\-error\fR, \fBmissing\-cell\fR, \fBextra\-cell\fR) say why it is invalid, and
\fB__op\fR is the operation of \fB\-\-mode upsert|create|delete|mirror\fR (absent with
\fBappend\fR). Cells beyond the header are kept in \fB__extra\fR.
.SS "pulse (default, Pulter\-compatible)"
One body per batch. \fBid\fR is the event id, \fBindex\fR the 1\-based batch number in the
event, \fBcount\fR the batches in the event, \fBtotalRows\fR the rows in the event,
\fBevent_name\fR one of \fBall\fR, \fBvalidData\fR, \fBinvalidData\fR (see \fB\-\-events\fR).
\fBtemplateId\fR defaults to the file name without extension, \fBuser\fR is null without
\fB\-\-user\-id\fR, \fBmetadata\fR is \fB\-\-metadata\fR.
.PP
.nf
{"id":"evt_01M8441TZWSFVD4WH84YH8JDHX","templateId":"team",
 "index":1,"count":1,"totalRows":2,"event_name":"all",
 "data":[
  {"id":1,"name":"Ada","email":"ada@example.com","age":36,
   "__index":1,"__row":2,"__op":"upsert","__valid":true,"__errors":[]},
  {"id":"2","name":"Linus","email":"linus\-at\-example.com","age":"abc",
   "__index":2,"__row":3,"__op":"upsert","__valid":false,"__errors":[
    {"type":"type\-error","fieldName":"email","fieldNumber":3,
     "cell":"linus\-at\-example.com",
     "message":"email: \e"linus\-at\-example.com\e" is not an email address"},
    {"type":"type\-error","fieldName":"age","fieldNumber":4,"cell":"abc",
     "message":"age: \e"abc\e" is not an integer"}]}],
 "user":{"id":"u_42"},"metadata":{"source":"crm"}}
.fi
.SS "impler"
One body per batch: \fBpage\fR is the batch number from 1, \fBtotalPages\fR the batches in the
event, \fBuploadId\fR the run id, \fBtemplate\fR the template id, \fBchunkSize\fR
\fB\-\-batch\-size\fR, \fBextra\fR \fB\-\-metadata\fR, \fBtotalRecords\fR the rows in the event.
.PP
.nf
{"page":1,"fileName":"two.csv","template":"team",
 "uploadId":"run_01M8441V0SW3Q7STZ0CFDV0RF8",
 "data":[ ...the same rows as in the pulse format... ],
 "totalRecords":2,"chunkSize":5000,"extra":{"source":"crm"},"totalPages":1}
.fi
.SS "flatfile"
One body per batch, the batch's valid and invalid rows apart:
.PP
.nf
{"event":{"type":"batch.upload","id":"evt_01M8441V29X10HTM3F33468HQV",
          "sequence":{"count":1,"index":1}},
 "data":{"meta":{"batch":{"id":"msg_01M8441V35PR5QGWKTEENV4KQ6"},
                 "schema":{"id":"team"},"count":2},
         "validRows":[{"id":1,"name":"Ada", ...,"__valid":true,"__errors":[]}],
         "invalidRows":[{"id":"2","name":"Linus", ...,"__valid":false,
                         "__errors":[...]}]}}
.fi
.SS "valmi"
One row per request (\fB\-\-batch\-size\fR is ignored): \fB_message_id\fR is the batch id (also
the \fBwebhook\-id\fR), \fB_sync_mode\fR the \fB\-\-mode\fR, \fB_valmi_row_num\fR the row's
\fB__index\fR and \fB_valmi_sync_op\fR its operation (\fBupsert\fR or \fBdelete\fR in mirror
mode). The \fB__\fR fields are left out.
.PP
.nf
{"_message_id":"msg_01M8441V495EA1BXGJRTYTMV4N","_sync_mode":"upsert",
 "_type":"object",
 "payload":{"id":1,"name":"Ada","email":"ada@example.com","age":36,
            "_valmi_meta":{"_valmi_row_num":1,"_valmi_sync_op":"upsert"}}}
.fi
.SS "GET requests"
With \fB\-\-method get\fR (formats \fBpulse\fR and \fBvalmi\fR only; others are a usage
error) every row is one GET request with no body. The row (for \fBvalmi\fR, its
\fBpayload\fR object) is flattened into query parameters: nested keys are joined with \fB_\fR,
array items get their index, null is an empty value and empty arrays add nothing; values are
form\-encoded.
.PP
.nf
?id=1&name=Ada&email=ada%40example.com&age=36&_valmi_meta__valmi_row_num=1&_valmi_meta__valmi_sync_op=upsert
?id=2&name=Linus&...&__valid=false&__errors_0_type=type\-error&__errors_0_fieldName=email&...
.fi
.PP
A GET request is signed like a POST with the query string (the bytes after \fB?\fR) in place of
the body: \fIid\fR.\fItimestamp\fR.\fIquery\fR.
.SH TEMPLATES
\fB\-\-template\fR \fIFILE\fR renders each request body from a MiniJinja (Jinja2) template,
once per batch, in place of a \fB\-\-format\fR (POST only). It sees \fBrows\fR (each row an
object: its columns as sent, typed by \fB\-\-schema\fR, and \fB__index\fR, \fB__row\fR,
\fB__valid\fR, \fB__errors\fR), \fBbatch\fR (\fBid\fR, the webhook\-id; \fBindex\fR;
\fBcount\fR; \fBrows\fR, rows in the batch), \fBevent\fR (\fBname\fR, \fBid\fR,
\fBtotal_rows\fR), \fBrun\fR (\fBid\fR, \fBsource\fR, the input's file name; \fBtotal_rows\fR)
and \fBmetadata\fR. An undefined name is an error. In a JSON body (the default
\fB\-\-content\-type\fR, a \fB+json\fR type, or NDJSON) every \fB{{ value }}\fR is written as
JSON, quoted and escaped; in XML and HTML it is escaped as markup; in other types it is written
as it is (\fBurlencode\fR for forms).
.PP
A template that does not parse is exit 2 naming its file, line and column. The first batch is
rendered once the input is staged: an error there, or a JSON body that is not JSON, fails the
run on its input (exit 2, nothing sent). The run keeps the template's text: resume and resend
send the same bytes.
.PP
\fB\-\-nest\fR makes dotted column names nested objects (\fBaddress.city\fR becomes
\fB"address":{"city":...}\fR) in every format and in templates; clashing names (\fBa\fR and
\fBa.b\fR) are a usage error.
.PP
.nf
{"inputs": [{% for row in rows %}{"properties": {"email": {{ row.email }}}}
  {%\- if not loop.last %},{% endif %}{% endfor %}]}
.fi
.SH ANSWERS
\fB\-\-success\-if\fR \fIEXPR\fR and \fB\-\-rejected\-rows\fR \fIEXPR\fR (push; kept with the
run, so resume and resend read its answers alike) read a 2xx answer with a jq expression
(jaq). With either, a 2xx answer is read whole, up to 16 MiB; a longer one, or one that is not
JSON, fails the batch for good (not retried). \fB\-\-success\-if\fR decides as \fBjq \-e\fR:
its last value; false, null, no value or an error fail the batch for good, not retried (as a
4xx). \fB\-\-rejected\-rows\fR yields the 1\-based positions in the batch of the rows the
receiver refused, or \fB{position, error}\fR objects: the batch is delivered, and the rows and
messages are recorded with the attempt (\fBpulse log\fR shows "delivered, 3 of 500 rows
rejected", the JSON summary \fBrejected\fR, \fBpulse export RUN \-\-rejected\fR
[\fB\-\-with\-errors\fR] writes them). A value that is not a row of the batch fails it, naming
the value; a position given twice keeps both messages. Refused rows exit 0 with a warning;
\fB\-\-fail\-on\-rejected\fR makes that exit 5. A bad expression is exit 2.
.PP
.nf
pulse push contacts.csv \-\-url URL \-\-success\-if '.ok' \e
  \-\-rejected\-rows '.errors[] | {position: .row, error: .message}'
.fi
.SH SIGNING
Requests follow the Standard Webhooks specification (https://www.standardwebhooks.com/), so
a receiver can verify them with an off\-the\-shelf library. Each request carries:
.TP
\fBwebhook\-id\fR
the batch id (\fBmsg_\fR...): the same on every retry, resume and resend, so receivers can use
it as an idempotency key
.TP
\fBwebhook\-timestamp\fR
unix seconds, fresh on every attempt
.TP
\fBwebhook\-signature\fR
\fBv1,\fR followed by the base64 HMAC\-SHA256 of \fIid\fR\fB.\fR\fItimestamp\fR\fB.\fR\fIbody\fR
(the exact bytes sent; the query string for GET), keyed with the base64\-decoded bytes of the
secret after \fBwhsec_\fR; or, for a \fBwhsk_\fR signing key, \fBv1a,\fR followed by the base64
Ed25519 signature of the same content, which a receiver verifies with the key's \fBwhpk_\fR
public key (that key verifies but cannot sign). With several \fB\-\-secret\fR values (key
rotation, or a move from \fBv1\fR to \fBv1a\fR) there is one signature per secret, separated by
spaces; a receiver accepts the request when any of them matches.
.PP
Keys are encoded as Svix encodes them: \fBwhsk_\fR is standard base64 of the 64\-byte Ed25519
secret key (the 32\-byte seed, then the 32\-byte public key; the seed alone is taken too), and
\fBwhpk_\fR standard base64 of the 32\-byte public key. \fBpulse secret new \-\-asymmetric\fR
prints a fresh signing key, \fBpulse secret public\fR its public key, and \fBpulse receive
\-\-public\-key\fR verifies \fBv1a\fR.
.PP
A receiver should recompute the signature over the raw body before parsing it, compare in
constant time, and reject timestamps more than a few minutes from its clock (\fBpulse
receive\fR allows 5 minutes).
.PP
Without \fB\-\-secret\fR or \fBPULSE_SECRET\fR, pulse generates a secret for the URL, stores it
in the log, prints it once on stderr (even with \fB\-\-quiet\fR) and reuses it for that URL
afterwards; \fBpulse secret show\fR \fIURL\fR prints it again. With \fB\-\-asymmetric\fR it
generates a \fBwhsk_\fR signing key instead, kept in the log, and prints only its public key.
\fBpulse secret new\fR prints a fresh secret. \fB\-\-no\-sign\fR sends unsigned requests.
.SH "SYNC MODES"
.TP
\fB\-\-mode append\fR (default)
rows are sent as they are, without \fB__op\fR.
.TP
\fB\-\-mode upsert\fR, \fBcreate\fR, \fBdelete\fR
every row is tagged with that operation: \fB__op\fR in the \fBpulse\fR, \fBimpler\fR and
\fBflatfile\fR rows, \fB_valmi_sync_op\fR in \fBvalmi\fR.
.TP
\fB\-\-mode mirror\fR
needs \fB\-\-key COL[,COL]\fR or a schema with a \fBprimaryKey\fR. The file is compared with the
last fully delivered state of the same sync (\fB\-\-sync NAME\fR; by default derived from the
URL and the file name): new and changed rows go out as \fBupsert\fR, rows whose key is gone go
out as \fBdelete\fR carrying their key fields, unchanged rows are not sent. The state (key and
row hash) lives in the log and is replaced only once the run is fully delivered, so a failed or
interrupted run loses no change: \fBpulse resume\fR sends it. Duplicate keys in one file are
invalid rows.
.SH "EXIT STATUS"
.TP
\fB0\fR
everything was delivered (or there was nothing to send, e.g. \fBpulse resume\fR with no
unfinished run)
.TP
\fB1\fR
runtime error: unreadable or empty input, I/O or database error, an unknown run, event or batch
id, or standard output could not be written (the run's state is recorded first; a failed
standard error changes no exit code)
.TP
\fB2\fR
usage error: a bad flag or value
.TP
\fB3\fR
invalid rows: \fBpulse validate\fR found some, or \fBpulse push \-\-fail\-on\-invalid\fR
refused the file (nothing was sent)
.TP
\fB4\fR
delivery failed: some batches are undelivered; \fBpulse resume\fR continues
.TP
\fB5\fR
\fB\-\-fail\-on\-rejected\fR: every batch was delivered, but the receiver refused rows of them
(\fB\-\-rejected\-rows\fR; \fBpulse export RUN \-\-rejected\fR writes them)
.TP
\fB124\fR
\fB\-\-deadline\fR passed; the run stopped as on SIGTERM and is resumable
.TP
\fB130\fR
interrupted by Ctrl\-C (SIGINT); the run is resumable
.TP
\fB143\fR
stopped by SIGTERM (128 + 15, as shells report it); the run is resumable
.SH "THE LOG, RESUMING AND RESENDING"
Every batch is written to the log before the first request, and every attempt is recorded
before the next one starts; a batch is marked delivered only together with the 2xx attempt
that delivered it. After Ctrl\-C (exit 130), a failure (exit 4) or even SIGKILL,
\fBpulse resume\fR continues from the first undelivered batch; a run stopped while staging
is staged again from its file if the file is unchanged (same size and hash). Stdin cannot be
read twice: such a run must be pushed again. \fBpulse resend\fR sends an event or a batch
again with the same \fBwebhook\-id\fR. Both take the signing secret from \-\-secret or
\fBPULSE_SECRET\fR, else the one stored for the URL, and the value of a stored auth header
name from \-\-auth\-header\-value or \fBPULSE_AUTH_HEADER_VALUE\fR, and a run's OAuth2
client secret from \-\-oauth2\-client\-secret or \fBPULSE_OAUTH2_CLIENT_SECRET\fR: values are never
stored. \fBpulse log\fR never prints a secret.
.PP
Retried: connection errors, timeouts, 408, 429 and 5xx, after 1s, 5s, 30s, 2m, 5m (each
\(+-20%; \fB\-\-retry\-schedule\fR, \fB\-\-retries\fR), honouring \fBRetry\-After\fR up to
\fB\-\-max\-retry\-after\fR. Not retried: other 4xx, 3xx (redirects are not followed) and 410.
A 429 or 503 pauses every request of the run not yet sent, new batches and retries alike,
until the later of its \fBRetry\-After\fR and the backoff. An answer whose \fBRateLimit\fR,
\fBRateLimit\-Remaining\fR/\fBRateLimit\-Reset\fR or \fBX\-RateLimit\-Remaining\fR/\fBX\-RateLimit\-Reset\fR
headers say no request is left holds the next ones until the reset; \fB\-\-rate\fR stays a hard
ceiling. \fB\-\-concurrency auto\fR starts with one request in flight, adds one per round trip
while answers stay as fast, and cuts the limit to 90% on 429, 502, 503, 504, timeouts, network
errors and slower answers (never below 1 nor above MAX, 64 unless \fBauto:MAX\fR says).
With \fB\-\-oauth2\-token\-url\fR, every request carries a bearer token fetched from the token
endpoint (client credentials), kept in memory only, renewed after half its life (at most a
minute before it expires), and once after a 401, which is recorded and tried again at once with a
new token; a second 401 in a row fails the batch. A token endpoint that refuses stops the run
with exit 4 and its \fBerror\fR and \fBerror_description\fR.
.SH LIMITS
Memory depends on the batch size, not on the file size: a batch is at most
\fB\-\-batch\-size\fR rows and \fB\-\-max\-body\-size\fR bytes (a batch that would be larger is
cut early), and one CSV record at most \fB\-\-max\-record\-size\fR bytes. Unique, primary\-key
and mirror checks keep 16 bytes per distinct key in memory up to 229376 keys per check, then
spill to a temporary SQLite file behind a 4 MiB Bloom filter.
.SH CONFIG
A TOML file holds what pushes to one API repeat: \fB[defaults]\fR for every push,
\fB[destinations.NAME]\fR for \fBpulse push FILE \-\-to NAME\fR. Keys are the long flag names
with \fB_\fR (\fBbatch_size\fR, \fBheader\fR, \fBretry_schedule\fR, ...); a switch is
\fBtrue\fR or \fBfalse\fR; a repeatable flag takes an array. Values may use
\fB${VARIABLE}\fR from the environment (an unset one is an error naming it, the file and the
line). Credentials (\fBsecret\fR, \fBauth_header_value\fR, \fBurl_password\fR, credential
headers) come from \fB${VARIABLE}\fR or a \fB<key>_file\fR key (the file's content, trimmed);
one written in a file its group or others can read is refused. Precedence: a flag, its
\fBPULSE_<FLAG>\fR variable, the destination, \fB[defaults]\fR, the built\-in default. A run
keeps its destination's name, never its credentials: \fBpulse resume\fR and \fBpulse resend\fR
read that destination again. \fBpulse config show\fR prints the effective settings and their
origins, credentials masked; \fBpulse config check\fR checks the whole file (errors with file,
line and column, exit 2).
.PP
.nf
[defaults]
retries = 8

[destinations.crm]
url = "https://api.example.com/hooks/import"
secret = "${CRM_SIGNING_SECRET}"
auth_header_name = "Authorization"
auth_header_value_file = "/run/secrets/crm\-token"
header = ["X\-Tenant: 7"]
batch_size = 1000
.fi
.SH FILES
.TP
\fB\-\-config\fR, \fBPULSE_CONFIG\fR, \fB./pulse.toml\fR, \fB$XDG_CONFIG_HOME/pulse/config.toml\fR (default \fB~/.config/pulse/config.toml\fR)
the config file, the first of these that is given or exists (see CONFIG)
.TP
\fB$XDG_DATA_HOME/pulse/pulse.db\fR (default \fB~/.local/share/pulse/pulse.db\fR)
the delivery log: runs, events, batches with compressed payloads, attempts, mirror state,
generated secrets. Created with mode 0600, in WAL mode. \fB\-\-db\fR or \fBPULSE_DB\fR choose
another file, or a PostgreSQL database shared by many machines
(\fBpostgres://USER@HOST:PORT/DBNAME\fR, \fBsslmode\fR in the URL; the password from the URL,
\fBPGPASSWORD\fR or \fB~/.pgpass\fR, never printed or stored); \fBpulse prune\fR deletes old runs.
.TP
\fBpulse.db.locks/\fR
next to the database: a lock file per run while a process sends it (removed when it lets
go), so that \fBpulse resume\fR never sends a run another live process is sending; the
directory itself is locked while a process sets a new log up. A PostgreSQL log locks runs with
advisory locks instead, across machines.
.SH ENVIRONMENT
.TP
\fBPULSE_DB\fR
the log: a file path or a \fBpostgres://\fR URL (as \fB\-\-db\fR)
.TP
\fBPULSE_SECRET\fR
signing secret(s), \fBwhsec_\fR or \fBwhsk_\fR, space\-separated (as \fB\-\-secret\fR);
\fBpulse receive\fR verifies with it, \fBpulse secret public\fR reads a signing key from it
.TP
\fBPULSE_PUBLIC_KEY\fR
\fBwhpk_\fR public key(s) \fBpulse receive\fR verifies \fBv1a\fR signatures with, space\-separated
(as \fB\-\-public\-key\fR)
.TP
\fBPULSE_AUTH_HEADER_VALUE\fR
value of the \fB\-\-auth\-header\-name\fR header (as \fB\-\-auth\-header\-value\fR); never stored
.TP
\fBPULSE_OAUTH2_CLIENT_SECRET\fR
the OAuth2 client secret of \fB\-\-oauth2\-token\-url\fR (as \fB\-\-oauth2\-client\-secret\fR); never
stored, so resume and resend need it again
.TP
\fBPULSE_BUSY_TIMEOUT\fR
how long to wait for another process holding the log database's lock before failing (default
30s)
.TP
\fBPULSE_DB_RETRY_FOR\fR
how long a lost connection to a PostgreSQL log is retried before the run stops, resumable
(default 2m)
.TP
\fBPGPASSWORD\fR, \fBPGPASSFILE\fR, \fBPGHOST\fR, \fBPGPORT\fR, \fBPGUSER\fR, \fBPGDATABASE\fR
as libpq reads them, for what a PostgreSQL log's URL leaves out
.TP
\fBXDG_DATA_HOME\fR
base of the default log path
.TP
\fBPULSE_CONFIG\fR
the config file (as \fB\-\-config\fR)
.TP
\fBPULSE_\fR\fIFLAG\fR
any flag of \fBpulse push\fR, and the delivery flags of \fBresume\fR and \fBresend\fR, as
\fBPULSE_\fR and its long name in capitals with \fB_\fR (\fBPULSE_BATCH_SIZE\fR,
\fBPULSE_TO\fR): under the flag, over the config file; each option above names its variable
.TP
\fBXDG_CONFIG_HOME\fR
base of the default config file path
.TP
\fBOTEL_EXPORTER_OTLP_ENDPOINT\fR, \fBOTEL_EXPORTER_OTLP_TRACES_ENDPOINT\fR
send OpenTelemetry traces (run, staging, batches, attempts) over OTLP/HTTP; with
\fBOTEL_EXPORTER_OTLP_PROTOCOL\fR (\fBhttp/protobuf\fR, \fBhttp/json\fR),
\fBOTEL_EXPORTER_OTLP_HEADERS\fR, \fBOTEL_SERVICE_NAME\fR (default \fBpulse\fR),
\fBOTEL_RESOURCE_ATTRIBUTES\fR; \fBOTEL_SDK_DISABLED=true\fR turns them off
.TP
\fBTRACEPARENT\fR, \fBTRACESTATE\fR
the caller's W3C trace context: the run joins its trace, and every request carries a
\fBtraceparent\fR (passed on as it is when traces are off)
.SH EXAMPLES
Try pulse locally: a receiver in one terminal, a push in another.
.PP
.nf
export PULSE_SECRET=$(pulse secret new)
pulse receive \-\-port 8080 \-\-out rows.jsonl
pulse push customers.csv \-\-url http://127.0.0.1:8080/ \-\-batch\-size 50
.fi
.PP
Validate first, send only valid rows, then the invalid ones as a separate event:
.PP
.nf
pulse validate customers.csv \-\-schema customers.schema.json \-\-invalid\-out bad.csv
pulse push customers.csv \-\-schema customers.schema.json \-\-events valid,invalid \e
    \-\-url https://api.example.com/hooks/import
.fi
.PP
In CI, refuse a file with invalid rows and keep a JSON summary:
.PP
.nf
pulse push export.csv \-\-schema schema.json \-\-fail\-on\-invalid \-\-json \e
    \-\-url "$WEBHOOK_URL" > pulse\-summary.json
.fi
.PP
Mirror a table: send only what changed since the last delivered push, deletes included:
.PP
.nf
pulse push customers.csv \-\-mode mirror \-\-key id \-\-url https://api.example.com/sync
.fi
.PP
From cron, every 15 minutes, continue any failed run (exits 0 when there is nothing to do):
.PP
.nf
*/15 * * * * pulse resume \-\-quiet
.fi
.PP
Shell completions:
.PP
.nf
pulse completions bash > ~/.local/share/bash\-completion/completions/pulse
pulse completions zsh > "${fpath[1]}/_pulse"
pulse completions fish > ~/.config/fish/completions/pulse.fish
.fi
.SH "SEE ALSO"
README.md in the pulse sources: a tour with real output, receiver snippets for the Python and
Node \fBstandardwebhooks\fR libraries, CI and cron examples, and the fields of
\fBpulse log \-\-json\fR.
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
    fn man_page_has_every_section_and_command() {
        let page = String::from_utf8(super::man_page().unwrap()).unwrap();
        for section in [
            "PAYLOAD",
            "TEMPLATES",
            "ANSWERS",
            "SIGNING",
            "\"SYNC MODES\"",
            "\"EXIT STATUS\"",
            "LIMITS",
            "FILES",
            "ENVIRONMENT",
            "CONFIG",
            "EXAMPLES",
        ] {
            assert!(page.contains(&format!(".SH {section}\n")), "{section}");
        }
        for command in [
            "PUSH",
            "VALIDATE",
            "LOG",
            "RESEND",
            "RESUME",
            "PRUNE",
            "RECEIVE",
            "SECRET NEW",
            "COMPLETIONS",
        ] {
            assert!(
                page.contains(&format!(".SH \"PULSE {command}\"\n")),
                "{command}"
            );
        }
        for var in [
            "PULSE_DB",
            "PULSE_SECRET",
            "PULSE_PUBLIC_KEY",
            "PULSE_AUTH_HEADER_VALUE",
            "PULSE_OAUTH2_CLIENT_SECRET",
            "PULSE_BUSY_TIMEOUT",
            "PULSE_DB_RETRY_FOR",
            "PGPASSWORD",
            "PULSE_CONFIG",
            "PULSE_BATCH_SIZE",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
        ] {
            assert!(page.contains(var), "{var}");
        }
        assert!(!page.contains("EXTRA"), "after_help renders as EXAMPLES");
    }

    #[test]
    fn completions_generate_for_every_shell() {
        use clap::ValueEnum;
        for shell in clap_complete::Shell::value_variants() {
            let mut command = crate::cli::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut command, "pulse", &mut out);
            assert!(String::from_utf8(out).unwrap().contains("push"), "{shell}");
        }
    }
}
