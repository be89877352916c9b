/* Server negotiation: pmd_server_negotiate and
 * pmd_server_process_request_params against the server tables of
 * docs/negotiation.md
 * (config x offer -> response and agreed parameters). */
#include "check.h"

static int sentinel_object;
#define SENTINEL_EXT ((pmd_extension *)(void *)&sentinel_object)
#define NV PMD_WINDOW_BITS_NO_VALUE
#define NEG PMD_ERR_NEGOTIATION

static pmd_config *make_config(bool snct, bool cnct, int sbits, int cbits, bool require_cbits) {
    pmd_config *cfg = negotiation_config(snct, cnct, sbits, cbits);
    CHECK_OK(pmd_config_set_require_client_max_window_bits(cfg, require_cbits));
    return cfg;
}

typedef struct server_case {
    /* the server's config */
    bool snct, cnct;
    int sbits, cbits;
    bool require_cbits;
    /* the client's offer (whole request value) */
    const char *request;
    /* expected: result, response value ("" = no extension), agreed (remote =
     * client side, local = server side) */
    pmd_result want;
    const char *response_or_detail;
    bool remote_nct, local_nct;
    int remote_bits, local_bits;
} server_case;

static const server_case cases[] = {
    {false, false, 0, 0, false, "permessage-deflate", PMD_OK, "permessage-deflate", false, false,
     15, 15},
    /* server_no_context_takeover: T when config or offer says so. */
    {true, false, 0, 0, false, "permessage-deflate", PMD_OK,
     "permessage-deflate; server_no_context_takeover", false, true, 15, 15},
    {false, false, 0, 0, false, "permessage-deflate; server_no_context_takeover", PMD_OK,
     "permessage-deflate; server_no_context_takeover", false, true, 15, 15},
    {true, false, 0, 0, false, "permessage-deflate; server_no_context_takeover", PMD_OK,
     "permessage-deflate; server_no_context_takeover", false, true, 15, 15},
    /* client_no_context_takeover: the same table. */
    {false, true, 0, 0, false, "permessage-deflate", PMD_OK,
     "permessage-deflate; client_no_context_takeover", true, false, 15, 15},
    {false, false, 0, 0, false, "permessage-deflate; client_no_context_takeover", PMD_OK,
     "permessage-deflate; client_no_context_takeover", true, false, 15, 15},
    /* server_max_window_bits: absent/absent -> absent (15); config N -> N;
     * offer M -> M; both -> min. */
    {false, false, 10, 0, false, "permessage-deflate", PMD_OK,
     "permessage-deflate; server_max_window_bits=10", false, false, 15, 10},
    {false, false, 0, 0, false, "permessage-deflate; server_max_window_bits=12", PMD_OK,
     "permessage-deflate; server_max_window_bits=12", false, false, 15, 12},
    {false, false, 10, 0, false, "permessage-deflate; server_max_window_bits=12", PMD_OK,
     "permessage-deflate; server_max_window_bits=10", false, false, 15, 10},
    {false, false, 12, 0, false, "permessage-deflate; server_max_window_bits=10", PMD_OK,
     "permessage-deflate; server_max_window_bits=10", false, false, 15, 10},
    /* Window bits 8 is answered with 8, never 9 (docs/window-bits-8.md). */
    {false, false, 0, 0, false, "permessage-deflate; server_max_window_bits=8", PMD_OK,
     "permessage-deflate; server_max_window_bits=8", false, false, 15, 8},
    /* client_max_window_bits. */
    {false, false, 0, 0, false, "permessage-deflate; client_max_window_bits", PMD_OK,
     "permessage-deflate", false, false, 15, 15},
    {false, false, 0, 0, false, "permessage-deflate; client_max_window_bits=11", PMD_OK,
     "permessage-deflate; client_max_window_bits=11", false, false, 11, 15},
    {false, false, 0, 10, false, "permessage-deflate", PMD_OK, "permessage-deflate", false, false,
     15, 15},
    {false, false, 0, 10, true, "permessage-deflate", PMD_OK, "", false, false, 0, 0},
    {false, false, 0, 10, false, "permessage-deflate; client_max_window_bits", PMD_OK,
     "permessage-deflate; client_max_window_bits=10", false, false, 10, 15},
    {false, false, 0, 10, true, "permessage-deflate; client_max_window_bits", PMD_OK,
     "permessage-deflate; client_max_window_bits=10", false, false, 10, 15},
    {false, false, 0, 10, false, "permessage-deflate; client_max_window_bits=12", PMD_OK,
     "permessage-deflate; client_max_window_bits=10", false, false, 10, 15},
    {false, false, 0, 12, false, "permessage-deflate; client_max_window_bits=9", PMD_OK,
     "permessage-deflate; client_max_window_bits=9", false, false, 9, 15},
    {false, false, 0, 8, false, "permessage-deflate; client_max_window_bits", PMD_OK,
     "permessage-deflate; client_max_window_bits=8", false, false, 8, 15},
    /* Everything, in the fixed order of an offer (docs/negotiation.md). */
    {true, true, 9, 9, false,
     "permessage-deflate; client_max_window_bits; server_max_window_bits=10", PMD_OK,
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
     "server_max_window_bits=9; client_max_window_bits=9",
     true, true, 9, 9},
    /* Offers that fail are declined and the next one is tried. */
    {false, false, 0, 0, false,
     "permessage-deflate; foo, permessage-deflate; server_max_window_bits=10", PMD_OK,
     "permessage-deflate; server_max_window_bits=10", false, false, 15, 10},
    {false, false, 0, 10, true,
     "permessage-deflate, permessage-deflate; client_max_window_bits=12", PMD_OK,
     "permessage-deflate; client_max_window_bits=10", false, false, 10, 15},
    /* The first acceptable offer wins. */
    {false, false, 0, 0, false,
     "permessage-deflate; client_no_context_takeover, permessage-deflate", PMD_OK,
     "permessage-deflate; client_no_context_takeover", true, false, 15, 15},
    /* Other extensions are skipped. */
    {false, false, 0, 0, false, "x-webkit-deflate-frame; max_window_bits=10, permessage-deflate",
     PMD_OK, "permessage-deflate", false, false, 15, 15},
    /* Every offer declined, or none: no extension. */
    {false, false, 0, 0, false,
     "permessage-deflate; server_max_window_bits=7, permessage-deflate; x=1", PMD_OK, "", false,
     false, 0, 0},
    {false, false, 0, 0, false, "x-foo", PMD_OK, "", false, false, 0, 0},
    {false, false, 0, 0, false, "", PMD_OK, "", false, false, 0, 0},
    /* Every parameter rule declines the offer. */
    {false, false, 0, 0, false, "permessage-deflate; server_max_window_bits", PMD_OK, "", 0, 0, 0,
     0},
    {false, false, 0, 0, false, "permessage-deflate; server_max_window_bits=16", PMD_OK, "", 0, 0,
     0, 0},
    {false, false, 0, 0, false, "permessage-deflate; client_max_window_bits=010", PMD_OK, "", 0, 0,
     0, 0},
    {false, false, 0, 0, false, "permessage-deflate; server_no_context_takeover=true", PMD_OK, "",
     0, 0, 0, 0},
    {false, false, 0, 0, false,
     "permessage-deflate; client_max_window_bits; client_max_window_bits=9", PMD_OK, "", 0, 0, 0,
     0},
    /* Syntax errors. */
    {false, false, 0, 0, false, "permessage-deflate; =", PMD_ERR_HEADER_SYNTAX, "offset 20", 0, 0,
     0, 0},
    {false, false, 0, 0, false, "permessage-deflate, x;\x01", PMD_ERR_HEADER_SYNTAX, "offset 22",
     0, 0, 0, 0},
    /* Configs a server cannot use. */
    {false, false, 0, NV, false, "permessage-deflate", PMD_ERR_INVALID_ARGUMENT,
     "client_max_window_bits", 0, 0, 0, 0},
    {false, false, 0, 0, true, "permessage-deflate; client_max_window_bits", PMD_ERR_INVALID_ARGUMENT,
     "require_client_max_window_bits", 0, 0, 0, 0},
    /* Even without an offer to apply it to. */
    {false, false, 0, NV, false, "", PMD_ERR_INVALID_ARGUMENT, "client_max_window_bits", 0, 0, 0,
     0},
};

