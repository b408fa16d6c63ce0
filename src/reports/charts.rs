//! Server-rendered SVG charts: geometry only. The template (`templates/reports/chart.html`) draws
//! these shapes as `<svg role="img">` with a `<title>` and `<desc>`, escaping every text, so the
//! charts need no script, read without JavaScript, and every bar is a link to the cases it counts.
//! Each chart sits beside a table of the same numbers, for screen readers and for reading exact
//! values.

/// One drawn value.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left edge, in the chart's own units (its `viewBox`).
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
    /// Which series (0 or 1), for its colour.
    pub series: usize,
    /// Where it links: the case list that produced the number (`None`: not a case count).
    pub href: Option<String>,
    /// The tooltip: label, series and value in words.
    pub tip: String,
}

/// A text drawn on the chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Anchor point x.
    pub x: f64,
    /// Baseline y.
    pub y: f64,
    /// The text.
    pub text: String,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    /// Smaller, lighter text (axis ticks, values).
    pub minor: bool,
}

/// A chart ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Element id (for `aria-labelledby`).
    pub id: String,
    /// Accessible name (`<title>`).
    pub title: String,
    /// What it shows in words (`<desc>`), e.g. the largest values.
    pub desc: String,
    /// `viewBox` width.
    pub width: f64,
    /// `viewBox` height.
    pub height: f64,
    /// Bars.
    pub bars: Vec<Bar>,
    /// Texts.
    pub labels: Vec<Label>,
    /// Names of the series, for the legend (empty: no legend).
    pub legend: Vec<String>,
    /// Baseline and gridlines: `(x1, y1, x2, y2)`.
    pub lines: Vec<(f64, f64, f64, f64)>,
}

/// One value of a row or column: the number, its text (`3`, `4h 10m`) and its link.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Drawn size.
    pub value: f64,
    /// As the table and tooltip show it.
    pub text: String,
    /// The case list behind it.
    pub href: Option<String>,
}

/// A labelled group of values, one per series.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Row or column label.
    pub label: String,
    /// One point per series.
    pub points: Vec<Point>,
}

const WIDTH: f64 = 640.0;
const LABEL_WIDTH: f64 = 170.0;
const VALUE_WIDTH: f64 = 70.0;
const ROW_HEIGHT: f64 = 26.0;
const COLUMN_CHART_HEIGHT: f64 = 220.0;
const TOP: f64 = 8.0;

fn largest(groups: &[Group]) -> f64 {
    groups
        .iter()
        .flat_map(|g| g.points.iter().map(|p| p.value))
        .fold(0.0, f64::max)
}

fn describe(title: &str, groups: &[Group], legend: &[String]) -> String {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            let values: Vec<String> = g
                .points
                .iter()
                .enumerate()
                .map(|(i, p)| match legend.get(i) {
                    Some(name) if legend.len() > 1 => format!("{name} {}", p.text),
                    _ => p.text.clone(),
                })
                .collect();
            format!("{}: {}", g.label, values.join(", "))
        })
        .collect();
    format!("{title}. {}", parts.join("; "))
}

