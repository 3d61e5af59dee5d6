//! The event page (`## 事件` with the event type, `事件体` with the envelope and its
//! `event` object, `事件体示例`) to an event spec.

use feishu_spec::model::{EventSpec, Payload};
use serde_json::Value;

use crate::cell::plain_text;
use crate::fields::{self, Defined, located, to_fields};
use crate::layout::Layout;
use crate::markdown::{Findings, descendants, field_rows, first_example, lead_and_notes};
use crate::nesting::{self, FieldRow};
use crate::page::{FrontMatter, Page, Section};

/// The row of the `## 事件` table that names the event type.
pub const EVENT_TYPE_ROW: &str = "事件类型";

/// The `## 事件` table's rows this reader understands.
const KNOWN_EVENT_ROWS: &[&str] = &[
    EVENT_TYPE_ROW,
    "支持的应用类型",
    "权限要求",
    "字段权限要求",
    "推送方式",
];

/// Whether the page documents an event: its `## 事件` table names an event type.
pub fn is_event_page(text: &str) -> bool {
    text.lines().any(|line| {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        cells.len() >= 3 && cells[0].is_empty() && cells[1] == EVENT_TYPE_ROW
    })
}

pub fn import(
    page: &Page,
    front: FrontMatter,
    sections: &[Section],
    found: &mut Findings,
) -> Option<EventSpec> {
    let mut warnings = Vec::new();
    let mut warn = |line: usize, what: &str, message: String| {
        warnings.push(page.diagnostic(line, what, message));
    };
    let layout = Layout::of(&front);
    let sections = &layout.sections(sections.to_vec());
    let Some(doc_url) = layout.doc_url(&front) else {
        found.errors.push(page.diagnostic(
            1,
            "front matter",
            "no `source_url` (or `fullPath`): the page's address is unknown",
        ));
        return None;
    };
    let title = front.title.clone().or_else(|| {
        let heading = sections.iter().find(|s| s.level == 1);
        heading.map(|s| s.title.clone())
    });
    let updated = layout.updated(&front, page);
    let (description, mut notes) =
        lead_and_notes(sections, &["事件", "事件体", "事件体示例"], &mut warn);

    let Some(table) = sections.iter().find(|s| s.title == "事件") else {
        found
            .errors
            .push(page.diagnostic(0, "事件", "the page has no `## 事件` section"));
        return None;
    };
    let rows = layout.request_rows(table, KNOWN_EVENT_ROWS);
    let value_of = |key: &str| rows.iter().find(|(_, k, _)| k == key);
    let Some((type_line, _, event_type)) = value_of(EVENT_TYPE_ROW) else {
        found.errors.push(page.diagnostic(
            table.line,
            "事件",
            "the event table has no `事件类型` row",
        ));
        return None;
    };
    let event_type = plain_text(event_type);
    for (line, key, _) in &rows {
        if !KNOWN_EVENT_ROWS.contains(&key.as_str()) {
            warn(
                *line,
                "事件",
                format!("the event-table row `{key}` is not understood; not kept"),
            );
        }
    }
    let app_types = value_of("支持的应用类型")
        .map(|(_, _, v)| layout.app_types(v))
        .unwrap_or_default();
    let mut scope_list = |key: &str| {
        let (scopes, _, callout) = value_of(key).map(|(_, _, v)| layout.scopes(v))?;
        notes.extend(callout);
        Some(scopes)
    };
    let scopes = scope_list("权限要求").unwrap_or_default();
    let field_scopes = scope_list("字段权限要求").unwrap_or_default();
    let delivery = value_of("推送方式")
        .map(|(_, _, v)| delivery_modes(v))
        .unwrap_or_default();

    let (example, payload) = payload(sections, layout, &mut warn, found, page);
    found.warnings.extend(warnings);
    let payload = payload?;
    let spec = EventSpec {
        title: located(title.unwrap_or_default()),
        doc_url: located(doc_url),
        updated,
        description,
        notes,
        event_type: located(event_type),
        app_types,
        scopes,
        field_scopes,
        delivery,
        payload: located(Payload {
            ty: None,
            fields: Some(payload),
        }),
        types: Vec::new(),
        example: example.map(located),
    };
    if spec.event_type.is_empty() {
        found
            .errors
            .push(page.diagnostic(*type_line, EVENT_TYPE_ROW, "the event type is empty"));
        return None;
    }
    Some(spec)
}