static void test_negotiate_table(void) {
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const server_case *c = &cases[i];
        pmd_config *cfg = make_config(c->snct, c->cnct, c->sbits, c->cbits, c->require_cbits);
        pmd_extension *ext = SENTINEL_EXT;
        char buf[PMD_MAX_RESPONSE_LEN];
        size_t len = 999;
        pmd_result r;
        memset(buf, '#', sizeof buf);
        r = pmd_server_negotiate(cfg, c->request, strlen(c->request), buf, sizeof buf, &len, &ext);
        if (!CHECK_RESULT(r, c->want)) {
            fprintf(stderr, "    case %lu: request \"%s\"\n", (unsigned long)i, c->request);
        }
        if (r == PMD_OK && c->want == PMD_OK) {
            if (!CHECK_STR(buf, c->response_or_detail)) {
                fprintf(stderr, "    case %lu: request \"%s\"\n", (unsigned long)i, c->request);
            }
            CHECK_EQ(len, strlen(c->response_or_detail));
            if (c->response_or_detail[0] == '\0') {
                CHECK(ext == NULL);
            } else if (CHECK(ext != NULL && ext != SENTINEL_EXT)) {
                negotiated_is(ext, c->remote_nct, c->local_nct, c->remote_bits, c->local_bits);
            }
        } else if (r != PMD_OK) {
            CHECK(ext == SENTINEL_EXT);
            CHECK_EQ(len, 999);
            CHECK_LAST_ERROR("pmd_server_negotiate");
            if (!CHECK_LAST_ERROR(c->response_or_detail)) {
                fprintf(stderr, "    case %lu: request \"%s\"\n", (unsigned long)i, c->request);
            }
        }
        if (r == PMD_OK && ext != SENTINEL_EXT) {
            pmd_extension_free(ext);
        }
        pmd_config_free(cfg);
    }
}

