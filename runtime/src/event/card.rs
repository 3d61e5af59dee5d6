//! Card callbacks (`card.action.trigger`): what a user did on a card, and the answer that
//! shows a toast and/or replaces the card. The shapes are those of Feishu's
//! card-callback-communication page.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::Event;
use crate::secret::Secret;

/// The event type of a card callback.
pub const CARD_ACTION_TRIGGER: &str = "card.action.trigger";

/// How long Feishu waits for a card callback's answer. Later, the user sees error 200341
/// ("the card callback service did not answer in time") and the answer is dropped; the
/// callback is not delivered again.
pub const CARD_ANSWER_WINDOW: std::time::Duration = std::time::Duration::from_secs(3);

/// The error the Feishu client shows for a card callback not answered within
/// [`CARD_ANSWER_WINDOW`].
pub const CARD_ANSWER_LATE: i64 = 200341;

/// What the dispatcher logs, at warning level, for a card callback answered too late.
pub(crate) const CARD_ACTION_LATE_HINT: &str = "a card callback was answered after Feishu's 3 seconds: the user saw error 200341 and the answer is lost; answer at once and update the card later with the callback's token";

/// A card callback's payload: a user clicked a button, submitted a form, picked an option…
/// on a card the app sent.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct CardAction {
    /// Who acted.
    #[serde(default)]
    pub operator: CardOperator,
    /// The token to [update the card](https://open.feishu.cn/document/ukTMukTMukTM/uMDO1YjLzgTN24yM4UjN)
    /// later: valid 30 minutes, for two updates.
    #[serde(default, deserialize_with = "secret")]
    pub token: Option<Secret>,
    /// What was done.
    #[serde(default)]
    pub action: CardActionData,
    /// Where the card is shown, e.g. `im_message`.
    #[serde(default)]
    pub host: Option<String>,
    /// `url_preview` for a link preview's card.
    #[serde(default)]
    pub delivery_type: Option<String>,
    /// Where the card is.
    #[serde(default)]
    pub context: CardContext,
}

impl Event for CardAction {
    const EVENT_TYPE: &'static str = CARD_ACTION_TRIGGER;
}

/// Who acted on a card.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct CardOperator {
    /// The user's tenant.
    #[serde(default)]
    pub tenant_key: Option<String>,
    /// The user's `user_id`, with the "获取用户 user ID" permission.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The user's `open_id`.
    #[serde(default)]
    pub open_id: Option<String>,
    /// The user's `union_id`.
    #[serde(default)]
    pub union_id: Option<String>,
}

/// What a user did on a card: the component and the values it sends back.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct CardActionData {
    /// The component's `value` as the app set it: a string or an object.
    #[serde(default)]
    pub value: Value,
    /// The component's tag, e.g. `button`.
    #[serde(default)]
    pub tag: Option<String>,
    /// The component's `name`, which identifies it inside a form.
    #[serde(default)]
    pub name: Option<String>,
    /// The user's time zone, sent by date and time pickers.
    #[serde(default)]
    pub timezone: Option<String>,
    /// A submitted form's values, by component name.
    #[serde(default)]
    pub form_value: Option<Map<String, Value>>,
    /// What was typed into an input outside a form.
    #[serde(default)]
    pub input_value: Option<String>,
    /// The option picked in a single-choice component outside a form.
    #[serde(default)]
    pub option: Option<String>,
    /// The options picked in a multiple-choice component outside a form.
    #[serde(default)]
    pub options: Option<Vec<String>>,
    /// A checker's state, outside a form.
    #[serde(default)]
    pub checked: Option<bool>,
}

/// Where the card is shown.
#[derive(Debug, Clone, Default, Deserialize)]
#[non_exhaustive]
pub struct CardContext {
    /// The link, for a link preview.
    #[serde(default)]
    pub url: Option<String>,
    /// The preview's token, for a link preview.
    #[serde(default)]
    pub preview_token: Option<String>,
    /// The message the card is in.
    #[serde(default)]
    pub open_message_id: Option<String>,
    /// The chat the card is in.
    #[serde(default)]
    pub open_chat_id: Option<String>,
}

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.map(Secret::new))
}

/// The answer to a card callback, sent as the HTTP body: a toast, a new card, both, or
/// neither (the card stays as it is).
///
/// ```
/// use feishu_runtime::event::{Card, CardResponse, Toast};
///
/// let answer = CardResponse::new()
///     .toast(Toast::success("Approved").i18n("en_us", "Approved").i18n("zh_cn", "已批准"))
///     .card(Card::raw(serde_json::json!({"schema": "2.0", "body": {"elements": []}})));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CardResponse {
    /// The toast the user sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toast: Option<Toast>,
    /// The card that replaces the one acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
}

impl CardResponse {
    /// An answer that leaves the card as it is and shows nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Shows `toast`.
    pub fn toast(mut self, toast: Toast) -> Self {
        self.toast = Some(toast);
        self
    }

    /// Replaces the card with `card`.
    pub fn card(mut self, card: Card) -> Self {
        self.card = Some(card);
        self
    }
}

/// A toast: a short message the Feishu client pops up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Toast {
    /// How it looks.
    #[serde(rename = "type")]
    pub kind: ToastKind,
    /// The text, in one language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The text per language (`zh_cn`, `en_us`, `ja_jp`, …), shown instead of `content`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub i18n: BTreeMap<String, String>,
}

impl Toast {
    /// A toast of kind `kind` saying `content`.
    pub fn new(kind: ToastKind, content: impl Into<String>) -> Self {
        Toast {
            kind,
            content: Some(content.into()),
            i18n: BTreeMap::new(),
        }
    }

    /// An informative toast.
    pub fn info(content: impl Into<String>) -> Self {
        Self::new(ToastKind::Info, content)
    }

