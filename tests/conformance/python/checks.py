"""Conformance checks: Feishu's official Python SDK (lark-oapi) as a client of the emulator,
and as the maker of the deliveries our Dispatcher must accept.

Each check is one function; the test harness (tests/tests/integration/conformance.rs) runs
`python checks.py --list`, then each check in a process of its own, with FEISHU_URL,
CONTROL_URL, APP_ID, APP_SECRET, DISPATCHER_URL, VERIFICATION_TOKEN and ENCRYPT_KEY set (see
the Node checks). A check prints one JSON line, {"check", "ok", "error"?}, and exits non-zero
on failure.
"""

import base64
import hashlib
import io
import json
import os
import secrets
import sys
import threading
import time
import traceback
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import lark_oapi as lark
from Crypto.Cipher import AES
from lark_oapi.api.im.v1 import (
    CreateImageRequest,
    CreateImageRequestBody,
    CreateMessageRequest,
    CreateMessageRequestBody,
    GetFileRequest,
    ListChatRequest,
)
from lark_oapi.event.callback.model.p2_card_action_trigger import P2CardActionTriggerResponse

CHECKS = {}


def check(function):
    CHECKS[function.__name__] = function
    return function


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set")
    return value


def client(set_token=False):
    """The SDK's client; with `set_token`, one that takes the token a call names (the SDK
    otherwise prefers the tenant token wherever the endpoint accepts both)."""
    return (
        lark.Client.builder()
        .app_id(env("APP_ID"))
        .app_secret(env("APP_SECRET"))
        .domain(env("FEISHU_URL"))
        .enable_set_token(set_token)
        .log_level(lark.LogLevel.CRITICAL)
        .build()
    )


def control(method, route, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        env("CONTROL_URL") + route, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=70) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as err:
        raise RuntimeError(f"control {method} {route}: {err.read().decode()}") from err


def api_requests(requests):
    return [r for r in requests if "/auth/" not in r["path"]]


def token_requests(requests):
    return [r for r in requests if "/auth/v3/" in r["path"]]


def until(what, predicate, seconds=10):
    deadline = time.time() + seconds
    while True:
        value = predicate()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.025)


