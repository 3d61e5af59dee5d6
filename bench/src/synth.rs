//! A synthetic spec tree at Feishu's scale, for benchmarks.
//!
//! The shapes follow the real pages: every resource has a list endpoint (GET with
//! `page_size`/`page_token`), most have get/create/update/delete, and some have batch or
//! search actions. Bodies nest three to four levels deep (resource → settings → rule →
//! condition); fields carry string and integer options (enums), maps, arrays and length
//! and range rules; and every service version shares a few object types (`user_ref`,
//! `i18n_name`, …) through its `_types.yaml`. Each page defines the types it uses inline,
//! as real pages do, so a type is defined by several files with the same shape.
//!
//! The output is a function of the configuration alone: same numbers, same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use feishu_spec::model::{
    AppType, EndpointSpec, EnumOption, Envelope, ErrorCode, Examples, Field, HttpMethod, Payload,
    Response, Rules, Scope, SharedTypes, TokenKind, TypeDef,
};
use feishu_spec::{Located, Pos, SHARED_TYPES_FILE};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// How many endpoint files to write.
    pub endpoints: usize,
    /// How many services to spread them over (about 50 endpoints each, as on Feishu,
    /// when not given).
    pub services: usize,
    pub seed: u64,
}

impl Config {
    pub fn new(endpoints: usize) -> Self {
        Config {
            endpoints,
            services: endpoints.div_ceil(50).max(1),
            seed: 1,
        }
    }
}

/// Real Feishu service names, used first so the tree reads like the real one.
const SERVICE_NAMES: &[&str] = &[
    "contact",
    "im",
    "drive",
    "calendar",
    "approval",
    "attendance",
    "hire",
    "task",
    "wiki",
    "docx",
    "sheets",
    "bitable",
    "vc",
    "meeting_room",
    "mail",
    "admin",
    "helpdesk",
    "okr",
    "corehr",
    "payroll",
    "search",
    "application",
    "ehr",
    "lingo",
    "minutes",
    "report",
    "acs",
    "aily",
    "baike",
    "block",
    "board",
    "compensation",
    "directory",
    "event",
    "face_verify",
    "human_authentication",
    "mdm",
    "moments",
    "optical_char_recognition",
    "passport",
    "performance",
    "personal_settings",
    "security_and_compliance",
    "speech_to_text",
    "tenant",
    "translation",
    "verification",
    "workplace",
    "auth",
    "authen",
];

const RESOURCE_NAMES: &[&str] = &[
    "user",
    "department",
    "group",
    "member",
    "role",
    "event",
    "room",
    "file",
    "folder",
    "comment",
    "record",
    "table",
    "view",
    "field",
    "task",
    "section",
    "job",
    "talent",
    "offer",
    "shift",
    "rule",
    "template",
    "instance",
    "node",
    "space",
    "message",
    "chat",
    "tag",
    "category",
    "policy",
];

/// The kinds of endpoint a resource has, in the order they are handed out.
#[derive(Clone, Copy, Debug)]
enum Action {
    List,
    Get,
    Create,
    Patch,
    Delete,
    BatchGet,
    Search,
}

const ACTIONS: &[Action] = &[
    Action::List,
    Action::Get,
    Action::Create,
    Action::Patch,
    Action::Delete,
    Action::BatchGet,
    Action::Search,
];

/// The spec tree: file contents by path relative to the spec directory.
pub fn generate(config: Config) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut rng = fastrand::Rng::with_seed(config.seed);
    let services = config.services.clamp(1, config.endpoints.max(1));
    let mut remaining = config.endpoints;
    for s in 0..services {
        // Spread the endpoints evenly; the first services take the remainder.
        let share = remaining / (services - s);
        remaining -= share;
        if share == 0 {
            continue;
        }
        let service = service_name(s);
        let version = if rng.u8(0..10) < 8 { "v1" } else { "v2" };
        files.insert(
            format!("{service}/{version}/{SHARED_TYPES_FILE}"),
            render(&SharedTypes {
                types: shared_types(),
            }),
        );
        let mut left = share;
        let mut r = 0;
        while left > 0 {
            let resource = resource_name(r);
            let count = left.min(rng.usize(3..=ACTIONS.len()));
            let shape = ResourceShape::new(&mut rng, &resource);
            for action in &ACTIONS[..count] {
                let (method, spec) = endpoint(&mut rng, &service, version, &shape, *action);
                files.insert(
                    format!("{service}/{version}/{resource}/{method}.yaml"),
                    render(&spec),
                );
            }
            left -= count;
            r += 1;
        }
    }
    files
}