/// `` `Webhook` `长连接` `` → [`Webhook`, `长连接`].
fn delivery_modes(value: &str) -> Vec<String> {
    let text = plain_text(value);
    let modes = text.split([',', '，', '、', '\n', ' ']).map(str::trim);
    modes.filter(|m| !m.is_empty()).map(str::to_owned).collect()
}

/// The `事件体` table's `event` object as fields, with the page's example (the whole
/// envelope) as its text. A page that documents several event bodies is read for its
/// first; the others are warned about.
fn payload(
    sections: &[Section],
    layout: Layout,
    warn: &mut dyn FnMut(usize, &str, String),
    found: &mut Findings,
    page: &Page,
) -> (Option<String>, Option<Vec<feishu_spec::model::Field>>) {
    // `事件体`, or `事件体（事件类型为 leave_approval）` where a page documents two; older
    // pages call the example `回调示例`.
    let titled = |prefix: &'static str| {
        sections.iter().filter(move |s| {
            let alias = prefix == "事件体示例" && s.title == "回调示例";
            alias
                || s.title
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('（'))
        })
    };
    for (title, extra) in [
        ("事件体", titled("事件体").nth(1)),
        ("事件体示例", titled("事件体示例").nth(1)),
    ] {
        if let Some(extra) = extra {
            warn(
                extra.line,
                title,
                format!("a second `{}` section is not read", extra.title),
            );
        }
    }
    let example = titled("事件体示例")
        .next()
        .and_then(|s| first_example(s, "事件体示例", warn));
    let envelope = example.as_ref().map(|e| &e.value);
    let Some(body) = titled("事件体").next() else {
        // Older pages show only the example; its `event` object gives the fields.
        let event = envelope
            .and_then(|e| e.get("event"))
            .filter(|e| e.is_object());
        let Some(event) = event else {
            found.errors.push(page.diagnostic(
                0,
                "事件体",
                "the page has neither an `事件体` table nor an example with an `event` object",
            ));
            return (None, None);
        };
        warn(
            0,
            "事件体",
            "the page has no `事件体` table; the payload's fields are inferred from the example"
                .to_owned(),
        );
        let inferred = fields::infer_object(
            std::slice::from_ref(event),
            &mut Defined::default(),
            "event",
        );
        return (example.map(|e| e.text), inferred);
    };
    let rows = field_rows(body, layout, warn, found);
    let Some(event_rows) = event_rows(&rows, envelope) else {
        found.errors.push(page.diagnostic(
            body.line,
            "事件体",
            "the table has no top-level `event` row, so the payload is unknown",
        ));
        return (example.map(|e| e.text), None);
    };
    let listed = fields::listed_with_fields(&event_rows);
    let mut defined = Defined::expecting(listed);
    let event_example = envelope.and_then(|e| e.get("event"));
    let mut w = |line: usize, m: String| warn(line, "事件体", m);
    let fields = match nesting::rebuild(event_rows, event_example, &mut w) {
        Ok(nodes) => to_fields(&nodes, &mut defined, &mut w),
        Err(error) => {
            found
                .errors
                .push(page.diagnostic(error.line(), "事件体", error.to_string()));
            return (None, None);
        }
    };
    (example.map(|e| e.text), Some(fields))
}

/// The rows under the envelope's top-level `event` row, one level up.
fn event_rows(rows: &[FieldRow], envelope: Option<&Value>) -> Option<Vec<FieldRow>> {
    // Nested once to find where `event`'s rows end; problems are reported when its
    // rows are read for real.
    let mut quiet = |_: usize, _: String| {};
    let tree = nesting::rebuild(rows.to_vec(), envelope, &mut quiet).ok()?;
    let event = tree.iter().find(|node| node.row.name == "event")?;
    let rows = descendants(event).into_iter().map(|mut row| {
        row.depth = row.depth.map(|d| d.saturating_sub(1));
        row
    });
    Some(rows.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_page_is_told_by_its_event_type_row() {
        assert!(is_event_page(
            "| 项目 | 值 |\n| --- | --- |\n| 事件类型 | im.message.receive_v1 |"
        ));
        assert!(!is_event_page(
            "| HTTP URL | https://open.feishu.cn/open-apis/x |"
        ));
        assert!(!is_event_page("见事件类型 | 说明"));
    }

    #[test]
    fn delivery_modes_are_split() {
        assert_eq!(delivery_modes("`Webhook`"), ["Webhook"]);
        assert_eq!(delivery_modes("`Webhook`、`长连接`"), ["Webhook", "长连接"]);
    }
}
