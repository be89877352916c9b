/*
 * ws_common.c - RFC 6455 framing and handshake helpers, SHA-1, base64,
 * UTF-8 validation and option parsing shared by the example programs.
 * See ws_common.h.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "ws_common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- byte buffer ------------------------------------------------------- */

int ws_buf_reserve(ws_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len)
        return -1;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int ws_buf_append(ws_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return 0;
    if (ws_buf_reserve(b, len) != 0)
        return -1;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

void ws_buf_consume(ws_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void ws_buf_free(ws_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- SHA-1 (FIPS 180-4), only what the handshake needs ---------------- */

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void sha1_block(uint32_t h[5], const uint8_t *blk)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 |
               (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
    for (int i = 16; i < 80; i++)
        w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = rol32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void ws_sha1(const void *data, size_t len, uint8_t digest[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    const uint8_t *p = data;
    size_t left = len;
    while (left >= 64) {
        sha1_block(h, p);
        p += 64;
        left -= 64;
    }
    uint8_t tail[128];
    memset(tail, 0, sizeof tail);
    memcpy(tail, p, left);
    tail[left] = 0x80;
    size_t tlen = left + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha1_block(h, tail);
    if (tlen == 128)
        sha1_block(h, tail + 64);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h[i];
    }
}

void ws_base64(const uint8_t *in, size_t len, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tbl[(v >> 18) & 63];
        out[o++] = tbl[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tbl[v & 63] : '=';
    }
    out[o] = '\0';
}

void ws_accept_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char buf[256 + sizeof guid];
    if (key_len > 256)
        key_len = 256;
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, guid, sizeof guid - 1);
    uint8_t d[20];
    ws_sha1(buf, key_len + sizeof guid - 1, d);
    ws_base64(d, 20, out);
}

static uint64_t prng_state;

void ws_random(void *buf, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY);
    if (fd >= 0) {
        ssize_t r = read(fd, buf, n);
        close(fd);
        if (r == (ssize_t)n)
            return;
    }
    /* Fallback: xorshift seeded from the address space and pid. */
    if (!prng_state)
        prng_state = (uint64_t)(uintptr_t)&n ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ULL;
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        prng_state ^= prng_state << 13;
        prng_state ^= prng_state >> 7;
        prng_state ^= prng_state << 17;
        p[i] = (uint8_t)prng_state;
    }
}

/* ---- UTF-8 (RFC 3629: no overlongs, no surrogates, max U+10FFFF) ------ */

int ws_utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint8_t lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            if (c == 0xe0)
                lo = 0xa0;
            else if (c == 0xed)
                hi = 0x9f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += n + 1;
    }
    return 1;
}

/* ---- HTTP head ------------------------------------------------------------ */

