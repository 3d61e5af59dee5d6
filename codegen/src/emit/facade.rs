//! The `feishu` crate's hand-written parts, rendered whole: its manifest and `lib.rs` are
//! templates kept in `codegen/templates/facade/`, so that every file under `generated/` is
//! machine output and the hand-written text still reads (and is reviewed) as one file.

use super::HEADER;
use super::manifest::{TOML_HEADER, facade_lines};
use crate::ir::Ir;

/// The template of the `feishu` crate's manifest.
const MANIFEST_TEMPLATE: &str = include_str!("../../templates/facade/manifest.toml");
/// The template of the `feishu` crate's `src/lib.rs`.
const LIB_TEMPLATE: &str = include_str!("../../templates/facade/lib.rs");

/// The line of the manifest template that becomes the features of the services.
pub const FEATURES_PLACEHOLDER: &str = "{{service_features}}";
/// The line of the manifest template that becomes the optional service crates.
pub const CRATES_PLACEHOLDER: &str = "{{service_crates}}";

/// The `feishu` crate's `Cargo.toml`: the template with its placeholder lines filled in.
pub fn manifest(ir: &Ir) -> String {
    let lines = facade_lines(ir);
    let body = fill(MANIFEST_TEMPLATE, FEATURES_PLACEHOLDER, &lines.features);
    let body = fill(&body, CRATES_PLACEHOLDER, &lines.dependencies);
    format!("{TOML_HEADER}\n# Template: codegen/templates/facade/manifest.toml\n\n{body}")
}

/// The `feishu` crate's `src/lib.rs`: the template as it is, under the header.
pub fn lib_rs() -> String {
    format!("{HEADER}\n// Template: codegen/templates/facade/lib.rs\n\n{LIB_TEMPLATE}")
}

/// `template` with its line `placeholder` replaced by `lines` (which end in a newline).
fn fill(template: &str, placeholder: &str, lines: &str) -> String {
    template.replacen(&format!("{placeholder}\n"), lines, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_placeholder_is_a_line_of_the_manifest_template_once() {
        for placeholder in [FEATURES_PLACEHOLDER, CRATES_PLACEHOLDER] {
            let lines = MANIFEST_TEMPLATE
                .lines()
                .filter(|line| line.contains(placeholder))
                .collect::<Vec<_>>();
            assert_eq!(lines, [placeholder], "{placeholder}");
        }
    }

    #[test]
    fn the_templates_are_not_generated_files_themselves() {
        for template in [MANIFEST_TEMPLATE, LIB_TEMPLATE] {
            assert!(!super::super::is_generated(template));
        }
    }
}
