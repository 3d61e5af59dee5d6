//! Where an endpoint's spec file goes: `<service>/<version>/<resource>/<method>.yaml`,
//! read from the API path, with the doc URL's last segment to tell an action
//! (`/tickets/:id/answer_user_query`) from a resource (`/users/:id/okrs`).

use heck::ToSnakeCase;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub service: String,
    pub version: String,
    pub resource: String,
    /// The endpoint's method, or the event's name.
    pub method: String,
    /// An event's spec, `<name>.event.yaml`, rather than an endpoint's.
    pub event: bool,
}

impl Placement {
    /// The spec file's path below the spec directory, without `.yaml`: the kept page and
    /// the overrides file share it.
    pub fn rel_path(&self) -> String {
        let kind = if self.event { ".event" } else { "" };
        format!(
            "{}/{}/{}/{}{kind}",
            self.service, self.version, self.resource, self.method
        )
    }

    /// The file name the spec file's header names: `update` or `receive.event`.
    pub fn file_stem(&self) -> String {
        let kind = if self.event { ".event" } else { "" };
        format!("{}{kind}", self.method)
    }
}

/// Event types from before the 2.0 envelope name no service or version
/// (`approval_instance`, `p2p_chat_create`); Feishu's pages put them here. Each is placed
/// in a resource module of its own name (`approval/v4/approval_instance/approval_instance`).
pub const LEGACY_EVENT_SERVICES: &[(&str, &str, &str)] = &[
    ("approval_cc", "approval", "v4"),
    ("approval_instance", "approval", "v4"),
    ("approval_task", "approval", "v4"),
    ("leave_approval", "approval", "v4"),
    ("out_approval", "approval", "v4"),
    ("shift_approval", "approval", "v4"),
    ("work_approval", "approval", "v4"),
    ("p2p_chat_create", "im", "v1"),
    ("third_party_meeting_room_event_created", "calendar", "v4"),
];