size_t ws_http_head_len(const uint8_t *buf, size_t len)
{
    for (size_t i = 3; i < len; i++)
        if (buf[i - 3] == '\r' && buf[i - 2] == '\n' && buf[i - 1] == '\r' && buf[i] == '\n')
            return i + 1;
    return 0;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

int ws_http_parse(const uint8_t *head, size_t len, ws_http *h)
{
    if (len >= sizeof h->storage)
        return -1;
    memcpy(h->storage, head, len);
    h->storage[len] = '\0';
    h->n_headers = 0;
    char *line = h->storage;
    char *eol = strstr(line, "\r\n");
    if (!eol)
        return -1;
    *eol = '\0';
    /* start line: two spaces separate three parts; the third may hold spaces */
    char *sp1 = strchr(line, ' ');
    if (!sp1)
        return -1;
    *sp1 = '\0';
    char *sp2 = strchr(sp1 + 1, ' ');
    if (sp2)
        *sp2 = '\0';
    const char *parts[3] = {line, sp1 + 1, sp2 ? sp2 + 1 : ""};
    for (int i = 0; i < 3; i++) {
        if (strlen(parts[i]) >= sizeof h->start[i])
            return -1;
        strcpy(h->start[i], parts[i]);
    }
    line = eol + 2;
    while (*line) {
        eol = strstr(line, "\r\n");
        if (!eol)
            return -1;
        *eol = '\0';
        if (*line == '\0')
            break;                          /* blank line: end of head */
        if (*line == ' ' || *line == '\t')
            return -1;                      /* obsolete line folding */
        char *colon = strchr(line, ':');
        if (!colon || colon == line)
            return -1;
        *colon = '\0';
        for (char *p = line; *p; p++)
            if (*p == ' ' || *p == '\t')
                return -1;                  /* no whitespace in a field name */
        if (h->n_headers == WS_HTTP_MAX_HEADERS)
            return -1;
        h->headers[h->n_headers].name = line;
        h->headers[h->n_headers].value = trim(colon + 1);
        h->n_headers++;
        line = eol + 2;
    }
    return 0;
}

const char *ws_http_get(const ws_http *h, const char *name)
{
    for (size_t i = 0; i < h->n_headers; i++)
        if (strcasecmp(h->headers[i].name, name) == 0)
            return h->headers[i].value;
    return NULL;
}

int ws_http_join(const ws_http *h, const char *name, char *out, size_t cap)
{
    int n = 0;
    size_t o = 0;
    if (cap == 0)
        return -1;
    out[0] = '\0';
    for (size_t i = 0; i < h->n_headers; i++) {
        if (strcasecmp(h->headers[i].name, name) != 0)
            continue;
        const char *v = h->headers[i].value;
        size_t vl = strlen(v);
        size_t sep = n ? 2 : 0;
        if (o + sep + vl + 1 > cap)
            return -1;
        if (sep) {
            memcpy(out + o, ", ", 2);
            o += 2;
        }
        memcpy(out + o, v, vl);
        o += vl;
        out[o] = '\0';
        n++;
    }
    return n;
}

int ws_http_has_token(const char *value, const char *token)
{
    size_t tl = strlen(token);
    const char *p = value;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *e = end;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if ((size_t)(e - p) == tl && strncasecmp(p, token, tl) == 0)
            return 1;
        p = end;
    }
    return 0;
}

void ws_http_refuse(ws_buf *out, const char *status, const char *extra_headers, const char *why)
{
    char resp[1024];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n%s\r\n%s\n",
                     status, strlen(why) + 1, extra_headers ? extra_headers : "", why);
    if (n > 0)
        ws_buf_append(out, resp, (size_t)n < sizeof resp ? (size_t)n : sizeof resp - 1);
}

static int refuse(ws_buf *out, const char *status, const char *extra, const char *why, char *log, size_t logcap)
{
    ws_http_refuse(out, status, extra, why);
    snprintf(log, logcap, "handshake refused: %s: %s", status, why);
    return 0;
}

