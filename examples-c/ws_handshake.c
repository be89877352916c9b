/*
 * ws_handshake.c - the opening handshake of ws_handshake.h: check the
 * request, let pmdeflate answer its Sec-WebSocket-Extensions, write the
 * 101 response (or the HTTP error that refuses it).
 */
#include "ws_handshake.h"

#include <string.h>

#include "ws_base64.h"
#include "ws_options.h"
#include "ws_sha1.h"

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

static int refuse(ws_buf *out, const char *status, const char *extra, const char *why, char *log, size_t logcap)
{
    ws_http_refuse(out, status, extra, why);
    snprintf(log, logcap, "handshake refused: %s: %s", status, why);
    return 0;
}

int ws_server_handshake(const pmd_config *cfg, const struct ws_opts *o, ws_http *req, const uint8_t *head,
                        size_t len, ws_buf *out, pmd_extension **ext_out, char *log, size_t logcap)
{
    *ext_out = NULL;
    if (ws_http_parse(head, len, req) != 0)
        return refuse(out, "400 Bad Request", NULL, "malformed HTTP request", log, logcap);
    if (strcmp(req->start[0], "GET") != 0 || strcmp(req->start[2], "HTTP/1.1") != 0)
        return refuse(out, "400 Bad Request", NULL, "not a GET HTTP/1.1 request", log, logcap);
    const char *upgrade = ws_http_get(req, "Upgrade");
    const char *connection = ws_http_get(req, "Connection");
    const char *version = ws_http_get(req, "Sec-WebSocket-Version");
    const char *key = ws_http_get(req, "Sec-WebSocket-Key");
    if (!upgrade || !ws_http_has_token(upgrade, "websocket") || !connection ||
        !ws_http_has_token(connection, "upgrade"))
        return refuse(out, "400 Bad Request", NULL, "not a WebSocket upgrade", log, logcap);
    if (!version || strcmp(version, "13") != 0)
        return refuse(out, "426 Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                      "unsupported Sec-WebSocket-Version", log, logcap);
    if (!key || strlen(key) != 24)
        return refuse(out, "400 Bad Request", NULL, "missing or malformed Sec-WebSocket-Key", log, logcap);

    char offers[8192];
    int lines = ws_http_join(req, "Sec-WebSocket-Extensions", offers, sizeof offers);
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
