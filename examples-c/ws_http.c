/*
 * ws_http.c - the HTTP head parser of ws_http.h. Strict where the
 * handshake needs it: no obsolete line folding, no whitespace in a field
 * name, at most WS_HTTP_MAX_HEADERS headers in WS_HTTP_MAX_HEAD bytes.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include "ws_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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
