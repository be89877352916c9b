/* x-xor: a toy WebSocket extension written in C against pmdeflate's
 * extension framework, used by the C framework test and the interop test.
 *
 * Negotiation: the client offers "x-xor; key=N" (N = 1..255); the server
 * accepts an offer with exactly one key parameter in that range and answers
 * "x-xor; key=N" with the same key; the client accepts that response only
 * when the key is the one it offered. A second x-xor is refused on both
 * sides (NegotiationError), as permessage-deflate refuses duplicates.
 *
 * Frames: every outgoing data frame (text, binary, continuation) gets RSV2
 * and its payload XORed with the key; every incoming data frame must carry
 * RSV2 (PMD_ERR_PROTOCOL otherwise), which is cleared, and the payload is
 * XORed back. Control frames pass through; RSV2 on one is PMD_ERR_PROTOCOL.
 * A decoded payload over max_size (SIZE_MAX: no limit) is PMD_ERR_PAYLOAD_TOO_BIG.
 *
 * Header-only (static functions) so that each program gets its own copy.
 * The counters let tests prove that every instance is destroyed once. */
#ifndef PMD_TEST_XOR_EXT_H
#define PMD_TEST_XOR_EXT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmdeflate.h"

static int xor_created;   /* instances made by the factories */
static int xor_destroyed; /* instances destroyed through the vtable */
static size_t xor_last_max_size;

typedef struct xor_state {
    unsigned key;
    char key_text[4];     /* the response parameter's value lives here */
    pmd_param response[1];
    unsigned char *enc, *dec; /* output of the last encode / decode */
    size_t enc_cap, dec_cap;
} xor_state;

static int xor_apply(xor_state *s, int decode, const pmd_frame *in, pmd_frame *out) {
    unsigned char **buf = decode ? &s->dec : &s->enc;
    size_t *cap = decode ? &s->dec_cap : &s->enc_cap;
    size_t i;
    *out = *in;
    if (in->opcode >= 8) {
        return in->rsv2 ? PMD_ERR_PROTOCOL : PMD_OK;
    }
    if (decode && !in->rsv2) {
        return PMD_ERR_PROTOCOL;
    }
    if (in->len > *cap) {
        unsigned char *p = (unsigned char *)realloc(*buf, in->len);
        if (p == NULL) {
            return PMD_ERR_OUT_OF_MEMORY;
        }
        *buf = p;
        *cap = in->len;
    }
    for (i = 0; i < in->len; i++) {
        (*buf)[i] = (unsigned char)(in->data[i] ^ s->key);
    }
    out->data = in->len ? *buf : NULL;
    out->rsv2 = !decode;
    return PMD_OK;
}

static int xor_encode(void *state, const pmd_frame *in, pmd_frame *out) {
    return xor_apply((xor_state *)state, 0, in, out);
}

static int xor_decode(void *state, const pmd_frame *in, size_t max_size, pmd_frame *out) {
    xor_last_max_size = max_size;
    if (in->len > max_size) {
        return PMD_ERR_PAYLOAD_TOO_BIG;
    }
    return xor_apply((xor_state *)state, 1, in, out);
}

static void xor_destroy(void *state) {
    xor_state *s = (xor_state *)state;
    xor_destroyed++;
    free(s->enc);
    free(s->dec);
    free(s);
}

static const pmd_extension_vtable xor_vtable = {sizeof(pmd_extension_vtable), "x-xor", xor_encode, xor_decode, xor_destroy};

static xor_state *xor_new(unsigned key) {
    xor_state *s = (xor_state *)calloc(1, sizeof *s);
    if (s == NULL) {
        return NULL;
    }
    s->key = key;
    snprintf(s->key_text, sizeof s->key_text, "%u", key);
    s->response[0].name = "key";
    s->response[0].name_len = 3;
    s->response[0].value = s->key_text;
    s->response[0].value_len = strlen(s->key_text);
    xor_created++;
    return s;
}

/* The key of a parameter list: 1..255 from exactly one "key" parameter,
   0 when the list is not acceptable. */
static unsigned xor_key_of(const pmd_param *params, size_t n) {
    unsigned key = 0;
    size_t j;
    if (n != 1 || params[0].name_len != 3 || memcmp(params[0].name, "key", 3) != 0 || params[0].value == NULL ||
        params[0].value_len == 0 || params[0].value_len > 3) {
        return 0;
    }
    for (j = 0; j < params[0].value_len; j++) {
        char c = params[0].value[j];
        if (c < '0' || c > '9' || (j == 0 && c == '0')) {
            return 0;
        }
        key = key * 10 + (unsigned)(c - '0');
    }
    return key >= 1 && key <= 255 ? key : 0;
}

static int xor_already_accepted(const pmd_extension_instance *accepted, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (strcmp(accepted[i].vtable->name, "x-xor") == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- client factory: user is a xor_client_cfg ---------------------------- */

typedef struct xor_client_cfg {
    unsigned key;
    char key_text[4];
    pmd_param request[1];
} xor_client_cfg;

static int xor_client_request(void *user, const pmd_param **params, size_t *n) {
    xor_client_cfg *c = (xor_client_cfg *)user;
    *params = c->request;
    *n = 1;
    return PMD_OK;
}

static int xor_client_response(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                               size_t n_accepted, pmd_extension_instance *out) {
    xor_client_cfg *c = (xor_client_cfg *)user;
    xor_state *s;
    if (xor_already_accepted(accepted, n_accepted) || xor_key_of(params, n) != c->key) {
        return PMD_ERR_NEGOTIATION;
    }
    s = xor_new(c->key);
    if (s == NULL) {
        return PMD_ERR_OUT_OF_MEMORY;
    }
    out->vtable = &xor_vtable;
    out->state = s;
    return PMD_OK;
}

static void xor_client_free(void *user) {
    free(user);
}

/* A client factory offering key (the negotiator owns the allocation). */
static pmd_client_factory xor_client_factory(unsigned key) {
    pmd_client_factory f;
    xor_client_cfg *c = (xor_client_cfg *)calloc(1, sizeof *c);
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    if (c == NULL) {
        return f;
    }
    c->key = key;
    snprintf(c->key_text, sizeof c->key_text, "%u", key);
    c->request[0].name = "key";
    c->request[0].name_len = 3;
    c->request[0].value = c->key_text;
    c->request[0].value_len = strlen(c->key_text);
    f.name = "x-xor";
    f.user = c;
    f.get_request_params = xor_client_request;
    f.process_response_params = xor_client_response;
    f.destroy = xor_client_free;
    return f;
}

/* ---- server factory: stateless ------------------------------------------- */

static int xor_server_request(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                              size_t n_accepted, const pmd_param **response, size_t *n_response,
                              pmd_extension_instance *out) {
    unsigned key = xor_key_of(params, n);
    xor_state *s;
    (void)user;
    if (key == 0 || xor_already_accepted(accepted, n_accepted)) {
        return PMD_ERR_NEGOTIATION;
    }
    s = xor_new(key);
    if (s == NULL) {
        return PMD_ERR_OUT_OF_MEMORY;
    }
    /* The response parameter lives in the new instance's state. */
    *response = s->response;
    *n_response = 1;
    out->vtable = &xor_vtable;
    out->state = s;
    return PMD_OK;
}

static pmd_server_factory xor_server_factory(void) {
    pmd_server_factory f;
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    f.name = "x-xor";
    f.process_request_params = xor_server_request;
    return f;
}

#endif
