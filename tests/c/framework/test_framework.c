/* The extension framework from C: a custom extension (x-xor, in
 * xor_ext.h) chained with pmdeflate's own permessage-deflate, negotiated
 * through pmd_negotiator in both roles, frames exchanged both ways, and
 * callbacks that fail or return bad data. Run under valgrind by run.sh:
 * every instance and factory must be freed exactly once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmdeflate.h"
#include "xor_ext.h"

static int passed, failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            passed++;                                                                   \
        } else {                                                                        \
            failed++;                                                                   \
            fprintf(stderr, "FAIL %s:%d: %s (last error: %s)\n", __FILE__, __LINE__, #cond, \
                    pmd_last_error());                                                  \
        }                                                                               \
    } while (0)

#define CHECK_RESULT(expr, want)                                                                            \
    do {                                                                                                    \
        pmd_result got_ = (expr);                                                                           \
        if (got_ == (want)) {                                                                               \
            passed++;                                                                                       \
        } else {                                                                                            \
            failed++;                                                                                       \
            fprintf(stderr, "FAIL %s:%d: %s gave %s, want %s (last error: %s)\n", __FILE__, __LINE__, #expr, \
                    pmd_result_name(got_), pmd_result_name(want), pmd_last_error());                        \
        }                                                                                                   \
    } while (0)

#define CHECK_STR(buf, len, want) CHECK((len) == strlen(want) && memcmp((buf), (want), (len)) == 0)

static pmd_frame frame(uint8_t opcode, int fin, const void *data, size_t len) {
    pmd_frame f;
    memset(&f, 0, sizeof f);
    f.opcode = opcode;
    f.fin = fin != 0;
    f.data = (const uint8_t *)data;
    f.len = len;
    return f;
}

/* Negotiators for both roles with [permessage-deflate, x-xor]. */
static pmd_negotiator *client_negotiator(pmd_config *cfg, unsigned key) {
    pmd_negotiator *n = pmd_negotiator_new();
    pmd_client_factory f;
    CHECK_RESULT(pmd_client_factory_permessage_deflate(cfg, &f), PMD_OK);
    CHECK_RESULT(pmd_negotiator_add_client(n, &f), PMD_OK);
    f = xor_client_factory(key);
    CHECK_RESULT(pmd_negotiator_add_client(n, &f), PMD_OK);
    return n;
}

/* A server factory that always declines, tried before the real one. */
static int declines;
static int decline_request(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                           size_t n_accepted, const pmd_param **response, size_t *n_response,
                           pmd_extension_instance *out) {
    (void)user, (void)params, (void)n, (void)accepted, (void)n_accepted, (void)response, (void)n_response, (void)out;
    declines++;
    return PMD_ERR_NEGOTIATION;
}

static pmd_negotiator *server_negotiator(pmd_config *cfg) {
    pmd_negotiator *n = pmd_negotiator_new();
    pmd_server_factory f;
    CHECK_RESULT(pmd_server_factory_permessage_deflate(cfg, &f), PMD_OK);
    CHECK_RESULT(pmd_negotiator_add_server(n, &f), PMD_OK);
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    f.name = "x-xor";
    f.process_request_params = decline_request;
    CHECK_RESULT(pmd_negotiator_add_server(n, &f), PMD_OK);
    f = xor_server_factory();
    CHECK_RESULT(pmd_negotiator_add_server(n, &f), PMD_OK);
    return n;
}

/* Sends one message (in `parts` frames) from one chain to the other and
   checks it arrives intact, with RSV1 (deflate) and RSV2 (xor) on the
   wire's first frame. */
static void exchange(pmd_chain *from, pmd_chain *to, const unsigned char *msg, size_t len, int parts) {
    unsigned char *got = (unsigned char *)malloc(len + 1);
    size_t got_len = 0, off = 0;
    int i;
    for (i = 0; i < parts; i++) {
        size_t n = (i == parts - 1) ? len - off : len / (size_t)parts;
        pmd_frame in = frame(i == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION, i == parts - 1, msg + off, n);
        pmd_frame wire, out;
        unsigned char *copy;
        off += n;
        CHECK_RESULT(pmd_chain_encode(from, &in, &wire), PMD_OK);
        CHECK(wire.rsv1 == (i == 0) && wire.rsv2 && !wire.rsv3);
        CHECK(wire.opcode == in.opcode && wire.fin == in.fin);
        copy = (unsigned char *)malloc(wire.len + 1);
        memcpy(copy, wire.data, wire.len);
        wire.data = copy;
        CHECK_RESULT(pmd_chain_decode(to, &wire, 1 << 20, &out), PMD_OK);
        CHECK(!out.rsv1 && !out.rsv2 && out.opcode == in.opcode);
        memcpy(got + got_len, out.data, out.len);
        got_len += out.len;
        free(copy);
    }
    CHECK(got_len == len && memcmp(got, msg, len) == 0);
    free(got);
}

