//! Charts drawn on the server as SVG: no script, no CDN, readable by screen
//! readers (a title and a description) and printable. Pages show the same
//! figures in a table beside each chart.

use std::fmt::Write;

/// Colours that stay distinct for the common forms of colour blindness.
pub const PALETTE: [&str; 4] = ["#1d4ed8", "#d97706", "#059669", "#b42318"];

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A round step for an axis reaching `max`: 1, 2 or 5 × a power of ten.
fn nice_step(max: i64, ticks: i64) -> i64 {
    let raw = (max.max(1) + ticks - 1) / ticks;
    let mut power = 1;
    while power * 10 <= raw {
        power *= 10;
    }
    [1, 2, 5, 10].into_iter().map(|m| m * power).find(|step| *step >= raw).unwrap_or(raw)
}

/// Horizontal bars, one per label, with one or more series side by side.
pub fn bars(title: &str, labels: &[String], series: &[(&str, Vec<i64>)], format: impl Fn(i64) -> String) -> String {
    let label_w = 200.0;
    let width = 640.0;
    let bar_h = 14.0;
    let group_h = bar_h * series.len().max(1) as f64 + 10.0;
    let legend_h = if series.len() > 1 { 22.0 } else { 0.0 };
    let height = 20.0 + legend_h + group_h * labels.len().max(1) as f64 + 24.0;
    let max = series.iter().flat_map(|(_, values)| values.iter().copied()).max().unwrap_or(0).max(1);
    let step = nice_step(max, 4);
    let top = (max + step - 1) / step * step;
    let plot_w = width - label_w - 60.0;
    let x = |v: i64| label_w + plot_w * v as f64 / top as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let plot_top = 10.0 + legend_h;
    for (i, (name, _)) in series.iter().enumerate().filter(|_| series.len() > 1) {
        let lx = label_w + 130.0 * i as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="4" width="12" height="12" fill="{}"/><text x="{}" y="14" class="legend">{}</text>"#,
            PALETTE[i % PALETTE.len()],
            lx + 16.0,
            escape(name)
        );
    }
    let axis_y = plot_top + group_h * labels.len().max(1) as f64;
    let mut tick = 0;
    while tick <= top {
        let tx = x(tick);
        let _ = write!(
            svg,
            r#"<line x1="{tx:.1}" y1="{plot_top}" x2="{tx:.1}" y2="{axis_y}" class="grid"/><text x="{tx:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
            axis_y + 14.0,
            escape(&format(tick))
        );
        tick += step;
    }
    for (row, label) in labels.iter().enumerate() {
        let gy = plot_top + group_h * row as f64 + 5.0;
        let shown: String = if label.chars().count() > 28 {
            label.chars().take(27).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{:.1}" class="label" text-anchor="end">{}</text>"#,
            label_w - 8.0,
            gy + group_h / 2.0 - 2.0,
            escape(&shown)
        );
        for (i, (name, values)) in series.iter().enumerate() {
            let value = values.get(row).copied().unwrap_or(0);
            let y = gy + bar_h * i as f64;
            let w = (x(value) - label_w).max(if value > 0 { 1.0 } else { 0.0 });
            let _ = write!(
                svg,
                r#"<rect x="{label_w}" y="{y:.1}" width="{w:.1}" height="{}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                bar_h - 2.0,
                PALETTE[i % PALETTE.len()],
                escape(&format!("{label} — {name}")),
                escape(&format(value)),
                label_w + w + 4.0,
                y + bar_h - 4.0,
                escape(&format(value))
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Lines over time: one point per period label, one line per series.
pub fn lines(title: &str, periods: &[String], series: &[(&str, Vec<i64>)]) -> String {
    let (width, height) = (640.0, 260.0);
    let (left, right, top_pad, bottom) = (44.0, 28.0, 30.0, 36.0);
    let plot_w = width - left - right;
    let plot_h = height - top_pad - bottom;
    let max = series.iter().flat_map(|(_, values)| values.iter().copied()).max().unwrap_or(0).max(1);
    let step = nice_step(max, 4);
    let top = (max + step - 1) / step * step;
    let n = periods.len().max(1);
    let x = |i: usize| if n == 1 { left + plot_w / 2.0 } else { left + plot_w * i as f64 / (n - 1) as f64 };
    let y = |v: i64| top_pad + plot_h - plot_h * v as f64 / top as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let mut tick = 0;
    while tick <= top {
        let ty = y(tick);
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{ty:.1}" x2="{}" y2="{ty:.1}" class="grid"/><text x="{}" y="{:.1}" class="tick" text-anchor="end">{tick}</text>"#,
            width - right,
            left - 6.0,
            ty + 4.0
        );
        tick += step;
    }
    // Every label when they fit, otherwise one in two or three.
    let every = n.div_ceil(12);
    for (i, period) in periods.iter().enumerate() {
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="tick" text-anchor="middle">{}</text>"#,
                x(i),
                height - bottom + 16.0,
                escape(period)
            );
        }
    }
    for (s, (name, values)) in series.iter().enumerate() {
        let colour = PALETTE[s % PALETTE.len()];
        let points: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect();
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2.5"/>"#,
            points.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            let label = periods.get(i).map_or("", String::as_str);
            let _ = write!(
                svg,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}"><title>{} {}: {v}</title></circle>"#,
                x(i),
                y(*v),
                escape(name),
                escape(label)
            );
        }
        let lx = left + 140.0 * s as f64;
        let _ = write!(
            svg,
            r#"<rect x="{lx}" y="6" width="12" height="12" fill="{colour}"/><text x="{}" y="16" class="legend">{}</text>"#,
            lx + 16.0,
            escape(name)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(7, 4), 2);
        assert_eq!(nice_step(100, 4), 50);
        assert_eq!(nice_step(0, 4), 1);
        assert_eq!(nice_step(1234, 4), 500);
    }

    #[test]
    fn charts_escape_labels_and_carry_their_values() {
        let svg = bars("Véhicules", &["A & <B>".to_owned()], &[("n", vec![12])], |v| v.to_string());
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("A &amp; &lt;B&gt;") && !svg.contains("<B>"));
        assert!(svg.contains(">12</text>"));
        let svg = lines("Interventions", &["2026-01".to_owned(), "2026-02".to_owned()], &[("n", vec![3, 5])]);
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