static void test_require(void) {
    pmd_config *cfg = make_config(false, false, 0, 0, false);
    pmd_extension *ext = SENTINEL_EXT;
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t len = 999;
    const char *declined = "permessage-deflate; server_max_window_bits=7";

    CHECK_OK(pmd_config_set_require(cfg, true));
    CHECK_RESULT(pmd_server_negotiate(cfg, "x-foo", 5, buf, sizeof buf, &len, &ext), NEG);
    CHECK_LAST_ERROR("required");
    CHECK_RESULT(pmd_server_negotiate(cfg, "", 0, buf, sizeof buf, &len, &ext), NEG);
    CHECK_RESULT(pmd_server_negotiate(cfg, declined, strlen(declined), buf, sizeof buf, &len, &ext),
                 NEG);
    /* The detail says why the last offer was declined. */
    CHECK_LAST_ERROR("server_max_window_bits: 7");
    CHECK(ext == SENTINEL_EXT);
    CHECK_EQ(len, 999);
    /* An acceptable offer still succeeds. */
    CHECK_OK(pmd_server_negotiate(cfg, "permessage-deflate", 18, buf, sizeof buf, &len, &ext));
    CHECK(ext != NULL && ext != SENTINEL_EXT);
    if (ext != NULL && ext != SENTINEL_EXT) {
        pmd_extension_free(ext);
    }
    pmd_config_free(cfg);
}