/// Horizontal bars: one row per group, one bar per series in it, labels on the left and values at
/// the bar ends.
pub fn rows(id: &str, title: &str, legend: Vec<String>, groups: Vec<Group>) -> Chart {
    let series = groups
        .iter()
        .map(|g| g.points.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let bar_height = (ROW_HEIGHT - 6.0) / series as f64;
    let max = largest(&groups);
    let plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (row, group) in groups.iter().enumerate() {
        let top = TOP + row as f64 * ROW_HEIGHT;
        labels.push(Label {
            x: LABEL_WIDTH - 8.0,
            y: top + ROW_HEIGHT / 2.0 + 4.0,
            text: group.label.clone(),
            anchor: "end",
            minor: false,
        });
        for (s, point) in group.points.iter().enumerate() {
            let w = if max > 0.0 {
                (point.value / max * plot).max(if point.value > 0.0 { 2.0 } else { 0.0 })
            } else {
                0.0
            };
            let y = top + 3.0 + s as f64 * bar_height;
            bars.push(Bar {
                x: LABEL_WIDTH,
                y,
                w,
                h: bar_height - 1.0,
                series: s,
                href: point.href.clone(),
                tip: tip(&group.label, legend.get(s), &point.text),
            });
            labels.push(Label {
                x: LABEL_WIDTH + w + 4.0,
                y: y + bar_height / 2.0 + 3.0,
                text: point.text.clone(),
                anchor: "start",
                minor: true,
            });
        }
    }
    let height = TOP * 2.0 + groups.len().max(1) as f64 * ROW_HEIGHT;
    Chart {
        id: id.to_string(),
        desc: describe(title, &groups, &legend),
        title: title.to_string(),
        width: WIDTH,
        height,
        bars,
        labels,
        lines: vec![(LABEL_WIDTH, TOP, LABEL_WIDTH, height - TOP)],
        legend,
    }
}

fn tip(label: &str, series: Option<&String>, value: &str) -> String {
    match series {
        Some(name) => format!("{label} · {name}: {value}"),
        None => format!("{label}: {value}"),
    }
}

/// Vertical columns over time: one group per date bucket, side by side per series, with the
/// first, middle and last labels under the axis and the largest value on it.
pub fn columns(id: &str, title: &str, legend: Vec<String>, groups: Vec<Group>) -> Chart {
    let left = 36.0;
    let bottom = COLUMN_CHART_HEIGHT - 22.0;
    let plot_height = bottom - TOP - 10.0;
    let series = groups
        .iter()
        .map(|g| g.points.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let slot = (WIDTH - left - 8.0) / groups.len().max(1) as f64;
    let gap = (slot * 0.2).min(6.0);
    let bar_width = (slot - gap) / series as f64;
    let max = largest(&groups);
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let x0 = left + i as f64 * slot + gap / 2.0;
        for (s, point) in group.points.iter().enumerate() {
            let h = if max > 0.0 {
                point.value / max * plot_height
            } else {
                0.0
            };
            bars.push(Bar {
                x: x0 + s as f64 * bar_width,
                y: bottom - h,
                w: (bar_width - 0.5).max(0.5),
                h,
                series: s,
                href: point.href.clone(),
                tip: tip(&group.label, legend.get(s), &point.text),
            });
        }
        let last = groups.len() - 1;
        if i == 0 || i == last || i == last / 2 {
            labels.push(Label {
                x: x0 + (slot - gap) / 2.0,
                y: bottom + 16.0,
                text: group.label.clone(),
                anchor: "middle",
                minor: true,
            });
        }
    }
    labels.push(Label {
        x: left - 6.0,
        y: TOP + 14.0,
        text: format!("{max}"),
        anchor: "end",
        minor: true,
    });
    labels.push(Label {
        x: left - 6.0,
        y: bottom,
        text: "0".into(),
        anchor: "end",
        minor: true,
    });
    Chart {
        id: id.to_string(),
        desc: describe(title, &groups, &legend),
        title: title.to_string(),
        width: WIDTH,
        height: COLUMN_CHART_HEIGHT,
        bars,
        labels,
        lines: vec![
            (left, bottom, WIDTH - 8.0, bottom),
            (left, TOP + 10.0, WIDTH - 8.0, TOP + 10.0),
        ],
        legend,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(value: f64) -> Point {
        Point {
            value,
            text: value.to_string(),
            href: Some(format!("/cases?n={value}")),
        }
    }

    #[test]
    fn row_bars_scale_to_the_largest_value_and_keep_their_links() {
        let chart = rows(
            "c",
            "Backlog",
            vec![],
            vec![
                Group {
                    label: "new".into(),
                    points: vec![point(4.0)],
                },
                Group {
                    label: "investigating".into(),
                    points: vec![point(2.0)],
                },
                Group {
                    label: "escalated".into(),
                    points: vec![point(0.0)],
                },
            ],
        );
        let widths: Vec<f64> = chart.bars.iter().map(|b| b.w).collect();
        assert_eq!(widths[0], WIDTH - LABEL_WIDTH - VALUE_WIDTH);
        assert_eq!(widths[1], widths[0] / 2.0);
        assert_eq!(widths[2], 0.0);
        assert_eq!(chart.bars[1].href.as_deref(), Some("/cases?n=2"));
        assert!(chart.desc.contains("investigating: 2"), "{}", chart.desc);
        assert!(chart.bars.iter().all(|b| b.x + b.w <= chart.width));
    }

    #[test]
    fn columns_fit_the_chart_and_an_empty_series_draws_nothing_tall() {
        let groups: Vec<Group> = (0..62)
            .map(|i| Group {
                label: format!("d{i}"),
                points: vec![point(i as f64), point(0.0)],
            })
            .collect();
        let chart = columns("f", "Flow", vec!["opened".into(), "closed".into()], groups);
        assert_eq!(chart.bars.len(), 124);
        assert!(
            chart
                .bars
                .iter()
                .all(|b| b.x >= 0.0 && b.x + b.w <= chart.width && b.y >= 0.0)
        );
        assert!(
            chart
                .bars
                .iter()
                .filter(|b| b.series == 1)
                .all(|b| b.h == 0.0)
        );
        assert_eq!(
            chart
                .labels
                .iter()
                .filter(|l| l.text.starts_with('d'))
                .count(),
            3
        );
        let empty = columns("e", "Flow", vec![], vec![]);
        assert!(empty.bars.is_empty());
    }
}
