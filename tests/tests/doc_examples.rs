//! Every request and response example in spec/ deserializes into its generated type and
//! serializes back to the same JSON.

use std::collections::BTreeMap;

use feishu_codegen::spec::{self, model::Envelope};
use feishu_tests::{endpoints, spec_dir};
use serde_json::Value;

#[test]
fn every_spec_endpoint_is_generated_and_every_generated_endpoint_has_a_spec() {
    let spec = spec::load(&spec_dir()).expect("spec/ loads");
    let specced: Vec<String> = spec.endpoints.iter().map(|e| e.id.dotted()).collect();
    let mut generated: Vec<String> = endpoints::all()
        .iter()
        .map(|e| e.meta.id.to_owned())
        .collect();
    generated.sort();
    assert_eq!(specced, generated);
}

#[test]
fn examples_round_trip_through_the_generated_types() {
    let spec = spec::load(&spec_dir()).expect("spec/ loads");
    let table: BTreeMap<&str, endpoints::Endpoint> = endpoints::all()
        .into_iter()
        .map(|e| (e.meta.id, e))
        .collect();
    let mut checked = 0;
    let mut failures = Vec::new();
    for loaded in &spec.endpoints {
        let id = loaded.id.dotted();
        let endpoint = &table[id.as_str()];
        if let Some(example) = &loaded.spec.examples.request {
            let example: Value = serde_json::from_str(example).expect("validated JSON");
            match (endpoint.body_roundtrip)(&example) {
                Ok(back) if back == example => checked += 1,
                Ok(back) => failures.push(format!("{id}: request example changed in the round trip:\n  doc:  {example}\n  back: {back}")),
                Err(err) => failures.push(format!("{id}: request example does not deserialize: {err}")),
            }
        }
        if let Some(example) = &loaded.spec.examples.response {
            let example: Value = serde_json::from_str(example).expect("validated JSON");
            let payload = match loaded.spec.response.envelope {
                Envelope::Data => example
                    .get("data")
                    .cloned()
                    .unwrap_or(Value::Object(Default::default())),
                Envelope::Flat => {
                    let mut flat = example.clone();
                    if let Some(object) = flat.as_object_mut() {
                        object.remove("code");
                        object.remove("msg");
                    }
                    flat
                }
            };
            match (endpoint.response_roundtrip)(&payload) {
                Ok(back) if back == payload => checked += 1,
                Ok(back) => failures.push(format!("{id}: response example changed in the round trip:\n  doc:  {payload}\n  back: {back}")),
                Err(err) => failures.push(format!("{id}: response example does not deserialize: {err}")),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        checked >= spec.endpoints.len(),
        "only {checked} examples checked"
    );
}
