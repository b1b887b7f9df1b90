//! The certificate expiry timeline: one row per endpoint that presented a
//! certificate, a bar from the scan time to the leaf's expiry, coloured by
//! the days left (expired or under 7: critical, under 30: medium, else ok),
//! with a tick every month. Geometry only; the template draws the SVG.

use jiff::Timestamp;
use mailwarden_model::{EndpointObservation, ScanReport};
use serde::Serialize;

/// Width of the label column, in SVG units.
const LABEL: f64 = 300.0;
/// Total width.
const WIDTH: f64 = 960.0;
/// Height of one row.
const ROW: f64 = 22.0;
/// Space for the axis labels on top.
const TOP: f64 = 30.0;
/// Longest span drawn after the scan, in days (later expiries are clamped).
const MAX_DAYS: i64 = 730;

#[derive(Debug, Serialize)]
pub(crate) struct Timeline {
    width: f64,
    height: f64,
    label_width: f64,
    now_x: f64,
    ticks: Vec<Tick>,
    rows: Vec<Row>,
}

#[derive(Debug, Serialize)]
struct Tick {
    x: f64,
    label: String,
}

#[derive(Debug, Serialize)]
struct Row {
    y: f64,
    text_y: f64,
    label: String,
    bar_y: f64,
    x1: f64,
    x2: f64,
    w: f64,
    days: i64,
    class: &'static str,
    note: String,
}

fn leaf_expiry(obs: &EndpointObservation) -> Option<(Timestamp, String)> {
    let implicit = obs.implicit_tls.as_ref().and_then(|i| i.handshake.value());
    let starttls = obs
        .plaintext
        .as_ref()
        .and_then(|p| p.starttls.value())
        .and_then(|ex| ex.handshake.value());
    let leaf = implicit
        .into_iter()
        .chain(starttls)
        .find_map(|h| h.certificate_chain.as_ref())?
        .leaf()?;
    Some((leaf.not_after?, leaf.subject.clone()))
}

fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).div_euclid(86_400)
}

/// The timeline of a report, or `None` when no endpoint presented a
/// certificate with a known expiry.
pub(crate) fn build(report: &ScanReport) -> Option<Timeline> {
    let now = report.started_at;
    let certs: Vec<(String, i64, String)> = report
        .endpoints
        .iter()
        .filter_map(|e| {
            let (not_after, subject) = leaf_expiry(e)?;
            let label = format!("{} {}", e.target, e.address);
            Some((label, days_between(now, not_after), subject))
        })
        .collect();
    if certs.is_empty() {
        return None;
    }
    let min_day = certs.iter().map(|c| c.1).min().unwrap_or(0).min(0) - 10;
    let max_day = certs
        .iter()
        .map(|c| c.1)
        .max()
        .unwrap_or(0)
        .clamp(90, MAX_DAYS)
        + 10;
    let span = (max_day - min_day).max(1) as f64;
    let x = |day: i64| {
        LABEL + (day.clamp(min_day, max_day) - min_day) as f64 / span * (WIDTH - LABEL - 50.0)
    };
    let mut ticks = Vec::new();
    let mut day = min_day - min_day.rem_euclid(30) + 30;
    while day < max_day {
        ticks.push(Tick {
            x: x(day),
            label: if day == 0 {
                "now".to_owned()
            } else {
                format!("{day:+}d")
            },
        });
        day += 30;
    }
    let rows = certs
        .into_iter()
        .enumerate()
        .map(|(i, (label, days, subject))| {
            let y = TOP + i as f64 * ROW;
            let class = match days {
                d if d < 7 => "sev-critical",
                d if d < 30 => "sev-medium",
                _ => "ok",
            };
            let note = if days < 0 {
                format!("expired {} days ago", -days)
            } else {
                format!("{days} days left")
            };
            Row {
                y,
                text_y: y + 15.0,
                label: super::shown(&label),
                bar_y: y + 4.0,
                x1: x(days.min(0)),
                x2: x(days.max(0)),
                w: (x(days.max(0)) - x(days.min(0))).max(2.0),
                days,
                class,
                note: format!("{note} · {}", super::shown(&subject)),
            }
        })
        .collect::<Vec<_>>();
    Some(Timeline {
        width: WIDTH,
        height: TOP + rows.len() as f64 * ROW + 10.0,
        label_width: LABEL,
        now_x: x(0),
        ticks,
        rows,
    })
}
