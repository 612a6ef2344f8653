//! Console charts rendered in Rust with plotters: plain data in ([`LineChart`]), SVG text
//! ([`svg`]) or PNG bytes ([`png`]) out. No IO: the DejaVu Sans font is bundled in the crate
//! (`fonts/DejaVuSans.ttf`, license in `fonts/DejaVuSans-LICENSE.txt`) and registered with
//! plotters' `ab_glyph` text renderer before the first chart (PLATFORM.md: drawing text without
//! a registered font panics).
//!
//! The x axis is time (UTC milliseconds, one point per bucket, labelled `MM-DD HH:MM` UTC); the
//! y axis is a fraction shown as percent ([`YAxis::Percent`]) or milliseconds
//! ([`YAxis::Millis`]). A `None` value is a gap: the line is broken there.

use plotters::prelude::*;
use plotters::style::FontStyle;
use std::sync::OnceLock;

static FONT: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static FONT_READY: OnceLock<bool> = OnceLock::new();

/// Default width and height in pixels.
pub const DEFAULT_SIZE: (u32, u32) = (900, 320);

/// How the y axis reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YAxis {
    /// Values are fractions 0..=1, drawn as 0–100 %.
    Percent,
    /// Values are milliseconds; the axis runs from 0 to the largest value (+10 %).
    Millis,
}

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text (connector name).
    pub name: String,
    /// One value per bucket; `None` = no data (gap).
    pub values: Vec<Option<f64>>,
}

/// A time-series line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    /// Title drawn on top.
    pub title: String,
    /// Y axis kind.
    pub y_axis: YAxis,
    /// Start of the first bucket, UTC ms.
    pub start_ms: i64,
    /// Bucket width, ms (> 0).
    pub bucket_ms: i64,
    /// Lines (values beyond the longest series are ignored).
    pub series: Vec<Series>,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ChartError {
    /// The bundled font could not be registered (a corrupt build).
    #[error("the chart font could not be loaded")]
    Font,
    /// Size or bucket width out of range.
    #[error("invalid chart: {0}")]
    Invalid(String),
    /// plotters or the PNG encoder failed.
    #[error("chart rendering failed: {0}")]
    Render(String),
}

fn ensure_font() -> Result<(), ChartError> {
    let ok = *FONT_READY.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok { Ok(()) } else { Err(ChartError::Font) }
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

fn check(chart: &LineChart) -> Result<(), ChartError> {
    if !(200..=4000).contains(&chart.width) || !(120..=4000).contains(&chart.height) {
        return Err(ChartError::Invalid(format!(
            "size {}x{} must be 200..=4000 x 120..=4000 pixels",
            chart.width, chart.height
        )));
    }
    if chart.bucket_ms <= 0 {
        return Err(ChartError::Invalid("bucket_ms must be positive".into()));
    }
    Ok(())
}

fn label_time(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => format!(
            "{:02}-{:02} {:02}:{:02}",
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute()
        ),
        Err(_) => String::new(),
    }
}

/// Draws `chart` on any plotters backend.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &LineChart,
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    let render = |e: &dyn std::fmt::Display| ChartError::Render(e.to_string());
    root.fill(&WHITE).map_err(|e| render(&e))?;
    let buckets = chart
        .series
        .iter()
        .map(|s| s.values.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let x_end = chart.start_ms + chart.bucket_ms * i64::try_from(buckets).unwrap_or(1);
    let max_value = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0_f64, |m, v| if v.is_finite() { m.max(*v) } else { m });
    let y_max = match chart.y_axis {
        YAxis::Percent => 1.0,
        YAxis::Millis => (max_value * 1.1).max(10.0),
    };
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(56)
        .build_cartesian_2d(chart.start_ms..x_end, 0.0..y_max)
        .map_err(|e| render(&e))?;
    let y_fmt = |v: &f64| match chart.y_axis {
        YAxis::Percent => format!("{:.0}%", v * 100.0),
        YAxis::Millis => format!("{v:.0} ms"),
    };
    ctx.configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&|ms| label_time(*ms))
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 12))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(|e| render(&e))?;
    for (i, s) in chart.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        // Break the line at gaps: one LineSeries per run of values.
        let mut runs: Vec<Vec<(i64, f64)>> = vec![Vec::new()];
        for (k, v) in s.values.iter().enumerate() {
            let x = chart.start_ms
                + chart.bucket_ms * i64::try_from(k).unwrap_or(0)
                + chart.bucket_ms / 2;
            match v {
                Some(v) if v.is_finite() => {
                    if let Some(run) = runs.last_mut() {
                        run.push((x, v.clamp(0.0, y_max)));
                    }
                }
                Some(_) | None => runs.push(Vec::new()),
            }
        }
        let mut labelled = false;
        for run in runs.into_iter().filter(|r| !r.is_empty()) {
            let points = run.clone();
            let series = ctx
                .draw_series(LineSeries::new(run, color.stroke_width(2)))
                .map_err(|e| render(&e))?;
            if !labelled {
                series.label(s.name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
                labelled = true;
            }
            if points.len() == 1 {
                ctx.draw_series(
                    points
                        .into_iter()
                        .map(|p| Circle::new(p, 3, color.filled())),
                )
                .map_err(|e| render(&e))?;
            }
        }
    }
    if chart
        .series
        .iter()
        .any(|s| s.values.iter().any(Option::is_some))
    {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 12))
            .position(SeriesLabelPosition::LowerLeft)
            .draw()
            .map_err(|e| render(&e))?;
    }
    root.present().map_err(|e| render(&e))?;
    Ok(())
}

