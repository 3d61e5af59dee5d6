// Conformance checks: Feishu's official Node SDK as a client of the emulator, and as the
// maker of the deliveries our Dispatcher must accept. Each check is one function; the test
// harness (tests/tests/integration/conformance.rs) runs `node checks.js --list`, then each
// check in a process of its own, with:
//   FEISHU_URL, CONTROL_URL      the emulator and its control API
//   APP_ID, APP_SECRET           the emulator's internal app
//   MARKETPLACE_APP_ID, MARKETPLACE_APP_SECRET  its marketplace app
//   DISPATCHER_URL               our Dispatcher on 127.0.0.1 (token and key below):
//                                POST /webhook takes deliveries, GET /seen lists the
//                                message ids its handler got
//   VERIFICATION_TOKEN, ENCRYPT_KEY
// A check prints one JSON line, {"check", "ok", "error"?}, and exits non-zero on failure.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const lark = require('@larksuiteoapi/node-sdk');

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

const quiet = { loggerLevel: lark.LoggerLevel.fatal };

function client() {
  return new lark.Client({ appId: env('APP_ID'), appSecret: env('APP_SECRET'), domain: env('FEISHU_URL'), ...quiet });
}

async function control(method, route, body) {
  const response = await fetch(env('CONTROL_URL') + route, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`control ${method} ${route}: ${answer.error}`);
  return answer;
}

const apiRequests = (requests) => requests.filter((r) => !r.path.includes('/auth/'));
const tokenRequests = (requests) => requests.filter((r) => r.path.includes('/auth/v3/'));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, predicate, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

// FNV-1a (64-bit), as the emulator sums each uploaded file.
function fnv1a(bytes) {
  let hash = 0xcbf29ce484222325n;
  for (const byte of bytes) {
    hash ^= BigInt(byte);
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return hash.toString(16).padStart(16, '0');
}

// An error the SDK threw for an HTTP error: Feishu's code and status, read as a user would.
async function refusal(call) {
  try {
    await call();
  } catch (err) {
    assert.ok(err.response, `not an HTTP error: ${err}`);
    return { status: err.response.status, data: err.response.data, headers: err.response.headers };
  }
  throw new Error('the call succeeded');
}

const textMessage = {
  params: { receive_id_type: 'open_id' },
  data: { receive_id: 'ou_conformance', msg_type: 'text', content: JSON.stringify({ text: 'hello' }) },
};

function encrypt(key, plaintext) {
  const aesKey = crypto.createHash('sha256').update(key).digest();
  const iv = crypto.randomBytes(16);
  const cipher = crypto.createCipheriv('aes-256-cbc', aesKey, iv);
  return Buffer.concat([iv, cipher.update(plaintext), cipher.final()]).toString('base64');
}

async function post(url, headers, body) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, body: await response.text() };
}

