//! The emulator's im core, as a bot's tests use it through the typed client: what is sent
//! can be read back, listed, replied to, updated and deleted, and content that does not fit
//! its `msg_type` is refused as Feishu refuses it; chats made are kept likewise.

use feishu::im::v1::message::{
    ContainerIdType, CreateMessageBody, CreateMessageRequest, DeleteMessageRequest,
    GetMessageRequest, ListMessageRequest, MsgType, ReceiveIdType, ReplyMessageBody,
    ReplyMessageBodyMsgType, ReplyMessageRequest, UpdateMessageBody, UpdateMessageBodyMsgType,
    UpdateMessageRequest,
};
use feishu_emulator::Emulator;

const CHAT: &str = "oc_team";

fn text(text: &str) -> String {
    serde_json::json!({ "text": text }).to_string()
}

#[tokio::test]
async fn messages_sent_can_be_read_back_listed_replied_to_updated_and_deleted() {
    let emulator = Emulator::start().await;
    let client = emulator.client_builder().build().unwrap();
    let messages = client.im().v1().message();

    let send = |content: String| {
        let body = CreateMessageBody::new(CHAT, MsgType::Text, content);
        messages.create(CreateMessageRequest::new(ReceiveIdType::ChatId, body))
    };
    let first = send(text("hello")).await.unwrap();
    let second = send(text("again")).await.unwrap();
    let first_id = first.message_id.expect("a message id, as Feishu answers");
    let second_id = second.message_id.expect("a message id");
    assert_ne!(first_id, second_id, "ids are unique per message");

    let reply = ReplyMessageBody::new(text("a reply"), ReplyMessageBodyMsgType::Text);
    let replied = messages
        .reply(ReplyMessageRequest::new(&first_id, reply))
        .await
        .unwrap();
    assert_eq!(replied.parent_id.as_deref(), Some(first_id.as_str()));
    assert_eq!(
        replied.chat_id.as_deref(),
        Some(CHAT),
        "in the parent's chat"
    );

    let update = UpdateMessageBody::new(UpdateMessageBodyMsgType::Text, text("edited"));
    messages
        .update(UpdateMessageRequest::new(&second_id, update))
        .await
        .unwrap();
    let got = messages
        .get(GetMessageRequest::new(&second_id))
        .await
        .unwrap();
    let got = &got.items.expect("the message")[0];
    assert_eq!(
        got.body.as_ref().and_then(|b| b.content.as_deref()),
        Some(text("edited").as_str())
    );
    assert_eq!(got.updated, Some(true));

    messages
        .delete(DeleteMessageRequest::new(&first_id))
        .await
        .unwrap();
    let listed: Vec<String> = messages
        .list(ListMessageRequest::new(ContainerIdType::Chat, CHAT))
        .items()
        .try_collect()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|message| message.message_id)
        .collect();
    let reply_id = replied.message_id.unwrap();
    assert_eq!(
        listed,
        [second_id, reply_id],
        "the chat's messages, the deleted one gone"
    );
    let kept = emulator.messages();
    assert_eq!(kept.len(), 3);
    assert_eq!(kept[0]["deleted"], true);
}

#[tokio::test]
async fn content_that_does_not_fit_its_type_is_refused_as_feishu_refuses_it() {
    let emulator = Emulator::start().await;
    let client = emulator.client_builder().build().unwrap();
    let send = |content: String| {
        let body = CreateMessageBody::new(CHAT, MsgType::Text, content);
        client
            .im()
            .v1()
            .message()
            .create(CreateMessageRequest::new(ReceiveIdType::ChatId, body))
    };
    // The first bug of many a bot: the text itself, not its JSON.
    let err = send("hello".to_owned()).await.unwrap_err();
    let api = err.as_api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!((api.status, api.code), (400, 230001));
    assert_eq!(api.field_violations[0].field, "content");

    let too_long = text(&"x".repeat(150 * 1024));
    let err = send(too_long).await.unwrap_err();
    assert_eq!(err.as_api().map(|api| api.code), Some(230025));
    assert!(emulator.messages().is_empty(), "nothing refused is kept");
}