static void test_both_roles(void) {
    pmd_config *ccfg = pmd_config_new(), *scfg = pmd_config_new();
    pmd_negotiator *cn, *sn;
    pmd_chain *client = NULL, *server = NULL;
    pmd_extension_instance inst;
    char offer[256], response[256];
    size_t offer_len = 0, response_len = 0, i;
    unsigned char msg[3000];
    pmd_frame ping, out;

    CHECK_RESULT(pmd_config_set_client_max_window_bits(ccfg, PMD_WINDOW_BITS_NO_VALUE), PMD_OK);
    CHECK_RESULT(pmd_config_set_server_max_window_bits(scfg, 12), PMD_OK);
    cn = client_negotiator(ccfg, 42);
    sn = server_negotiator(scfg);

    /* Size query, then the offer. */
    CHECK_RESULT(pmd_negotiator_client_offer(cn, NULL, 0, &offer_len), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK(offer_len == strlen("permessage-deflate; client_max_window_bits, x-xor; key=42"));
    CHECK_RESULT(pmd_negotiator_client_offer(cn, offer, sizeof offer, &offer_len), PMD_OK);
    CHECK_STR(offer, offer_len, "permessage-deflate; client_max_window_bits, x-xor; key=42");

    declines = 0;
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, offer, offer_len, response, sizeof response, &response_len, &server),
                 PMD_OK);
    CHECK_STR(response, response_len, "permessage-deflate; server_max_window_bits=12, x-xor; key=42");
    CHECK(declines == 1);
    CHECK(pmd_chain_count(server) == 2);

    CHECK_RESULT(pmd_negotiator_client_accept(cn, response, response_len, &client), PMD_OK);
    CHECK(pmd_chain_count(client) == 2);
    CHECK_RESULT(pmd_chain_get(client, 0, &inst), PMD_OK);
    CHECK(inst.vtable == pmd_permessage_deflate_vtable() && strcmp(inst.vtable->name, "permessage-deflate") == 0);
    CHECK_RESULT(pmd_chain_get(client, 1, &inst), PMD_OK);
    CHECK(inst.vtable == &xor_vtable && ((xor_state *)inst.state)->key == 42);
    CHECK_RESULT(pmd_chain_get(client, 2, &inst), PMD_ERR_INVALID_ARGUMENT);

    for (i = 0; i < sizeof msg; i++) {
        msg[i] = (unsigned char)("abcabcabd"[i % 9] + (i % 97 == 0));
    }
    exchange(client, server, msg, sizeof msg, 1);
    exchange(server, client, msg, sizeof msg, 1);
    exchange(client, server, msg, sizeof msg, 3);
    exchange(server, client, msg, 1, 1);

    /* Control frames pass through both extensions untouched. */
    ping = frame(PMD_OPCODE_PING, 1, "hi", 2);
    CHECK_RESULT(pmd_chain_encode(client, &ping, &out), PMD_OK);
    CHECK(out.data == ping.data && out.len == 2 && !out.rsv1 && !out.rsv2);
    CHECK_RESULT(pmd_chain_decode(server, &ping, SIZE_MAX, &out), PMD_OK);
    CHECK(out.data == ping.data);

    /* max_size reaches every decode: x-xor sees it and permessage-deflate
       stops at it. */
    {
        pmd_frame in = frame(PMD_OPCODE_TEXT, 1, msg, sizeof msg), wire;
        unsigned char copy[4000];
        CHECK_RESULT(pmd_chain_encode(client, &in, &wire), PMD_OK);
        memcpy(copy, wire.data, wire.len);
        wire.data = copy;
        CHECK_RESULT(pmd_chain_decode(server, &wire, 100, &out), PMD_ERR_PAYLOAD_TOO_BIG);
        CHECK(xor_last_max_size == 100);
        CHECK(pmd_result_close_code(PMD_ERR_PAYLOAD_TOO_BIG) == 1009);
        /* Sticky. */
        CHECK_RESULT(pmd_chain_decode(server, &ping, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    }

    pmd_chain_free(client);
    pmd_chain_free(server);
    pmd_negotiator_free(cn);
    pmd_negotiator_free(sn);
    pmd_config_free(ccfg);
    pmd_config_free(scfg);
}

static void test_negotiation_rules(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_negotiator *cn = client_negotiator(cfg, 7), *sn = server_negotiator(cfg);
    pmd_chain *chain = NULL;
    char buf[256];
    size_t len = 0;
    const char *r;

    /* A response element no factory knows fails the handshake. */
    r = "permessage-deflate, x-unknown";
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_ERR_NEGOTIATION);
    CHECK(chain == NULL && strstr(pmd_last_error(), "x-unknown") != NULL);
    /* The wrong key: the only x-xor factory declines, so it fails too. */
    r = "x-xor; key=8";
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_ERR_NEGOTIATION);
    /* A duplicate x-xor: the factory sees the first one and declines. */
    r = "x-xor; key=7, x-xor; key=7";
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_ERR_NEGOTIATION);
    r = "permessage-deflate, permessage-deflate";
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_ERR_NEGOTIATION);
    r = "x-xor; key=";
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_ERR_HEADER_SYNTAX);
    /* No header: an empty chain, which still refuses stray reserved bits. */
    CHECK_RESULT(pmd_negotiator_client_accept(cn, NULL, 0, &chain), PMD_OK);
    CHECK(chain != NULL && pmd_chain_count(chain) == 0);
    {
        pmd_frame in = frame(PMD_OPCODE_TEXT, 1, "x", 1), out;
        in.rsv2 = true;
        CHECK_RESULT(pmd_chain_decode(chain, &in, SIZE_MAX, &out), PMD_ERR_PROTOCOL);
        CHECK(strstr(pmd_last_error(), "RSV2") != NULL);
    }
    pmd_chain_free(chain);
    chain = NULL;
    /* Order of the response is kept. */
    r = "x-xor; key=7, permessage-deflate";
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_OK);
    if (chain != NULL) {
        pmd_extension_instance inst;
        CHECK_RESULT(pmd_chain_get(chain, 0, &inst), PMD_OK);
        CHECK(inst.vtable == &xor_vtable);
        pmd_chain_free(chain);
        chain = NULL;
    }

    /* Server: offers in the client's order, declined ones skipped. */
    r = "x-xor; key=0, x-other, x-xor; key=9, permessage-deflate; foo, permessage-deflate, x-xor; key=9";
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, r, strlen(r), buf, sizeof buf, &len, &chain), PMD_OK);
    CHECK_STR(buf, len, "x-xor; key=9, permessage-deflate");
    pmd_chain_free(chain);
    chain = NULL;
    r = "x-other";
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, r, strlen(r), buf, sizeof buf, &len, &chain), PMD_OK);
    CHECK(len == 0 && buf[0] == '\0' && pmd_chain_count(chain) == 0);
    pmd_chain_free(chain);
    chain = NULL;
    r = "x-xor;";
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, r, strlen(r), buf, sizeof buf, &len, &chain), PMD_ERR_HEADER_SYNTAX);
    /* Too small a buffer: nothing is kept, *len says what is needed. */
    r = "permessage-deflate, x-xor; key=9";
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, r, strlen(r), buf, 5, &len, &chain), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK(len == strlen("permessage-deflate, x-xor; key=9") && chain == NULL);

    /* Bad arguments. */
    CHECK_RESULT(pmd_negotiator_client_offer(NULL, buf, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_negotiator_client_accept(cn, "", 0, NULL), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, "", 0, buf, sizeof buf, NULL, &chain), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_chain_encode(NULL, NULL, NULL), PMD_ERR_NULL_POINTER);
    CHECK(pmd_chain_count(NULL) == 0);
    pmd_chain_free(NULL);
    pmd_negotiator_free(NULL);
    {
        pmd_client_factory f = xor_client_factory(1);
        void *user = f.user;
        f.name = "not a token";
        CHECK_RESULT(pmd_negotiator_add_client(cn, &f), PMD_ERR_INVALID_ARGUMENT);
        f.name = "x-xor";
        f.process_response_params = NULL;
        CHECK_RESULT(pmd_negotiator_add_client(cn, &f), PMD_ERR_NULL_POINTER);
        free(user); /* refused: still ours */
    }
    {
        pmd_config *bad = pmd_config_new();
        pmd_server_factory f;
        CHECK_RESULT(pmd_config_set_client_max_window_bits(bad, PMD_WINDOW_BITS_NO_VALUE), PMD_OK);
        CHECK_RESULT(pmd_server_factory_permessage_deflate(bad, &f), PMD_ERR_INVALID_ARGUMENT);
        pmd_config_free(bad);
    }
    pmd_negotiator_free(cn);
    pmd_negotiator_free(sn);
    pmd_config_free(cfg);
}

