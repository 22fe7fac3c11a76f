#!/usr/bin/env node
// Interop check of Agora's WebSocket echo endpoint with the `ws` library (Debian's node-ws: NODE_PATH=/usr/share/nodejs).
//
// Usage: node node_ws_client.js PORT [CONTEXT_PORT]
//
// PORT is `agora ws-echo` with its default permessage-deflate settings (no context takeover either way, messages under
// 128 bytes sent uncompressed); CONTEXT_PORT, if given, is one started with --server-context --client-context.
//
// Connects to ws://127.0.0.1:PORT/ several times: without compression, with ws's default offer (which the server
// must accept), with a threshold of 0 so ws compresses even small messages and fragments it sends, with a small
// window asked of each side, with no context takeover asked of both, and asking for the 8-bit server window zlib
// cannot compress with (which the server must decline, going on uncompressed). Each connection exchanges text and
// binary messages of several sizes up to 1 MiB, fragmented messages and pings, and closes with 1000. Which messages
// the server compressed is seen from ws's inflater, which is handed only frames with RSV1 set. Prints each step;
// exits 1 on the first mismatch, so a test can run it and show why.
'use strict';

const crypto = require('crypto');
const WebSocket = require('ws');

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];
// The echo endpoint's default PerMessageDeflateConfiguration.threshold: shorter messages go uncompressed.
const THRESHOLD = 128;
const port = Number(process.argv[2]);
const contextPort = process.argv[3] === undefined ? null : Number(process.argv[3]);
if (!Number.isInteger(port) || port <= 0 || (contextPort !== null && (!Number.isInteger(contextPort) || contextPort <= 0))) {
  console.error('usage: node node_ws_client.js PORT [CONTEXT_PORT]');
  process.exit(2);
}

function fail(message) {
  console.log(`FAIL: ${message}`);
  process.exit(1);
}

// Mixed 1- to 3-byte characters, padded with dots to exactly `size` bytes of UTF-8.
function textOf(size) {
  const unit = 'agora κόσμε 中文 ';
  const unitBytes = Buffer.byteLength(unit);
  return unit.repeat(Math.floor(size / unitBytes)) + '.'.repeat(size % unitBytes);
}

function binaryOf(size) {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) % 256;
  return bytes;
}

// Highly compressible JSON-like text, like the app's events, of exactly `size` bytes (ASCII).
function jsonOf(size) {
  const records = [];
  let length = 2;
  for (let n = 0; length < size; n++) {
    const record = `{"type":"order:status","seq":${n},"data":{"orderId":"5b1e0c7a-${String(n).padStart(12, '0')}",` +
      `"status":"shipped","tracking":"PN${n % 97}","note":"It ships tomorrow."}}`;
    records.push(record);
    length += record.length + 1;
  }
  return `[${records.join(',')}]`.slice(0, size).padEnd(size, ' ');
}

// Incompressible bytes.
function randomOf(size) {
  return crypto.randomBytes(size);
}

const watchdog = setTimeout(() => fail('timed out'), 60000);