int ws_server_handshake(const pmd_config *cfg, const struct ws_opts *o, const uint8_t *head, size_t len,
                        ws_buf *out, pmd_extension **ext_out, char *log, size_t logcap)
{
    static ws_http h;   /* large; the examples are single-threaded */
    *ext_out = NULL;
    if (ws_http_parse(head, len, &h) != 0)
        return refuse(out, "400 Bad Request", NULL, "malformed HTTP request", log, logcap);
    if (strcmp(h.start[0], "GET") != 0 || strcmp(h.start[2], "HTTP/1.1") != 0)
        return refuse(out, "400 Bad Request", NULL, "not a GET HTTP/1.1 request", log, logcap);
    const char *upgrade = ws_http_get(&h, "Upgrade");
    const char *connection = ws_http_get(&h, "Connection");
    const char *version = ws_http_get(&h, "Sec-WebSocket-Version");
    const char *key = ws_http_get(&h, "Sec-WebSocket-Key");
    if (!upgrade || !ws_http_has_token(upgrade, "websocket") || !connection ||
        !ws_http_has_token(connection, "upgrade"))
        return refuse(out, "400 Bad Request", NULL, "not a WebSocket upgrade", log, logcap);
    if (!version || strcmp(version, "13") != 0)
        return refuse(out, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                      "unsupported Sec-WebSocket-Version", log, logcap);
    if (!key || strlen(key) != 24)
        return refuse(out, "400 Bad Request", NULL, "missing or malformed Sec-WebSocket-Key", log, logcap);

    char offers[8192];
    int lines = ws_http_join(&h, "Sec-WebSocket-Extensions", offers, sizeof offers);
    if (lines < 0)
        return refuse(out, "400 Bad Request", NULL, "Sec-WebSocket-Extensions too long", log, logcap);
    char ext_resp[PMD_MAX_RESPONSE_LEN];
    size_t ext_len = 0;
    pmd_extension *ext = NULL;
    if (!o->no_deflate) {
        pmd_result r = pmd_server_negotiate(cfg, offers, strlen(offers), ext_resp, sizeof ext_resp, &ext_len, &ext);
        if (r != PMD_OK) {
            char why[512];
            snprintf(why, sizeof why, "Sec-WebSocket-Extensions \"%.200s\": %s: %s", offers, pmd_result_name(r),
                     pmd_last_error());
            if (r == PMD_ERR_HEADER_SYNTAX || r == PMD_ERR_NEGOTIATION)
                return refuse(out, "400 Bad Request", NULL, why, log, logcap);
            return refuse(out, "500 Internal Server Error", NULL, why, log, logcap);
        }
    }

    char accept[29];
    ws_accept_key(key, strlen(key), accept);
    char resp[1024];
    int n = snprintf(resp, sizeof resp,
                     "HTTP/1.1 101 Switching Protocols\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Accept: %s\r\n",
                     accept);
    if (ext)
        n += snprintf(resp + n, sizeof resp - (size_t)n, "Sec-WebSocket-Extensions: %.*s\r\n", (int)ext_len,
                      ext_resp);
    n += snprintf(resp + n, sizeof resp - (size_t)n, "\r\n");
    if (ws_buf_append(out, resp, (size_t)n) != 0) {
        pmd_extension_free(ext);
        snprintf(log, logcap, "out of memory");
        return 0;
    }
    snprintf(log, logcap, "offer \"%.300s\" (%d header line%s) -> %s%.*s", offers, lines, lines == 1 ? "" : "s",
             ext ? "" : "no extension", (int)ext_len, ext_resp);
    *ext_out = ext;
    return 1;
}

/* ---- options ---------------------------------------------------------------- */

