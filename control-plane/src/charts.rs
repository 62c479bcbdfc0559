//! Charts as inline SVG, drawn on the server: no script and no web font, so
//! they print and work with JavaScript off. Each chart is named by its
//! `<title>` (`role="img"`); the page puts the same numbers in a table next to
//! it for screen readers and for reading exact values.

use std::fmt::Write;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const PAD: f64 = 32.0;

/// One value on the x axis with its label (a day, a month).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub label: String,
    pub value: i64,
}

/// What every chart needs: an id unique on the page (for `aria-labelledby`)
/// and its title, and how values are written on the axis.
pub struct Chart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub format: &'a dyn Fn(i64) -> String,
}

/// Text for SVG (XML): markup characters escaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The value range drawn: always includes zero; a flat zero line still has a scale.
fn range(points: &[Point]) -> (i64, i64) {
    let low = points.iter().map(|p| p.value).min().unwrap_or(0).min(0);
    let high = points.iter().map(|p| p.value).max().unwrap_or(0).max(low + 1);
    (low, high)
}

/// The y coordinate of `value` in the plot area.
fn y_of(value: i64, (low, high): (i64, i64)) -> f64 {
    HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * (value - low) as f64 / (high - low) as f64
}

fn label(out: &mut String, x: f64, y: f64, anchor: &str, text: &str) {
    let _ = write!(
        out,
        "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"12\" fill=\"currentColor\" text-anchor=\"{anchor}\">{}</text>",
        escape(text)
    );
}

/// The frame every chart shares: the title, the zero line and the axis label
/// of the highest value; `body` draws the data.
fn frame(chart: &Chart<'_>, points: &[Point], body: &str) -> String {
    let scale = range(points);
    let zero = y_of(0, scale);
    let id = escape(chart.id);
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title id=\"{id}\">{}</title>\
         <line x1=\"{PAD}\" y1=\"{zero:.1}\" x2=\"{right}\" y2=\"{zero:.1}\" stroke=\"currentColor\" stroke-width=\"1\"/>",
        escape(chart.title),
        right = WIDTH - PAD,
    );
    label(&mut out, 4.0, PAD - 4.0, "start", &(chart.format)(scale.1));
    out.push_str(body);
    out.push_str("</svg>");
    out
}

/// A line through the points, with the first and last label under the axis
/// (for a day-by-day series).
pub fn line_chart(chart: &Chart<'_>, points: &[Point]) -> String {
    let scale = range(points);
    let steps = points.len().saturating_sub(1).max(1) as f64;
    let coordinates: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", PAD + (WIDTH - 2.0 * PAD) * i as f64 / steps, y_of(p.value, scale)))
        .collect();
    let mut body = String::new();
    let label_y = HEIGHT - PAD + 16.0;
    if let Some(first) = points.first() {
        label(&mut body, PAD, label_y, "start", &first.label);
    }
    if let Some(last) = points.last().filter(|_| points.len() > 1) {
        label(&mut body, WIDTH - PAD, label_y, "end", &last.label);
    }
    let _ = write!(
        body,
        "<polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"2\" points=\"{}\"/>",
        coordinates.join(" ")
    );
    frame(chart, points, &body)
}

/// One bar per point from the zero line (down for a negative value), each
/// labelled under the axis and with its value as a tooltip.
pub fn bar_chart(chart: &Chart<'_>, points: &[Point]) -> String {
    let scale = range(points);
    let zero = y_of(0, scale);
    let slot = (WIDTH - 2.0 * PAD) / points.len().max(1) as f64;
    let mut body = String::new();
    for (i, point) in points.iter().enumerate() {
        let x = PAD + slot * i as f64;
        let y = y_of(point.value, scale);
        let _ = write!(
            body,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"currentColor\" opacity=\"0.8\">\
             <title>{}: {}</title></rect>",
            x + slot * 0.15,
            y.min(zero),
            slot * 0.7,
            (zero - y).abs(),
            escape(&point.label),
            escape(&(chart.format)(point.value)),
        );
        label(&mut body, x + slot / 2.0, HEIGHT - PAD + 16.0, "middle", &point.label);
    }
    frame(chart, points, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[(&str, i64)]) -> Vec<Point> {
        values.iter().map(|(label, value)| Point { label: (*label).into(), value: *value }).collect()
    }

    fn plain(value: i64) -> String {
        value.to_string()
    }

    #[test]
    fn a_line_chart_scales_to_the_highest_value_and_escapes_its_text() {
        let chart = Chart { id: "kontakte", title: "Kontakte <Muster & Co>", format: &plain };
        let svg = line_chart(&chart, &points(&[("01.11.", 10), ("02.11.", 40), ("03.11.", 20)]));
        assert!(svg.contains("<title id=\"kontakte\">Kontakte &lt;Muster &amp; Co&gt;</title>"), "{svg}");
        assert!(svg.contains("role=\"img\" aria-labelledby=\"kontakte\""));
        // 40 is the top of the plot area, 10 a quarter of the way up.
        assert!(svg.contains("points=\"32.0,134.0 320.0,32.0 608.0,100.0\""), "{svg}");
        assert!(svg.contains(">01.11.<") && svg.contains(">03.11.<") && svg.contains(">40<"));
        assert!(!svg.contains(">02.11.<"), "only the ends of a long series are labelled");
        assert!(line_chart(&chart, &[]).contains("points=\"\""));
    }

    #[test]
    fn bars_grow_from_the_zero_line_in_both_directions() {
        let euros = |cents: i64| format!("{} €", cents / 100);
        let chart = Chart { id: "umsatz", title: "Umsatz", format: &euros };
        let svg = bar_chart(&chart, &points(&[("10/26", 300), ("11/26", -100), ("12/26", 0)]));
        // The range is -100..300: zero sits a quarter up the 136-pixel plot area, at y = 134.
        assert!(svg.contains("y1=\"134.0\""), "{svg}");
        // 300 reaches the top (y 32, 102 high); -100 hangs 34 below the zero line; 0 is flat.
        assert!(svg.contains("x=\"60.8\" y=\"32.0\" width=\"134.4\" height=\"102.0\""), "{svg}");
        assert!(svg.contains("y=\"134.0\" width=\"134.4\" height=\"34.0\""), "{svg}");
        assert!(svg.contains("<title>11/26: -1 €</title>") && svg.contains(">3 €<"));
        assert_eq!(svg.matches("<rect").count(), 3);
    }
}