/** One connection, with queues so each step can await "the next message" or "the next pong". */
async function open(url, options, label) {
  const ws = new WebSocket(url, { maxPayload: 64 << 20, ...options });
  const waiting = { message: [], pong: [] };
  const arrived = { message: [], pong: [] };
  const deliver = (kind, value) => {
    if (waiting[kind].length > 0) waiting[kind].shift()(value);
    else arrived[kind].push(value);
  };
  const connection = {
    ws,
    label,
    closing: false,
    // The compressed payloads ws inflated, and the frames ws compressed, since the last `take()`.
    inflated: [],
    deflated: 0,
    answer: undefined,
    next(kind) {
      if (arrived[kind].length > 0) return Promise.resolve(arrived[kind].shift());
      return new Promise((resolve) => waiting[kind].push(resolve));
    },
    take() {
      const seen = { inflated: this.inflated, deflated: this.deflated };
      this.inflated = [];
      this.deflated = 0;
      return seen;
    },
  };
  ws.on('message', (data, isBinary) => deliver('message', { data, isBinary }));
  ws.on('pong', (data) => deliver('pong', data));
  ws.on('error', (error) => fail(`${label}: error: ${error.message}`));
  ws.on('upgrade', (response) => { connection.answer = response.headers['sec-websocket-extensions']; });
  connection.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  ws.on('close', (code) => {
    if (!connection.closing) fail(`${label}: the server closed the connection with ${code} before we were done`);
  });
  await new Promise((resolve) => ws.on('open', resolve));

  // ws hands its permessage-deflate object only the payloads of frames with RSV1 set (decompress), and only the
  // messages it decided to compress (compress): watching both shows what went compressed each way.
  const deflate = ws._extensions['permessage-deflate'];
  if (deflate) {
    const decompress = deflate.decompress.bind(deflate);
    deflate.decompress = (data, fin, callback) => {
      connection.inflated.push(data.length);
      decompress(data, fin, callback);
    };
    const compress = deflate.compress.bind(deflate);
    deflate.compress = (data, fin, callback) => {
      connection.deflated += 1;
      compress(data, fin, callback);
    };
  }
  return connection;
}

/** The negotiated parameters, or a failure when permessage-deflate was not agreed. */
function negotiated(connection) {
  const { ws, label, answer } = connection;
  if (ws.extensions !== 'permessage-deflate' || !ws._extensions['permessage-deflate']) {
    fail(`${label}: expected permessage-deflate to be negotiated, got ${JSON.stringify(ws.extensions)} (Sec-WebSocket-Extensions: ${answer})`);
  }
  const params = ws._extensions['permessage-deflate'].params;
  console.log(`ok  ${label}: negotiated ${ws.extensions} ${JSON.stringify(params)} (Sec-WebSocket-Extensions: ${answer})`);
  return params;
}

/** Sends `message` and expects it back unchanged. Where compression was agreed, also checks how the server framed
 * the echo: uncompressed under the threshold, compressed (and smaller) when compressible at or over it. */
async function expectEcho(connection, message, what, { compressible = false, send = () => connection.ws.send(message) } = {}) {
  const { ws, label } = connection;
  const isBinary = typeof message !== 'string';
  connection.take();
  send();
  const { data, isBinary: binaryBack } = await connection.next('message');
  if (binaryBack !== isBinary) fail(`${label}: ${what}: sent ${isBinary ? 'binary' : 'text'}, got the other back`);
  const expected = isBinary ? message : Buffer.from(message, 'utf8');
  if (!expected.equals(data)) fail(`${label}: ${what}: echo differs (${data.length} vs ${expected.length} bytes)`);
  const seen = connection.take();
  let note = '';
  if (ws._extensions['permessage-deflate']) {
    const size = expected.length;
    if (seen.inflated.length > 1) fail(`${label}: ${what}: the echo came in ${seen.inflated.length} compressed frames`);
    const compressed = seen.inflated.length === 1;
    if (size < THRESHOLD && compressed) fail(`${label}: ${what}: the server compressed a ${size}-byte message, under its threshold`);
    if (size >= THRESHOLD && compressible) {
      if (!compressed) fail(`${label}: ${what}: the server sent a compressible ${size}-byte message uncompressed`);
      if (seen.inflated[0] >= size) fail(`${label}: ${what}: compressed to ${seen.inflated[0]} bytes, no smaller than its ${size}`);
    }
    const echoed = compressed ? `compressed to ${seen.inflated[0]} bytes` : 'uncompressed';
    note = ` (sent ${seen.deflated ? 'compressed' : 'uncompressed'}, echoed ${echoed})`;
  }
  console.log(`ok  ${label}: ${what}${note}`);
  return seen;
}

