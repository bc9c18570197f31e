//! Request bodies per `--format`, built at send time around a stored batch (the JSON array of
//! its rows). Batching, signing and logging are the same for every format; only bytes differ.

use serde_json::{Map, Value};

use super::nest::nest_rows;
use super::query::flatten_query;
use super::{write_body_prefix, write_body_suffix, BatchHeader, BodyContext, Format, Method};
use crate::json_out::{write_json_string, write_u64};

/// As `write_request`, with the batch's rows appended by `load(out, room_after)` instead of
/// given: a `pulse` POST body takes them verbatim, so they are decompressed straight into place,
/// with room left for the rest of the body.
pub fn write_request_with(
    ctx: &BodyContext,
    batch: &BatchHeader,
    out: &mut Vec<u8>,
    load: impl FnOnce(&mut Vec<u8>, usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    if ctx.rows_verbatim() {
        write_body_prefix(out, ctx, batch);
        // The suffix: `,"user":{"id":...}` (an escape is at most 6 bytes a byte), `,"metadata":...}`.
        let suffix = 32 + 6 * ctx.user_id.as_ref().map_or(0, String::len) + ctx.metadata.len();
        load(out, suffix)?;
        write_body_suffix(out, ctx);
    } else {
        let mut data = Vec::new();
        load(&mut data, 0)?;
        write_request(ctx, batch, &data, out)?;
    }
    Ok(())
}

/// Writes what is sent for one batch into `out`: the JSON body for POST, or the query string
/// (without `?`) for GET. Signatures cover exactly these bytes.
pub fn write_request(
    ctx: &BodyContext,
    batch: &BatchHeader,
    data: &[u8],
    out: &mut Vec<u8>,
) -> anyhow::Result<()> {
    if let Some(template) = &ctx.template {
        return super::template::render(ctx, template, batch, data, out);
    }
    let nested;
    let data = if ctx.nest {
        nested = serde_json::to_vec(&nest_rows(stored_rows(data)?)).expect("JSON to memory");
        &nested[..]
    } else {
        data
    };
    match (ctx.method, ctx.format) {
        (Method::Get, Format::Valmi) => {
            let row = first_row(data)?;
            let query = flatten_query(&valmi_payload(ctx, row));
            out.extend_from_slice(query.as_bytes());
        }
        (Method::Get, _) => {
            let query = flatten_query(&first_row(data)?);
            out.extend_from_slice(query.as_bytes());
        }
        (Method::Post, Format::Pulse) => {
            write_body_prefix(out, ctx, batch);
            out.extend_from_slice(data);
            write_body_suffix(out, ctx);
        }
        (Method::Post, Format::Impler) => write_impler(ctx, batch, data, out),
        (Method::Post, Format::Flatfile) => write_flatfile(ctx, batch, data, out)?,
        (Method::Post, Format::Valmi) => {
            let row = first_row(data)?;
            let mut body = Map::new();
            body.insert("_message_id".into(), batch.batch_id.into());
            body.insert("_sync_mode".into(), ctx.mode.clone().into());
            body.insert("_type".into(), "object".into());
            body.insert("payload".into(), valmi_payload(ctx, row));
            serde_json::to_writer(&mut *out, &Value::Object(body)).expect("JSON to memory");
        }
    }
    Ok(())
}

/// `{page, fileName, template, uploadId, data, totalRecords, chunkSize, extra, totalPages}`.
fn write_impler(ctx: &BodyContext, batch: &BatchHeader, data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"page\":");
    write_u64(out, batch.index);
    out.extend_from_slice(b",\"fileName\":");
    write_json_string(out, &ctx.file_name);
    out.extend_from_slice(b",\"template\":");
    write_json_string(out, &ctx.template_id);
    out.extend_from_slice(b",\"uploadId\":");
    write_json_string(out, &ctx.run_id);
    out.extend_from_slice(b",\"data\":");
    out.extend_from_slice(data);
    out.extend_from_slice(b",\"totalRecords\":");
    write_u64(out, batch.total_rows);
    out.extend_from_slice(b",\"chunkSize\":");
    write_u64(out, ctx.batch_size);
    out.extend_from_slice(b",\"extra\":");
    out.extend_from_slice(ctx.metadata.as_bytes());
    out.extend_from_slice(b",\"totalPages\":");
    write_u64(out, batch.count);
    out.push(b'}');
}

/// `{event:{type, id, sequence:{count, index}}, data:{meta:{batch:{id}, schema:{id}, count},
/// validRows, invalidRows}}`: the batch's rows split by validity.
fn write_flatfile(
    ctx: &BodyContext,
    batch: &BatchHeader,
    data: &[u8],
    out: &mut Vec<u8>,
) -> anyhow::Result<()> {
    let rows = stored_rows(data)?;
    let count = rows.len();
    let (valid, invalid): (Vec<Value>, Vec<Value>) = rows
        .into_iter()
        .partition(|row| row["__valid"].as_bool().unwrap_or(true));
    let body = serde_json::json!({
        "event": {
            "type": "batch.upload",
            "id": batch.event_id,
            "sequence": {"count": batch.count, "index": batch.index},
        },
        "data": {
            "meta": {
                "batch": {"id": batch.batch_id},
                "schema": {"id": ctx.template_id},
                "count": count,
            },
            "validRows": valid,
            "invalidRows": invalid,
        },
    });
    serde_json::to_writer(&mut *out, &body).expect("JSON to memory");
    Ok(())
}