/* ---- callbacks that fail or misbehave ---------------------------------- */

enum mode { M_OK, M_FAIL_OOM, M_NULL_VTABLE, M_BAD_NAME, M_NO_DECODE, M_BAD_PARAM, M_NULL_PARAMS, M_REENTER,
            M_BAD_CODE };
static enum mode mode;
static pmd_negotiator *current;
static pmd_chain *current_chain;
static int bad_destroyed;

static void bad_destroy(void *state) {
    free(state);
    bad_destroyed++;
}
static int bad_encode(void *state, const pmd_frame *in, pmd_frame *out) {
    (void)state;
    if (mode == M_FAIL_OOM) {
        return PMD_ERR_PROTOCOL;
    }
    if (mode == M_REENTER) {
        /* Calls on its own chain from inside its callback: refused, never a
           deadlock (count) or a free of the running chain (free). */
        pmd_frame o;
        int refused = pmd_chain_encode(NULL, in, &o) == PMD_ERR_INVALID_ARGUMENT &&
                      pmd_chain_encode(current_chain, in, &o) == PMD_ERR_INVALID_ARGUMENT &&
                      pmd_chain_count(current_chain) == 0;
        pmd_chain_free(current_chain);
        refused = refused && strstr(pmd_last_error(), "inside a pmdeflate callback") != NULL;
        pmd_negotiator_free(current);
        return refused ? PMD_ERR_CORRUPT_DATA : PMD_OK;
    }
    if (mode == M_BAD_CODE) {
        return 99;
    }
    if (mode == M_NULL_PARAMS) {
        return PMD_OK; /* without writing *out */
    }
    *out = *in;
    out->data = NULL; /* NULL data with len > 0 */
    return PMD_OK;
}
static int bad_decode(void *state, const pmd_frame *in, size_t max_size, pmd_frame *out) {
    (void)state, (void)max_size;
    *out = *in;
    out->opcode = 16;
    return PMD_OK;
}
static const pmd_extension_vtable bad_vtable = {sizeof(pmd_extension_vtable), "x-bad", bad_encode, bad_decode, bad_destroy};
static const pmd_extension_vtable nameless_vtable = {sizeof(pmd_extension_vtable), "x bad", bad_encode, bad_decode, bad_destroy};
static const pmd_extension_vtable nodecode_vtable = {sizeof(pmd_extension_vtable), "x-bad", bad_encode, NULL, bad_destroy};