static void usage(const char *prog, int role)
{
    fprintf(stderr,
            "usage: %s [options]\n"
            "  --port N                      %s\n"
            "  --server-max-window-bits N    8..15\n"
            "  --client-max-window-bits N    8..15%s\n"
            "  --server-no-context-takeover\n"
            "  --client-no-context-takeover\n"
            "  --level N                     zlib level -1..9\n"
            "  --mem-level N                 zlib memLevel 1..9\n"
            "  --max-size N                  max message size in bytes (0: unlimited; default 16 MiB)\n"
            "  --no-deflate                  do not negotiate permessage-deflate\n",
            prog, role == WS_ROLE_SERVER ? "port to listen on (0: ephemeral, printed)" : "server port",
            role == WS_ROLE_CLIENT ? ", or novalue" : "");
    if (role == WS_ROLE_SERVER)
        fprintf(stderr,
                "  --require                     refuse (HTTP 400) clients without an acceptable offer\n"
                "  --require-client-max-window-bits  decline offers without client_max_window_bits\n"
                "  --max-connections N           exit after serving N connections\n");
    else
        fprintf(stderr,
                "  --host H                      server address (default 127.0.0.1)\n"
                "  --path P                      request path (default /)\n"
                "  --oversize N                  send one N-byte message, expect close 1009 from the server\n"
                "  --oversize-echo N             send one N-byte message, expect its echo to exceed\n"
                "                                --max-size and close with 1009 ourselves\n");
    fprintf(stderr, "  --quiet                       print only the summary\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int ws_opts_parse(int argc, char **argv, int role, ws_opts *o)
{
    memset(o, 0, sizeof *o);
    o->role = role;
    o->host = "127.0.0.1";
    o->path = "/";
    o->port = role == WS_ROLE_SERVER ? 0 : 9001;
    o->level = -1;
    o->max_size = 16u << 20;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
#define NEED_VALUE()                                                    \
    do {                                                                \
        if (!v) {                                                       \
            fprintf(stderr, "%s: %s needs a value\n", argv[0], a);      \
            return -1;                                                  \
        }                                                               \
        i++;                                                            \
    } while (0)
#define NUM(lo, hi)                                                     \
    do {                                                                \
        NEED_VALUE();                                                   \
        if (parse_long(v, (lo), (hi), &n) != 0) {                       \
            fprintf(stderr, "%s: bad value for %s: %s\n", argv[0], a, v); \
            return -1;                                                  \
        }                                                               \
    } while (0)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(argv[0], role);
            return 1;
        } else if (strcmp(a, "--port") == 0) {
            NUM(0, 65535);
            o->port = (int)n;
        } else if (strcmp(a, "--server-max-window-bits") == 0) {
            NUM(8, 15);
            o->server_max_window_bits = (int)n;
        } else if (strcmp(a, "--client-max-window-bits") == 0) {
            if (role == WS_ROLE_CLIENT && v && strcmp(v, "novalue") == 0) {
                i++;
                o->client_max_window_bits = PMD_WINDOW_BITS_NO_VALUE;
            } else {
                NUM(8, 15);
                o->client_max_window_bits = (int)n;
            }
        } else if (strcmp(a, "--server-no-context-takeover") == 0) {
            o->server_no_context_takeover = 1;
        } else if (strcmp(a, "--client-no-context-takeover") == 0) {
            o->client_no_context_takeover = 1;
        } else if (strcmp(a, "--level") == 0) {
            NUM(-1, 9);
            o->level = (int)n;
        } else if (strcmp(a, "--mem-level") == 0) {
            NUM(1, 9);
            o->mem_level = (int)n;
        } else if (strcmp(a, "--max-size") == 0) {
            NUM(0, 1L << 30);
            o->max_size = (size_t)n;
        } else if (strcmp(a, "--no-deflate") == 0) {
            o->no_deflate = 1;
        } else if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--require") == 0) {
            o->require = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--require-client-max-window-bits") == 0) {
            o->require_client_max_window_bits = 1;
        } else if (role == WS_ROLE_SERVER && strcmp(a, "--max-connections") == 0) {
            NUM(0, 1L << 30);
            o->max_connections = n;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--host") == 0) {
            NEED_VALUE();
            o->host = v;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--path") == 0) {
            NEED_VALUE();
            o->path = v;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--oversize") == 0) {
            NUM(1, 1L << 30);
            o->oversize = (size_t)n;
        } else if (role == WS_ROLE_CLIENT && strcmp(a, "--oversize-echo") == 0) {
            NUM(1, 1L << 30);
            o->oversize_echo = (size_t)n;
        } else {
            fprintf(stderr, "%s: unknown option %s\n", argv[0], a);
            usage(argv[0], role);
            return -1;
        }
#undef NUM
#undef NEED_VALUE
    }
    return 0;
}