/// Where an event's spec goes, from its type: `im.message.receive_v1` is
/// `im/v1/message/receive`, `im.chat.member.user.added_v1` is `im/v1/chat_member_user/added`
/// (the service, the version the last word ends in, the words between as the resource).
pub fn place_event(event_type: &str) -> Result<Placement, String> {
    let segments: Vec<&str> = event_type.split('.').collect();
    let is_word = |s: &&str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    };
    if !segments.iter().all(is_word) {
        return Err(format!(
            "the event type `{event_type}` is not lowercase words joined by `.`"
        ));
    }
    if let [single] = segments[..] {
        return LEGACY_EVENT_SERVICES
            .iter()
            .find(|(name, _, _)| *name == single)
            .map(|(name, service, version)| Placement {
                service: (*service).to_owned(),
                version: (*version).to_owned(),
                resource: (*name).to_owned(),
                method: (*name).to_owned(),
                event: true,
            })
            .ok_or_else(|| {
                format!(
                    "the event type `{event_type}` names no service and version \
                     (`service.resource.name_v1`), and is not one of the older types placed by hand"
                )
            });
    }
    let [service, resource @ .., last] = &segments[..] else {
        unreachable!("split gives one segment at least");
    };
    let version_at = last.rfind("_v").filter(|&at| {
        let digits = &last[at + 2..];
        at > 0 && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    let (Some(at), false) = (version_at, resource.is_empty()) else {
        return Err(format!(
            "the event type `{event_type}` is not `service.resource.name_v<N>`"
        ));
    };
    Ok(Placement {
        service: (*service).to_owned(),
        version: last[at + 1..].to_owned(),
        resource: resource.join("_"),
        method: last[..at].to_owned(),
        event: true,
    })
}

/// The version segment used for the few old APIs whose path has none
/// (`/open-apis/jssdk/ticket/get`).
pub const UNVERSIONED: &str = "legacy";

/// Action names that mark a path's last segment as a verb even when the doc URL does not
/// repeat it (`/building/batch_get_id`, `/ticket/get`).
const VERB_PREFIXES: &[&str] = &[
    "batch", "get", "list", "query", "search", "create", "update", "delete", "patch", "convert",
    "resend", "validate",
];

/// `path` is below the host (`/open-apis/…`, `:name` placeholders); `doc_url` the page.
pub fn place(http_method: &str, path: &str, doc_url: &str) -> Result<Placement, String> {
    // The old approval API (`www.feishu.cn/approval/openapi/v2/…`) is the approval service.
    let rest = match path.strip_prefix("/approval/openapi/") {
        Some(rest) => format!("approval/{rest}"),
        None => path
            .strip_prefix("/open-apis/")
            .ok_or_else(|| format!("the path `{path}` does not start with /open-apis/"))?
            .to_owned(),
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let service = segments
        .first()
        .ok_or_else(|| format!("the path `{path}` names no service"))?
        .to_snake_case();
    let version_at = segments.iter().take(3).position(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].chars().all(|c| c.is_ascii_digit())
    });
    let (version, prefix, tail) = match version_at {
        Some(i) => (segments[i].to_owned(), &segments[1..i], &segments[i + 1..]),
        None => (UNVERSIONED.to_owned(), &segments[..0], &segments[1..]),
    };
    let url_last = doc_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .replace('-', "_");
    let ends_with_param = tail.last().is_some_and(|s| s.starts_with(':'));
    let literals: Vec<&str> = prefix
        .iter()
        .chain(tail.iter())
        .copied()
        .filter(|s| !s.starts_with(':'))
        .collect();
    let last = literals.last().map(|s| s.to_snake_case());
    let is_action = !ends_with_param
        && literals.len() > 1
        && last.as_ref().is_some_and(|last| {
            url_last == *last
                || url_last.ends_with(&format!("_{last}"))
                || VERB_PREFIXES
                    .iter()
                    .any(|v| last == v || last.starts_with(&format!("{v}_")))
        });
    let (resource_segments, method) = if is_action {
        (&literals[..literals.len() - 1], last.unwrap_or_default())
    } else {
        let method = match (http_method, ends_with_param) {
            ("GET", true) => "get",
            ("GET", false) => "list",
            ("POST", _) => "create",
            ("PUT", _) => "update",
            ("PATCH", _) => "patch",
            ("DELETE", _) => "delete",
            (other, _) => return Err(format!("the HTTP method `{other}` is not supported")),
        };
        (&literals[..], method.to_owned())
    };
    if resource_segments.is_empty() {
        return Err(format!("the path `{path}` names no resource"));
    }
    let resource = resource_segments
        .iter()
        .map(|s| singular(&s.to_snake_case()))
        .collect::<Vec<_>>()
        .join("_");
    // The path's last literal may be a resource word rather than an action
    // (`/app_feed_card/batch` is the resource `app_feed_card_batch`).
    let with_action = format!("{resource}_{method}");
    let (resource, method) = match doc_placement(doc_url) {
        Some(doc)
            if (&doc.service, &doc.version) == (&service, &version)
                && (doc.resource == resource || (is_action && doc.resource == with_action)) =>
        {
            (doc.resource, doc.method)
        }
        _ => (resource, method),
    };
    Ok(Placement {
        service,
        version,
        resource,
        method,
        event: false,
    })
}

/// The placement a doc URL spells out as `…/<service>-<version>/<resource>/<method>`, the
/// names the official SDKs use. Only its method name is taken, and only where the service,
/// version and resource agree with the API path: the docs also group pages under topics
/// (`im-v2/groups-bots/update`) that are not resources.
fn doc_placement(doc_url: &str) -> Option<Placement> {
    let segments: Vec<&str> = doc_url.trim_end_matches('/').rsplit('/').take(3).collect();
    let [method, resource, service_version] = segments[..] else {
        return None;
    };
    let (service, version) = service_version.rsplit_once('-')?;
    let is_version = version.len() > 1
        && version.starts_with('v')
        && version[1..].chars().all(|c| c.is_ascii_digit());
    let is_name = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    };
    (is_version && is_name(service) && is_name(resource) && is_name(method)).then(|| Placement {
        event: false,
        service: service.to_snake_case(),
        version: version.to_owned(),
        resource: resource
            .split('-')
            .map(|word| singular(&word.to_snake_case()))
            .collect::<Vec<_>>()
            .join("_"),
        method: method.to_snake_case(),
    })
}

