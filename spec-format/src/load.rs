//! Finding and parsing the spec files under a spec directory.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::Pos;
use super::model::{EndpointSpec, EventSpec, SharedTypes};
use super::type_expr::is_snake_case;
use rayon::prelude::*;

use crate::diagnostic::{Diagnostic, Diagnostics};

/// The name of a service version's shared-types file.
pub const SHARED_TYPES_FILE: &str = "_types.yaml";
/// How an event spec file's name ends: `<service>/<version>/<resource>/<name>.event.yaml`.
pub const EVENT_SUFFIX: &str = ".event.yaml";
/// The importer's quarantine at the root of the spec tree: pages that do not import yet.
pub const QUARANTINE_FILE: &str = "quarantine.yaml";

/// Where an endpoint sits in the API: taken from its file's place in the spec tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EndpointId {
    pub service: String,
    pub version: String,
    pub resource: String,
    pub method: String,
}

impl EndpointId {
    /// `helpdesk.v1.ticket.update`
    pub fn dotted(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.service, self.version, self.resource, self.method
        )
    }
}

#[derive(Clone, Debug)]
pub struct LoadedEndpoint {
    pub id: EndpointId,
    /// The file as the user named it (spec dir joined with its relative path).
    pub file: PathBuf,
    /// The file relative to the spec dir, with `/` separators.
    pub rel: String,
    pub spec: EndpointSpec,
}

/// Where an event sits: its file's place in the spec tree.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    pub service: String,
    pub version: String,
    pub resource: String,
    /// The file's name without `.event.yaml` (`receive`).
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct LoadedEvent {
    pub id: EventId,
    pub file: PathBuf,
    pub rel: String,
    pub spec: EventSpec,
}

#[derive(Clone, Debug)]
pub struct LoadedShared {
    pub service: String,
    pub version: String,
    pub file: PathBuf,
    pub rel: String,
    pub spec: SharedTypes,
}

/// Every spec file of a spec directory, parsed, in path order.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    pub endpoints: Vec<LoadedEndpoint>,
    pub events: Vec<LoadedEvent>,
    pub shared: Vec<LoadedShared>,
}

/// Reads every spec file under `dir`. Problems in one file do not stop the others from
/// being read, so a run reports all of them.
pub fn load(dir: &Path) -> Result<Spec, Diagnostics> {
    let (spec, diagnostics) = load_all(dir);
    diagnostics.into_result(spec)
}

/// Spec files that are not on disk (yet): their text by path relative to the spec
/// directory (`/`-separated). They stand in for the files at those paths, or are added.
pub type Overlay = std::collections::BTreeMap<String, String>;

/// Reads every spec file under `dir`: the files that parsed, and the problems of the
/// others, so a run can go on to check what did parse.
pub fn load_all(dir: &Path) -> (Spec, Diagnostics) {
    load_all_with(dir, &Overlay::new())
}

/// [`load_all`] of the tree as it would be with the `overlay`'s files written into it:
/// how the importer checks what an import would make before it writes anything.
pub fn load_all_with(dir: &Path, overlay: &Overlay) -> (Spec, Diagnostics) {
    let mut diagnostics = Diagnostics::default();
    let mut spec = Spec::default();
    let mut files = Vec::new();
    let listed = match collect_files(dir, &mut files) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound && !overlay.is_empty() => Ok(()),
        listed => listed,
    };
    files.extend(overlay.keys().map(|rel| dir.join(rel)));
    if let Err(err) = listed {
        diagnostics.push(
            dir,
            None,
            "",
            format!("cannot read the spec directory: {err}"),
        );
        return (spec, diagnostics);
    }
    files.sort();
    files.dedup();
    let mut pending = Vec::new();
    for file in files {
        let rel_path = file.strip_prefix(dir).unwrap_or(&file);
        let parts: Vec<String> = rel_path
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let rel = parts.join("/");
        let Some(file_name) = parts.last() else {
            continue;
        };
        if file_name.ends_with(".yml") {
            diagnostics.push(&file, None, "", "spec files end in `.yaml`");
            continue;
        }
        if rel == QUARANTINE_FILE {
            // The importer's list of pages it cannot import yet.
            continue;
        }
        if file_name.ends_with(".overrides.yaml") {
            // The importer's manual corrections; it applies them, and they are not spec files.
            continue;
        }
        let is_event = file_name.ends_with(EVENT_SUFFIX);
        let stem = file_name
            .strip_suffix(EVENT_SUFFIX)
            .or_else(|| file_name.strip_suffix(".yaml"));
        let Some(stem) = stem else {
            // Source pages, README files and schema.json live beside the specs.
            continue;
        };
        let dirs = &parts[..parts.len() - 1];
        for segment in dirs.iter().map(String::as_str).chain(std::iter::once(stem)) {
            if segment != "_types" && !is_snake_case(segment) {
                diagnostics.push(
                    &file,
                    None,
                    "",
                    format!(
                        "`{segment}` in the file's path is not snake_case; it names a Rust module"
                    ),
                );
            }
        }
        match (dirs, stem) {
            ([service, version, resource], name) if is_event => pending.push(Pending::Event {
                id: EventId {
                    service: service.clone(),
                    version: version.clone(),
                    resource: resource.clone(),
                    name: name.to_owned(),
                },
                file,
                rel,
            }),
            ([service, version], "_types") => pending.push(Pending::Shared {
                service: service.clone(),
                version: version.clone(),
                file,
                rel,
            }),
            ([service, version, resource], method) if method != "_types" => {
                pending.push(Pending::Endpoint {
                    id: EndpointId {
                        service: service.clone(),
                        version: version.clone(),
                        resource: resource.clone(),
                        method: method.to_owned(),
                    },
                    file,
                    rel,
                })
            }
            _ => diagnostics.push(
                &file,
                None,
                "",
                format!(
                    "a spec file belongs at <service>/<version>/<resource>/<method>.yaml, \
                     <service>/<version>/<resource>/<name>{EVENT_SUFFIX} for an event, or \
                     <service>/<version>/{SHARED_TYPES_FILE} for shared types"
                ),
            ),
        }
    }
    // Parsing is most of the loading time and each file stands alone, so the files are
    // parsed on all cores; the results are taken in path order, so output stays the same.
    let parsed: Vec<Result<Loaded, Diagnostic>> =
        pending.into_par_iter().map(|p| p.parse(overlay)).collect();
    for result in parsed {
        match result {
            Ok(Loaded::Endpoint(endpoint)) => spec.endpoints.push(*endpoint),
            Ok(Loaded::Event(event)) => spec.events.push(*event),
            Ok(Loaded::Shared(shared)) => spec.shared.push(shared),
            Err(diagnostic) => diagnostics.0.push(diagnostic),
        }
    }
    (spec, diagnostics)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A spec file found, not yet parsed.