/// Writes the tree under `dir`, which must not hold a spec already.
pub fn write(files: &BTreeMap<String, String>, dir: &Path) -> std::io::Result<()> {
    for (rel, text) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("files sit in directories"))?;
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn service_name(i: usize) -> String {
    let base = SERVICE_NAMES[i % SERVICE_NAMES.len()];
    match i / SERVICE_NAMES.len() {
        0 => base.to_owned(),
        round => format!("{base}_{round}"),
    }
}

fn resource_name(i: usize) -> String {
    let base = RESOURCE_NAMES[i % RESOURCE_NAMES.len()];
    match i / RESOURCE_NAMES.len() {
        0 => base.to_owned(),
        round => format!("{base}_{round}"),
    }
}

fn render<T: serde::Serialize>(value: &T) -> String {
    let body = serde_saphyr::to_string(value).expect("a synthetic spec serializes");
    format!("# Written by `cargo xtask synth`: a synthetic endpoint for benchmarks.\n{body}")
}

fn at<T>(value: T) -> Located<T> {
    Located::new(value, Pos::default())
}

fn field(name: &str, ty: &str, required: bool, description: &str) -> Field {
    Field {
        name: at(name.to_owned()),
        ty: at(ty.to_owned()),
        required,
        description: description.to_owned(),
        example: None,
        default: None,
        options: Vec::new(),
        enum_name: None,
        rules: Rules::default(),
        field_scopes: Vec::new(),
        inferred: false,
        fields: None,
    }
}

fn with_example(mut f: Field, example: Value) -> Field {
    f.example = Some(example);
    f
}

fn with_fields(mut f: Field, fields: Vec<Field>) -> Field {
    f.fields = Some(fields);
    f
}

fn string_options(mut f: Field, values: &[&str]) -> Field {
    f.options = values
        .iter()
        .map(|v| EnumOption {
            value: at(json!(v)),
            meaning: format!("取值 {v}"),
            name: None,
            scopes: Vec::new(),
        })
        .collect();
    f
}

fn int_options(mut f: Field, names: &[&str]) -> Field {
    f.options = names
        .iter()
        .enumerate()
        .map(|(i, name)| EnumOption {
            value: at(json!(i + 1)),
            meaning: format!("状态 {name}"),
            name: Some(at((*name).to_owned())),
            scopes: Vec::new(),
        })
        .collect();
    f
}

fn with_rules(mut f: Field, rules: Rules) -> Field {
    f.rules = rules;
    f
}

fn length(min: u64, max: u64) -> Rules {
    Rules {
        min_length: Some(min),
        max_length: Some(max),
        ..Rules::default()
    }
}

fn range(min: f64, max: f64) -> Rules {
    Rules {
        min_value: Some(min),
        max_value: Some(max),
        ..Rules::default()
    }
}

/// The object types every service version shares (`_types.yaml`).
fn shared_types() -> Vec<TypeDef> {
    vec![
        TypeDef {
            name: at("user_ref".to_owned()),
            description: "用户信息".to_owned(),
            fields: vec![
                with_example(
                    field("user_id", "string", false, "用户 ID"),
                    json!("ou_7d8a6e6df7621556ce0d21922b676706ccs"),
                ),
                field("name", "string", false, "用户名"),
                field("avatar", "avatar_info", false, "头像"),
            ],
        },
        TypeDef {
            name: at("avatar_info".to_owned()),
            description: "头像图片".to_owned(),
            fields: vec![
                field("avatar_72", "string", false, "72*72 像素头像链接"),
                field("avatar_240", "string", false, "240*240 像素头像链接"),
                field("avatar_origin", "string", false, "原始头像链接"),
            ],
        },
        TypeDef {
            name: at("i18n_name".to_owned()),
            description: "多语言名称".to_owned(),
            fields: vec![
                field("zh_cn", "string", false, "中文名"),
                field("en_us", "string", false, "英文名"),
                field("ja_jp", "string", false, "日文名"),
            ],
        },
        TypeDef {
            name: at("time_info".to_owned()),
            description: "时间".to_owned(),
            fields: vec![
                with_example(
                    field("timestamp", "string", true, "毫秒时间戳"),
                    json!("1602504000000"),
                ),
                field("timezone", "string", false, "时区"),
            ],
        },
    ]
}

/// The object types of one resource. Optional fields vary from resource to resource so
/// the types are not all alike.
struct ResourceShape {
    name: String,
    /// The resource object, as get/list/create return it.
    object: Field,
    /// The fields a create or update body takes.
    writable: Vec<Field>,
}

