//! Charts drawn on the server as inline SVG: a line through a series of points,
//! with its extremes labelled. Pure: points in, markup out.

use maud::{Markup, html};

/// Drawing width and height, in SVG user units.
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room for the labels.
const PAD_LEFT: f64 = 95.0;
const PAD: f64 = 12.0;

/// A series to draw.
pub(crate) struct Series<'a> {
    /// The chart's title, also its accessible name.
    pub(crate) title: &'a str,
    /// What the x values are.
    pub(crate) x_label: &'a str,
    /// (x, y) points, in x order.
    pub(crate) points: Vec<(f64, f64)>,
    /// How a y value is written on the axis.
    pub(crate) format_y: fn(f64) -> String,
}

/// The SVG polyline coordinates of `points` scaled into the drawing area, and the
/// ranges used: `(coords, (x_min, x_max), (y_min, y_max))`.
pub(crate) fn scale(points: &[(f64, f64)]) -> (String, (f64, f64), (f64, f64)) {
    let finite: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    let range = |f: fn(&(f64, f64)) -> f64| {
        finite
            .iter()
            .map(f)
            .fold(None, |acc: Option<(f64, f64)>, v| {
                Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v))))
            })
    };
    let (x_lo, x_hi) = range(|p| p.0).unwrap_or((0.0, 1.0));
    let (y_lo, y_hi) = range(|p| p.1).unwrap_or((0.0, 1.0));
    // A flat series sits in the middle rather than dividing by zero.
    let (y_lo, y_hi) = if y_hi > y_lo {
        (y_lo.min(0.0), y_hi)
    } else {
        (y_lo - 1.0, y_hi + 1.0)
    };
    let x_span = if x_hi > x_lo { x_hi - x_lo } else { 1.0 };
    let coords: Vec<String> = finite
        .iter()
        .map(|(x, y)| {
            let px = PAD_LEFT + (x - x_lo) / x_span * (WIDTH - PAD_LEFT - PAD);
            let py = HEIGHT - PAD - (y - y_lo) / (y_hi - y_lo) * (HEIGHT - 2.0 * PAD);
            format!("{px:.1},{py:.1}")
        })
        .collect();
    (coords.join(" "), (x_lo, x_hi), (y_lo, y_hi))
}

/// The chart of `series`, or a line saying there is nothing to draw yet.
pub(crate) fn chart(series: &Series<'_>) -> Markup {
    if series.points.len() < 2 {
        return html! {
            figure.chart {
                figcaption { (series.title) }
                p.muted { "Not enough data yet." }
            }
        };
    }
    let (coords, (x_lo, x_hi), (y_lo, y_hi)) = scale(&series.points);
    let view_box = format!("0 0 {WIDTH} {HEIGHT}");
    html! {
        figure.chart {
            figcaption { (series.title) }
            svg viewBox=(view_box) role="img" aria-label=(series.title)
                xmlns="http://www.w3.org/2000/svg" {
                line.axis x1=(PAD_LEFT) y1=(PAD) x2=(PAD_LEFT) y2=(HEIGHT - PAD) {}
                line.axis x1=(PAD_LEFT) y1=(HEIGHT - PAD) x2=(WIDTH - PAD) y2=(HEIGHT - PAD) {}
                text.label x=(PAD_LEFT - 4.0) y=(PAD + 4.0) text-anchor="end" { ((series.format_y)(y_hi)) }
                text.label x=(PAD_LEFT - 4.0) y=(HEIGHT - PAD) text-anchor="end" { ((series.format_y)(y_lo)) }
                polyline.series points=(coords) {}
            }
            p.muted.axis-note { (series.x_label) " " (format!("{x_lo:.0}")) " to " (format!("{x_hi:.0}")) }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Parses "x,y x,y" back into numbers.
    fn parse(coords: &str) -> Vec<(f64, f64)> {
        coords
            .split(' ')
            .map(|p| {
                let (x, y) = p.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn points_land_inside_the_drawing_with_the_extremes_on_its_edges() {
        let (coords, xs, ys) = scale(&[(10.0, 5.0), (20.0, 15.0), (30.0, 10.0)]);
        assert_eq!(xs, (10.0, 30.0));
        assert_eq!(ys, (0.0, 15.0));
        let p = parse(&coords);
        assert_eq!(p.len(), 3);
        // First x at the left edge, last at the right; the highest y at the top.
        assert_eq!(p[0].0, PAD_LEFT);
        assert_eq!(p[2].0, WIDTH - PAD);
        assert_eq!(p[1].1, PAD);
        // y = 5 is a third of the way up from 0.
        let expected = HEIGHT - PAD - (HEIGHT - 2.0 * PAD) / 3.0;
        assert!((p[0].1 - expected).abs() < 0.06);
    }

    #[test]
    fn flat_and_non_finite_series_draw_without_dividing_by_zero() {
        let (coords, _, ys) = scale(&[(1.0, 3.0), (2.0, 3.0), (3.0, f64::NAN)]);
        assert_eq!(ys, (2.0, 4.0));
        assert_eq!(parse(&coords).len(), 2);
        assert!(!coords.contains("NaN") && !coords.contains("inf"));
    }
}