    /// A success toast.
    pub fn success(content: impl Into<String>) -> Self {
        Self::new(ToastKind::Success, content)
    }

    /// A warning toast.
    pub fn warning(content: impl Into<String>) -> Self {
        Self::new(ToastKind::Warning, content)
    }

    /// An error toast.
    pub fn error(content: impl Into<String>) -> Self {
        Self::new(ToastKind::Error, content)
    }

    /// Adds the text in `language` (`zh_cn`, `en_us`, …).
    pub fn i18n(mut self, language: impl Into<String>, text: impl Into<String>) -> Self {
        self.i18n.insert(language.into(), text.into());
        self
    }
}

/// How a toast looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ToastKind {
    /// Informative.
    Info,
    /// A success.
    Success,
    /// A warning.
    Warning,
    /// An error.
    Error,
}

/// A card that replaces the one acted on: card JSON, or a template of the card builder.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Card {
    /// Card JSON (1.0 or 2.0, the same version as the card acted on).
    Raw(Value),
    /// A card built with the card builder, by template id.
    Template(CardTemplate),
}

impl Card {
    /// A card from its JSON.
    pub fn raw(card: Value) -> Self {
        Card::Raw(card)
    }

    /// The card builder's template `template_id`, in its latest version and without
    /// variables; see [`CardTemplate`] for those.
    pub fn template(template_id: impl Into<String>) -> Self {
        Card::Template(CardTemplate::new(template_id))
    }
}

/// A card builder template and its variables.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CardTemplate {
    /// The template's id, e.g. `AAqigYkzabcef`.
    pub template_id: String,
    /// The template's version, e.g. `1.0.0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_version_name: Option<String>,
    /// The values of the template's variables, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_variable: Option<Value>,
}

impl CardTemplate {
    /// The template `template_id`.
    pub fn new(template_id: impl Into<String>) -> Self {
        CardTemplate {
            template_id: template_id.into(),
            template_version_name: None,
            template_variable: None,
        }
    }

    /// Its version `version`.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.template_version_name = Some(version.into());
        self
    }

    /// The values of its variables, by name.
    pub fn variables(mut self, variables: Value) -> Self {
        self.template_variable = Some(variables);
        self
    }
}

impl From<CardTemplate> for Card {
    fn from(template: CardTemplate) -> Self {
        Card::Template(template)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The two answers of Feishu's card-callback-communication page.
    #[test]
    fn answers_as_the_callback_page_shows() {
        let toast = Toast::info("卡片交互成功")
            .i18n("zh_cn", "卡片交互成功")
            .i18n("en_us", "card action success");
        let raw = CardResponse::new().toast(toast.clone()).card(Card::raw(
            json!({"schema": "2.0", "body": {"elements": []}}),
        ));
        assert_eq!(
            serde_json::to_value(&raw).unwrap(),
            json!({
                "toast": {"type": "info", "content": "卡片交互成功",
                          "i18n": {"zh_cn": "卡片交互成功", "en_us": "card action success"}},
                "card": {"type": "raw", "data": {"schema": "2.0", "body": {"elements": []}}}
            })
        );
        let template = CardTemplate::new("AAqi6xJ8rabcd")
            .version("1.0.0")
            .variables(json!({"open_id": "ou_d506829e8b6a17607e56bcd6b1aabcef"}));
        let answer = CardResponse::new().toast(toast).card(template.into());
        assert_eq!(
            serde_json::to_value(&answer).unwrap()["card"],
            json!({"type": "template", "data": {
                "template_id": "AAqi6xJ8rabcd",
                "template_version_name": "1.0.0",
                "template_variable": {"open_id": "ou_d506829e8b6a17607e56bcd6b1aabcef"}
            }})
        );
        assert_eq!(
            serde_json::to_value(CardResponse::new()).unwrap(),
            json!({})
        );
        assert_eq!(
            serde_json::to_value(Toast::warning("careful")).unwrap(),
            json!({"type": "warning", "content": "careful"})
        );
    }

    /// The callback example of the page decodes, and its card token stays out of `Debug`.
    #[test]
    fn decodes_the_callback_example() {
        let event = json!({
            "operator": {"tenant_key": "2df73991750*****", "user_id": "867*****",
                         "open_id": "ou_3c14f3a59eaf2825dbe25359f15*****",
                         "union_id": "on_cad4860e7af114fb4ff6c5d496d*****"},
            "token": "c-295ee57216a5dc9de90fefd0aadb4b1d7d******",
            "action": {"value": {"key": "value"}, "tag": "button", "timezone": "Asia/Shanghai",
                       "form_value": {"field name2": "value2"}, "name": "Button_lvkepfu3"},
            "host": "im_message",
            "delivery_type": "url_preview",
            "context": {"url": "xxx", "preview_token": "xxx",
                        "open_message_id": "om_574d639e4a44e4dd646eaf628e2*****",
                        "open_chat_id": "oc_e4d2605ca917e695f54f11aaf56*****"}
        });
        let action: CardAction = serde_json::from_value(event).unwrap();
        assert_eq!(action.action.value, json!({"key": "value"}));
        assert_eq!(action.action.tag.as_deref(), Some("button"));
        assert_eq!(
            action.context.open_chat_id.as_deref(),
            Some("oc_e4d2605ca917e695f54f11aaf56*****")
        );
        assert_eq!(
            action.token.as_ref().map(Secret::expose),
            Some("c-295ee57216a5dc9de90fefd0aadb4b1d7d******")
        );
        assert!(!format!("{action:?}").contains("c-295ee"));
        let empty: CardAction = serde_json::from_value(json!({})).unwrap();
        assert!(empty.token.is_none());
    }
}
