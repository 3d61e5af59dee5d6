//! Every request and response example in spec/ deserializes into its generated type and
//! serializes back to the same JSON, or is listed, with why, in the doc-example quarantine.

use std::collections::{BTreeMap, BTreeSet};

use feishu_tests::{endpoints, events};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[test]
fn every_spec_endpoint_is_generated_and_every_generated_endpoint_has_a_spec() {
    let specced: Vec<String> = endpoints::specs().iter().map(|e| e.id.dotted()).collect();
    let mut generated: Vec<String> = endpoints::entries()
        .iter()
        .map(|e| e.id().to_owned())
        .collect();
    generated.sort();
    assert_eq!(specced, generated);
}

#[test]
fn every_spec_event_is_generated_and_every_generated_event_has_a_spec() {
    let mut specced: Vec<String> = events::specs()
        .iter()
        .map(|e| e.spec.event_type.value.clone())
        .collect();
    specced.sort();
    let mut generated: Vec<String> = events::entries()
        .iter()
        .map(|e| e.event_type.to_owned())
        .collect();
    generated.sort();
    assert_eq!(specced, generated);
}

/// A doc example that does not round-trip through its type, and why: the docs' own
/// mistakes (a string where the table says integer, a field the table does not list).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Quarantined {
    /// The endpoint (`im.v1.message.create`), or the event type (`im.message.receive_v1`).
    endpoint: String,
    /// `request` or `response`, or `event` (an event page's example: its `event` object).
    example: String,
    reason: String,
}

const QUARANTINE: &str = "tests/fixtures/doc-example-quarantine.yaml";
const QUARANTINE_HEADER: &str = "\
# The doc examples that do not round-trip through their generated types, with the first
# failure: mostly the docs' own mistakes. The doc_examples test fails when an example
# fails that is not listed, and when a listed one passes. After a re-import, write it
# anew with `UPDATE_DOC_EXAMPLE_QUARANTINE=1 cargo test -p feishu-tests -- doc_examples::`.
";

/// Round-trips one example; None when it passes.
fn failure(roundtrip: fn(&Value) -> Result<Value, String>, example: &Value) -> Option<String> {
    match roundtrip(example) {
        Ok(back) if same(example, &back) => None,
        Ok(back) => Some(format!(
            "changed in the round trip: {}",
            first_difference(example, &back)
        )),
        Err(err) => Some(format!("does not deserialize: {err}")),
    }
}

/// JSON equality where numbers compare by value: a float field turns the docs' `1` into
/// `1.0`, which is the same number.
fn same(doc: &Value, back: &Value) -> bool {
    match (doc, back) {
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w))
        }
        _ => doc == back,
    }
}

/// Where two JSON values first differ, as a path, so a reason stays one short line.
fn first_difference(doc: &Value, back: &Value) -> String {
    match (doc, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                match b.get(key) {
                    None => return format!("`{key}` is dropped"),
                    Some(other) if !same(value, other) => {
                        return format!("{key}.{}", first_difference(value, other));
                    }
                    Some(_) => {}
                }
            }
            match b.keys().find(|key| !a.contains_key(*key)) {
                Some(key) => format!("`{key}` is added"),
                None => "the objects differ".to_owned(),
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .position(|(x, y)| !same(x, y))
            .map_or_else(String::new, |i| {
                format!("[{i}].{}", first_difference(&a[i], &b[i]))
            }),
        (Value::Array(a), Value::Array(b)) => {
            format!("{} items become {}", a.len(), b.len())
        }
        _ => format!("{} becomes {}", brief(doc), brief(back)),
    }
}

/// A JSON value cut to a readable length.
fn brief(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

#[test]
fn examples_round_trip_through_the_generated_types_or_are_quarantined() {
    let specs = endpoints::specs();
    let table: BTreeMap<&str, endpoints::Endpoint> = endpoints::all()
        .into_iter()
        .map(|e| (e.meta.id, e))
        .collect();
    let mut failing = Vec::new();
    let mut passed = 0;
    for loaded in &specs {
        let id = loaded.id.dotted();
        // A download answers with a file: it has no JSON payload to round-trip.
        let Some(endpoint) = table.get(id.as_str()) else {
            continue;
        };
        let examples = [
            ("request", endpoint.body_roundtrip, request_example(loaded)),
            (
                "response",
                endpoint.response_roundtrip,
                endpoints::documented_payload(loaded),
            ),
        ];
        for (example, roundtrip, value) in examples {
            let Some(value) = value else { continue };
            match failure(roundtrip, &value) {
                None => passed += 1,
                Some(reason) => failing.push(Quarantined {
                    endpoint: id.clone(),
                    example: example.to_owned(),
                    reason,
                }),
            }
        }
    }
    let table: BTreeMap<&str, events::EventEntry> = events::entries()
        .into_iter()
        .map(|e| (e.event_type, e))
        .collect();
    for loaded in events::specs() {
        let event_type = loaded.spec.event_type.value.as_str();
        let Some(example) = &loaded.spec.example else {
            continue;
        };
        let envelope: Value = serde_json::from_str(example).expect("validated JSON");
        let entry = &table[event_type];
        let Some(payload) = envelope.get("event") else {
            failing.push(Quarantined {
                endpoint: event_type.to_owned(),
                example: "event".to_owned(),
                reason: "the example has no `event` object".to_owned(),
            });
            continue;
        };
        match failure(entry.roundtrip, payload) {
            None => passed += 1,
            Some(reason) => failing.push(Quarantined {
                endpoint: event_type.to_owned(),
                example: "event".to_owned(),
                reason,
            }),
        }
    }
    let path = feishu_tests::root().join(QUARANTINE);
    if std::env::var_os("UPDATE_DOC_EXAMPLE_QUARANTINE").is_some() {
        let body = serde_saphyr::to_string(&failing).unwrap();
        std::fs::write(&path, format!("{QUARANTINE_HEADER}{body}")).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let listed: Vec<Quarantined> =
        serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let key = |q: &Quarantined| (q.endpoint.clone(), q.example.clone());
    let listed_keys: BTreeSet<_> = listed.iter().map(key).collect();
    let failing_keys: BTreeSet<_> = failing.iter().map(key).collect();
    let new: Vec<String> = failing
        .iter()
        .filter(|q| !listed_keys.contains(&key(q)))
        .map(|q| format!("{} {} example {}", q.endpoint, q.example, q.reason))
        .collect();
    let fixed: Vec<String> = listed
        .iter()
        .filter(|q| !failing_keys.contains(&key(q)))
        .map(|q| format!("{} {} example", q.endpoint, q.example))
        .collect();
    assert!(
        new.is_empty(),
        "doc examples that do not round-trip:\n{}",
        new.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "quarantined doc examples that round-trip now; take them out of {QUARANTINE}:\n{}",
        fixed.join("\n")
    );
    assert!(passed > 0, "no example was checked");
}

fn request_example(loaded: &feishu_spec::LoadedEndpoint) -> Option<Value> {
    let example = loaded.spec.examples.request.as_ref()?;
    Some(serde_json::from_str(example).expect("validated JSON"))
}