static const pmd_param bad_params[1] = {{"key", 3, "a b", 3}};

static int bad_server(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                      size_t n_accepted, const pmd_param **response, size_t *n_response, pmd_extension_instance *out) {
    (void)user, (void)params, (void)n, (void)accepted, (void)n_accepted;
    if (mode == M_FAIL_OOM) {
        return PMD_ERR_OUT_OF_MEMORY;
    }
    if (mode == M_REENTER) {
        char b[64];
        size_t l;
        pmd_chain *c;
        return pmd_negotiator_server_negotiate(current, "", 0, b, sizeof b, &l, &c);
    }
    if (mode == M_BAD_CODE) {
        return -3;
    }
    out->vtable = mode == M_NULL_VTABLE ? NULL : mode == M_BAD_NAME ? &nameless_vtable
                : mode == M_NO_DECODE ? &nodecode_vtable : &bad_vtable;
    out->state = mode == M_NULL_VTABLE ? NULL : malloc(16);
    if (mode == M_BAD_PARAM) {
        *response = bad_params;
        *n_response = 1;
    } else if (mode == M_NULL_PARAMS) {
        *response = NULL;
        *n_response = 2;
    }
    return PMD_OK;
}

static void test_failing_callbacks(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_negotiator *sn = server_negotiator(cfg);
    pmd_server_factory f;
    pmd_chain *chain = NULL;
    char buf[256];
    size_t len;
    const char *offer = "permessage-deflate, x-xor; key=5, x-bad";
    int created = xor_created, destroyed = xor_destroyed;
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    f.name = "x-bad";
    f.process_request_params = bad_server;
    CHECK_RESULT(pmd_negotiator_add_server(sn, &f), PMD_OK);
    current = sn;

    /* Each failure discards what was accepted before it (deflate, x-xor):
       the x-xor instances are destroyed through the vtable. */
    bad_destroyed = 0;
    {
        static const struct {
            enum mode mode;
            pmd_result want;
        } cases[] = {
            {M_FAIL_OOM, PMD_ERR_OUT_OF_MEMORY},      {M_NULL_VTABLE, PMD_ERR_INVALID_ARGUMENT},
            {M_BAD_NAME, PMD_ERR_INVALID_ARGUMENT},   {M_NO_DECODE, PMD_ERR_INVALID_ARGUMENT},
            {M_BAD_PARAM, PMD_ERR_INVALID_ARGUMENT},  {M_NULL_PARAMS, PMD_ERR_INVALID_ARGUMENT},
            {M_REENTER, PMD_ERR_INVALID_ARGUMENT},    {M_BAD_CODE, PMD_ERR_INVALID_ARGUMENT},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            mode = cases[i].mode;
            CHECK_RESULT(pmd_negotiator_server_negotiate(sn, offer, strlen(offer), buf, sizeof buf, &len, &chain),
                         cases[i].want);
            if (mode == M_BAD_PARAM) {
                CHECK(strstr(pmd_last_error(), "not a token") != NULL);
            }
        }
    }
    CHECK(chain == NULL);
    /* Refused instances with a vtable were destroyed: bad name, no decode,
       bad params, NULL params. */
    CHECK(bad_destroyed == 4);
    CHECK(xor_created - created == 8 && xor_destroyed - destroyed == 8);

    /* Frames: bad output and failures of an accepted extension. */
    mode = M_OK;
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, offer, strlen(offer), buf, sizeof buf, &len, &chain), PMD_OK);
    CHECK_STR(buf, len, "permessage-deflate, x-xor; key=5, x-bad");
    current_chain = chain;
    {
        pmd_frame in = frame(PMD_OPCODE_TEXT, 1, "hello", 5), out;
        CHECK_RESULT(pmd_chain_encode(chain, &in, &out), PMD_ERR_INVALID_ARGUMENT); /* NULL data, len 5 */
        CHECK(strstr(pmd_last_error(), "x-bad") != NULL);
        mode = M_FAIL_OOM;
        CHECK_RESULT(pmd_chain_encode(chain, &in, &out), PMD_ERR_PROTOCOL); /* passed through */
        mode = M_BAD_CODE;
        CHECK_RESULT(pmd_chain_encode(chain, &in, &out), PMD_ERR_INVALID_ARGUMENT);
        mode = M_NULL_PARAMS;
        CHECK_RESULT(pmd_chain_encode(chain, &in, &out), PMD_ERR_INVALID_ARGUMENT); /* *out not written */
        mode = M_REENTER;
        CHECK_RESULT(pmd_chain_encode(chain, &in, &out), PMD_ERR_CORRUPT_DATA); /* the nested calls were refused */
        CHECK(pmd_chain_count(chain) == 3); /* and the chain survived its callback's free */
        CHECK_RESULT(pmd_chain_decode(chain, &in, SIZE_MAX, &out), PMD_ERR_INVALID_ARGUMENT); /* opcode 16 */
    }
    bad_destroyed = 0;
    pmd_chain_free(chain);
    CHECK(bad_destroyed == 1);
    pmd_negotiator_free(sn);
    pmd_config_free(cfg);
    CHECK(xor_created == xor_destroyed);
}