/// A call no test set an answer for is answered with its page's response example, its ids
/// unique per call; a paged list's example is its only page.
#[tokio::test]
async fn other_calls_get_their_pages_example_with_ids_unique_per_call() {
    use feishu::im::v1::chat::{GetChatRequest, ListChatRequest};

    let emulator = Emulator::start().await;
    let client = emulator.client_builder().build().unwrap();
    let chats = client.im().v1().chat();
    let first = chats.get(GetChatRequest::new("oc_a")).await.unwrap();
    let second = chats.get(GetChatRequest::new("oc_b")).await.unwrap();
    assert_eq!(
        first.name.as_deref(),
        Some("测试群名称"),
        "the page's example"
    );
    let (first_owner, second_owner) = (first.owner_id.unwrap(), second.owner_id.unwrap());
    assert!(first_owner.starts_with("emu"), "{first_owner}");
    assert_ne!(first_owner, second_owner, "ids unique per call");

    let listed: Vec<_> = chats
        .list(ListChatRequest::default())
        .items()
        .try_collect()
        .await
        .unwrap();
    assert!(!listed.is_empty(), "the example's items");
    assert!(listed.iter().all(|chat| {
        chat.chat_id
            .as_deref()
            .is_some_and(|id| id.starts_with("oc_emu"))
    }));
}

/// Chats made through the emulator are kept: read back, listed, updated and dissolved, as
/// a bot's test asserts on them.
#[tokio::test]
async fn chats_made_can_be_read_back_listed_updated_and_dissolved() {
    use feishu::im::v1::chat::{
        CreateChatBody, CreateChatRequest, DeleteChatRequest, GetChatRequest, ListChatRequest,
        UpdateChatBody, UpdateChatRequest, UserIdType,
    };

    let emulator = Emulator::start().await;
    let client = emulator.client_builder().build().unwrap();
    let chats = client.im().v1().chat();

    let owned = CreateChatBody::default()
        .name("release crew")
        .owner_id("ou_owner");
    let first = chats
        .create(CreateChatRequest::new(owned).user_id_type(UserIdType::OpenId))
        .await
        .unwrap();
    let second = chats
        .create(CreateChatRequest::new(
            CreateChatBody::default().name("on call"),
        ))
        .await
        .unwrap();
    let first_id = first.chat_id.expect("a chat id, as Feishu answers");
    let second_id = second.chat_id.expect("a chat id");
    assert_ne!(first_id, second_id, "ids are unique per chat");
    assert_eq!(first.name.as_deref(), Some("release crew"), "the name set");
    assert_eq!(first.owner_id.as_deref(), Some("ou_owner"));
    assert_eq!(
        second.owner_id.as_deref(),
        Some(feishu_emulator::DEFAULT_APP_ID),
        "without an owner, the bot that made the chat owns it"
    );

    let renamed = UpdateChatBody::default().name("release crew (v2)");
    chats
        .update(UpdateChatRequest::new(&first_id, renamed))
        .await
        .unwrap();
    let got = chats.get(GetChatRequest::new(&first_id)).await.unwrap();
    assert_eq!(got.name.as_deref(), Some("release crew (v2)"));
    assert_eq!(got.owner_id.as_deref(), Some("ou_owner"));

    let listed = || async {
        chats
            .list(ListChatRequest::default())
            .items()
            .try_collect()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|chat| chat.chat_id)
            .collect::<Vec<String>>()
    };
    assert_eq!(listed().await, [first_id.clone(), second_id.clone()]);

    chats
        .delete(DeleteChatRequest::new(&first_id))
        .await
        .unwrap();
    let err = chats.get(GetChatRequest::new(&first_id)).await.unwrap_err();
    let api = err.as_api().unwrap_or_else(|| panic!("{err:?}"));
    assert_eq!((api.status, api.code), (400, 232006), "a dissolved chat");
    assert_eq!(listed().await, std::slice::from_ref(&second_id));
    let kept = emulator.chats();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["chat_id"], second_id.as_str());
    assert_eq!(kept[0]["name"], "on call");
}
