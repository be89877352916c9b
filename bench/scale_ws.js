#!/usr/bin/env node
/*
 * scale_ws.js - round 1 of bench/scale.c, through Node's ws PerMessageDeflate.
 *
 * N server-side PerMessageDeflate objects in one process, each negotiated
 * as ws does it: the client's offer goes through the
 * Sec-WebSocket-Extensions format and back, the server accepts it, the
 * client accepts the server's response. The client compresses a small
 * message, the server decompresses it; the server compresses a reply, the
 * client decompresses it; both are checked, then the client is cleaned up
 * (its zlib streams closed), so only the N server objects stay, with
 * whatever zlib streams ws keeps between messages. Connections run one
 * after the other (ws's compress and decompress are asynchronous; each
 * call waits for the previous one). threshold 0: every message is
 * compressed, as in the other programs. Printed: the RSS they add
 * (process.memoryUsage().rss after global.gc()), per connection, and the
 * messages per second, wall clock, of the whole exchange.
 *
 * Usage: node --expose-gc scale_ws.js N nct|w15|w12
 * ws is loaded from tests/interop/node/node_modules (or $PMD_WS_MODULES).
 */
'use strict';

const path = require('path');

const modules =
  process.env.PMD_WS_MODULES ||
  path.join(__dirname, '..', 'tests', 'interop', 'node', 'node_modules');
const PerMessageDeflate = require(path.join(modules, 'ws', 'lib', 'permessage-deflate'));
const { parse, format } = require(path.join(modules, 'ws', 'lib', 'extension'));
const wsVersion = require(path.join(modules, 'ws', 'package.json')).version;

function die(what) {
  process.stderr.write(`scale_ws: ${what}\n`);
  process.exit(1);
}

// name: [no_context_takeover both ways, window bits, memLevel]
const SETTINGS = { nct: [true, 15, 8], w15: [false, 15, 8], w12: [false, 12, 5] };
const TEXTS = ['hello', 'are you there?', 'on my way', 'ok, see you soon', 'the build is green again'];

const argv = process.argv.slice(2);
if (argv.length !== 2 || !(argv[1] in SETTINGS)) die('usage: scale_ws.js N nct|w15|w12');
if (typeof global.gc !== 'function') die('run with node --expose-gc');
const n = parseInt(argv[0], 10);
const name = argv[1];
const [nct, wbits, mem] = SETTINGS[name];

function message(conn, round, fromServer) {
  const kind = fromServer ? 'reply' : 'message';
  const text = TEXTS[(conn + round + fromServer) % 5];
  return Buffer.from(`{"type":"${kind}","conn":${conn},"round":${round},"text":"${text}"}`);
}

function options(isServer) {
  return {
    isServer,
    serverNoContextTakeover: nct,
    clientNoContextTakeover: nct,
    serverMaxWindowBits: wbits,
    clientMaxWindowBits: wbits,
    threshold: 0,
    zlibDeflateOptions: { memLevel: mem }
  };
}

function pair() {
  const client = new PerMessageDeflate(options(false));
  const server = new PerMessageDeflate(options(true));
  const offer = parse(format({ [PerMessageDeflate.extensionName]: client.offer() }));
  const accepted = server.accept(offer[PerMessageDeflate.extensionName]);
  const response = parse(format({ [PerMessageDeflate.extensionName]: accepted }));
  client.accept(response[PerMessageDeflate.extensionName]);
  return { client, server };
}

const call = (fn) =>
  new Promise((resolve) =>
    fn((err, buf) => {
      if (err) die(err.message);
      resolve(buf);
    })
  );

async function main() {
  const servers = new Array(n);
  global.gc();
  const rss0 = process.memoryUsage().rss;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { client, server } = pair();
    if (i === 0) {
      const p = server.params;
      if (!!p.server_no_context_takeover !== nct || !!p.client_no_context_takeover !== nct)
        die('negotiated parameters differ from the setting');
    }
    const cmsg = message(i, 1, 0);
    const smsg = message(i, 1, 1);
    let wire = await call((cb) => client.compress(cmsg, true, cb));
    const plain = await call((cb) => server.decompress(wire, true, cb));
    if (!plain.equals(cmsg)) die(`server decompressed wrong bytes (connection ${i})`);
    wire = await call((cb) => server.compress(smsg, true, cb));
    const back = await call((cb) => client.decompress(wire, true, cb));
    if (!back.equals(smsg)) die(`client decompressed wrong bytes (connection ${i})`);
    client.cleanup();
    servers[i] = server;
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  // Let the closed client streams' handles go before measuring.
  await new Promise((resolve) => setImmediate(resolve));
  global.gc();
  global.gc();
  const rss1 = process.memoryUsage().rss;
  console.log(
    `scale setting=${name} wbits=${wbits} memlevel=${mem} takeover=${nct ? 0 : 1} n=${n} ` +
      `compact=0 rounds=1 rss_base_MB=${(rss0 / 1e6).toFixed(1)} ` +
      `rss_round1_MB=${((rss1 - rss0) / 1e6).toFixed(1)} ` +
      `rss_round1_per_conn_B=${((rss1 - rss0) / n).toFixed(0)} ` +
      `round1_conn_per_s=${(n / wall).toFixed(0)} wall_msgs_per_s=${((4 * n) / wall).toFixed(0)} ` +
      `peer=ws-${wsVersion} node=${process.version} zlib=${process.versions.zlib}`
  );
  if (servers.length !== n) die('lost a connection');
}

main();