def fnv1a(data):
    value = 0xCBF29CE484222325
    for byte in data:
        value ^= byte
        value = (value * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def text_message():
    body = CreateMessageRequestBody.builder().receive_id("ou_conformance").msg_type("text")
    body = body.content(json.dumps({"text": "hello"})).build()
    return CreateMessageRequest.builder().receive_id_type("open_id").request_body(body).build()


def encrypt(key, plaintext):
    aes_key = hashlib.sha256(key.encode()).digest()
    iv = secrets.token_bytes(16)
    pad = 16 - len(plaintext) % 16
    cipher = AES.new(aes_key, AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(plaintext + bytes([pad]) * pad)).decode()


def post(url, headers, body):
    request = urllib.request.Request(url, data=body, method="POST", headers={"content-type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@check
def tenant_token_is_fetched_once_and_calls_succeed():
    control("POST", "/respond", {"endpoint": "im.v1.message.create", "data": {"message_id": "om_conformance"}})
    sdk = client()
    for _ in range(2):
        answer = sdk.im.v1.message.create(text_message())
        assert answer.success(), answer.msg
        assert answer.data.message_id == "om_conformance"
        assert answer.get_log_id(), "the log id, read from X-Tt-Logid"
    requests = control("GET", "/requests")
    assert len(token_requests(requests)) == 1, "one token for both calls"
    calls = api_requests(requests)
    assert len(calls) == 2
    assert calls[0]["headers"]["authorization"].startswith("Bearer t-")


@check
def a_user_token_call_succeeds():
    control("POST", "/user_tokens", {"token": "u-conformance"})
    option = lark.RequestOption.builder().user_access_token("u-conformance").build()
    answer = client(set_token=True).im.v1.chat.list(ListChatRequest.builder().page_size(1).build(), option)
    assert answer.success(), answer.msg
    calls = api_requests(control("GET", "/requests"))
    assert calls[0]["headers"]["authorization"] == "Bearer u-conformance"


@check
def a_marketplace_app_calls_for_a_tenant_with_its_ticket():
    ticket = control("POST", "/app_ticket")["app_ticket"]
    control("POST", "/respond", {"endpoint": "im.v1.message.create", "data": {"message_id": "om_isv"}})
    sdk = (
        lark.Client.builder()
        .app_id(env("MARKETPLACE_APP_ID"))
        .app_secret(env("MARKETPLACE_APP_SECRET"))
        .app_type(lark.AppType.ISV)
        .domain(env("FEISHU_URL"))
        .log_level(lark.LogLevel.CRITICAL)
        .build()
    )
    option = lark.RequestOption.builder().app_ticket(ticket).tenant_key("tenant_a").build()
    answer = sdk.im.v1.message.create(text_message(), option)
    assert answer.success(), (answer.code, answer.msg)
    assert answer.data.message_id == "om_isv"
    requests = control("GET", "/requests")
    [tenant_token] = [r for r in requests if r["path"] == "/open-apis/auth/v3/tenant_access_token"]
    assert tenant_token["body"]["tenant_key"] == "tenant_a", tenant_token


@check
def an_expired_user_token_is_refused_with_99991677():
    control("POST", "/user_tokens/expire", {"token": "u-expired"})
    option = lark.RequestOption.builder().user_access_token("u-expired").build()
    answer = client(set_token=True).im.v1.chat.list(ListChatRequest.builder().page_size(1).build(), option)
    assert answer.code == 99991677, (answer.code, answer.msg)


@check
def pages_are_walked_by_their_page_token():
    items = [{"chat_id": f"oc_{i}", "name": f"chat {i}"} for i in range(1, 6)]
    control("POST", "/lists", {"endpoint": "im.v1.chat.list", "items": items, "page_size": 2})
    seen, token, sdk = [], None, client()
    while True:
        request = ListChatRequest.builder().page_size(2)
        if token:
            request = request.page_token(token)
        answer = sdk.im.v1.chat.list(request.build())
        assert answer.success(), answer.msg
        seen += [item.chat_id for item in answer.data.items]
        if not answer.data.has_more:
            break
        token = answer.data.page_token
    assert seen == ["oc_1", "oc_2", "oc_3", "oc_4", "oc_5"], seen


@check
def an_upload_without_a_file_name_is_accepted():
    image = secrets.token_bytes(3000)
    body = CreateImageRequestBody.builder().image_type("message").image(io.BytesIO(image)).build()
    answer = client().im.v1.image.create(CreateImageRequest.builder().request_body(body).build())
    assert answer.success(), (answer.code, answer.msg)
    [call] = api_requests(control("GET", "/requests"))
    [part] = [f for f in call["form"]["files"] if f["name"] == "image"]
    assert part["file_name"] is None, part
    assert (part["length"], part["checksum"]) == (len(image), fnv1a(image))


@check
def a_download_arrives_with_its_file_name():
    data = secrets.token_bytes(70000)
    control(
        "POST",
        "/files",
        {"endpoint": "im.v1.file.get", "base64": base64.b64encode(data).decode(), "file_name": "报告 report.pdf"},
    )
    answer = client().im.v1.file.get(GetFileRequest.builder().file_key("file_v2_1").build())
    assert answer.success(), (answer.code, answer.msg)
    assert answer.file.read() == data
    assert answer.file_name == "报告 report.pdf", answer.file_name
    assert answer.get_log_id()


@check
def a_documented_error_reaches_the_sdk():
    control("POST", "/documented_errors", {"endpoint": "im.v1.message.create", "code": 230002})
    answer = client().im.v1.message.create(text_message())
    assert answer.code == 230002 and answer.msg, (answer.code, answer.msg)


@check
def faults_reach_the_sdk_as_feishu_sends_them():
    control("POST", "/faults", {"target": "api", "fault": {"kind": "rate_limited", "reset": 2}})
    answer = client().im.v1.message.create(text_message())
    assert answer.code == 99991400, (answer.code, answer.msg)
    control("POST", "/faults", {"target": "api", "fault": {"kind": "server_error", "status": 500}})
    answer = client().im.v1.message.create(text_message())
    assert not answer.success()
    assert answer.raw.status_code == 500


@check
def a_revoked_token_is_refused_with_99991663():
    sdk = client()
    assert sdk.im.v1.message.create(text_message()).success()
    control("POST", "/tokens/revoke")
    answer = sdk.im.v1.message.create(text_message())
    assert answer.code == 99991663, (answer.code, answer.msg)


@check
def the_long_connection_delivers_events_and_card_callbacks():
    control(
        "POST",
        "/long_connection/config",
        {"endpoint": {"PingInterval": 1, "ReconnectCount": -1, "ReconnectInterval": 1, "ReconnectNonce": 0}},
    )
    received = []

    def on_message(data):
        received.append(data.event.message.message_id)

    def on_card(data):
        value = data.event.action.value["decision"]
        return P2CardActionTriggerResponse({"toast": {"type": "success", "content": f"got {value}"}})

    handler = (
        lark.EventDispatcherHandler.builder("", "")
        .register_p2_im_message_receive_v1(on_message)
        .register_p2_card_action_trigger(on_card)
        .build()
    )
    ws = lark.ws.Client(env("APP_ID"), env("APP_SECRET"), event_handler=handler, domain=env("FEISHU_URL"),
                        log_level=lark.LogLevel.CRITICAL)
    threading.Thread(target=ws.start, daemon=True).start()
    until("a connection", lambda: control("GET", "/long_connection")["connected"] == 1)
    event = {
        "schema": "2.0",
        "header": {"event_id": "ev_py_1", "event_type": "im.message.receive_v1",
                   "create_time": str(int(time.time() * 1000)), "app_id": env("APP_ID"), "tenant_key": "t1"},
        "event": {"message": {"message_id": "om_py_1", "chat_id": "oc_1", "message_type": "text",
                              "content": "{\"text\":\"hi\"}"}, "sender": {"sender_id": {"open_id": "ou_1"}}},
    }
    pushed = control("POST", "/long_connection/push", {"envelope": event, "parts": 3})
    ack = control("GET", f"/long_connection/acks/{pushed['message_id']}?timeout_ms=10000")
    assert ack["code"] == 200, ack
    assert received == ["om_py_1"], received
    card = {
        "schema": "2.0",
        "header": {"event_id": "ev_py_card", "event_type": "card.action.trigger",
                   "create_time": str(int(time.time() * 1000000)), "app_id": env("APP_ID")},
        "event": {"operator": {"open_id": "ou_1"}, "action": {"value": {"decision": "approve"}, "tag": "button"},
                  "context": {"open_message_id": "om_1"}},
    }
    pushed = control("POST", "/long_connection/push", {"envelope": card})
    ack = control("GET", f"/long_connection/acks/{pushed['message_id']}?timeout_ms=10000")
    assert ack["code"] == 200, ack
    assert json.loads(ack["data"]) == {"toast": {"type": "success", "content": "got approve"}}, ack
    until("a ping", lambda: control("GET", "/long_connection")["pings"] >= 1, 5)
    control("POST", "/long_connection/drop")
    until("a reconnect", lambda: control("GET", "/long_connection")["connects"] >= 2, 10)


@check
def the_long_connection_reports_a_refused_secret():
    ws = lark.ws.Client(env("APP_ID"), "not-the-secret", event_handler=lark.EventDispatcherHandler.builder("", "").build(),
                        domain=env("FEISHU_URL"), log_level=lark.LogLevel.CRITICAL)
    try:
        ws.start()
    except lark.ws.exception.ClientException as err:
        assert err.code == 514, err
    else:
        raise AssertionError("the client started")
    assert control("GET", "/long_connection")["connects"] == 0


class WebhookServer(ThreadingHTTPServer):
    """A request URL served by the SDK's dispatcher, as the SDK's own examples serve one."""

    def __init__(self, dispatcher):
        self.dispatcher = dispatcher

        class Handler(BaseHTTPRequestHandler):
            def do_POST(handler):
                request = lark.RawRequest()
                request.uri = handler.path
                request.headers = dict(handler.headers.items())
                request.body = handler.rfile.read(int(handler.headers["Content-Length"]))
                answer = self.dispatcher.do(request)
                handler.send_response(answer.status_code)
                handler.send_header("Content-Type", "application/json")
                handler.end_headers()
                handler.wfile.write(answer.content or b"")

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)


@check
def the_sdk_dispatcher_takes_what_the_emulator_pushes():
    received = []
    dispatcher = (
        lark.EventDispatcherHandler.builder(env("ENCRYPT_KEY"), env("VERIFICATION_TOKEN"))
        .register_p2_im_message_receive_v1(lambda data: received.append(data.event.message.message_id))
        .build()
    )
    server = WebhookServer(dispatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pushed = control("POST", "/webhook/push", {
            "url": f"http://127.0.0.1:{server.server_address[1]}/webhook/event",
            "verification_token": env("VERIFICATION_TOKEN"),
            "encrypt_key": env("ENCRYPT_KEY"),
            "event_type": "im.message.receive_v1",
            "event": {"message": {"message_id": "om_pushed", "chat_id": "oc_1", "message_type": "text",
                                  "content": "{\"text\":\"hi\"}"}},
        })
        assert pushed["delivered"], pushed["attempts"]
        assert received == ["om_pushed"], received
    finally:
        server.shutdown()


@check
def our_dispatcher_takes_what_the_sdk_takes():
    token, key = env("VERIFICATION_TOKEN"), env("ENCRYPT_KEY")
    event = {
        "schema": "2.0",
        "header": {"event_id": f"ev_{secrets.token_hex(16)}", "event_type": "im.message.receive_v1",
                   "create_time": str(int(time.time() * 1000)), "token": token, "app_id": env("APP_ID")},
        "event": {"message": {"message_id": "om_from_python", "chat_id": "oc_1", "message_type": "text",
                              "content": "{\"text\":\"hi\"}"}},
    }
    body = json.dumps({"encrypt": encrypt(key, json.dumps(event).encode())}).encode()
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    signature = hashlib.sha256((timestamp + nonce + key).encode() + body).hexdigest()
    headers = {"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": signature}
    seen = []
    sdk = (
        lark.EventDispatcherHandler.builder(key, token)
        .register_p2_im_message_receive_v1(lambda data: seen.append(data.event.message.message_id))
        .build()
    )
    request = lark.RawRequest()
    request.uri, request.headers, request.body = "/webhook/event", headers, body
    assert sdk.do(request).status_code == 200 and seen == ["om_from_python"], "the SDK takes the event"
    status, answer = post(env("DISPATCHER_URL") + "/webhook", headers, body)
    assert status == 200, (status, answer)
    with urllib.request.urlopen(env("DISPATCHER_URL") + "/seen", timeout=10) as response:
        assert json.loads(response.read()) == ["om_from_python"], "our handler got the event"

    card = json.dumps({
        "open_id": "ou_1", "user_id": "u_1", "open_message_id": "om_card", "open_chat_id": "oc_1",
        "tenant_key": "t1", "token": "c-update-token", "action": {"value": {"decision": "approve"}, "tag": "button"},
    }).encode()
    nonce = secrets.token_hex(8)
    signature = hashlib.sha1((timestamp + nonce + token).encode() + card).hexdigest()
    headers = {"X-Lark-Request-Timestamp": timestamp, "X-Lark-Request-Nonce": nonce, "X-Lark-Signature": signature}
    handler = (
        lark.CardActionHandler.builder(key, token)
        .register(lambda action: {"elements": [action.action.value["decision"]]})
        .build()
    )
    request = lark.RawRequest()
    request.uri, request.headers, request.body = "/webhook/card", headers, card
    sdk_answer = handler.do(request)
    assert sdk_answer.status_code == 200, sdk_answer.content
    assert json.loads(sdk_answer.content) == {"elements": ["approve"]}, "the SDK takes the 1.0 card callback"
    status, answer = post(env("DISPATCHER_URL") + "/webhook", headers, card)
    assert status == 200, (status, answer)
    assert json.loads(answer) == {"elements": ["approve"]}, answer


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name == "--list":
        print("\n".join(CHECKS))
        return 0
    if name not in CHECKS:
        print(json.dumps({"ok": False, "error": f"no check {name}"}))
        return 1
    try:
        CHECKS[name]()
    except BaseException:  # noqa: BLE001 - every failure is reported as the check's
        print(json.dumps({"check": name, "ok": False, "error": traceback.format_exc()}), flush=True)
        os._exit(1)
    print(json.dumps({"check": name, "ok": True}), flush=True)
    # The long connection's client runs in a thread that never ends.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
