//! Reading `/metrics` in tests: a strict OpenMetrics parser (`openmetrics-parser`) checks the
//! text against the format, then its families are flattened back into the samples a query
//! names (`…_total`, `…_bucket`, `…_count`).

use std::collections::BTreeMap;

use openmetrics_parser::OpenMetricsValue;

/// One sample as Prometheus stores it: series name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// Parses OpenMetrics text, failing the test on anything the format forbids: a sample outside
/// a declared family, a counter without `_total`, histogram buckets that are not cumulative or
/// lack `+Inf`, a missing `# EOF`. Also checks what the parser leaves out: bucket bounds in
/// increasing order, and a `+Inf` bucket equal to `_count`.
///
/// The parser is stricter than the format in two places: it refuses `# UNIT` on a histogram,
/// and a family with no samples followed by another. The service writes neither (no UNIT
/// lines; `prometheus-client` leaves out families with no series yet).
pub fn parse_openmetrics(text: &str) -> Vec<Sample> {
    let exposition = openmetrics_parser::openmetrics::parse_openmetrics(text)
        .unwrap_or_else(|error| panic!("not valid OpenMetrics ({error}):\n{text}"));
    let mut samples = Vec::new();
    for family in exposition.families.values() {
        let name = &family.family_name;
        for sample in family.iter_samples() {
            let labels: BTreeMap<String, String> = sample
                .get_labelset()
                .expect("a parsed sample knows its label names")
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match &sample.value {
                OpenMetricsValue::Counter(counter) => {
                    samples.push((format!("{name}_total"), labels, counter.value.as_f64()));
                }
                OpenMetricsValue::Gauge(value) => {
                    samples.push((name.clone(), labels, value.as_f64()));
                }
                OpenMetricsValue::Histogram(histogram) => {
                    let count = histogram.count.expect("a histogram has a _count");
                    let bounds: Vec<f64> =
                        histogram.buckets.iter().map(|b| b.upper_bound).collect();
                    assert!(
                        bounds.windows(2).all(|w| w[0] < w[1]),
                        "{name}{labels:?}: bucket bounds not increasing: {bounds:?}"
                    );
                    let last = histogram.buckets.last().expect("a histogram has buckets");
                    assert!(last.upper_bound.is_infinite(), "{name}: +Inf is not last");
                    assert_eq!(
                        last.count.as_f64(),
                        count as f64,
                        "{name}{labels:?}: +Inf bucket differs from _count"
                    );
                    for bucket in &histogram.buckets {
                        let mut with_le = labels.clone();
                        let le = match bucket.upper_bound {
                            f64::INFINITY => "+Inf".to_owned(),
                            bound => bound.to_string(),
                        };
                        with_le.insert("le".to_owned(), le);
                        samples.push((format!("{name}_bucket"), with_le, bucket.count.as_f64()));
                    }
                    let sum = histogram.sum.expect("a histogram has a _sum");
                    samples.push((format!("{name}_sum"), labels.clone(), sum.as_f64()));
                    samples.push((format!("{name}_count"), labels, count as f64));
                }
                other => panic!("{name}: the service exports no {other:?}"),
            }
        }
    }
    samples
}

/// The value of the one sample named `name` whose labels include `labels`, summed when
/// several match.
pub fn sample(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let matching: Vec<f64> = samples
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.2)
        .collect();
    assert!(!matching.is_empty(), "no sample {name} {labels:?}");
    matching.iter().sum()
}

#[test]
fn text_that_breaks_the_format_is_refused() {
    let valid = "# TYPE a counter\na_total 1\n\
                 # TYPE h histogram\nh_bucket{le=\"1.0\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n\
                 # EOF\n";
    assert_eq!(sample(&parse_openmetrics(valid), "h_count", &[]), 2.0);
    for (broken, why) in [
        (valid.replace("# EOF\n", ""), "no # EOF"),
        (
            valid.replace("a_total 1", "a 1"),
            "a counter without _total",
        ),
        (
            valid.replace("} 2\nh_sum", "} 0\nh_sum"),
            "buckets not cumulative",
        ),
        (
            valid.replace("h_count 2", "h_count 3"),
            "+Inf differs from _count",
        ),
        (valid.replace("le=\"+Inf\"", "le=\"2.0\""), "no +Inf bucket"),
        (
            valid.replace("a_total 1", "b_total 1"),
            "a sample outside its family",
        ),
        (
            valid.replace("a_total 1", "a_total{x=\"1} 1"),
            "an unterminated label value",
        ),
    ] {
        let parsed = std::panic::catch_unwind(|| parse_openmetrics(&broken));
        assert!(parsed.is_err(), "accepted text with {why}:\n{broken}");
    }
}
