//! Charts as SVG drawn on the server: no script, no library. Each chart is drawn from the same
//! numbers a hidden table beside it lists for screen readers (`Chart::rows`), so the two cannot
//! disagree.

use std::fmt::Write;

/// One line of a chart: its legend and its CSS class (the stylesheet colours it).
pub struct Series {
    pub name: &'static str,
    pub class: &'static str,
    pub values: Vec<i64>,
}

/// A line chart over labelled buckets (hours, days).
pub struct Chart {
    pub title: String,
    pub labels: Vec<String>,
    pub series: Vec<Series>,
}

impl Series {
    /// The four lines of every opens-and-clicks chart, people and machines apart, from their
    /// values in that order: opens by people, by machines, clicks by people, by machines.
    pub fn opens_and_clicks(values: [Vec<i64>; 4]) -> Vec<Series> {
        let [po, mo, pc, mc] = values;
        vec![
            Series {
                name: "Opens by people",
                class: "people-opens",
                values: po,
            },
            Series {
                name: "Opens by machines",
                class: "machine-opens",
                values: mo,
            },
            Series {
                name: "Clicks by people",
                class: "people-clicks",
                values: pc,
            },
            Series {
                name: "Clicks by machines",
                class: "machine-clicks",
                values: mc,
            },
        ]
    }
}

const W: f64 = 720.0;
const H: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;

/// The smallest of 1, 2 or 5 × 10ⁿ at or above `max` (at least 1), for the y axis.
pub fn nice_max(max: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max.max(1) {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// How many equal steps divide an axis of [`nice_max`] into whole, round numbers: 1 and 2
/// step by one, 10ⁿ and 5 × 10ⁿ in fifths, 2 × 10ⁿ in quarters (0, 5, 10, 15, 20).
pub fn tick_steps(ymax: i64) -> i64 {
    if ymax <= 2 {
        return ymax.max(1);
    }
    let mut lead = ymax;
    while lead >= 10 {
        lead /= 10;
    }
    if lead == 2 { 4 } else { 5 }
}

fn escape(s: &str) -> String {
    beacon_tracking::html::escape(s).into_owned()
}

impl Chart {
    /// The SVG element. Text in it is escaped; numbers are formatted here.
    pub fn svg(&self) -> String {
        let n = self.labels.len().max(1);
        let top = self
            .series
            .iter()
            .flat_map(|s| s.values.iter().copied())
            .max()
            .unwrap_or(0);
        let ymax = nice_max(top) as f64;
        let (plot_w, plot_h) = (W - LEFT - 8.0, H - TOP - BOTTOM);
        let x = |i: usize| {
            if n == 1 {
                LEFT + plot_w / 2.0
            } else {
                LEFT + plot_w * i as f64 / (n - 1) as f64
            }
        };
        let y = |v: i64| TOP + plot_h - plot_h * v as f64 / ymax;
        let mut out = String::new();
        let _ = write!(
            out,
            "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{}\" \
             xmlns=\"http://www.w3.org/2000/svg\">",
            escape(&self.title)
        );
        let steps = tick_steps(ymax as i64);
        for k in 0..=steps {
            let v = (ymax as i64) * k / steps;
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"axis\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>",
                W - 8.0,
                LEFT - 6.0,
                y(v) + 4.0,
                y = y(v),
            );
        }
        // At most ~12 x labels, evenly spaced.
        let every = n.div_ceil(12).max(1);
        for (i, label) in self.labels.iter().enumerate().step_by(every) {
            let _ = write!(
                out,
                "<text class=\"axis\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x(i),
                H - 8.0,
                escape(label)
            );
        }
        for s in &self.series {
            let points: Vec<String> = s
                .values
                .iter()
                .enumerate()
                .map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v)))
                .collect();
            let _ = write!(
                out,
                "<polyline class=\"series {}\" fill=\"none\" points=\"{}\"><title>{}</title></polyline>",
                s.class,
                points.join(" "),
                escape(s.name)
            );
            // A dot on every bucket with something in it: a lone value has no line to show it.
            for (i, &v) in s.values.iter().enumerate().filter(|(_, v)| **v > 0) {
                let _ = write!(
                    out,
                    "<circle class=\"dot {}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
                    s.class,
                    x(i),
                    y(v)
                );
            }
        }
        out.push_str("</svg>");
        out
    }

    /// The same numbers as rows: (label, one value per series).
    pub fn rows(&self) -> Vec<(String, Vec<i64>)> {
        self.labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let values = self
                    .series
                    .iter()
                    .map(|s| s.values.get(i).copied().unwrap_or(0))
                    .collect();
                (l.clone(), values)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{Chart, Series, nice_max, tick_steps};

    #[test]
    fn ticks_are_whole_round_numbers() {
        for (ymax, steps) in [(1, 1), (2, 2), (5, 5), (10, 5), (20, 4), (50, 5), (200, 4)] {
            assert_eq!(tick_steps(ymax), steps, "{ymax}");
            assert_eq!(ymax % steps, 0, "{ymax}");
        }
    }

    #[test]
    fn the_axis_ends_at_a_round_number() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(4_999), 5_000);
        assert_eq!(nice_max(5_001), 10_000);
    }

    #[test]
    fn points_follow_the_values_and_text_is_escaped() {
        let chart = Chart {
            title: "Opens <&> clicks".into(),
            labels: vec!["0h".into(), "1h".into(), "2h".into()],
            series: vec![Series {
                name: "People",
                class: "people",
                values: vec![0, 5, 10],
            }],
        };
        let svg = chart.svg();
        assert!(
            svg.contains("aria-label=\"Opens &lt;&amp;&gt; clicks\""),
            "{svg}"
        );
        // 10 tops the axis (nice_max 10): the last point is at the top of the plot, the first
        // at its bottom.
        assert!(
            svg.contains("points=\"48.0,212.0 380.0,112.0 712.0,12.0\""),
            "{svg}"
        );
        assert_eq!(chart.rows()[1], ("1h".to_string(), vec![5]));
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "a dot per non-zero value"
        );
        // An axis of 1 has the ticks 0 and 1, once each.
        let one = Chart {
            title: "t".into(),
            labels: vec!["a".into()],
            series: vec![Series {
                name: "n",
                class: "c",
                values: vec![1],
            }],
        };
        assert_eq!(
            one.svg().matches("class=\"axis\"").count(),
            3,
            "ticks 0 and 1, and the label"
        );
    }
}
