//! Charts for `pulse ui`, rendered on the server as inline SVG: an attempt timeline (latency of
//! every delivery attempt over the run), rows delivered over time, and latency percentiles.
//!
//! Why hand-written SVG: there are three fixed charts, which fit in a few hundred lines of `std`;
//! a plotting crate such as `plotters` would add a dependency tree for this. Rendering on the
//! server keeps the pages working without JavaScript, and the markup carries no fonts, scripts or
//! links, so a page works offline.

/// Above this many marks the page gets heavy and the browser slow; failures and retries are kept.
pub const MAX_MARKS: usize = 2_000;
/// A step line keeps its shape with far fewer points than a scatter needs.
pub const MAX_POINTS: usize = 1_000;

const GREEN: &str = "#2e9e44";
const ORANGE: &str = "#e08a00";
const RED: &str = "#d62728";
const GREY: &str = "#8c8c8c";
const BLUE: &str = "#3b6fb6";

/// One delivery attempt, as a mark on a run's timeline.
#[derive(Debug, Clone)]
pub struct AttemptMark {
    /// When it started, in ms since the run's first attempt (>= 0).
    pub at_ms: i64,
    /// How long it took, ms (>= 0).
    pub duration_ms: i64,
    /// The HTTP status; 0 when no response arrived (connection error, timeout).
    pub http_status: u16,
    /// 0 for a batch's first attempt, 1 for its first retry, ...
    pub retry: u32,
    /// The batch's label shown in the mark's tooltip, e.g. "validData #3" (escaped on output).
    pub label: String,
}

/// A batch delivered: when (ms since the run's first attempt) and how many rows.
#[derive(Debug, Clone, Copy)]
pub struct Delivered {
    pub at_ms: i64,
    pub rows: u64,
}

/// The plot area in the 720 × 220 viewBox: room on the left for latency labels, on top for the
/// legend, below for time labels.
pub const LEFT: f64 = 52.0;
pub const TOP: f64 = 26.0;
pub const RIGHT: f64 = 690.0;
pub const BOTTOM: f64 = 196.0;

/// Where `v`, on an axis up to `max`, lands across a plot ending at `right`.
pub fn sx(v: f64, max: f64, right: f64) -> f64 {
    LEFT + (right - LEFT) * ratio(v, max)
}

pub fn sy(v: f64, max: f64) -> f64 {
    BOTTOM - (BOTTOM - TOP) * ratio(v, max)
}

/// `v / max` in 0..=1: a mark past a capped axis lands on the edge, a zero span gives 0, not NaN.
pub fn ratio(v: f64, max: f64) -> f64 {
    (v / max).clamp(0.0, 1.0).max(0.0) // clamp keeps the NaN of 0 / 0, max drops it
}

/// An axis from 0 to `top`, ticked every `step`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Axis {
    pub top: f64,
    pub step: f64,
}

impl Axis {
    /// From 0 to a nice value at or above `max`, in about `target` steps of at least `min_step`.
    pub fn nice(max: f64, target: usize, min_step: f64) -> Axis {
        let step = nice_step(max, target).max(min_step);
        let top = ((max.max(0.0) / step) - 1e-9).ceil().max(1.0) * step;
        Axis { top, step }
    }

    pub fn ticks(&self) -> Vec<f64> {
        let n = ((self.top / self.step).round() as usize).min(100);
        (0..=n).map(|i| i as f64 * self.step).collect()
    }
}

/// A coordinate with one decimal: enough for a 720-wide viewBox, and keeps the markup small.
pub fn f1(v: f64) -> String {
    format!("{:.1}", if v.is_finite() { v } else { 0.0 })
}

/// A step of 1, 2 or 5 × 10^k giving about `target` intervals up to `max`, so ticks read well.
pub fn nice_step(max: f64, target: usize) -> f64 {
    let max = if max > 0.0 { max } else { 1.0 };
    let raw = max / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let m = [1.0, 2.0, 5.0].into_iter().find(|m| raw / mag <= m + 1e-9);
    m.unwrap_or(10.0) * mag
}

