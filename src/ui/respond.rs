//! The answers that are not pages: errors as one line, as the CLI would print them.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

pub fn not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, format!("{message}\n")).into_response()
}

pub fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

/// A page that could not be made: the error, one line.
pub fn failed(err: &anyhow::Error) -> Response {
    let body = format!("pulse ui: {err:#}\n");
    (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
}

pub fn html(result: anyhow::Result<String>) -> Response {
    match result {
        Ok(page) => Html(page).into_response(),
        Err(err) => failed(&err),
    }
}
