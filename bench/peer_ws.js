#!/usr/bin/env node
/*
 * peer_ws.js - the work of pmd_bench.c, through Node's ws PerMessageDeflate.
 *
 * Every message of a corpus file is compressed as one frame (fin = true) by a
 * server-side PerMessageDeflate, then decompressed by the client-side one that
 * negotiated with it, and compared with the original; the pass is repeated
 * with fresh instances until encode + decode time reaches min_seconds.  One
 * line is printed in pmd_bench's key=value format.
 *
 * ws's compress()/decompress() are asynchronous: each call writes into a
 * zlib stream whose work runs on the libuv threadpool, and the result comes
 * back in a callback on a later turn of the event loop.  Like ws's Sender
 * (which waits for one compress() callback before dispatching the next
 * frame) and Receiver (one decompress() per frame, next frame after the
 * callback), this program issues one call at a time, sequentially, and
 * measures wall time; so each message pays a threadpool round trip, and the
 * figures are ws as an application sees it, not zlib alone.  Node also
 * bundles its own zlib (process.versions.zlib), not the system one that the
 * C programs and Python use, so the compressed bytes may differ.
 *
 * Usage: node peer_ws.js CORPUS.bin [window_bits=15] [mem_level=8] [level=6]
 *                        [context_takeover=1] [min_seconds=0.5]
 * ws is loaded from tests/interop/node/node_modules (or $PMD_WS_MODULES).
 */
'use strict';

const fs = require('fs');
const path = require('path');

const modules =
  process.env.PMD_WS_MODULES ||
  path.join(__dirname, '..', 'tests', 'interop', 'node', 'node_modules');
const PerMessageDeflate = require(path.join(modules, 'ws', 'lib', 'permessage-deflate'));
const { parse, format } = require(path.join(modules, 'ws', 'lib', 'extension'));
const wsVersion = require(path.join(modules, 'ws', 'package.json')).version;

function die(what) {
  process.stderr.write(`peer_ws: ${what}\n`);
  process.exit(1);
}

const argv = process.argv.slice(2);
if (argv.length < 1) die('usage: peer_ws.js CORPUS.bin [wbits] [memlevel] [level] [takeover] [secs]');
const file = argv[0];
const wbits = argv.length > 1 ? parseInt(argv[1], 10) : 15;
const mem = argv.length > 2 ? parseInt(argv[2], 10) : 8;
const level = argv.length > 3 ? parseInt(argv[3], 10) : 6;
const takeover = argv.length > 4 ? parseInt(argv[4], 10) : 1;
const minS = argv.length > 5 ? parseFloat(argv[5]) : 0.5;

const all = fs.readFileSync(file);
const msgs = [];
let total = 0;
for (let off = 0; off + 4 <= all.length; ) {
  const n = all.readUInt32LE(off);
  off += 4;
  msgs.push(all.subarray(off, off + n));
  total += n;
  off += n;
}

function options(isServer) {
  return {
    isServer,
    serverNoContextTakeover: !takeover,
    clientNoContextTakeover: !takeover,
    serverMaxWindowBits: wbits,
    clientMaxWindowBits: wbits,
    // Compress every message, whatever its size (ws's default skips
    // messages under 1 KiB when context takeover is off).
    threshold: 0,
    // One call is in flight at a time here, so a limit of 1 never delays
    // anything; it only says so.  (ws's limiter is process-global and takes
    // the value of the first instance.)
    concurrencyLimit: 1,
    zlibDeflateOptions: { level, memLevel: mem }
  };
}

// The handshake as ws does it: the client's offer goes through the
// Sec-WebSocket-Extensions header format and back, the server accepts it,
// and the client accepts the server's response.
function pair() {
  const client = new PerMessageDeflate(options(false));
  const server = new PerMessageDeflate(options(true));
  const offer = parse(format({ [PerMessageDeflate.extensionName]: client.offer() }));
  const accepted = server.accept(offer[PerMessageDeflate.extensionName]);
  const response = parse(format({ [PerMessageDeflate.extensionName]: accepted }));
  client.accept(response[PerMessageDeflate.extensionName]);
  return { tx: server, rx: client };
}

function compressAll(tx, wire, done) {
  let k = 0;
  const next = () => {
    if (k === msgs.length) return done();
    tx.compress(msgs[k], true, (err, buf) => {
      if (err) die(`compress: ${err.message}`);
      wire[k++] = buf;
      next();
    });
  };
  next();
}

function decompressAll(rx, wire, done) {
  let k = 0;
  const next = () => {
    if (k === wire.length) return done();
    rx.decompress(wire[k], true, (err, buf) => {
      if (err) die(`decompress: ${err.message}`);
      if (!buf.equals(msgs[k])) die('round trip mismatch');
      k++;
      next();
    });
  };
  next();
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
let encS = 0;
let decS = 0;
let rounds = 0;
let wireTotal = 0;

function round() {
  const { tx, rx } = pair();
  const wire = new Array(msgs.length);
  const t0 = now();
  compressAll(tx, wire, () => {
    const t1 = now();
    decompressAll(rx, wire, () => {
      const t2 = now();
      wireTotal = wire.reduce((s, b) => s + b.length, 0);
      encS += t1 - t0;
      decS += t2 - t1;
      rounds++;
      tx.cleanup();
      rx.cleanup();
      if (encS + decS < minS) return setImmediate(round);
      console.log(
        `workload=${path.basename(file)} msgs=${msgs.length} bytes=${total} wire=${wireTotal} ` +
          `ratio=${(wireTotal / total).toFixed(3)} ` +
          `encode_MBps=${((total * rounds) / encS / 1e6).toFixed(1)} ` +
          `decode_MBps=${((total * rounds) / decS / 1e6).toFixed(1)} ` +
          `wbits=${wbits} memlevel=${mem} level=${level} takeover=${takeover} rounds=${rounds} ` +
          `peer=ws-${wsVersion} node=${process.version} zlib=${process.versions.zlib}`
      );
    });
  });
}

round();