/// Nearest rank, the ceil(p/100 × n)-th of a sorted slice, in integers so p95 of 20 is the 19th.
pub fn percentile(sorted: &[i64], p: u32) -> i64 {
    let rank = (p.min(100) as usize * sorted.len()).div_ceil(100);
    sorted.get(rank.max(1) - 1).copied().unwrap_or(0)
}

/// The latency axis: linear up to the max, unless the max is more than 20× the p95. Then the axis
/// is capped at a nice value above the p95 and slower marks are pinned to the top edge, so one
/// 30 s timeout does not flatten every other mark into the baseline. Returns (axis, capped).
pub fn latency_axis(p95: i64, max: i64) -> (Axis, bool) {
    let (p95, max) = (p95.max(0) as f64, max.max(0) as f64);
    let capped = max > 20.0 * p95;
    let basis = if capped { p95 * 1.1 } else { max };
    let axis = Axis::nice(basis.max(10.0), 4, 0.0);
    (axis, capped && max > axis.top)
}

/// A time axis's (ms per unit, suffix), by span, so labels stay short: "30 s", not "30000 ms".
pub fn time_unit(span_ms: f64) -> (f64, &'static str) {
    let units = [(2e3, 1.0, "ms"), (12e4, 1e3, "s"), (72e5, 6e4, "min")];
    let unit = units.into_iter().find(|u| span_ms < u.0);
    unit.map_or((36e5, "h"), |u| (u.1, u.2))
}

/// A time axis in ms whose ticks are nice in the chosen unit; at least 1 s so a lone point fits.
pub fn time_axis(span_ms: f64) -> (Axis, (f64, &'static str)) {
    let span = span_ms.max(1_000.0);
    let unit = time_unit(span);
    let a = Axis::nice(span / unit.0, 6, 0.0);
    let (top, step) = (a.top * unit.0, a.step * unit.0);
    (Axis { top, step }, unit)
}

/// One decimal, without a trailing ".0".
pub fn trim1(v: f64) -> String {
    format!("{v:.1}").trim_end_matches(".0").to_string()
}

pub fn format_time_tick(ms: f64, unit: (f64, &str)) -> String {
    format!("{} {}", trim1(ms / unit.0), unit.1)
}

/// Latency or elapsed time in the unit that reads best: "812 ms", "1.2 s", "30 s", "2.5 min".
pub fn format_ms(ms: f64) -> String {
    let ms = ms.max(0.0);
    match ms {
        _ if ms < 1e3 => format!("{} ms", ms.round() as i64),
        _ if ms < 1e4 => format!("{} s", trim1(ms / 1e3)),
        _ if ms < 6e4 => format!("{} s", (ms / 1e3).round() as i64),
        _ if ms < 36e5 => format!("{} min", trim1(ms / 6e4)),
        _ => format!("{} h", trim1(ms / 36e5)),
    }
}

/// "12,000": row counts are easier to compare grouped.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Labels come from user data and land in SVG text and attributes.
pub fn escape_xml(s: &str) -> String {
    let s = s.replace('&', "&amp;").replace('<', "&lt;");
    s.replace('>', "&gt;").replace('"', "&quot;")
}

/// `k` of `items` spread evenly, always including the first and the last.
pub fn thin_evenly<T: Copy>(items: &[T], k: usize) -> Vec<T> {
    let n = items.len();
    match k {
        _ if k >= n => items.to_vec(),
        0 => Vec::new(),
        1 => vec![items[n - 1]],
        _ => (0..k).map(|i| items[i * (n - 1) / (k - 1)]).collect(),
    }
}

/// Whether an attempt must survive thinning: failures and retries are what a reader looks for.
pub fn is_notable(a: &AttemptMark) -> bool {
    a.retry > 0 || !(200..300).contains(&a.http_status)
}

/// Indices (ascending) to draw, at most `max`: all failures and retries, then 2xx first attempts
/// evenly; failures and retries are thinned too only past `max`, so output stays bounded.
pub fn thin_attempts(attempts: &[AttemptMark], max: usize) -> Vec<usize> {
    let (notable, plain): (Vec<usize>, Vec<usize>) =
        (0..attempts.len()).partition(|&i| is_notable(&attempts[i]));
    let mut keep = thin_evenly(&notable, max);
    keep.extend(thin_evenly(&plain, max - keep.len()));
    keep.sort_unstable();
    keep
}

/// "(n of m attempts shown)" when thinned, so nobody mistakes the marks for the whole run.
pub fn thin_note(shown: usize, total: usize, what: &str) -> Option<String> {
    let (s, t) = (group_thousands(shown as u64), group_thousands(total as u64));
    (shown < total).then(|| format!("({s} of {t} {what} shown)"))
}

/// 2xx green, 4xx orange, 5xx red; no answer (and the odd 1xx/3xx) grey.
pub fn status_colour(status: u16) -> &'static str {
    match status {
        200..=299 => GREEN,
        400..=499 => ORANGE,
        500..=599 => RED,
        _ => GREY,
    }
}