/// Renders `chart` as an SVG document (UTF-8 text). Errors: [`ChartError`].
pub fn svg(chart: &LineChart) -> Result<String, ChartError> {
    ensure_font()?;
    check(chart)?;
    let mut out = String::new();
    {
        let root =
            SVGBackend::with_string(&mut out, (chart.width, chart.height)).into_drawing_area();
        draw(root, chart)?;
    }
    Ok(out)
}

/// Renders `chart` as a PNG image (RGB, 8 bit). Errors: [`ChartError`].
pub fn png(chart: &LineChart) -> Result<Vec<u8>, ChartError> {
    ensure_font()?;
    check(chart)?;
    let (w, h) = (chart.width, chart.height);
    let len = usize::try_from(u64::from(w) * u64::from(h) * 3)
        .map_err(|_| ChartError::Invalid("image too large".into()))?;
    let mut rgb = vec![0u8; len];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(root, chart)?;
    }
    let mut out = Vec::new();
    {
        let mut enc = ::png::Encoder::new(&mut out, w, h);
        enc.set_color(::png::ColorType::Rgb);
        enc.set_depth(::png::BitDepth::Eight);
        let mut writer = enc
            .write_header()
            .map_err(|e| ChartError::Render(e.to_string()))?;
        writer
            .write_image_data(&rgb)
            .map_err(|e| ChartError::Render(e.to_string()))?;
        writer
            .finish()
            .map_err(|e| ChartError::Render(e.to_string()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn chart() -> LineChart {
        LineChart {
            title: "Approval rate".into(),
            y_axis: YAxis::Percent,
            start_ms: 1_763_683_200_000,
            bucket_ms: 3_600_000,
            series: vec![
                Series {
                    name: "Stripe US".into(),
                    values: vec![Some(0.9), Some(0.8), None, Some(0.85)],
                },
                Series {
                    name: "Adyen EU".into(),
                    values: vec![Some(0.5), Some(0.6), Some(0.7), Some(0.65)],
                },
            ],
            width: 600,
            height: 300,
        }
    }

    #[test]
    fn svg_has_title_legend_and_lines() {
        let s = svg(&chart()).unwrap();
        assert!(s.starts_with("<svg"), "{}", &s[..40]);
        assert!(s.contains("Approval rate"));
        assert!(s.contains("Stripe US") && s.contains("Adyen EU"));
        assert!(s.contains("100%"));
        // Stripe's gap splits its line in two polylines; Adyen has one.
        assert!(s.matches("<polyline").count() >= 3);
    }

    #[test]
    fn png_is_a_png_of_the_requested_size() {
        let bytes = png(&chart()).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = ::png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (600, 300));
    }

    #[test]
    fn empty_and_invalid_charts() {
        let mut c = chart();
        c.series.clear();
        assert!(svg(&c).unwrap().contains("Approval rate"));
        c.width = 10;
        assert!(matches!(svg(&c), Err(ChartError::Invalid(_))));
        let mut c = chart();
        c.bucket_ms = 0;
        assert!(matches!(png(&c), Err(ChartError::Invalid(_))));
    }
}