static void test_negotiate_buffers(void) {
    pmd_config *cfg = make_config(true, true, 9, 9, false);
    pmd_extension *ext = SENTINEL_EXT;
    const char *req = "permessage-deflate; client_max_window_bits";
    const char *want = "permessage-deflate; server_no_context_takeover; "
                       "client_no_context_takeover; server_max_window_bits=9; "
                       "client_max_window_bits=9";
    size_t n = strlen(want), len = 0;
    char buf[PMD_MAX_RESPONSE_LEN];

    /* Size query: no extension is created (valgrind would see it leak). */
    CHECK_RESULT(pmd_server_negotiate(cfg, req, strlen(req), NULL, 0, &len, &ext),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n);
    CHECK(ext == SENTINEL_EXT);
    len = 0;
    memset(buf, '#', sizeof buf);
    CHECK_RESULT(pmd_server_negotiate(cfg, req, strlen(req), buf, n - 1, &len, &ext),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n);
    CHECK(ext == SENTINEL_EXT);
    CHECK(buf[n - 1] == '#');
    /* Exactly n: OK without the NUL. */
    len = 0;
    CHECK_OK(pmd_server_negotiate(cfg, req, strlen(req), buf, n, &len, &ext));
    CHECK_EQ(len, n);
    CHECK(memcmp(buf, want, n) == 0 && buf[n] == '#');
    CHECK(ext != NULL && ext != SENTINEL_EXT);
    if (ext != NULL && ext != SENTINEL_EXT) {
        pmd_extension_free(ext);
    }
    /* No acceptable offer: buf NULL with cap 0 is fine, *out_len 0. */
    ext = SENTINEL_EXT;
    len = 999;
    CHECK_OK(pmd_server_negotiate(cfg, "x-foo", 5, NULL, 0, &len, &ext));
    CHECK_EQ(len, 0);
    CHECK(ext == NULL);
    pmd_config_free(cfg);
}

