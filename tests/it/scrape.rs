//! Reading `/metrics` in tests.

use std::collections::{BTreeMap, HashMap};

/// One parsed sample: metric name, labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// A strict reader of the Prometheus text format: every line is a comment, `# HELP`/`# TYPE`,
/// or `name{label="value",...} number`; every sample belongs to a declared family; histogram
/// buckets are cumulative and end in `+Inf` equal to `_count`.
pub fn parse_prometheus(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad type in {line:?}"
            );
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice: {name}"
            );
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (
                name,
                parse_labels(rest.strip_suffix('}').expect("closing brace")),
            ),
            None => (series, BTreeMap::new()),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name in {line:?}"
        );
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                name.strip_suffix(suffix)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(name);
        assert!(
            types.contains_key(family),
            "sample without a TYPE: {line:?}"
        );
        samples.push((name.to_owned(), labels, value));
    }
    check_histograms(&samples);
    samples
}

fn parse_labels(raw: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label name");
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("unterminated label value") {
                (_, '\\') => match chars.next().expect("escape").1 {
                    'n' => value.push('\n'),
                    c => value.push(c),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels
}

fn check_histograms(samples: &[Sample]) {
    // (family, labels other than `le`) → [(le, cumulative count)]
    type Series = (String, Vec<(String, String)>);
    let mut buckets: BTreeMap<Series, Vec<(f64, f64)>> = BTreeMap::new();
    for (name, labels, value) in samples {
        if let Some(base) = name.strip_suffix("_bucket") {
            let le: f64 = match labels["le"].as_str() {
                "+Inf" => f64::INFINITY,
                other => other.parse().unwrap(),
            };
            let rest: Vec<_> = labels
                .iter()
                .filter(|(k, _)| *k != "le")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            buckets
                .entry((base.to_owned(), rest))
                .or_default()
                .push((le, *value));
        }
    }
    for ((base, labels), series) in buckets {
        assert!(
            series
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{base}: buckets not cumulative"
        );
        let (last_le, last) = *series.last().unwrap();
        assert!(last_le.is_infinite(), "{base}: no +Inf bucket");
        let count = samples
            .iter()
            .find(|(n, l, _)| {
                *n == format!("{base}_count")
                    && labels.iter().all(|(k, v)| l.get(k) == Some(v))
                    && l.len() == labels.len()
            })
            .map(|s| s.2);
        assert_eq!(count, Some(last), "{base}: +Inf bucket differs from _count");
    }
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