impl ResourceShape {
    fn new(rng: &mut fastrand::Rng, name: &str) -> Self {
        let condition = with_fields(
            field("conditions", &format!("{name}_condition[]"), false, "条件"),
            vec![
                field("field_name", "string", true, "字段名"),
                string_options(
                    field("operator", "string", true, "运算符"),
                    &["is", "is_not", "contains", "is_empty"],
                ),
                field("values", "string[]", false, "取值"),
            ],
        );
        let rule = with_fields(
            field("rules", &format!("{name}_rule[]"), false, "规则"),
            vec![
                field("rule_id", "string", false, "规则 ID"),
                condition,
                field("priority", "int32", false, "优先级"),
            ],
        );
        let settings = with_fields(
            field("settings", &format!("{name}_setting"), false, "设置"),
            vec![
                field("notify", "bool", false, "是否通知"),
                with_rules(field("level", "int32", false, "级别"), range(0.0, 10.0)),
                rule,
                field("labels", "map<string, string>", false, "标签"),
            ],
        );
        let mut writable = vec![
            with_rules(
                with_example(
                    field("name", "string", true, "名称"),
                    json!(format!("{name} name")),
                ),
                length(1, 100),
            ),
            field("i18n_names", "i18n_name", false, "多语言名称"),
            field("description", "string", false, "描述"),
            int_options(
                field("status", "int", false, "状态"),
                &["active", "inactive", "archived"],
            ),
            field("owner", "user_ref", false, "负责人"),
            with_rules(field("tags", "string[]", false, "标签"), length(0, 20)),
            settings,
        ];
        let optional = [
            field("extra", "map<string, string>", false, "自定义属性"),
            field("start_time", "time_info", false, "开始时间"),
            field("end_time", "time_info", false, "结束时间"),
            field("weight", "float", false, "权重"),
            field("members", "user_ref[]", false, "成员"),
            field("attributes", "any", false, "任意属性"),
            string_options(
                field("visibility", "string", false, "可见性"),
                &["public", "private", "tenant"],
            ),
        ];
        for f in optional {
            if rng.bool() {
                writable.push(f);
            }
        }
        let mut object_fields = vec![field(&format!("{name}_id"), "string", false, "ID")];
        object_fields.extend(writable.iter().cloned());
        object_fields.push(field(
            "create_time",
            "string",
            false,
            "创建时间，毫秒时间戳",
        ));
        object_fields.push(field("creator", "user_ref", false, "创建人"));
        let object = with_fields(field(name, name, false, "资源"), object_fields);
        ResourceShape {
            name: name.to_owned(),
            object,
            writable,
        }
    }

    fn list_of(&self, wire: &str) -> Field {
        let mut f = self.object.clone();
        f.name = at(wire.to_owned());
        f.ty = at(format!("{}[]", self.name));
        f
    }
}

fn user_id_type() -> Field {
    let mut f = string_options(
        field("user_id_type", "string", false, "用户 ID 类型"),
        &["open_id", "union_id", "user_id"],
    );
    f.default = Some(json!("open_id"));
    f
}

fn page_params() -> Vec<Field> {
    let mut size = with_rules(
        field("page_size", "int", false, "分页大小"),
        range(1.0, 500.0),
    );
    size.default = Some(json!(20));
    vec![
        size,
        field("page_token", "string", false, "分页标记，第一次请求不填"),
        user_id_type(),
    ]
}

fn page_response(shape: &ResourceShape) -> Vec<Field> {
    vec![
        shape.list_of("items"),
        field("page_token", "string", false, "下一页的分页标记"),
        field("has_more", "bool", false, "是否还有更多项"),
    ]
}

