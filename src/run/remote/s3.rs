//! An input in S3 (or an S3-compatible store): `s3://bucket/key` through `object_store`, with
//! the AWS environment's credentials, region and `AWS_ENDPOINT_URL`.

use anyhow::{anyhow, Result};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};

use super::chunks::{run_on_thread, spawn, Body, ChunkReader};
use crate::exit::usage;
use crate::read::RemoteObject;

/// Starts downloading the object; returns once the store answered (a missing object is the
/// error), with its body read as it arrives.
pub fn get(url: &str) -> Result<(ChunkReader, RemoteObject)> {
    let (store, path) = store_for(url)?;
    let url = url.to_string();
    spawn(move || async move {
        let result = store.get(&path).await.map_err(|err| failed(&url, err))?;
        let object = object_of(&result.meta);
        let stream = result
            .into_stream()
            .map(|item| item.map_err(std::io::Error::other));
        let body: Body = (object, stream.boxed());
        Ok(body)
    })
}

/// What the store tells of the object without downloading it.
pub fn head(url: &str) -> Result<RemoteObject> {
    let (store, path) = store_for(url)?;
    let url = url.to_string();
    run_on_thread(move || async move {
        let meta = store.head(&path).await.map_err(|err| failed(&url, err))?;
        Ok(object_of(&meta))
    })
}

/// The bucket's store, from the AWS environment, and the key's path in it.
fn store_for(url: &str) -> Result<(AmazonS3, Path)> {
    let rest = &url["s3://".len()..];
    let (bucket, key) = rest
        .split_once('/')
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .ok_or_else(|| usage(format!("{url}: an S3 input is s3://BUCKET/KEY")))?;
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    // An endpoint given as http:// (a local S3-compatible store) is meant: allow it.
    let endpoint = std::env::var("AWS_ENDPOINT_URL").or_else(|_| std::env::var("AWS_ENDPOINT"));
    if endpoint.is_ok_and(|endpoint| endpoint.starts_with("http://")) {
        builder = builder.with_allow_http(true);
    }
    let store = builder
        .build()
        .map_err(|err| anyhow!("{url}: cannot set up the S3 client ({err})"))?;
    Ok((store, Path::from(key)))
}

fn failed(url: &str, err: object_store::Error) -> anyhow::Error {
    match err {
        object_store::Error::NotFound { .. } => anyhow!("{url}: no such object"),
        err => anyhow!("{url}: {err}"),
    }
}

fn object_of(meta: &ObjectMeta) -> RemoteObject {
    RemoteObject {
        etag: meta.e_tag.clone(),
        last_modified: Some(httpdate::fmt_http_date(meta.last_modified.into())),
        size: Some(meta.size),
    }
}
