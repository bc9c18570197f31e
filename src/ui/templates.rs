//! The pages' templates and assets, embedded in the binary (no file is read, nothing is
//! fetched: a page needs only this server). MiniJinja escapes every value of an `.html`
//! template; the charts' SVG, made here, is the only text marked safe.

use anyhow::{Context, Result};
use axum::response::Response;
use minijinja::{context, Environment, Value};

use super::respond::html;

const TEMPLATES: [(&str, &str); 9] = [
    ("base.html", include_str!("templates/base.html")),
    ("runs.html", include_str!("templates/runs.html")),
    ("runs_live.html", include_str!("templates/runs_live.html")),
    ("run.html", include_str!("templates/run.html")),
    ("run_live.html", include_str!("templates/run_live.html")),
    ("outages.html", include_str!("templates/outages.html")),
    ("job.html", include_str!("templates/job.html")),
    ("actions.html", include_str!("templates/actions.html")),
    ("batches.html", include_str!("templates/batches.html")),
];

/// The assets by name: content type and text.
const ASSETS: [(&str, &str, &str); 2] = [
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("templates/style.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_str!("templates/live.js"),
    ),
];

pub fn asset(name: &str) -> Option<(&'static str, &'static str)> {
    ASSETS
        .iter()
        .find(|(asset, _, _)| *asset == name)
        .map(|(_, kind, text)| (*kind, *text))
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> Result<Templates> {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text)
                .with_context(|| format!("the dashboard's template {name}"))?;
        }
        env.add_filter("thousands", super::charts::group_thousands);
        Ok(Templates { env })
    }

    /// Renders a page, or with `fragment` only its live part (`NAME_live.html`), with what
    /// every page needs: the CSRF token its forms carry.
    pub fn page(&self, csrf: &str, name: &str, fragment: bool, page: Value) -> Response {
        let name = match (fragment, name.strip_suffix(".html")) {
            (true, Some(stem)) if self.env.get_template(&format!("{stem}_live.html")).is_ok() => {
                format!("{stem}_live.html")
            }
            _ => name.to_string(),
        };
        let context = context! { csrf, ..page };
        html(
            self.env
                .get_template(&name)
                .and_then(|template| template.render(context))
                .with_context(|| format!("rendering {name}")),
        )
    }
}