enum Pending {
    Endpoint {
        id: EndpointId,
        file: PathBuf,
        rel: String,
    },
    Event {
        id: EventId,
        file: PathBuf,
        rel: String,
    },
    Shared {
        service: String,
        version: String,
        file: PathBuf,
        rel: String,
    },
}

enum Loaded {
    Endpoint(Box<LoadedEndpoint>),
    Event(Box<LoadedEvent>),
    Shared(LoadedShared),
}

impl Pending {
    fn parse(self, overlay: &Overlay) -> Result<Loaded, Diagnostic> {
        Ok(match self {
            Pending::Endpoint { id, file, rel } => {
                let spec = parse_file(&file, overlay.get(&rel))?;
                Loaded::Endpoint(Box::new(LoadedEndpoint {
                    id,
                    file,
                    rel,
                    spec,
                }))
            }
            Pending::Event { id, file, rel } => {
                let spec = parse_file(&file, overlay.get(&rel))?;
                Loaded::Event(Box::new(LoadedEvent {
                    id,
                    file,
                    rel,
                    spec,
                }))
            }
            Pending::Shared {
                service,
                version,
                file,
                rel,
            } => {
                let spec = parse_file(&file, overlay.get(&rel))?;
                Loaded::Shared(LoadedShared {
                    service,
                    version,
                    file,
                    rel,
                    spec,
                })
            }
        })
    }
}

/// Parses the spec file `file`, whose text is `text` when it is not to be read from disk.
fn parse_file<T: DeserializeOwned>(file: &Path, text: Option<&String>) -> Result<T, Diagnostic> {
    let diagnostic = |pos, field: String, message: String| Diagnostic {
        file: file.to_path_buf(),
        pos,
        field,
        message,
    };
    let read;
    let text = match text {
        Some(text) => text,
        None => {
            let bytes = crate::read_limited(file, crate::MAX_SPEC_FILE_BYTES)
                .map_err(|err| diagnostic(None, String::new(), err.to_string()))?;
            read = String::from_utf8(bytes)
                .map_err(|err| diagnostic(None, String::new(), format!("not UTF-8 text: {err}")))?;
            &read
        }
    };
    parse_str(text).map_err(|(pos, field, message)| diagnostic(pos, field, message))
}

/// Parses one spec document. The error carries the position, the field path and the message.
pub fn parse_str<T: DeserializeOwned>(text: &str) -> Result<T, (Option<Pos>, String, String)> {
    // Tracking the field path doubles the cost of parsing, and only an error needs it: a
    // valid file is parsed once without it, and a failing one again with it.
    if let Ok(value) = serde_saphyr::from_str(text) {
        return Ok(value);
    }
    let mut path = String::new();
    let result = serde_saphyr::with_deserializer_from_str(text, |deserializer| {
        let mut track = serde_path_to_error::Track::new();
        let tracked = serde_path_to_error::Deserializer::new(deserializer, &mut track);
        let result = T::deserialize(tracked);
        if result.is_err() {
            path = track.path().to_string();
        }
        result
    });
    result.map_err(|err| {
        let pos = err.location().map(Pos::from);
        let field = if path == "." {
            String::new()
        } else {
            without_span_wrappers(&path)
        };
        (pos, field, first_line(&err.to_string()))
    })
}

/// [`Located`](super::Located) values are read through serde-saphyr's span wrapper, which
/// shows in the path as a `.value` segment after the field (`type.value`, `tokens.value[1]`);
/// the user wrote `type` and `tokens[1]`.
fn without_span_wrappers(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(at) = rest.find(".value") {
        let after = &rest[at + ".value".len()..];
        out.push_str(&rest[..at]);
        if !(after.is_empty() || after.starts_with('[') || after.starts_with('.')) {
            out.push_str(".value");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// serde-saphyr appends a source snippet to its messages; the diagnostic has its own position.
/// It also starts them with `error: line L column C: `, which the diagnostic says its own way.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default().trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let without_position = line
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
        .filter(|(position, _)| position.contains(" column "))
        .map(|(_, message)| message);
    without_position.unwrap_or(line).to_owned()
}