fn endpoint(
    rng: &mut fastrand::Rng,
    service: &str,
    version: &str,
    shape: &ResourceShape,
    action: Action,
) -> (&'static str, EndpointSpec) {
    let name = &shape.name;
    let collection = format!("/open-apis/{service}/{version}/{name}s");
    let id_param = format!("{name}_id");
    let item = format!("{collection}/:{id_param}");
    let path_id = || {
        vec![with_example(
            field(&id_param, "string", true, "资源 ID"),
            json!("7010101010101010101"),
        )]
    };
    let data = |fields: Vec<Field>| Response {
        envelope: Envelope::Data,
        file: false,
        payload: Some(at(Payload {
            ty: None,
            fields: Some(fields),
        })),
    };
    let body = |fields: Vec<Field>| {
        Some(at(Payload {
            ty: None,
            fields: Some(fields),
        }))
    };
    let (method_name, method, path, title, mut spec) = match action {
        Action::List => (
            "list",
            HttpMethod::Get,
            collection,
            "列出",
            EndpointSpec {
                query_params: page_params(),
                response: data(page_response(shape)),
                ..blank()
            },
        ),
        Action::Get => (
            "get",
            HttpMethod::Get,
            item,
            "获取",
            EndpointSpec {
                path_params: path_id(),
                query_params: vec![user_id_type()],
                response: data(vec![shape.object.clone()]),
                ..blank()
            },
        ),
        Action::Create => (
            "create",
            HttpMethod::Post,
            collection,
            "创建",
            EndpointSpec {
                query_params: vec![user_id_type()],
                request_body: body(shape.writable.clone()),
                response: data(vec![shape.object.clone()]),
                ..blank()
            },
        ),
        Action::Patch => {
            let mut fields = shape.writable.clone();
            for f in &mut fields {
                f.required = false;
            }
            (
                "patch",
                HttpMethod::Patch,
                item,
                "更新",
                EndpointSpec {
                    path_params: path_id(),
                    query_params: vec![user_id_type()],
                    request_body: body(fields),
                    response: data(vec![shape.object.clone()]),
                    ..blank()
                },
            )
        }
        Action::Delete => (
            "delete",
            HttpMethod::Delete,
            item,
            "删除",
            EndpointSpec {
                path_params: path_id(),
                ..blank()
            },
        ),
        Action::BatchGet => (
            "batch_get",
            HttpMethod::Post,
            format!("{collection}/batch_get"),
            "批量获取",
            EndpointSpec {
                query_params: vec![user_id_type()],
                request_body: body(vec![with_rules(
                    field(&format!("{name}_ids"), "string[]", true, "ID 列表"),
                    length(1, 50),
                )]),
                response: data(vec![shape.list_of("items")]),
                ..blank()
            },
        ),
        Action::Search => {
            let query = with_rules(field("query", "string", true, "搜索关键词"), length(1, 50));
            (
                "search",
                HttpMethod::Post,
                format!("{collection}/search"),
                "搜索",
                EndpointSpec {
                    query_params: page_params(),
                    request_body: body(vec![
                        query,
                        field("filter", &format!("{name}_setting"), false, "过滤条件"),
                    ]),
                    response: data(page_response(shape)),
                    ..blank()
                },
            )
        }
    };
    spec.title = at(format!("{title}{name}"));
    spec.doc_url = at(format!(
        "https://open.feishu.cn/document/server-docs/{service}-{version}/{name}/{method_name}"
    ));
    spec.description = format!("{title}一个 {name} 资源。");
    spec.method = at(method);
    spec.path = at(path);
    spec.rate_limit = Some(["1000 次/分钟", "50 次/秒", "特殊频控"][rng.usize(0..3)].to_owned());
    let scope = format!("{service}:{name}");
    spec.scopes = vec![Scope {
        id: if matches!(
            action,
            Action::List | Action::Get | Action::BatchGet | Action::Search
        ) {
            format!("{scope}:readonly")
        } else {
            scope
        },
        name: format!("{title}{name}"),
    }];
    spec.tokens = at(if rng.u8(0..4) == 0 {
        vec![TokenKind::Tenant]
    } else {
        vec![TokenKind::Tenant, TokenKind::User]
    });
    if spec.request_body.is_some() {
        spec.content_type = Some("application/json; charset=utf-8".to_owned());
    }
    let base = 1_000_000 + rng.i64(0..9_000) * 100;
    spec.errors = vec![
        error(400, base, "invalid param"),
        error(403, base + 3, "no permission"),
        error(404, base + 4, "not found"),
        error(500, base + 50, "internal error"),
    ];
    (method_name, spec)
}

fn error(status: u16, code: i64, message: &str) -> ErrorCode {
    ErrorCode {
        http_status: Some(status),
        code: at(code),
        message: message.to_owned(),
        hint: String::new(),
    }
}

fn blank() -> EndpointSpec {
    EndpointSpec {
        title: at(String::new()),
        doc_url: at(String::new()),
        updated: Some("2024-01-01".to_owned()),
        host: Default::default(),
        description: String::new(),
        notes: Vec::new(),
        method: at(HttpMethod::Get),
        path: at(String::new()),
        rate_limit: None,
        app_types: vec![AppType::Custom, AppType::Store],
        scopes: Vec::new(),
        field_scopes: Vec::new(),
        tokens: at(Vec::new()),
        helpdesk: false,
        content_type: None,
        path_params: Vec::new(),
        query_params: Vec::new(),
        header_params: Vec::new(),
        request_body: None,
        response: Response::default(),
        types: Vec::new(),
        errors: Vec::new(),
        examples: Examples::default(),
    }
}
