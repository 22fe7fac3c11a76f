#!/usr/bin/env node
// Interop check of Agora's WebSocket echo endpoint with the `ws` library (Debian's node-ws: NODE_PATH=/usr/share/nodejs).
//
// Usage: node node_ws_client.js PORT
//
// Connects to ws://127.0.0.1:PORT/, exchanges text and binary messages of several sizes, sends fragmented messages,
// pings, and closes with 1000. Prints each step; exits 1 on the first mismatch, so a test can run it and show why.
'use strict';

const WebSocket = require('ws');

const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20];
const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node node_ws_client.js PORT');
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

const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false, maxPayload: 64 << 20 });
const watchdog = setTimeout(() => fail('timed out'), 30000);
let closing = false;

// One queue of waiters, so each step can await "the next message" or "the next pong".
const waiting = { message: [], pong: [] };
const arrived = { message: [], pong: [] };
function next(kind) {
  if (arrived[kind].length > 0) return Promise.resolve(arrived[kind].shift());
  return new Promise((resolve) => waiting[kind].push(resolve));
}
function deliver(kind, value) {
  if (waiting[kind].length > 0) waiting[kind].shift()(value);
  else arrived[kind].push(value);
}
ws.on('message', (data, isBinary) => deliver('message', { data, isBinary }));
ws.on('pong', (data) => deliver('pong', data));
ws.on('error', (error) => fail(`error: ${error.message}`));

async function expectEcho(isBinary, sent, what) {
  const { data, isBinary: binaryBack } = await next('message');
  if (binaryBack !== isBinary) fail(`${what}: sent ${isBinary ? 'binary' : 'text'}, got the other back`);
  const expected = isBinary ? sent : Buffer.from(sent, 'utf8');
  if (!expected.equals(data)) fail(`${what}: echo differs (${data.length} vs ${expected.length} bytes)`);
  console.log(`ok  ${what}`);
}

ws.on('open', async () => {
  for (const size of SIZES) {
    const text = textOf(size);
    ws.send(text);
    await expectEcho(false, text, `text ${size} bytes`);
    const binary = binaryOf(size);
    ws.send(binary);
    await expectEcho(true, binary, `binary ${size} bytes`);
  }

  // fin: false makes ws send a fragment; later sends continue the message until one with fin: true (§5.4).
  ws.send('frag', { fin: false });
  ws.send('mented ', { fin: false });
  ws.send('κόσμε', { fin: true });
  await expectEcho(false, 'fragmented κόσμε', 'fragmented text in 3 frames');
  const parts = [Buffer.from([0, 1]), Buffer.alloc(0), Buffer.alloc(70000, 0xff)];
  parts.forEach((part, index) => ws.send(part, { binary: true, fin: index === parts.length - 1 }));
  await expectEcho(true, Buffer.concat(parts), 'fragmented binary in 3 frames');

  for (const payload of [Buffer.alloc(0), Buffer.from('ping-payload'), Buffer.from([...Array(125).keys()])]) {
    ws.ping(payload);
    const pong = await next('pong');
    if (!payload.equals(pong)) fail(`ping with ${payload.length} bytes: pong carried ${pong.length} bytes`);
    console.log(`ok  ping with ${payload.length} bytes answered with the same payload`);
  }

  closing = true;
  ws.close(1000, 'interop done');
});

// 'close' fires once the TCP connection is gone, with the code from the server's Close frame.
ws.on('close', (code) => {
  clearTimeout(watchdog);
  if (!closing) fail(`the server closed the connection with ${code} before we were done`);
  if (code !== 1000) fail(`the server answered our 1000 with close code ${code}`);
  console.log(`ok  closed: the server answered with ${code}`);
  console.log('PASS node ws');
  process.exit(0);
});