static void test_negotiate_null_pointers(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext = SENTINEL_EXT;
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t len = 999;
    CHECK_RESULT(pmd_server_negotiate(NULL, "permessage-deflate", 18, buf, sizeof buf, &len, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK_RESULT(pmd_server_negotiate(cfg, NULL, 18, buf, sizeof buf, &len, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("request");
    CHECK_RESULT(pmd_server_negotiate(cfg, "permessage-deflate", 18, NULL, sizeof buf, &len, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("buf");
    CHECK_RESULT(pmd_server_negotiate(cfg, "permessage-deflate", 18, buf, sizeof buf, NULL, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("out_len");
    CHECK_RESULT(pmd_server_negotiate(cfg, "permessage-deflate", 18, buf, sizeof buf, &len, NULL),
                 PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("ext");
    CHECK(ext == SENTINEL_EXT);
    CHECK_EQ(len, 999);
    /* (NULL, 0) is an absent header, not a NULL pointer. */
    CHECK_OK(pmd_server_negotiate(cfg, NULL, 0, buf, sizeof buf, &len, &ext));
    CHECK(ext == NULL);
    CHECK_EQ(len, 0);
    pmd_config_free(cfg);
}

static void test_process_request_params(void) {
    pmd_config *cfg = make_config(false, true, 12, 10, false);
    pmd_param req[3], resp[4];
    size_t n = 0;
    pmd_extension *ext = SENTINEL_EXT;
    const char *other[] = {"x-foo"};
    const char *dup[] = {"permessage-deflate"};
    const char *with_null[] = {NULL};

    req[0] = param_make("server_max_window_bits", "13");
    req[1] = param_make("client_max_window_bits", NULL);
    req[2] = param_make("server_no_context_takeover", NULL);
    CHECK_OK(pmd_server_process_request_params(cfg, req, 3, other, 1, resp, 4, &n, &ext));
    CHECK_EQ(n, 4);
    if (n == 4) {
        CHECK_SPAN(resp[0].name, resp[0].name_len, "server_no_context_takeover");
        CHECK(resp[0].value == NULL);
        CHECK_SPAN(resp[1].name, resp[1].name_len, "client_no_context_takeover");
        CHECK(resp[1].value == NULL);
        CHECK_SPAN(resp[2].name, resp[2].name_len, "server_max_window_bits");
        CHECK_SPAN(resp[2].value, resp[2].value_len, "12");
        CHECK_SPAN(resp[3].name, resp[3].name_len, "client_max_window_bits");
        CHECK_SPAN(resp[3].value, resp[3].value_len, "10");
    }
    if (CHECK(ext != NULL && ext != SENTINEL_EXT)) {
        negotiated_is(ext, true, true, 10, 12);
        pmd_extension_free(ext);
    }

    /* Too small: *n_response the count needed, no extension created. */
    ext = SENTINEL_EXT;
    n = 0;
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 3, NULL, 0, resp, 3, &n, &ext),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 4);
    CHECK(ext == SENTINEL_EXT);
    n = 0;
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 3, NULL, 0, NULL, 0, &n, &ext),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 4);
    CHECK(ext == SENTINEL_EXT);

    /* Accepted before. */
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 3, dup, 1, resp, 4, &n, &ext), NEG);
    CHECK_LAST_ERROR("skipped duplicate permessage-deflate");
    CHECK(ext == SENTINEL_EXT);
    /* A declining rule: an unknown parameter. */
    req[0] = param_make("mystery", NULL);
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, NULL, 0, resp, 4, &n, &ext), NEG);
    CHECK_LAST_ERROR("invalid parameter name mystery");
    /* required client_max_window_bits. */
    CHECK_OK(pmd_config_set_require_client_max_window_bits(cfg, true));
    CHECK_RESULT(pmd_server_process_request_params(cfg, NULL, 0, NULL, 0, resp, 4, &n, &ext), NEG);
    CHECK_LAST_ERROR("required client_max_window_bits");
    CHECK(ext == SENTINEL_EXT);
    /* Configs a server cannot use. */
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 0));
    CHECK_RESULT(pmd_server_process_request_params(cfg, NULL, 0, NULL, 0, resp, 4, &n, &ext),
                 PMD_ERR_INVALID_ARGUMENT);
    CHECK_OK(pmd_config_set_require_client_max_window_bits(cfg, false));
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, NV));
    CHECK_RESULT(pmd_server_process_request_params(cfg, NULL, 0, NULL, 0, resp, 4, &n, &ext),
                 PMD_ERR_INVALID_ARGUMENT);
    CHECK(ext == SENTINEL_EXT);
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 0));

    /* NULL pointers; *n_response and *ext untouched. */
    n = 77;
    req[0] = param_make("server_max_window_bits", "13");
    CHECK_RESULT(pmd_server_process_request_params(NULL, req, 1, NULL, 0, resp, 4, &n, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_server_process_request_params(cfg, NULL, 1, NULL, 0, resp, 4, &n, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, NULL, 1, resp, 4, &n, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, with_null, 1, resp, 4, &n, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, NULL, 0, NULL, 4, &n, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, NULL, 0, resp, 4, NULL, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, NULL, 0, resp, 4, &n, NULL),
                 PMD_ERR_NULL_POINTER);
    req[0].value = NULL;
    req[0].name = NULL;
    CHECK_RESULT(pmd_server_process_request_params(cfg, req, 1, NULL, 0, resp, 4, &n, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_EQ(n, 77);
    CHECK(ext == SENTINEL_EXT);
    pmd_config_free(cfg);
}

static void test_longest_response_fits(void) {
    /* Every parameter with two-digit window bits. */
    pmd_config *cfg = make_config(true, true, 10, 10, true);
    const char *req = "permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover; server_max_window_bits=15; "
                      "client_max_window_bits=15";
    pmd_extension *ext = NULL;
    size_t len = 0;
    char offer[PMD_MAX_RESPONSE_LEN];
    CHECK_RESULT(pmd_server_negotiate(cfg, req, strlen(req), NULL, 0, &len, &ext),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 100 && len < PMD_MAX_RESPONSE_LEN);
    CHECK_RESULT(pmd_client_offer(cfg, NULL, 0, &len), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK(len > 100 && len < PMD_MAX_RESPONSE_LEN);
    CHECK_OK(pmd_client_offer(cfg, offer, sizeof offer, &len));
    pmd_config_free(cfg);
}

int main(void) {
    test_negotiate_table();
    test_require();
    test_negotiate_buffers();
    test_negotiate_null_pointers();
    test_process_request_params();
    test_longest_response_fits();
    return check_finish("test_server_negotiation");
}