/// `tickets` → `ticket`, `entities` → `entity`; words that are not plural stay.
fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    // `mailboxes`, `statuses`, `aliases`: the `es` is the plural's.
    if ["xes", "ches", "shes", "sses", "uses", "iases"]
        .iter()
        .any(|ending| word.ends_with(ending))
    {
        return word[..word.len() - 2].to_owned();
    }
    match word.strip_suffix('s') {
        Some(stem) if !stem.ends_with('s') && !stem.ends_with('u') && !stem.is_empty() => {
            stem.to_owned()
        }
        _ => word.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(method: &str, path: &str, url: &str) -> String {
        place(method, path, url).unwrap().rel_path()
    }

    #[test]
    fn events_are_placed_by_their_type() {
        let at = |t: &str| place_event(t).map(|p| p.rel_path());
        assert_eq!(
            at("im.message.receive_v1").unwrap(),
            "im/v1/message/receive.event"
        );
        assert_eq!(
            at("im.chat.member.user.added_v1").unwrap(),
            "im/v1/chat_member_user/added.event"
        );
        assert_eq!(
            at("corehr.department.created_v2").unwrap(),
            "corehr/v2/department/created.event"
        );
        assert_eq!(
            at("approval_instance").unwrap(),
            "approval/v4/approval_instance/approval_instance.event"
        );
        for bad in [
            "im.message.receive",
            "im.receive_v1",
            "Im.message.receive_v1",
            "x",
            "a..b_v1",
            "a.b._v1",
        ] {
            assert!(at(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn places_by_path_and_doc_url() {
        let d = "https://open.feishu.cn/document/x";
        assert_eq!(
            at(
                "PATCH",
                "/open-apis/application/v6/applications/:app_id/feedbacks/:feedback_id",
                &format!("{d}/patch")
            ),
            "application/v6/application_feedback/patch"
        );
        assert_eq!(
            at(
                "POST",
                "/open-apis/helpdesk/v1/tickets/:ticket_id/answer_user_query",
                &format!("{d}/answer_user_query")
            ),
            "helpdesk/v1/ticket/answer_user_query"
        );
        assert_eq!(
            at(
                "PUT",
                "/open-apis/im/v2/chat_button",
                &format!("{d}/update")
            ),
            "im/v2/chat_button/update"
        );
        assert_eq!(
            at(
                "GET",
                "/open-apis/okr/v1/users/:user_id/okrs",
                &format!("{d}/list")
            ),
            "okr/v1/user_okr/list"
        );
        assert_eq!(
            at(
                "POST",
                "/open-apis/auth/v3/app_ticket/resend",
                &format!("{d}/app_ticket_resend")
            ),
            "auth/v3/app_ticket/resend"
        );
        assert_eq!(
            at(
                "POST",
                "/open-apis/auth/v3/tenant_access_token",
                &format!("{d}/tenant_access_token")
            ),
            "auth/v3/tenant_access_token/create"
        );
        assert_eq!(
            at(
                "GET",
                "/open-apis/meeting_room/building/batch_get_id",
                &format!("{d}/obtain-building-id")
            ),
            "meeting_room/legacy/building/batch_get_id"
        );
        assert_eq!(
            at(
                "DELETE",
                "/open-apis/drive/explorer/v2/file/spreadsheets/:spreadsheetToken",
                &format!("{d}/delete-sheet")
            ),
            "drive/v2/explorer_file_spreadsheet/delete"
        );
        assert_eq!(
            at(
                "POST",
                "/open-apis/block/v2/entities",
                &format!("{d}/create")
            ),
            "block/v2/entity/create"
        );
        assert_eq!(
            at(
                "GET",
                "/open-apis/mail/v1/user_mailboxes/:id/aliases",
                &format!("{d}/list")
            ),
            "mail/v1/user_mailbox_alias/list"
        );
        assert!(place("GET", "/api/x", d).is_err());
    }
}