#define CHECK_PMD(call)                                                           \
    do {                                                                          \
        pmd_result r_ = (call);                                                   \
        if (r_ != PMD_OK) {                                                       \
            fprintf(stderr, "%s: %s (%s)\n", #call, pmd_result_name(r_), pmd_last_error()); \
            pmd_config_free(cfg);                                                 \
            return NULL;                                                          \
        }                                                                         \
    } while (0)

pmd_config *ws_opts_config(const ws_opts *o)
{
    pmd_config *cfg = pmd_config_new();
    if (!cfg) {
        fprintf(stderr, "pmd_config_new: out of memory\n");
        return NULL;
    }
    if (o->server_no_context_takeover)
        CHECK_PMD(pmd_config_set_server_no_context_takeover(cfg, true));
    if (o->client_no_context_takeover)
        CHECK_PMD(pmd_config_set_client_no_context_takeover(cfg, true));
    if (o->server_max_window_bits)
        CHECK_PMD(pmd_config_set_server_max_window_bits(cfg, o->server_max_window_bits));
    if (o->client_max_window_bits)
        CHECK_PMD(pmd_config_set_client_max_window_bits(cfg, o->client_max_window_bits));
    CHECK_PMD(pmd_config_set_compress_level(cfg, o->level));
    if (o->mem_level)
        CHECK_PMD(pmd_config_set_mem_level(cfg, o->mem_level));
    if (o->require)
        CHECK_PMD(pmd_config_set_require(cfg, true));
    if (o->require_client_max_window_bits)
        CHECK_PMD(pmd_config_set_require_client_max_window_bits(cfg, true));
    return cfg;
}

/* ---- framing ---------------------------------------------------------------- */

void ws_conn_init(ws_conn *c, int is_client, pmd_extension *ext, size_t max_size)
{
    memset(c, 0, sizeof *c);
    c->is_client = is_client;
    c->ext = ext;
    c->max_size = max_size;
}

void ws_conn_free(ws_conn *c)
{
    ws_buf_free(&c->in);
    ws_buf_free(&c->out);
    ws_buf_free(&c->msg);
    pmd_extension_free(c->ext);
    c->ext = NULL;
}

static ws_event fail(ws_conn *c, uint16_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
    c->failed = 1;
    ws_conn_send_close(c, code, NULL);
    ws_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = WS_EV_ERROR;
    ev.code = code;
    return ev;
}

static int valid_close_code(unsigned code)
{
    if (code >= 3000 && code <= 4999)
        return 1;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

ws_event ws_conn_next_event(ws_conn *c)
{
    ws_event ev;
    memset(&ev, 0, sizeof ev);
    if (c->msg_done) {
        c->msg.len = 0;
        c->msg_done = 0;
    }
    while (!c->close_received) {
        if (c->skip) {
            size_t n = c->skip < c->in.len ? (size_t)c->skip : c->in.len;
            ws_buf_consume(&c->in, n);
            c->skip -= n;
            if (c->skip)
                return ev;
        }
        const uint8_t *p = c->in.data;
        size_t avail = c->in.len;
        if (avail < 2)
            return ev;
        int fin = (p[0] & 0x80) != 0;
        int rsv1 = (p[0] & 0x40) != 0, rsv2 = (p[0] & 0x20) != 0, rsv3 = (p[0] & 0x10) != 0;
        uint8_t opcode = p[0] & 0x0f;
        int masked = (p[1] & 0x80) != 0;
        uint64_t plen = p[1] & 0x7f;
        size_t hl = 2;
        if (plen == 126) {
            if (avail < 4)
                return ev;
            plen = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (plen == 127) {
            if (avail < 10)
                return ev;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = plen << 8 | p[2 + i];
            hl = 10;
            if (plen >> 63)
                return fail(c, WS_CLOSE_PROTOCOL, "64-bit length with the top bit set");
        }
        if (masked)
            hl += 4;

        if (c->failed) {
            /* We sent our close: skip data frames unread, and look only for
               the peer's close (RFC 6455 7.1.1: wait for it before TCP close). */
            if (opcode < 8) {
                c->skip = hl + plen;
                continue;
            }
            if (plen > 125 || avail < hl + plen)
                return ev;
            uint8_t *pl = c->in.data + hl;
            if (masked)
                for (size_t i = 0; i < plen; i++)
                    pl[i] ^= c->in.data[hl - 4 + (i & 3)];
            if (opcode == PMD_OPCODE_CLOSE) {
                c->close_received = 1;
                c->close_code_received = plen >= 2 ? (uint16_t)(pl[0] << 8 | pl[1]) : 1005;
                ev.type = WS_EV_CLOSE;
                ev.code = c->close_code_received;
                ws_buf_consume(&c->in, hl + (size_t)plen);
                return ev;
            }
            ws_buf_consume(&c->in, hl + (size_t)plen);
            continue;
        }

        /* Everything that can be judged from the header, before buffering the payload. */
        if (rsv2 || rsv3)
            return fail(c, WS_CLOSE_PROTOCOL, "RSV2/RSV3 set without an extension defining them");
        if (rsv1 && !c->ext)
            return fail(c, WS_CLOSE_PROTOCOL, "RSV1 set but permessage-deflate was not negotiated");
        if ((opcode > 2 && opcode < 8) || opcode > 10)
            return fail(c, WS_CLOSE_PROTOCOL, "reserved opcode %u", opcode);
        if (opcode >= 8 && (!fin || plen > 125))
            return fail(c, WS_CLOSE_PROTOCOL, "fragmented or oversized control frame");
        if (c->is_client && masked)
            return fail(c, WS_CLOSE_PROTOCOL, "masked frame from the server");
        if (!c->is_client && !masked)
            return fail(c, WS_CLOSE_PROTOCOL, "unmasked frame from the client");
        if (opcode == PMD_OPCODE_CONTINUATION && !c->msg_opcode)
            return fail(c, WS_CLOSE_PROTOCOL, "continuation frame without a message in progress");
        if ((opcode == PMD_OPCODE_TEXT || opcode == PMD_OPCODE_BINARY) && c->msg_opcode)
            return fail(c, WS_CLOSE_PROTOCOL, "new data frame while a message is in progress");
        if (opcode < 8 && c->max_size) {
            size_t remaining = c->max_size - c->msg.len;
            int compressed = opcode == PMD_OPCODE_CONTINUATION ? c->msg_compressed : rsv1;
            /* Uncompressed: the payload is the message. Compressed: leave
               the exact verdict to pmd_extension_decode, but refuse to
               buffer a frame far beyond anything that could fit. */
            uint64_t bound = compressed ? (uint64_t)remaining * 2 + 65536 : remaining;
            if (plen > bound)
                return fail(c, WS_CLOSE_TOO_BIG, "frame of %llu bytes exceeds max size %zu",
                            (unsigned long long)plen, c->max_size);
        }
        if (plen > SIZE_MAX - hl || avail < hl + plen)
            return ev;                                     /* need more input */

        uint8_t *payload = c->in.data + hl;
        if (masked) {
            const uint8_t *key = c->in.data + hl - 4;
            for (size_t i = 0; i < plen; i++)
                payload[i] ^= key[i & 3];
        }
        c->wire_received += plen;

        pmd_frame in = {opcode, fin, rsv1, rsv2, rsv3, payload, (size_t)plen};
        pmd_frame out = in;
        if (c->ext) {
            size_t budget = 0;
            if (opcode < 8 && c->max_size) {
                budget = c->max_size - c->msg.len;
                if (budget == 0)
                    budget = 1; /* 0 would mean "no limit"; any output is then too big */
            }
            pmd_result r = pmd_extension_decode(c->ext, &in, budget, &out);
            if (r != PMD_OK) {
                uint16_t code = pmd_result_close_code(r);
                return fail(c, code ? code : WS_CLOSE_INTERNAL, "pmd_extension_decode: %s (%s)",
                            pmd_result_name(r), pmd_last_error());
            }
        }

        if (opcode >= 8) {
            size_t n = out.len;
            memcpy(c->ctrl, out.data, n);
            ws_buf_consume(&c->in, hl + (size_t)plen);
            ev.opcode = opcode;
            ev.data = c->ctrl;
            ev.len = n;
            if (opcode == PMD_OPCODE_PING) {
                if (!c->close_sent && ws_conn_send_frame(c, PMD_OPCODE_PONG, 1, c->ctrl, n) != 0)
                    return fail(c, WS_CLOSE_INTERNAL, "cannot queue pong");
                ev.type = WS_EV_PING;
                return ev;
            }
            if (opcode == PMD_OPCODE_PONG) {
                ev.type = WS_EV_PONG;
                return ev;
            }
            /* close */
            uint16_t code = 1005;
            if (n == 1)
                return fail(c, WS_CLOSE_PROTOCOL, "close frame with a 1-byte body");
            if (n >= 2) {
                code = (uint16_t)(c->ctrl[0] << 8 | c->ctrl[1]);
                if (!valid_close_code(code))
                    return fail(c, WS_CLOSE_PROTOCOL, "invalid close code %u", code);
                if (!ws_utf8_valid(c->ctrl + 2, n - 2))
                    return fail(c, WS_CLOSE_INVALID_DATA, "close reason is not UTF-8");
            }
            c->close_received = 1;
            c->close_code_received = code;
            if (!c->close_sent)
                ws_conn_send_close(c, code == 1005 ? 0 : code, NULL);
            ev.type = WS_EV_CLOSE;
            ev.code = code;
            return ev;
        }

        /* data frame */
        if (opcode != PMD_OPCODE_CONTINUATION) {
            c->msg_opcode = opcode;
            c->msg_compressed = rsv1;
            c->msg_frames = 0;
            c->msg.len = 0;
        }
        if (c->max_size && out.len > c->max_size - c->msg.len)
            return fail(c, WS_CLOSE_TOO_BIG, "message exceeds max size %zu", c->max_size);
        if (ws_buf_append(&c->msg, out.data, out.len) != 0)
            return fail(c, WS_CLOSE_INTERNAL, "out of memory");
        ws_buf_consume(&c->in, hl + (size_t)plen);
        c->msg_frames++;
        if (!fin)
            continue;
        c->payload_received += c->msg.len;
        if (c->msg_opcode == PMD_OPCODE_TEXT && !ws_utf8_valid(c->msg.data, c->msg.len))
            return fail(c, WS_CLOSE_INVALID_DATA, "text message is not valid UTF-8");
        ev.type = WS_EV_MESSAGE;
        ev.opcode = c->msg_opcode;
        ev.data = c->msg.data;
        ev.len = c->msg.len;
        ev.frames = c->msg_frames;
        c->msg_opcode = 0;
        c->msg_done = 1;
        return ev;
    }
    return ev;
}

static uint64_t mask_state;

static void mask_key(uint8_t key[4])
{
    /* Masking keys must be unpredictable (RFC 6455 5.3): seed from the
       kernel once, then a xorshift64* stream. */
    if (!mask_state) {
        ws_random(&mask_state, sizeof mask_state);
        mask_state |= 1;
    }
    mask_state ^= mask_state >> 12;
    mask_state ^= mask_state << 25;
    mask_state ^= mask_state >> 27;
    uint32_t v = (uint32_t)((mask_state * 2685821657736338717ULL) >> 32);
    memcpy(key, &v, 4);
}

int ws_conn_send_frame(ws_conn *c, uint8_t opcode, int fin, const uint8_t *data, size_t len)
{
    pmd_frame in = {opcode, fin != 0, false, false, false, data, len};
    pmd_frame out = in;
    if (c->close_sent) {
        snprintf(c->error, sizeof c->error, "close already sent");
        return -1;
    }
    if (c->ext) {
        pmd_result r = pmd_extension_encode(c->ext, &in, &out);
        if (r != PMD_OK) {
            snprintf(c->error, sizeof c->error, "pmd_extension_encode: %s (%s)", pmd_result_name(r),
                     pmd_last_error());
            return -1;
        }
    }
    uint8_t hdr[14];
    size_t hl = 2;
    hdr[0] = (uint8_t)((out.fin ? 0x80 : 0) | (out.rsv1 ? 0x40 : 0) | (out.rsv2 ? 0x20 : 0) |
                       (out.rsv3 ? 0x10 : 0) | (out.opcode & 0x0f));
    if (out.len < 126) {
        hdr[1] = (uint8_t)out.len;
    } else if (out.len <= 0xffff) {
        hdr[1] = 126;
        hdr[2] = (uint8_t)(out.len >> 8);
        hdr[3] = (uint8_t)out.len;
        hl = 4;
    } else {
        hdr[1] = 127;
        for (int i = 0; i < 8; i++)
            hdr[2 + i] = (uint8_t)((uint64_t)out.len >> (56 - 8 * i));
        hl = 10;
    }
    uint8_t key[4] = {0, 0, 0, 0};
    if (c->is_client) {
        hdr[1] |= 0x80;
        mask_key(key);
        memcpy(hdr + hl, key, 4);
        hl += 4;
    }
    if (ws_buf_reserve(&c->out, hl + out.len) != 0) {
        snprintf(c->error, sizeof c->error, "out of memory");
        return -1;
    }
    ws_buf_append(&c->out, hdr, hl);
    uint8_t *dst = c->out.data + c->out.len;
    ws_buf_append(&c->out, out.data, out.len);
    if (c->is_client)
        for (size_t i = 0; i < out.len; i++)
            dst[i] ^= key[i & 3];
    if (opcode < 8) {
        c->payload_sent += len;
        c->wire_sent += out.len;
    }
    if (opcode == PMD_OPCODE_CLOSE) {
        c->close_sent = 1;
    }
    return 0;
}

int ws_conn_send_message(ws_conn *c, uint8_t opcode, const uint8_t *data, size_t len)
{
    return ws_conn_send_frame(c, opcode, 1, data, len);
}

int ws_conn_send_close(ws_conn *c, uint16_t code, const char *reason)
{
    if (c->close_sent)
        return 0;
    uint8_t body[125];
    size_t n = 0;
    if (code) {
        body[0] = (uint8_t)(code >> 8);
        body[1] = (uint8_t)code;
        n = 2;
        if (reason) {
            size_t rl = strlen(reason);
            if (rl > 123)
                rl = 123;
            memcpy(body + 2, reason, rl);
            n += rl;
        }
    }
    c->close_code_sent = code ? code : 1005;
    return ws_conn_send_frame(c, PMD_OPCODE_CLOSE, 1, body, n);
}

int ws_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len) {
        ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int ws_listen_loopback(int port)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 128) != 0) {
        perror("bind/listen");
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(lfd, (struct sockaddr *)&sa, &sl);
    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
    printf("listening on %u\n", ntohs(sa.sin_port));
    fflush(stdout);
    return lfd;
}

void ws_print_negotiated(FILE *f, const char *who, const pmd_extension *ext)
{
    pmd_negotiated n;
    if (!ext) {
        fprintf(f, "%snegotiated: none (no permessage-deflate)\n", who);
        return;
    }
    if (pmd_extension_negotiated(ext, &n) != PMD_OK) {
        fprintf(f, "%snegotiated: ? (%s)\n", who, pmd_last_error());
        return;
    }
    fprintf(f,
            "%snegotiated: %s local_max_window_bits=%u remote_max_window_bits=%u "
            "local_no_context_takeover=%d remote_no_context_takeover=%d\n",
            who, pmd_extension_name(ext), n.local_max_window_bits, n.remote_max_window_bits,
            n.local_no_context_takeover, n.remote_no_context_takeover);
}