const checks = {
  // A tenant token is fetched once and reused; the call's answer carries `data`.
  async tenant_token_is_fetched_once_and_calls_succeed() {
    await control('POST', '/respond', { endpoint: 'im.v1.message.create', data: { message_id: 'om_conformance' } });
    const lark = client();
    for (let i = 0; i < 2; i++) {
      const answer = await lark.im.v1.message.create(textMessage);
      assert.equal(answer.code, 0);
      assert.equal(answer.data.message_id, 'om_conformance');
    }
    const requests = await control('GET', '/requests');
    assert.equal(tokenRequests(requests).length, 1, 'one token for both calls');
    const calls = apiRequests(requests);
    assert.equal(calls.length, 2);
    assert.match(calls[0].headers.authorization, /^Bearer t-/);
    assert.deepEqual(calls[0].body.receive_id, 'ou_conformance');
  },

  // A marketplace app: without an app_ticket the SDK asks Feishu to send one; the ticket
  // comes as the 1.0 `app_ticket` event to the SDK's dispatcher, and then per-tenant calls
  // succeed.
  async a_marketplace_app_gets_its_ticket_and_calls_for_a_tenant() {
    const appId = env('MARKETPLACE_APP_ID');
    const isv = new lark.Client({ appId, appSecret: env('MARKETPLACE_APP_SECRET'), appType: lark.AppType.ISV, domain: env('FEISHU_URL'), ...quiet });
    const dispatcher = new lark.EventDispatcher({ encryptKey: env('ENCRYPT_KEY'), verificationToken: env('VERIFICATION_TOKEN'), ...quiet });
    const server = http.createServer(lark.adaptDefault('/webhook/event', dispatcher));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      await isv.im.v1.message.create(textMessage, lark.withTenantKey('tenant_a')).catch(() => undefined);
      await until('a ticket resend', async () => (await control('GET', '/requests')).some((r) => r.path === '/open-apis/auth/v3/app_ticket/resend'));
      const { app_ticket } = await control('POST', '/app_ticket');
      const pushed = await control('POST', '/webhook/push', {
        url: `http://127.0.0.1:${server.address().port}/webhook/event`,
        verification_token: env('VERIFICATION_TOKEN'),
        encrypt_key: env('ENCRYPT_KEY'),
        envelope: { uuid: crypto.randomUUID(), token: env('VERIFICATION_TOKEN'), ts: `${Date.now() / 1000}`, type: 'event_callback', event: { app_id: appId, app_ticket, type: 'app_ticket' } },
      });
      assert.equal(pushed.delivered, true, JSON.stringify(pushed.attempts));
      await control('POST', '/respond', { endpoint: 'im.v1.message.create', data: { message_id: 'om_isv' } });
      const answer = await isv.im.v1.message.create(textMessage, lark.withTenantKey('tenant_a'));
      assert.equal(answer.data.message_id, 'om_isv');
      const requests = await control('GET', '/requests');
      const tenantToken = requests.find((r) => r.path === '/open-apis/auth/v3/tenant_access_token');
      assert.equal(tenantToken.body.tenant_key, 'tenant_a');
    } finally {
      server.close();
    }
  },

  // A call with a user token the emulator accepts.
  async a_user_token_call_succeeds() {
    await control('POST', '/user_tokens', { token: 'u-conformance' });
    const answer = await client().im.v1.chat.list({ params: { page_size: 1 } }, lark.withUserAccessToken('u-conformance'));
    assert.equal(answer.code, 0);
    const calls = apiRequests(await control('GET', '/requests'));
    assert.equal(calls[0].headers.authorization, 'Bearer u-conformance');
  },

  // The SDK's paging iterator walks a list the emulator serves, page by page.
  async the_paging_iterator_walks_every_page() {
    const items = [1, 2, 3, 4, 5].map((i) => ({ chat_id: `oc_${i}`, name: `chat ${i}` }));
    await control('POST', '/lists', { endpoint: 'im.v1.chat.list', items, page_size: 2 });
    const seen = [];
    for await (const page of await client().im.v1.chat.listWithIterator({ params: { page_size: 2 } })) {
      for (const item of page.items) seen.push(item.chat_id);
    }
    assert.deepEqual(seen, ['oc_1', 'oc_2', 'oc_3', 'oc_4', 'oc_5']);
    assert.equal(apiRequests(await control('GET', '/requests')).length, 3);
  },

  // An upload from a Buffer: a file part without a `filename`, which Feishu accepts.
  async an_upload_from_a_buffer_is_accepted() {
    const image = crypto.randomBytes(3000);
    await client().im.v1.image.create({ data: { image_type: 'message', image } });
    const [call] = apiRequests(await control('GET', '/requests'));
    const file = call.form.files.find((f) => f.name === 'image');
    assert.ok(file, JSON.stringify(call.form));
    assert.equal(file.length, image.length);
    assert.equal(file.checksum, fnv1a(image));
  },

  // An upload from a file stream: a file part with its file name.
  async an_upload_from_a_file_stream_is_accepted() {
    const bytes = crypto.randomBytes(5000);
    const where = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'feishu-')), 'report.pdf');
    fs.writeFileSync(where, bytes);
    await client().im.v1.file.create({ data: { file_type: 'pdf', file_name: 'report.pdf', file: fs.createReadStream(where) } });
    const [call] = apiRequests(await control('GET', '/requests'));
    const file = call.form.files.find((f) => f.name === 'file');
    assert.equal(file.file_name, 'report.pdf');
    assert.equal(file.checksum, fnv1a(bytes));
    assert.deepEqual(call.form.fields.find(([name]) => name === 'file_type'), ['file_type', 'pdf']);
  },

  // A download arrives whole, with its headers.
  async a_download_arrives_whole() {
    const bytes = crypto.randomBytes(70000);
    await control('POST', '/files', { endpoint: 'im.v1.file.get', base64: bytes.toString('base64'), file_name: 'report.pdf' });
    const answer = await client().im.v1.file.get({ path: { file_key: 'file_v2_1' } });
    const where = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'feishu-')), 'got.bin');
    await answer.writeFile(where);
    assert.ok(fs.readFileSync(where).equals(bytes));
    assert.match(answer.headers['content-disposition'], /report\.pdf/);
  },

  // A documented business error reaches the SDK with its code and message.
  async a_documented_error_reaches_the_sdk() {
    await control('POST', '/documented_errors', { endpoint: 'im.v1.message.create', code: 230002 });
    const { status, data } = await refusal(() => client().im.v1.message.create(textMessage));
    assert.equal(status, 400);
    assert.equal(data.code, 230002);
    assert.ok(data.msg);
  },

  // The rate limit, a server error and a gateway's HTML page, as the SDK sees them.
  async faults_reach_the_sdk_as_feishu_sends_them() {
    await control('POST', '/faults', { target: 'api', fault: { kind: 'rate_limited', reset: 2 } });
    const limited = await refusal(() => client().im.v1.message.create(textMessage));
    assert.equal(limited.status, 429);
    assert.equal(limited.data.code, 99991400);
    assert.equal(limited.headers['x-ogw-ratelimit-reset'], '2');
    await control('POST', '/faults', { target: 'api', fault: { kind: 'server_error', status: 503 } });
    const failed = await refusal(() => client().im.v1.message.create(textMessage));
    assert.equal(failed.status, 503);
    await control('POST', '/faults', { target: 'api', fault: { kind: 'html_gateway', status: 502 } });
    const gateway = await refusal(() => client().im.v1.message.create(textMessage));
    assert.equal(gateway.status, 502);
    assert.match(String(gateway.data), /Bad Gateway/);
  },

  // A revoked tenant token is refused with Feishu's code for it.
  async a_revoked_token_is_refused_with_99991663() {
    const lark = client();
    await lark.im.v1.message.create(textMessage);
    await control('POST', '/tokens/revoke');
    const { status, data } = await refusal(() => lark.im.v1.message.create(textMessage));
    assert.equal(status, 400);
    assert.equal(data.code, 99991663);
  },

  // The long connection: connect with Feishu's ClientConfig, ping and pong, an event split
  // over three frames, a card callback answered in its acknowledgement, a reconnect.
  async the_long_connection_delivers_events_and_card_callbacks() {
    await control('POST', '/long_connection/config', {
      endpoint: { PingInterval: 1, ReconnectCount: -1, ReconnectInterval: 1, ReconnectNonce: 0 },
    });
    const received = [];
    const dispatcher = new lark.EventDispatcher({ ...quiet }).register({
      'im.message.receive_v1': async (data) => {
        received.push(data.message.message_id);
      },
      'card.action.trigger': async (data) => ({ toast: { type: 'success', content: `got ${data.action.value.decision}` } }),
    });
    const ws = new lark.WSClient({ appId: env('APP_ID'), appSecret: env('APP_SECRET'), domain: env('FEISHU_URL'), ...quiet });
    await ws.start({ eventDispatcher: dispatcher });
    try {
      await until('a connection', async () => (await control('GET', '/long_connection')).connected === 1);
      const event = {
        schema: '2.0',
        header: { event_id: 'ev_conf_1', event_type: 'im.message.receive_v1', create_time: `${Date.now()}`, app_id: env('APP_ID'), tenant_key: 't1' },
        event: { message: { message_id: 'om_conf_1', chat_id: 'oc_1', message_type: 'text', content: '{"text":"hi"}' }, sender: { sender_id: { open_id: 'ou_1' } } },
      };
      const { message_id } = await control('POST', '/long_connection/push', { envelope: event, parts: 3 });
      const ack = await control('GET', `/long_connection/acks/${message_id}?timeout_ms=10000`);
      assert.equal(ack.code, 200);
      assert.deepEqual(received, ['om_conf_1']);

      const card = {
        schema: '2.0',
        header: { event_id: 'ev_conf_card', event_type: 'card.action.trigger', create_time: `${Date.now()}000`, app_id: env('APP_ID') },
        event: { operator: { open_id: 'ou_1' }, action: { value: { decision: 'approve' }, tag: 'button' }, context: { open_message_id: 'om_1' } },
      };
      const pushed = await control('POST', '/long_connection/push', { envelope: card });
      const cardAck = await control('GET', `/long_connection/acks/${pushed.message_id}?timeout_ms=10000`);
      assert.equal(cardAck.code, 200);
      assert.deepEqual(JSON.parse(cardAck.data), { toast: { type: 'success', content: 'got approve' } });

      await until('a ping', async () => (await control('GET', '/long_connection')).pings >= 1, 5000);
      await control('POST', '/long_connection/drop');
      await until('a reconnect', async () => (await control('GET', '/long_connection')).connects >= 2, 10000);
    } finally {
      ws.close({ force: true });
    }
  },

  // A wrong secret: the endpoint refuses with 514 and the client reports it, not retrying.
  async the_long_connection_reports_a_refused_secret() {
    let reported;
    const ws = new lark.WSClient({
      appId: env('APP_ID'), appSecret: 'not-the-secret', domain: env('FEISHU_URL'), ...quiet,
      onError: (err) => { reported = err; },
    });
    await ws.start({ eventDispatcher: new lark.EventDispatcher({ ...quiet }) });
    await until('the error', async () => reported, 5000);
    assert.match(String(reported.message), /code=514/);
    ws.close({ force: true });
    const state = await control('GET', '/long_connection');
    assert.equal(state.connects, 0);
  },

  // The emulator pushes an encrypted, signed event to the SDK's dispatcher, which takes it.
  async the_sdk_dispatcher_takes_what_the_emulator_pushes() {
    const received = [];
    const dispatcher = new lark.EventDispatcher({ encryptKey: env('ENCRYPT_KEY'), verificationToken: env('VERIFICATION_TOKEN'), ...quiet }).register({
      'im.message.receive_v1': async (data) => { received.push(data.message.message_id); },
    });
    const server = http.createServer(lark.adaptDefault('/webhook/event', dispatcher, { autoChallenge: true }));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const pushed = await control('POST', '/webhook/push', {
        url: `http://127.0.0.1:${server.address().port}/webhook/event`,
        verification_token: env('VERIFICATION_TOKEN'),
        encrypt_key: env('ENCRYPT_KEY'),
        event_type: 'im.message.receive_v1',
        event: { message: { message_id: 'om_pushed', chat_id: 'oc_1', message_type: 'text', content: '{"text":"hi"}' } },
      });
      assert.equal(pushed.delivered, true, JSON.stringify(pushed.attempts));
      assert.deepEqual(received, ['om_pushed']);
    } finally {
      server.close();
    }
  },

  // Deliveries made as the SDK checks them (a 2.0 event, encrypted and signed; a 1.0 card
  // callback signed with SHA-1 over the Verification Token): the SDK's own dispatchers take
  // them, and so must ours.
  async our_dispatcher_takes_what_the_sdk_takes() {
    const token = env('VERIFICATION_TOKEN');
    const key = env('ENCRYPT_KEY');
    const event = {
      schema: '2.0',
      header: { event_id: `ev_${crypto.randomUUID()}`, event_type: 'im.message.receive_v1', create_time: `${Date.now()}`, token, app_id: env('APP_ID') },
      event: { message: { message_id: 'om_from_node', chat_id: 'oc_1', message_type: 'text', content: '{"text":"hi"}' } },
    };
    const body = JSON.stringify({ encrypt: encrypt(key, JSON.stringify(event)) });
    const timestamp = `${Math.floor(Date.now() / 1000)}`;
    const nonce = crypto.randomBytes(8).toString('hex');
    const signature = crypto.createHash('sha256').update(timestamp + nonce + key + body).digest('hex');
    const headers = { 'x-lark-request-timestamp': timestamp, 'x-lark-request-nonce': nonce, 'x-lark-signature': signature };
    let sdkSaw;
    const sdk = new lark.EventDispatcher({ encryptKey: key, verificationToken: token, ...quiet }).register({
      'im.message.receive_v1': async (data) => { sdkSaw = data.message.message_id; },
    });
    await sdk.invoke(Object.assign(Object.create({ headers }), JSON.parse(body)));
    assert.equal(sdkSaw, 'om_from_node', 'the SDK takes the event');
    const ours = await post(`${env('DISPATCHER_URL')}/webhook`, headers, body);
    assert.equal(ours.status, 200, ours.body);
    const seen = await (await fetch(`${env('DISPATCHER_URL')}/seen`)).json();
    assert.deepEqual(seen, ['om_from_node'], 'our handler got the event');

    const card = {
      open_id: 'ou_1', user_id: 'u_1', open_message_id: 'om_card', open_chat_id: 'oc_1',
      tenant_key: 't1', token: 'c-update-token', action: { value: { decision: 'approve' }, tag: 'button' },
    };
    const cardBody = JSON.stringify(card);
    const cardNonce = crypto.randomBytes(8).toString('hex');
    const cardSignature = crypto.createHash('sha1').update(timestamp + cardNonce + token + cardBody).digest('hex');
    const cardHeaders = { 'x-lark-request-timestamp': timestamp, 'x-lark-request-nonce': cardNonce, 'x-lark-signature': cardSignature };
    const handler = new lark.CardActionHandler({ verificationToken: token, ...quiet }, async (data) => ({ elements: [data.action.value.decision] }));
    const sdkAnswer = await handler.invoke(Object.assign(Object.create({ headers: cardHeaders }), card));
    assert.deepEqual(sdkAnswer, { elements: ['approve'] }, 'the SDK takes the 1.0 card callback');
    const ourCard = await post(`${env('DISPATCHER_URL')}/webhook`, cardHeaders, cardBody);
    assert.equal(ourCard.status, 200, ourCard.body);
    assert.deepEqual(JSON.parse(ourCard.body), { elements: ['approve'] });
  },
};

async function main() {
  const [name] = process.argv.slice(2);
  if (name === '--list') {
    console.log(Object.keys(checks).join('\n'));
    return;
  }
  const check = checks[name];
  if (!check) throw new Error(`no check ${name}`);
  try {
    await check();
    console.log(JSON.stringify({ check: name, ok: true }));
    process.exit(0);
  } catch (err) {
    console.log(JSON.stringify({ check: name, ok: false, error: String(err && err.stack || err) }));
    process.exit(1);
  }
}

main().catch((err) => {
  console.log(JSON.stringify({ ok: false, error: String(err) }));
  process.exit(1);
});