/** What every connection does: messages of each size, fragments, pings. */
async function basicChecks(connection) {
  const { ws, label } = connection;
  for (const size of SIZES) {
    await expectEcho(connection, textOf(size), `text ${size} bytes`, { compressible: true });
    await expectEcho(connection, binaryOf(size), `binary ${size} bytes`, { compressible: true });
  }

  // fin: false makes ws send a fragment; later sends continue the message until one with fin: true (§5.4). When ws
  // compresses, it decides on the first fragment (by the threshold) and sets RSV1 on that frame only.
  await expectEcho(connection, 'fragmented κόσμε', 'fragmented text in 3 frames', {
    send: () => {
      ws.send('frag', { fin: false });
      ws.send('mented ', { fin: false });
      ws.send('κόσμε', { fin: true });
    },
  });
  const parts = [Buffer.from([0, 1]), Buffer.alloc(0), Buffer.alloc(70000, 0xff)];
  await expectEcho(connection, Buffer.concat(parts), 'fragmented binary in 3 frames', {
    send: () => parts.forEach((part, index) => ws.send(part, { binary: true, fin: index === parts.length - 1 })),
  });

  for (const payload of [Buffer.alloc(0), Buffer.from('ping-payload'), Buffer.from([...Array(125).keys()])]) {
    ws.ping(payload);
    const pong = await connection.next('pong');
    if (!payload.equals(pong)) fail(`${label}: ping with ${payload.length} bytes: pong carried ${pong.length} bytes`);
    console.log(`ok  ${label}: ping with ${payload.length} bytes answered with the same payload`);
  }
}

/** Messages that matter once compression is on: around the threshold, JSON-like, incompressible, 1 MiB. */
async function compressionChecks(connection) {
  for (const size of [THRESHOLD - 1, THRESHOLD]) {
    await expectEcho(connection, jsonOf(size), `JSON-like text ${size} bytes (threshold)`, { compressible: true });
  }
  for (const size of [200, 4096, 100000, 1 << 20]) {
    await expectEcho(connection, jsonOf(size), `JSON-like text ${size} bytes`, { compressible: true });
  }
  for (const size of [127, 128, 300, 65536, 1 << 20]) {
    await expectEcho(connection, randomOf(size), `random binary ${size} bytes`);
  }
}

async function closeNormally(connection) {
  connection.closing = true;
  connection.ws.close(1000, 'interop done');
  // 'close' fires once the TCP connection is gone, with the code from the server's Close frame.
  const code = await connection.closed;
  if (code !== 1000) fail(`${connection.label}: the server answered our 1000 with close code ${code}`);
  console.log(`ok  ${connection.label}: closed: the server answered with ${code}`);
}

function expectUncompressed(connection) {
  const { ws, label, answer } = connection;
  if (ws.extensions !== '' || answer !== undefined) {
    fail(`${label}: expected no extension, got ${JSON.stringify(ws.extensions)} (Sec-WebSocket-Extensions: ${answer})`);
  }
}