/* A client factory whose get_request_params returns bad data. */
static int bad_request(void *user, const pmd_param **params, size_t *n) {
    (void)user;
    *params = NULL;
    *n = 1;
    return PMD_OK;
}
static int never_response(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                          size_t n_accepted, pmd_extension_instance *out) {
    (void)user, (void)params, (void)n, (void)accepted, (void)n_accepted, (void)out;
    return PMD_ERR_INTERNAL;
}

static void test_failing_client_callbacks(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_negotiator *cn = client_negotiator(cfg, 3);
    pmd_client_factory f;
    pmd_chain *chain = NULL;
    char buf[256];
    size_t len = 0;
    const char *r = "permessage-deflate, x-xor; key=3, x-bad";
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    f.name = "x-bad";
    f.get_request_params = bad_request;
    f.process_response_params = never_response;
    CHECK_RESULT(pmd_negotiator_add_client(cn, &f), PMD_OK);
    CHECK_RESULT(pmd_negotiator_client_offer(cn, buf, sizeof buf, &len), PMD_ERR_INVALID_ARGUMENT);
    /* Any error but NEGOTIATION fails at once, with that result. */
    CHECK_RESULT(pmd_negotiator_client_accept(cn, r, strlen(r), &chain), PMD_ERR_INTERNAL);
    CHECK(chain == NULL);
    pmd_negotiator_free(cn);
    pmd_config_free(cfg);
    CHECK(xor_created == xor_destroyed);
}