/// The row's own fields plus `_valmi_meta` (row number and sync operation).
fn valmi_payload(ctx: &BodyContext, row: Value) -> Value {
    let Value::Object(fields) = row else {
        return row;
    };
    let mut payload = Map::new();
    let mut row_num = Value::Null;
    let mut op: Value = ctx.mode.clone().into();
    for (key, value) in fields {
        match key.as_str() {
            "__index" => row_num = value,
            "__op" => op = value,
            _ if key.starts_with("__") => {}
            _ => {
                payload.insert(key, value);
            }
        }
    }
    payload.insert(
        "_valmi_meta".into(),
        serde_json::json!({"_valmi_row_num": row_num, "_valmi_sync_op": op}),
    );
    Value::Object(payload)
}

/// The single row of a one-row-per-request batch.
fn first_row(data: &[u8]) -> anyhow::Result<Value> {
    Ok(stored_rows(data)?.into_iter().next().unwrap_or(Value::Null))
}

/// A batch's stored rows, parsed: a JSON array, unless the log was damaged.
fn stored_rows(data: &[u8]) -> anyhow::Result<Vec<Value>> {
    serde_json::from_slice(data)
        .map_err(|err| anyhow::anyhow!("its stored rows are not a JSON array ({err})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx(format: Format, method: Method) -> BodyContext {
        BodyContext {
            template_id: "customers".into(),
            user_id: Some("u_42".into()),
            metadata: r#"{"k":1}"#.into(),
            format,
            method,
            mode: "append".into(),
            file_name: "customers.csv".into(),
            run_id: "run_1".into(),
            batch_size: 2,
            template: None,
            content_type: None,
            nest: false,
        }
    }

    const HEADER: BatchHeader = BatchHeader {
        batch_id: "msg_1",
        event_id: "evt_1",
        event_name: "all",
        index: 2,
        count: 3,
        total_rows: 5,
        run_rows: 6,
    };

    const DATA: &[u8] = br#"[{"email":"a@x.io","age":44,"__index":3,"__row":4,"__valid":true,"__errors":[]},{"email":"bad","age":"x","__index":4,"__row":5,"__valid":false,"__errors":[{"type":"type-error"}]}]"#;

    fn body(format: Format, method: Method, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_request(&ctx(format, method), &HEADER, data, &mut out).unwrap();
        out
    }

    fn json_body(format: Format) -> Value {
        serde_json::from_slice(&body(format, Method::Post, DATA)).unwrap()
    }

    #[test]
    fn pulse_wraps_the_rows() {
        let b = json_body(Format::Pulse);
        assert_eq!(
            b,
            json!({"id": "evt_1", "templateId": "customers", "index": 2, "count": 3,
                   "totalRows": 5, "event_name": "all",
                   "data": serde_json::from_slice::<Value>(DATA).unwrap(),
                   "user": {"id": "u_42"}, "metadata": {"k": 1}})
        );
    }

    #[test]
    fn impler_shape() {
        let b = json_body(Format::Impler);
        assert_eq!(b["page"], 2);
        assert_eq!(b["fileName"], "customers.csv");
        assert_eq!(b["template"], "customers");
        assert_eq!(b["uploadId"], "run_1");
        assert_eq!(b["data"].as_array().unwrap().len(), 2);
        assert_eq!(b["totalRecords"], 5);
        assert_eq!(b["chunkSize"], 2);
        assert_eq!(b["extra"], json!({"k": 1}));
        assert_eq!(b["totalPages"], 3);
    }

    #[test]
    fn flatfile_splits_valid_and_invalid_rows() {
        let b = json_body(Format::Flatfile);
        assert_eq!(
            b["event"],
            json!({"type": "batch.upload", "id": "evt_1", "sequence": {"count": 3, "index": 2}})
        );
        assert_eq!(
            b["data"]["meta"],
            json!({"batch": {"id": "msg_1"}, "schema": {"id": "customers"}, "count": 2})
        );
        assert_eq!(b["data"]["validRows"][0]["email"], "a@x.io");
        assert_eq!(b["data"]["invalidRows"][0]["email"], "bad");
    }

    #[test]
    fn valmi_sends_one_row_with_meta() {
        let one = br#"[{"email":"a@x.io","age":44,"__index":7,"__row":8,"__valid":true,"__errors":[],"__op":"upsert"}]"#;
        let b: Value = serde_json::from_slice(&body(Format::Valmi, Method::Post, one)).unwrap();
        assert_eq!(
            b,
            json!({"_message_id": "msg_1", "_sync_mode": "append", "_type": "object",
                   "payload": {"email": "a@x.io", "age": 44,
                               "_valmi_meta": {"_valmi_row_num": 7, "_valmi_sync_op": "upsert"}}})
        );
    }

    #[test]
    fn get_flattens_into_the_query() {
        let one = br#"[{"email":"a+b@x.io","age":44,"__index":7,"__row":8,"__valid":true,"__errors":[]}]"#;
        let q = String::from_utf8(body(Format::Valmi, Method::Get, one)).unwrap();
        assert_eq!(
            q,
            "email=a%2Bb%40x.io&age=44&_valmi_meta__valmi_row_num=7&_valmi_meta__valmi_sync_op=append"
        );
        let q = String::from_utf8(body(Format::Pulse, Method::Get, one)).unwrap();
        assert_eq!(
            q,
            "email=a%2Bb%40x.io&age=44&__index=7&__row=8&__valid=true"
        );
    }
}