/// "validData #3 · status 503 · 812 ms · retry 2 · at 3.2 s" (no "retry" on a first attempt).
pub fn tooltip(a: &AttemptMark) -> String {
    let mut t = a.label.clone();
    match a.http_status {
        0 => t += " · no response",
        s => t += &format!(" · status {s}"),
    }
    t += &format!(" · {}", format_ms(a.duration_ms as f64));
    if a.retry > 0 {
        t += &format!(" · retry {}", a.retry);
    }
    t + &format!(" · at {}", format_ms(a.at_ms as f64))
}

/// The root element every chart shares; width 100% plus a viewBox keeps a fixed aspect.
pub fn svg_open(height: f64, aria: &str) -> String {
    let (h, aria) = (f1(height), escape_xml(aria));
    let attrs = r#"role="img" class="chart" font-family="sans-serif" font-size="10""#;
    let root = r#"<svg xmlns="http://www.w3.org/2000/svg" width="100%""#;
    format!(r#"{root} viewBox="0 0 720 {h}" aria-label="{aria}" {attrs}>"#)
}

/// A small placeholder that is still a valid SVG, so the page layout does not care.
pub fn empty_svg(what: &str, message: &str) -> String {
    let mut out = svg_open(40.0, &format!("{what}: {message}"));
    out += &format!(r##"<text x="360" y="24" text-anchor="middle" fill="#777">{message}</text>"##);
    out + "</svg>"
}

/// A 720 × 220 chart's root; a thinning note goes in the label and the top right corner.
fn chart_open(aria: &str, note: Option<String>) -> String {
    let note = note.unwrap_or_default();
    let out = svg_open(220.0, format!("{aria} {note}").trim_end());
    let note = escape_xml(&note);
    out + &format!(r##"<text x="708" y="14" text-anchor="end" fill="#555">{note}</text>"##)
}

/// Tick positions and labels, for `axes`.
fn ticks(a: &Axis, at: impl Fn(f64) -> f64, label: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    a.ticks().into_iter().map(|v| (at(v), label(v))).collect()
}

/// Ticks along the time axis of the two time charts.
fn time_ticks(time: &Axis, unit: (f64, &str)) -> Vec<(f64, String)> {
    let at = |v| sx(v, time.top, RIGHT);
    ticks(time, at, |v| format_time_tick(v, unit))
}

/// Grid lines, the two axis lines and tick labels; ticks are (position, label) pairs.
fn axes(out: &mut String, right: f64, xt: &[(f64, String)], yt: &[(f64, String)], vgrid: bool) {
    let (l, t, r, b) = (f1(LEFT), f1(TOP), f1(right), f1(BOTTOM));
    let mut grid = String::new();
    for (x, _) in xt.iter().filter(|_| vgrid) {
        grid += &format!("M{} {t}V{b}", f1(*x));
    }
    for (y, _) in yt.iter().filter(|_| !vgrid) {
        grid += &format!("M{l} {}H{r}", f1(*y));
    }
    *out += &format!(r##"<path d="{grid}" stroke="#e6e6e6"/>"##);
    *out += &format!(r##"<path d="M{l} {t}V{b}H{r}" stroke="#999" fill="none"/>"##);
    let (below, beside) = (f1(BOTTOM + 13.0), f1(LEFT - 5.0));
    *out += r##"<g fill="#555" text-anchor="middle">"##;
    for (x, label) in xt {
        *out += &format!(r#"<text x="{}" y="{below}">{label}</text>"#, f1(*x));
    }
    *out += r##"</g><g fill="#555" text-anchor="end">"##;
    for (y, label) in yt {
        *out += &format!(r#"<text x="{beside}" y="{}">{label}</text>"#, f1(y + 3.5));
    }
    *out += "</g>";
}

fn legend(out: &mut String, capped: bool) {
    let mut x = LEFT;
    *out += r#"<g font-size="9">"#;
    let labels = ["2xx", "4xx", "5xx", "no response", "retry"];
    for (c, t) in [GREEN, ORANGE, RED, GREY, "#555"].into_iter().zip(labels) {
        let (cx, paint) = (f1(x), paint(c, t == "retry"));
        *out += &format!(r#"<circle cx="{cx}" cy="11" r="3" {paint}/>"#);
        *out += &format!(r#"<text x="{}" y="14">{t}</text>"#, f1(x + 6.0));
        x += 14.0 + 5.5 * t.len() as f64;
    }
    if capped {
        let (px, tx) = (f1(x), f1(x + 6.0));
        *out += &format!(r##"<path d="M{px} 7l4 7h-8z" fill="#555"/>"##);
        *out += &format!(r#"<text x="{tx}" y="14">above the axis, pinned</text>"#);
    }
    *out += "</g>";
}

/// Retries are hollow rings, so a retry storm stands out from first tries.
fn paint(colour: &str, retry: bool) -> String {
    if retry {
        return format!(r##"fill="#fff" stroke="{colour}" stroke-width="1.5""##);
    }
    format!(r#"fill="{colour}" fill-opacity="0.8""#)
}

/// One attempt's mark; one slower than a capped axis is a triangle on the top edge.
fn mark(a: &AttemptMark, x_top: f64, y_top: f64) -> String {
    let colour = status_colour(a.http_status);
    let x = f1(sx(a.at_ms as f64, x_top, RIGHT));
    let paint = paint(colour, a.retry > 0);
    let title = escape_xml(&tooltip(a));
    if a.duration_ms as f64 > y_top {
        format!(r#"<path d="M{x} {TOP:.1}l4.5 8h-9z" {paint}><title>{title}</title></path>"#)
    } else {
        let y = f1(sy(a.duration_ms as f64, y_top));
        format!(r#"<circle cx="{x}" cy="{y}" r="3" {paint}><title>{title}</title></circle>"#)
    }
}

/// x = time since the first attempt, y = latency, one mark per attempt coloured by outcome; the
/// axis capped as `latency_axis` says, the marks thinned as `thin_attempts` says.
pub fn timeline(attempts: &[AttemptMark]) -> String {
    if attempts.is_empty() {
        return empty_svg("Attempt timeline", "no attempts yet");
    }
    let mut sorted: Vec<i64> = attempts.iter().map(|a| a.duration_ms.max(0)).collect();
    sorted.sort_unstable();
    let (lat, capped) = latency_axis(percentile(&sorted, 95), sorted[sorted.len() - 1]);
    let span = attempts.iter().map(|a| a.at_ms.max(0)).max().unwrap_or(0) as f64;
    let (time, unit) = time_axis(span);
    let shown = thin_attempts(attempts, MAX_MARKS);
    let (n, over) = (group_thousands(attempts.len() as u64), format_ms(span));
    let mut aria = format!("Attempt timeline: latency of {n} attempts over {over}");
    if capped {
        let slow = sorted.iter().filter(|&&d| d as f64 > lat.top).count();
        let cap = format_ms(lat.top);
        aria += &format!("; latency axis capped at {cap}, {slow} slower pinned to the top");
    }
    let mut out = chart_open(&aria, thin_note(shown.len(), attempts.len(), "attempts"));
    let xt = time_ticks(&time, unit);
    let yt = ticks(&lat, |v| sy(v, lat.top), format_ms);
    axes(&mut out, RIGHT, &xt, &yt, false);
    legend(&mut out, capped);
    out += "<g>";
    for &i in &shown {
        out += &mark(&attempts[i], time.top, lat.top);
    }
    out + "</g></svg>"
}

/// (time, cumulative rows) per delivery, in time order; saturating so a bad count cannot panic.
pub fn cumulative(delivered: &[Delivered]) -> Vec<(i64, u64)> {
    let mut d = delivered.to_vec();
    d.sort_by_key(|d| d.at_ms);
    let mut sum = 0u64;
    let mut add = |d: &Delivered| {
        sum = sum.saturating_add(d.rows);
        (d.at_ms.max(0), sum)
    };
    d.iter().map(&mut add).collect()
}

/// A step line up to `total_rows` (or the sum if larger), dashed at the total to show what is left.
/// Thinned evenly to `MAX_POINTS`, keeping the last: a running sum then still ends right.
pub fn rows_over_time(delivered: &[Delivered], total_rows: u64) -> String {
    if delivered.is_empty() {
        return empty_svg("Rows delivered over time", "no rows delivered yet");
    }
    let pts = cumulative(delivered);
    let (last_at, sum) = pts[pts.len() - 1];
    let shown = thin_evenly(&pts, MAX_POINTS);
    let (time, unit) = time_axis(last_at as f64);
    let rows = Axis::nice(total_rows.max(sum).max(1) as f64, 4, 1.0);
    let (s, t) = (group_thousands(sum), group_thousands(total_rows));
    let (n, over) = (group_thousands(pts.len() as u64), format_ms(last_at as f64));
    let aria = format!("Rows delivered over time: {s} of {t} rows in {n} batches over {over}");
    let mut out = chart_open(&aria, thin_note(shown.len(), pts.len(), "points"));
    let xt = time_ticks(&time, unit);
    let row_label = |v: f64| group_thousands(v.round() as u64);
    let yt = ticks(&rows, |v| sy(v, rows.top), row_label);
    axes(&mut out, RIGHT, &xt, &yt, false);
    let (l, r) = (f1(LEFT), f1(RIGHT));
    if total_rows > 0 {
        let y = f1(sy(total_rows as f64, rows.top));
        out += &format!(r##"<path d="M{l} {y}H{r}" stroke="#999" stroke-dasharray="4 3"/>"##);
        out += &format!(r##"<text x="{r}" y="{y}" dy="-3" text-anchor="end">total {t}</text>"##);
    }
    out += &format!("<path d=\"M{l} {BOTTOM:.1}");
    for &(at, cum) in &shown {
        let (x, y) = (sx(at as f64, time.top, RIGHT), sy(cum as f64, rows.top));
        out += &format!("H{}V{}", f1(x), f1(y));
    }
    out + &format!(r#"" stroke="{BLUE}" stroke-width="1.5" fill="none"/></svg>"#)
}

/// Bars for p50, p90, p95, p99 and max, capped like the timeline's axis (max above 20× p95): a
/// bar past the cap runs to the edge with a break mark, and its label still gives the value.
pub fn latency_percentiles(durations_ms: &[i64]) -> String {
    if durations_ms.is_empty() {
        return empty_svg("Latency percentiles", "no attempts yet");
    }
    let mut sorted: Vec<i64> = durations_ms.iter().map(|&d| d.max(0)).collect();
    sorted.sort_unstable();
    let names = ["p50", "p90", "p95", "p99", "max"];
    let values = [50, 90, 95, 99, 100].map(|p| percentile(&sorted, p));
    let (axis, capped) = latency_axis(values[2], values[4]);
    let n = group_thousands(sorted.len() as u64);
    let mut aria = format!("Latency percentiles of {n} attempts:");
    for (name, v) in names.iter().zip(values) {
        aria += &format!(" {name} {},", format_ms(v as f64));
    }
    aria.pop();
    if capped {
        aria += &format!("; scale capped at {}", format_ms(axis.top));
    }
    let right = 630.0; // room for the value past the longest bar
    let band = (BOTTOM - TOP) / names.len() as f64;
    let (mut bars, mut yt) = (String::new(), Vec::new());
    for (i, (name, v)) in names.iter().zip(values).enumerate() {
        let (y, h, v) = (TOP + band * i as f64, band * 0.6, v as f64);
        yt.push((y + band / 2.0, name.to_string()));
        let end = sx(v, axis.top, right);
        let (x, w, yy, hh) = (f1(LEFT), f1(end - LEFT), f1(y + band * 0.2), f1(h));
        bars += &format!(r#"<rect x="{x}" y="{yy}" width="{w}" height="{hh}" fill="{BLUE}"/>"#);
        if v > axis.top {
            let (bx, by) = (f1(end - 12.0), f1(y + band * 0.8));
            let d = format!("M{bx} {by}l4 -{hh}m4 {hh}l4 -{hh}");
            bars += &format!(r##"<path d="{d}" stroke="#fff" stroke-width="2"/>"##);
        }
        let (lx, ly, label) = (f1(end + 4.0), f1(y + band / 2.0 + 3.5), format_ms(v));
        bars += &format!(r##"<text x="{lx}" y="{ly}" fill="#333">{label}</text>"##);
    }
    let mut out = chart_open(&aria, None);
    let xt = ticks(&axis, |v| sx(v, axis.top, right), format_ms);
    axes(&mut out, right, &xt, &yt, true);
    out + &bars + "</svg>"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(at_ms: i64, duration_ms: i64, http_status: u16, retry: u32) -> AttemptMark {
        let label = format!("batch #{at_ms}");
        AttemptMark {
            at_ms,
            duration_ms,
            http_status,
            retry,
            label,
        }
    }

    fn delivered(at_ms: i64, rows: u64) -> Delivered {
        Delivered { at_ms, rows }
    }

    fn well_formed(svg: &str) {
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#) && svg.contains("viewBox="));
        assert!(svg.contains(r#"class="chart""#) && svg.contains(r#"role="img""#));
        assert!(svg.contains("aria-label=") && !svg.contains("<script"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v = [10, 20, 30, 40];
        let got = [25, 50, 90, 100].map(|p| percentile(&v, p));
        assert_eq!(got, [10, 20, 40, 40]);
        assert_eq!((percentile(&[7], 99), percentile(&[], 50)), (7, 0));
        assert_eq!(percentile(&(1..=20).collect::<Vec<i64>>(), 95), 19);
    }

    #[test]
    fn ticks_are_nice() {
        assert_eq!([100.0, 7.0, 0.0].map(|m| nice_step(m, 5)), [20.0, 2.0, 0.2]);
        assert_eq!(nice_step(1000.0, 4), 500.0);
        let a = Axis::nice(95.0, 5, 0.0);
        assert_eq!(a.ticks(), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(Axis::nice(3.0, 4, 1.0).step, 1.0);
        let (axis, unit) = time_axis(90_000.0);
        assert_eq!((axis.step, unit.1), (20_000.0, "s"));
        assert_eq!(time_axis(0.0).0.top, 1_000.0);
        assert_eq!([3e6, 1e8].map(|s| time_unit(s).1), ["min", "h"]);
    }

    #[test]
    fn formats_time_latency_and_rows() {
        let ms = [812.0, 1_000.0, 1_200.0, 30_000.0, 90_000.0, 7_200_000.0].map(format_ms);
        assert_eq!(ms, ["812 ms", "1 s", "1.2 s", "30 s", "1.5 min", "2 h"]);
        assert_eq!(format_time_tick(30_000.0, time_unit(90_000.0)), "30 s");
        assert_eq!(format_time_tick(0.0, time_unit(90_000.0)), "0 s");
        assert_eq!(format_time_tick(60_000.0, time_unit(300_000.0)), "1 min");
        let grouped = [0, 999, 12_000, 1_234_567].map(group_thousands);
        assert_eq!(grouped, ["0", "999", "12,000", "1,234,567"]);
    }

    #[test]
    fn empty_and_single_inputs_stay_valid_and_finite() {
        let (t, l) = (timeline(&[]), latency_percentiles(&[]));
        let r = rows_over_time(&[], 9);
        assert!(t.contains("no attempts yet") && l.contains("no attempts yet"));
        assert!(r.contains("no rows delivered yet"));
        for svg in [t, l, r, timeline(&[attempt(0, 0, 200, 0)])] {
            well_formed(&svg);
        }
        well_formed(&timeline(&[attempt(5, 40, 503, 1), attempt(5, 40, 0, 0)]));
        well_formed(&rows_over_time(&[delivered(0, 0)], 0));
        well_formed(&rows_over_time(&[delivered(0, 500)], 12_000));
        well_formed(&latency_percentiles(&[0]));
        well_formed(&latency_percentiles(&[250, 250, 250]));
    }

    #[test]
    fn thinning_keeps_failures_and_retries_and_caps_count() {
        let make = |i: i64| match i {
            _ if i % 100 == 0 => attempt(i, 900, 503, 0),
            _ if i % 150 == 0 => attempt(i, 300, 200, 1),
            _ => attempt(i, 100, 200, 0),
        };
        let attempts: Vec<AttemptMark> = (0..100_000).map(make).collect();
        let kept = thin_attempts(&attempts, MAX_MARKS);
        assert_eq!(kept.len(), MAX_MARKS);
        assert!(kept.windows(2).all(|w| w[0] < w[1]));
        let notable = attempts.iter().filter(|a| is_notable(a)).count();
        let kept_notable = kept.iter().filter(|&&i| is_notable(&attempts[i]));
        assert_eq!(kept_notable.count(), notable);
        let svg = timeline(&attempts);
        well_formed(&svg);
        assert_eq!(svg.matches("<title>").count(), MAX_MARKS);
        assert!(svg.contains("(2,000 of 100,000 attempts shown)"));
        let failing: Vec<AttemptMark> = (0..5_000).map(|i| attempt(i, 10, 0, 0)).collect();
        assert_eq!(thin_attempts(&failing, MAX_MARKS).len(), MAX_MARKS);
        assert_eq!(thin_attempts(&failing[..9], MAX_MARKS).len(), 9);
    }

    #[test]
    fn timeline_draws_one_escaped_mark_per_attempt() {
        let mut attempts = vec![attempt(0, 120, 200, 0), attempt(800, 300, 503, 0)];
        attempts.push(attempt(3_200, 812, 503, 2));
        attempts[0].label = r#"bad <&"> label"#.to_string();
        let svg = timeline(&attempts);
        well_formed(&svg);
        assert_eq!(svg.matches("<title>").count(), 3);
        assert_eq!(svg.matches("<circle").count(), 5 + 3, "legend and marks");
        assert!(svg.contains("batch #3200 · status 503 · 812 ms · retry 2 · at 3.2 s"));
        assert!(svg.contains("bad &lt;&amp;&quot;&gt; label") && !svg.contains(r#"<&">"#));
        assert_eq!(escape_xml(r#"<&">"#), "&lt;&amp;&quot;&gt;");
    }

    #[test]
    fn one_timeout_does_not_flatten_the_axis() {
        let mut attempts: Vec<_> = (0..99).map(|i| attempt(i * 100, 100, 200, 0)).collect();
        attempts.push(attempt(10_000, 30_000, 0, 0));
        let svg = timeline(&attempts);
        well_formed(&svg);
        assert!(svg.contains("capped at") && svg.contains("l4.5 8h-9z"));
        assert_eq!(svg.matches("<title>").count(), 100);
        let bars = latency_percentiles(&attempts.iter().map(|a| a.duration_ms).collect::<Vec<_>>());
        assert!(bars.contains(">30 s<") && bars.contains("scale capped"));
    }

    #[test]
    fn rows_chart_thins_and_keeps_the_last_point() {
        let picked = thin_evenly(&(0..5_000).collect::<Vec<_>>(), 1_000);
        assert_eq!((picked.len(), picked[0], picked[999]), (1_000, 0, 4_999));
        let d: Vec<_> = (0..5_000).map(|i| delivered(i * 10, 4)).collect();
        let svg = rows_over_time(&d, 20_000);
        well_formed(&svg);
        assert!(svg.contains("20,000 of 20,000 rows") && svg.contains("of 5,000 points shown"));
        assert_eq!(
            svg.matches('V').count(),
            MAX_POINTS + 1,
            "the axes, each point"
        );
        assert_eq!(cumulative(&d).last(), Some(&(49_990, 20_000)));
    }

    #[test]
    fn percentile_bars_are_labelled() {
        let svg = latency_percentiles(&[812, 1_200, 100, 300]);
        well_formed(&svg);
        assert!(svg.contains(">p50<") && svg.contains(">max<") && svg.contains(">1.2 s<"));
        assert!(svg.contains("attempts: p50 300 ms, p90 1.2 s, p95 1.2 s, p99 1.2 s, max 1.2 s\""));
        assert_eq!(svg.matches("<rect").count(), 5);
    }
}
