//! What the generated crates ask of a spec beyond its format: no service may take a name
//! that the generated crates already use for something else.

use std::path::Path;

use feishu_spec::{Diagnostics, Spec};

use crate::naming::{RESERVED_CRATES, RESERVED_FEATURES, service_crate};

/// Refuses every spec file of a service named like one of the `feishu` crate's own
/// features, or whose crate would take the name of a crate beside the services. Those
/// files are taken out of `spec`, so the checks that follow do not report them again.
pub fn check(spec: &mut Spec, diagnostics: &mut Diagnostics) {
    let mut allowed = |service: &str, file: &Path| match refusal(service) {
        Some(message) => {
            diagnostics.push(file, None, "", message);
            false
        }
        None => true,
    };
    spec.endpoints
        .retain(|endpoint| allowed(&endpoint.id.service, &endpoint.file));
    spec.events
        .retain(|event| allowed(&event.id.service, &event.file));
    spec.shared
        .retain(|shared| allowed(&shared.service, &shared.file));
}

/// Why the service may not be generated under its name, if it may not.
fn refusal(service: &str) -> Option<String> {
    if RESERVED_FEATURES.contains(&service) {
        return Some(format!(
            "the service `{service}` would be a cargo feature of the generated crate, \
             and that name is taken by one of its own features ({})",
            RESERVED_FEATURES.join(", ")
        ));
    }
    let krate = service_crate(service);
    if RESERVED_CRATES.contains(&krate.as_str()) {
        return Some(format!(
            "the service `{service}` would be the crate `{krate}`, and that name is taken \
             by one of the crates beside the services ({})",
            RESERVED_CRATES.join(", ")
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use feishu_spec::{EndpointId, LoadedEndpoint, parse_str};

    use super::*;

    fn endpoint(service: &str) -> LoadedEndpoint {
        let text = format!(
            "title: T\ndoc_url: https://open.feishu.cn/t\nmethod: GET\n\
             path: /open-apis/{service}/v1/things\ntokens: [tenant]\n"
        );
        let rel = format!("{service}/v1/thing/list.yaml");
        LoadedEndpoint {
            id: EndpointId {
                service: service.into(),
                version: "v1".into(),
                resource: "thing".into(),
                method: "list".into(),
            },
            file: PathBuf::from(&rel),
            rel,
            spec: parse_str(&text).unwrap_or_else(|e| panic!("{e:?}")),
        }
    }

    #[test]
    fn services_named_like_a_feature_or_a_crate_beside_them_are_refused_and_left_out() {
        let mut spec = Spec {
            endpoints: ["full", "runtime", "svc", "websocket"].map(endpoint).into(),
            ..Spec::default()
        };
        let mut diagnostics = Diagnostics::default();
        check(&mut spec, &mut diagnostics);
        let kept: Vec<&str> = spec.endpoints.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(kept, ["svc/v1/thing/list.yaml"]);
        let refused: Vec<String> = diagnostics
            .0
            .iter()
            .map(|d| format!("{}: {}", d.file.display(), d.message))
            .collect();
        assert_eq!(refused.len(), 3, "{refused:#?}");
        assert!(
            refused[0].starts_with(
                "full/v1/thing/list.yaml: the service `full` would be a cargo feature"
            )
        );
        assert!(refused[1].starts_with(
            "runtime/v1/thing/list.yaml: the service `runtime` would be the crate `feishu-runtime`"
        ));
        assert!(refused[2].starts_with("websocket/v1/thing/list.yaml: the service `websocket`"));
    }
}