static const pmd_extension_vtable tiny_vtable = {sizeof(pmd_extension_vtable) - 1, "x-small", xor_encode,
                                                 xor_decode, NULL};
static int small_server(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                        size_t n_accepted, const pmd_param **response, size_t *n_response,
                        pmd_extension_instance *out) {
    (void)user, (void)params, (void)n, (void)accepted, (void)n_accepted, (void)response, (void)n_response;
    out->vtable = &tiny_vtable;
    out->state = NULL;
    return PMD_OK;
}

/* Structs that can grow: a size below this version's is refused, with
 * nothing taken over; the built-in factories fill it in. */
static void test_struct_sizes(void) {
    pmd_negotiator *n = pmd_negotiator_new();
    pmd_config *cfg = pmd_config_new();
    pmd_client_factory cf = xor_client_factory(1);
    pmd_server_factory sf;
    cf.size = 0;
    CHECK_RESULT(pmd_negotiator_add_client(n, &cf), PMD_ERR_INVALID_ARGUMENT);
    CHECK(strstr(pmd_last_error(), "sizeof(pmd_client_factory)") != NULL);
    cf.destroy(cf.user); /* refused: still ours */
    CHECK_RESULT(pmd_server_factory_permessage_deflate(cfg, &sf), PMD_OK);
    CHECK(sf.size == sizeof sf);
    sf.size = sizeof sf - 1;
    CHECK_RESULT(pmd_negotiator_add_server(n, &sf), PMD_ERR_INVALID_ARGUMENT);
    sf.size = sizeof sf;
    CHECK_RESULT(pmd_negotiator_add_server(n, &sf), PMD_OK);
    CHECK(pmd_permessage_deflate_vtable()->size == sizeof(pmd_extension_vtable));
    /* An instance whose vtable is too small is refused (and destroyed). */
    {
        pmd_server_factory bad;
        memset(&bad, 0, sizeof bad);
        bad.size = sizeof bad;
        bad.name = "x-small";
        bad.process_request_params = small_server;
        CHECK_RESULT(pmd_negotiator_add_server(n, &bad), PMD_OK);
        pmd_chain *chain = NULL;
        char buf[256];
        size_t len;
        CHECK_RESULT(pmd_negotiator_server_negotiate(n, "x-small", 7, buf, sizeof buf, &len, &chain),
                     PMD_ERR_INVALID_ARGUMENT);
        CHECK(strstr(pmd_last_error(), "sizeof(pmd_extension_vtable)") != NULL);
        CHECK(chain == NULL);
    }
    pmd_negotiator_free(n);
    pmd_config_free(cfg);
}

/* pmd_negotiator_free destroys factories in reverse order of addition,
 * clients and servers interleaved as they were added. */
