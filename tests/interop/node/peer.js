// Node `ws` peers for the interop tests.
//   node peer.js client '{"url": ..., "pmd": {...}, "oversize": N}'
//   node peer.js server '{"port": 0, "pmd": {...}, "max_size": N}'
// "pmd" is ws's perMessageDeflate option object (false: no compression).
'use strict';
const WebSocket = require('ws');

const SIZES = [0, 1, 125, 126, 65535, 65536, 1048576];
const WORDS = ['permessage', 'deflate', 'window', 'bits', 'context', 'takeover',
  'caf\u00e9', '\u20ac', '\u{1d11e}', '\u03bb'];

function payload(size, text, seed) {
  let x = (2463534242 ^ seed) >>> 0;
  const step = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  if (text) {
    const parts = [];
    let n = 0;
    while (n < size) {
      const w = Buffer.from(WORDS[step() % WORDS.length] + ' ');
      const b = w.length > size - n ? Buffer.alloc(size - n, 'a') : w;
      parts.push(b);
      n += b.length;
    }
    return Buffer.concat(parts, size);
  }
  const out = Buffer.alloc(size);
  for (let i = 0; i < size;) {
    const v = step();
    const run = Math.min(1 + ((v >>> 8) % 64), size - i);
    for (let k = 0; k < run; k++) out[i + k] = (v & 1) ? (step() & 0xff) : (v >>> 24);
    i += run;
  }
  return out;
}

function result(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }

function open(url, cfg) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: cfg.pmd === undefined ? true : cfg.pmd,
      maxPayload: cfg.max_size || 4 << 20, headers: cfg.extra_headers || {} });
    const inbox = [];
    let waiter = null;
    ws.on('message', (data, isBinary) => {
      inbox.push([data, isBinary]);
      if (waiter) { const w = waiter; waiter = null; w(); }
    });
    ws.on('close', (code) => {
      ws.closeCode = code;
      inbox.push(null);
      if (waiter) { const w = waiter; waiter = null; w(); }
    });
    ws.next = () => new Promise((res) => {
      if (inbox.length) return res(inbox.shift());
      waiter = () => res(inbox.shift());
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function sendp(ws, data, opts) {
  return new Promise((res, rej) => ws.send(data, opts, (e) => (e ? rej(e) : res())));
}

async function client(cfg) {
  let ws;
  try {
    ws = await open(cfg.url, cfg);
  } catch (e) {
    return result({ handshake: 'failed', error: String(e) });
  }
  const respExt = ws.extensions;
  const pongs = [];
  ws.on('pong', (d) => pongs.push(d.toString()));
  let seed = 1;
  let checked = 0;
  for (const size of SIZES) {
    for (const text of [true, false]) {
      for (const frag of [false, true]) {
        const data = payload(size, text, seed);
        const want = [];
        if (!frag) {
          await sendp(ws, data, { binary: !text, compress: true, fin: true });
        } else {
          const cut = [0, Math.floor(size / 3), Math.floor(2 * size / 3), size];
          for (let f = 0; f < 3; f++) {
            await sendp(ws, data.subarray(cut[f], cut[f + 1]), { binary: !text, compress: true, fin: f === 2 });
            if (f < 2) { const p = `ping ${seed}.${f}`; want.push(p); ws.ping(p); }
          }
        }
        const got = await ws.next();
        if (!got || !Buffer.from(got[0]).equals(data) || got[1] === text) {
          return result({ ok: false, error: `echo mismatch size=${size} text=${text} frag=${frag}` });
        }
        for (let t = 0; pongs.length < want.length && t < 100; t++) await new Promise((r) => setTimeout(r, 10));
        const have = pongs.splice(0, want.length);
        if (have.join('|') !== want.join('|')) return result({ ok: false, error: `pongs ${have} != ${want}` });
        checked++;
        seed++;
      }
    }
  }
  ws.close(1000);
  await ws.next();
  if (ws.closeCode !== 1000) return result({ ok: false, error: `close code ${ws.closeCode}` });
  let over = null;
  if (cfg.oversize) {
    const w2 = await open(cfg.url, cfg);
    w2.on('error', () => {});
    w2.send(payload(cfg.oversize, true, 99), { binary: false, compress: true });
    await w2.next();
    over = w2.closeCode;
  }
  result({ ok: true, checked, response_ext: respExt, oversize_close: over });
}

function server(cfg) {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: cfg.port || 0,
    perMessageDeflate: cfg.pmd === undefined ? true : cfg.pmd, maxPayload: cfg.max_size || 4 << 20 });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary, compress: true }));
  });
  wss.on('listening', () => process.stdout.write(`listening on ${wss.address().port}\n`));
}

const [mode, json] = process.argv.slice(2);
const cfg = JSON.parse(json);
if (mode === 'client') {
  client(cfg).catch((e) => { result({ ok: false, error: String(e) }); process.exit(1); })
    .then(() => process.exit(0));
} else {
  server(cfg);
}