async function main() {
  const url = `ws://127.0.0.1:${port}/`;

  let connection = await open(url, { perMessageDeflate: false }, 'uncompressed');
  expectUncompressed(connection);
  await basicChecks(connection);
  await closeNormally(connection);

  // ws offers "permessage-deflate; client_max_window_bits" by default, and compresses what it sends from 1024 bytes.
  connection = await open(url, {}, 'default offer');
  let params = negotiated(connection);
  if (params.server_no_context_takeover !== true || params.client_no_context_takeover !== true) {
    fail(`${connection.label}: expected server_no_context_takeover and client_no_context_takeover in the answer`);
  }
  await basicChecks(connection);
  await compressionChecks(connection);
  const seen = await expectEcho(connection, jsonOf(5000), 'JSON-like text 5000 bytes', { compressible: true });
  if (seen.deflated !== 1) fail(`${connection.label}: ws did not compress a 5000-byte message`);
  await closeNormally(connection);

  // Threshold 0: ws compresses every message it sends, fragments included (the server inflates them all).
  connection = await open(url, { perMessageDeflate: { threshold: 0 } }, 'threshold 0');
  negotiated(connection);
  await basicChecks(connection);
  await compressionChecks(connection);
  for (const message of ['', 'a', jsonOf(20)]) {
    const { deflated } = await expectEcho(connection, message, `${Buffer.byteLength(message)}-byte text sent compressed`);
    if (deflated !== 1) fail(`${connection.label}: ws did not compress a ${Buffer.byteLength(message)}-byte message`);
  }
  await closeNormally(connection);

  connection = await open(url, { perMessageDeflate: { serverMaxWindowBits: 10, clientMaxWindowBits: 9, threshold: 0 } },
    'server_max_window_bits=10, client_max_window_bits=9');
  params = negotiated(connection);
  if (params.server_max_window_bits !== 10 || params.client_max_window_bits !== 9) {
    fail(`${connection.label}: expected windows 10 (server) and 9 (client), got ${JSON.stringify(params)}`);
  }
  await basicChecks(connection);
  await compressionChecks(connection);
  await closeNormally(connection);

  connection = await open(url, { perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, threshold: 0 } },
    'server_no_context_takeover, client_no_context_takeover');
  params = negotiated(connection);
  if (params.server_no_context_takeover !== true || params.client_no_context_takeover !== true) {
    fail(`${connection.label}: expected no context takeover either way, got ${JSON.stringify(params)}`);
  }
  await basicChecks(connection);
  await compressionChecks(connection);
  // The same message twice compresses the same: the server cannot refer back to the first.
  const first = await expectEcho(connection, jsonOf(5000), 'JSON-like text 5000 bytes', { compressible: true });
  const second = await expectEcho(connection, jsonOf(5000), 'the same again', { compressible: true });
  if (first.inflated[0] !== second.inflated[0]) {
    fail(`${connection.label}: the same message compressed to ${first.inflated[0]} then ${second.inflated[0]} bytes without context takeover`);
  }
  await closeNormally(connection);

  // zlib cannot compress a raw stream with an 8-bit window: the server must decline, and the connection goes on
  // uncompressed (ws fails it on any frame with RSV1 set, so the echoes also prove none was sent).
  connection = await open(url, { perMessageDeflate: { serverMaxWindowBits: 8 } }, 'server_max_window_bits=8');
  expectUncompressed(connection);
  console.log(`ok  ${connection.label}: declined, the connection goes on uncompressed`);
  await expectEcho(connection, jsonOf(100000), 'JSON-like text 100000 bytes');
  await basicChecks(connection);
  await closeNormally(connection);

  if (contextPort !== null) {
    // A server that keeps its context, and lets the client keep its own: later messages refer to earlier ones.
    connection = await open(`ws://127.0.0.1:${contextPort}/`, { perMessageDeflate: { threshold: 0 } }, 'context takeover');
    params = negotiated(connection);
    if (params.server_no_context_takeover || params.client_no_context_takeover) {
      fail(`${connection.label}: expected context takeover both ways, got ${JSON.stringify(params)}`);
    }
    const before = await expectEcho(connection, jsonOf(5000), 'JSON-like text 5000 bytes', { compressible: true });
    const after = await expectEcho(connection, jsonOf(5000), 'the same again', { compressible: true });
    if (after.inflated[0] * 4 > before.inflated[0]) {
      fail(`${connection.label}: the repeated message compressed to ${after.inflated[0]} bytes after ${before.inflated[0]}: no context was kept`);
    }
    console.log(`ok  ${connection.label}: the repeated message referred back to the first (${before.inflated[0]} then ${after.inflated[0]} bytes)`);
    await basicChecks(connection);
    await compressionChecks(connection);
    for (let n = 0; n < 20; n++) {
      await expectEcho(connection, jsonOf(300 + n), `similar message ${n + 1} of 20`, { compressible: true });
    }
    await closeNormally(connection);
  }

  clearTimeout(watchdog);
  console.log('PASS node ws');
  process.exit(0);
}

main().catch((error) => fail(`${error.stack || error}`));