static char destroyed_order[8];
static size_t destroyed_n;
static void record_destroy(void *user) { destroyed_order[destroyed_n++] = *(const char *)user; }
static int never_request(void *user, const pmd_param **params, size_t *n) {
    (void)user, (void)params, (void)n;
    return PMD_ERR_INTERNAL;
}
static void test_destruction_order(void) {
    static const char ids[] = "123";
    pmd_negotiator *n = pmd_negotiator_new();
    pmd_client_factory c;
    pmd_server_factory s;
    memset(&c, 0, sizeof c);
    memset(&s, 0, sizeof s);
    c.size = sizeof c, s.size = sizeof s;
    c.name = s.name = "x-order";
    c.get_request_params = never_request;
    c.process_response_params = never_response;
    c.destroy = s.destroy = record_destroy;
    s.process_request_params = decline_request;
    c.user = (void *)&ids[0];
    CHECK_RESULT(pmd_negotiator_add_client(n, &c), PMD_OK);
    s.user = (void *)&ids[1];
    CHECK_RESULT(pmd_negotiator_add_server(n, &s), PMD_OK);
    c.user = (void *)&ids[2];
    CHECK_RESULT(pmd_negotiator_add_client(n, &c), PMD_OK);
    destroyed_n = 0;
    pmd_negotiator_free(n);
    CHECK(destroyed_n == 3 && memcmp(destroyed_order, "321", 3) == 0);
}

/* A chain's permessage-deflate is native; its C view still works through
 * the vtable, and a factory of the host's own may delegate to the
 * built-in one and return its instances. */
static pmd_server_factory delegate_to;
static int delegated;
static int delegating_server(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                             size_t n_accepted, const pmd_param **response, size_t *n_response,
                             pmd_extension_instance *out) {
    (void)user;
    delegated++;
    return delegate_to.process_request_params(delegate_to.user, params, n, accepted, n_accepted, response,
                                              n_response, out);
}
static void test_native_and_delegated_deflate(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_negotiator *cn = client_negotiator(cfg, 9), *sn = pmd_negotiator_new();
    pmd_server_factory f;
    pmd_chain *client = NULL, *server = NULL;
    char buf[256];
    size_t len;
    unsigned char msg[3000];
    pmd_extension_instance inst;
    int i;
    CHECK_RESULT(pmd_server_factory_permessage_deflate(cfg, &delegate_to), PMD_OK);
    memset(&f, 0, sizeof f);
    f.size = sizeof f;
    f.name = "permessage-deflate";
    f.process_request_params = delegating_server;
    CHECK_RESULT(pmd_negotiator_add_server(sn, &f), PMD_OK);
    f = xor_server_factory();
    CHECK_RESULT(pmd_negotiator_add_server(sn, &f), PMD_OK);
    CHECK_RESULT(pmd_negotiator_client_offer(cn, buf, sizeof buf, &len), PMD_OK);
    CHECK_RESULT(pmd_negotiator_server_negotiate(sn, buf, len, buf, sizeof buf, &len, &server), PMD_OK);
    CHECK(delegated == 1);
    CHECK_RESULT(pmd_negotiator_client_accept(cn, buf, len, &client), PMD_OK);
    for (i = 0; i < (int)sizeof msg; i++) msg[i] = (unsigned char)("abcabd"[i % 6]);
    for (i = 0; i < 3; i++) {
        exchange(client, server, msg, sizeof msg, 1 + i);
        exchange(server, client, msg, sizeof msg, 2);
    }
    /* The view of the server's deflate member encodes through its vtable. */
    CHECK_RESULT(pmd_chain_get(server, 0, &inst), PMD_OK);
    CHECK(inst.vtable == pmd_permessage_deflate_vtable());
    {
        pmd_frame ping = frame(PMD_OPCODE_PING, 1, "p", 1), out;
        CHECK(inst.vtable->encode(inst.state, &ping, &out) == PMD_OK);
        CHECK(out.data == ping.data && out.len == 1);
    }
    pmd_chain_free(client);
    pmd_chain_free(server);
    pmd_negotiator_free(cn);
    pmd_negotiator_free(sn);
    delegate_to.destroy(delegate_to.user);
    pmd_config_free(cfg);
}

int main(void) {
    test_both_roles();
    test_negotiation_rules();
    test_failing_callbacks();
    test_failing_client_callbacks();
    test_struct_sizes();
    test_destruction_order();
    test_native_and_delegated_deflate();
    printf("CHECK-SUMMARY test_framework passed=%d failed=%d\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
