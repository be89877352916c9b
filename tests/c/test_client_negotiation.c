/* Client negotiation: pmd_client_offer, pmd_client_request_params,
 * pmd_client_accept and pmd_client_process_response_params against the
 * client tables and the parameter rules of docs/negotiation.md. */
#include "check.h"

static int sentinel_object;
#define SENTINEL_EXT ((pmd_extension *)(void *)&sentinel_object)

typedef struct accept_case {
    /* the client's config */
    bool snct, cnct;
    int sbits, cbits;
    /* the server's response value */
    const char *response;
    /* expected */
    pmd_result want;
    const char *detail; /* pmd_last_error contains this, on failure */
    bool remote_nct, local_nct;
    int remote_bits, local_bits;
} accept_case;

#define NV PMD_WINDOW_BITS_NO_VALUE
#define NEG PMD_ERR_NEGOTIATION

static const accept_case accept_cases[] = {
    /* Plain. */
    {false, false, 0, 0, "permessage-deflate", PMD_OK, NULL, false, false, 15, 15},
    /* server_no_context_takeover: Req F / Resp absent -> F; Req T / Resp
     * absent -> error; Resp present -> T either way. */
    {true, false, 0, 0, "permessage-deflate", NEG, "expected server_no_context_takeover", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_no_context_takeover", PMD_OK, NULL, true,
     false, 15, 15},
    {true, false, 0, 0, "permessage-deflate; server_no_context_takeover", PMD_OK, NULL, true,
     false, 15, 15},
    /* client_no_context_takeover: F unless either side says so. */
    {false, true, 0, 0, "permessage-deflate", PMD_OK, NULL, false, true, 15, 15},
    {false, false, 0, 0, "permessage-deflate; client_no_context_takeover", PMD_OK, NULL, false,
     true, 15, 15},
    {false, true, 0, 0, "permessage-deflate; client_no_context_takeover", PMD_OK, NULL, false,
     true, 15, 15},
    /* server_max_window_bits: Req unset -> M or 15; Req N -> error when
     * absent or M > N, else M. */
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=10", PMD_OK, NULL, false,
     false, 10, 15},
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=8", PMD_OK, NULL, false,
     false, 8, 15},
    {false, false, 10, 0, "permessage-deflate", NEG, "expected server_max_window_bits", 0, 0, 0, 0},
    {false, false, 10, 0, "permessage-deflate; server_max_window_bits=11", NEG,
     "unsupported server_max_window_bits 11", 0, 0, 0, 0},
    {false, false, 10, 0, "permessage-deflate; server_max_window_bits=10", PMD_OK, NULL, false,
     false, 10, 15},
    {false, false, 12, 0, "permessage-deflate; server_max_window_bits=9", PMD_OK, NULL, false,
     false, 9, 15},
    /* client_max_window_bits: Req unset -> 15, error if Resp M; Req no
     * value -> M or 15; Req N -> N when absent, M if M <= N, else error. */
    {false, false, 0, 0, "permessage-deflate; client_max_window_bits=10", NEG,
     "unexpected client_max_window_bits", 0, 0, 0, 0},
    {false, false, 0, NV, "permessage-deflate", PMD_OK, NULL, false, false, 15, 15},
    {false, false, 0, NV, "permessage-deflate; client_max_window_bits=9", PMD_OK, NULL, false,
     false, 15, 9},
    {false, false, 0, NV, "permessage-deflate; client_max_window_bits=8", PMD_OK, NULL, false,
     false, 15, 8},
    {false, false, 0, 10, "permessage-deflate", PMD_OK, NULL, false, false, 15, 10},
    {false, false, 0, 10, "permessage-deflate; client_max_window_bits=12", NEG,
     "unsupported client_max_window_bits 12", 0, 0, 0, 0},
    {false, false, 0, 12, "permessage-deflate; client_max_window_bits=8", PMD_OK, NULL, false,
     false, 15, 8},
    {false, false, 0, 12, "permessage-deflate; client_max_window_bits=12", PMD_OK, NULL, false,
     false, 15, 12},
    /* A response may not carry client_max_window_bits without a value. */
    {false, false, 0, NV, "permessage-deflate; client_max_window_bits", NEG,
     "invalid value for parameter client_max_window_bits", 0, 0, 0, 0},
    /* Parameter rules (docs/negotiation.md, "The four parameters"). */
    {false, false, 0, 0, "permessage-deflate; foo", NEG, "invalid parameter name foo", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; Server_No_Context_Takeover", NEG,
     "invalid parameter name Server_No_Context_Takeover", 0, 0, 0, 0},
    {false, false, 0, 0,
     "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", NEG,
     "duplicate parameter server_max_window_bits", 0, 0, 0, 0},
    {false, false, 0, 0,
     "permessage-deflate; client_no_context_takeover; client_no_context_takeover", NEG,
     "duplicate parameter client_no_context_takeover", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_no_context_takeover=1", NEG,
     "invalid value for parameter server_no_context_takeover: 1", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; client_no_context_takeover=\"x\"", NEG,
     "invalid value for parameter client_no_context_takeover: x", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits", NEG,
     "invalid value for parameter server_max_window_bits", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=7", NEG,
     "invalid value for parameter server_max_window_bits: 7", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=16", NEG,
     "invalid value for parameter server_max_window_bits: 16", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=09", NEG,
     "invalid value for parameter server_max_window_bits: 09", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=+9", NEG,
     "invalid value for parameter server_max_window_bits: +9", 0, 0, 0, 0},
    {false, false, 0, NV, "permessage-deflate; client_max_window_bits=15.0", NEG,
     "invalid value for parameter client_max_window_bits: 15.0", 0, 0, 0, 0},
    /* Quoted values are unquoted before the check. */
    {false, false, 0, 0, "permessage-deflate; server_max_window_bits=\"11\"", PMD_OK, NULL, false,
     false, 11, 15},
    /* A second permessage-deflate element. */
    {false, false, 0, 0, "permessage-deflate, permessage-deflate", NEG, "duplicate", 0, 0, 0, 0},
    /* Other extensions are the caller's business. */
    {false, false, 0, 0, "x-foo; a=1, permessage-deflate; server_max_window_bits=12, x-bar",
     PMD_OK, NULL, false, false, 12, 15},
    /* Syntax errors. */
    {false, false, 0, 0, "permessage-deflate;", PMD_ERR_HEADER_SYNTAX, "offset 19", 0, 0, 0, 0},
    {false, false, 0, 0, "permessage-deflate x", PMD_ERR_HEADER_SYNTAX, "offset 19", 0, 0, 0, 0},
};

static void test_accept_table(void) {
    size_t i;
    for (i = 0; i < sizeof accept_cases / sizeof accept_cases[0]; i++) {
        const accept_case *c = &accept_cases[i];
        pmd_config *cfg = negotiation_config(c->snct, c->cnct, c->sbits, c->cbits);
        pmd_extension *ext = SENTINEL_EXT;
        pmd_result r = pmd_client_accept(cfg, c->response, strlen(c->response), &ext);
        if (!CHECK_RESULT(r, c->want)) {
            fprintf(stderr, "    case %lu: response \"%s\"\n", (unsigned long)i, c->response);
        }
        if (r == PMD_OK) {
            CHECK(ext != NULL && ext != SENTINEL_EXT);
            if (ext != NULL && ext != SENTINEL_EXT) {
                negotiated_is(ext, c->remote_nct, c->local_nct, c->remote_bits, c->local_bits);
                pmd_extension_free(ext);
            }
        } else {
            CHECK(ext == SENTINEL_EXT); /* untouched on failure */
            CHECK_LAST_ERROR("pmd_client_accept");
            if (c->detail != NULL && !CHECK_LAST_ERROR(c->detail)) {
                fprintf(stderr, "    case %lu: response \"%s\"\n", (unsigned long)i, c->response);
            }
        }
        pmd_config_free(cfg);
    }
}

static void test_accept_without_permessage_deflate(void) {
    pmd_config *cfg = negotiation_config(true, true, 10, 10);
    pmd_extension *ext = SENTINEL_EXT;
    /* Header absent: NULL, or len 0. */
    CHECK_OK(pmd_client_accept(cfg, NULL, 0, &ext));
    CHECK(ext == NULL);
    ext = SENTINEL_EXT;
    CHECK_OK(pmd_client_accept(cfg, "", 0, &ext));
    CHECK(ext == NULL);
    ext = SENTINEL_EXT;
    CHECK_OK(pmd_client_accept(cfg, "x-foo; a=1, x-bar", 17, &ext));
    CHECK(ext == NULL);
    ext = SENTINEL_EXT;
    CHECK_OK(pmd_client_accept(cfg, " , ", 3, &ext));
    CHECK(ext == NULL);
    pmd_config_free(cfg);
}

static void test_accept_null_pointers(void) {
    pmd_config *cfg = pmd_config_new();
    pmd_extension *ext = SENTINEL_EXT;
    CHECK_RESULT(pmd_client_accept(NULL, "permessage-deflate", 18, &ext), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("cfg");
    CHECK(ext == SENTINEL_EXT);
    CHECK_RESULT(pmd_client_accept(cfg, "permessage-deflate", 18, NULL), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("ext");
    pmd_config_free(cfg);
}

static void test_offer(void) {
    pmd_config *cfg = negotiation_config(true, true, 10, NV);
    const char *want = "permessage-deflate; server_no_context_takeover; "
                       "client_no_context_takeover; server_max_window_bits=10; "
                       "client_max_window_bits";
    size_t n = strlen(want), len = 0;
    char buf[PMD_MAX_RESPONSE_LEN];

    memset(buf, '#', sizeof buf);
    CHECK_OK(pmd_client_offer(cfg, buf, sizeof buf, &len));
    CHECK_STR(buf, want);
    CHECK_EQ(len, n);
    /* Size query, too small, exact (no NUL). */
    len = 0;
    CHECK_RESULT(pmd_client_offer(cfg, NULL, 0, &len), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n);
    len = 0;
    memset(buf, '#', sizeof buf);
    CHECK_RESULT(pmd_client_offer(cfg, buf, n - 1, &len), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n);
    CHECK(buf[n - 1] == '#');
    len = 0;
    CHECK_OK(pmd_client_offer(cfg, buf, n, &len));
    CHECK_EQ(len, n);
    CHECK(memcmp(buf, want, n) == 0 && buf[n] == '#');
    /* NULL pointers; *out_len untouched. */
    len = 33;
    CHECK_RESULT(pmd_client_offer(NULL, buf, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_offer(cfg, buf, sizeof buf, NULL), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_offer(cfg, NULL, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("buf");
    CHECK_EQ(len, 33);
    pmd_config_free(cfg);
}

static void test_request_params(void) {
    pmd_config *cfg = negotiation_config(true, true, 10, 12);
    pmd_param out[4];
    size_t n = 0;
    static const char *const names[] = {"server_no_context_takeover", "client_no_context_takeover",
                                        "server_max_window_bits", "client_max_window_bits"};
    static const char *const values[] = {NULL, NULL, "10", "12"};
    size_t i;

    CHECK_OK(pmd_client_request_params(cfg, out, 4, &n));
    CHECK_EQ(n, 4);
    for (i = 0; i < 4 && i < n; i++) {
        CHECK_SPAN(out[i].name, out[i].name_len, names[i]);
        if (values[i] == NULL) {
            CHECK(out[i].value == NULL);
        } else {
            CHECK_SPAN(out[i].value, out[i].value_len, values[i]);
        }
    }
    /* Too small: *n is the count needed; NULL with cap 0 is a query. */
    n = 0;
    CHECK_RESULT(pmd_client_request_params(cfg, out, 3, &n), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 4);
    n = 0;
    CHECK_RESULT(pmd_client_request_params(cfg, NULL, 0, &n), PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(n, 4);
    /* A value-less client_max_window_bits. */
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, NV));
    CHECK_OK(pmd_client_request_params(cfg, out, 4, &n));
    CHECK_EQ(n, 4);
    CHECK_SPAN(out[3].name, out[3].name_len, "client_max_window_bits");
    CHECK(out[3].value == NULL);
    /* Only what is set. */
    CHECK_OK(pmd_config_set_server_no_context_takeover(cfg, false));
    CHECK_OK(pmd_config_set_client_no_context_takeover(cfg, false));
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 0));
    CHECK_OK(pmd_client_request_params(cfg, out, 4, &n));
    CHECK_EQ(n, 1);
    CHECK_SPAN(out[0].name, out[0].name_len, "server_max_window_bits");
    CHECK_SPAN(out[0].value, out[0].value_len, "10");
    /* NULL pointers; *n untouched. */
    n = 44;
    CHECK_RESULT(pmd_client_request_params(NULL, out, 4, &n), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_request_params(cfg, out, 4, NULL), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_request_params(cfg, NULL, 4, &n), PMD_ERR_NULL_POINTER);
    CHECK_EQ(n, 44);
    pmd_config_free(cfg);
}

static void test_process_response_params(void) {
    pmd_config *cfg = negotiation_config(false, false, 12, NV);
    pmd_param params[3];
    pmd_extension *ext = SENTINEL_EXT;
    const char *other[] = {"x-foo", "x-bar"};
    const char *dup[] = {"x-foo", "permessage-deflate"};
    const char *with_null[] = {"x-foo", NULL};

    params[0] = param_make("server_max_window_bits", "11");
    params[1] = param_make("client_max_window_bits", "9");
    params[2] = param_make("client_no_context_takeover", NULL);
    CHECK_OK(pmd_client_process_response_params(cfg, params, 3, other, 2, &ext));
    CHECK(ext != NULL && ext != SENTINEL_EXT);
    if (ext != NULL && ext != SENTINEL_EXT) {
        negotiated_is(ext, false, true, 11, 9);
        pmd_extension_free(ext);
    }

    /* Strings are (ptr, len): no NUL needed. */
    params[0].name = "server_max_window_bits=12garbage";
    params[0].name_len = 22;
    params[0].value = "12garbage";
    params[0].value_len = 2;
    ext = SENTINEL_EXT;
    CHECK_OK(pmd_client_process_response_params(cfg, params, 1, NULL, 0, &ext));
    if (ext != NULL && ext != SENTINEL_EXT) {
        negotiated_is(ext, false, false, 12, 15);
        pmd_extension_free(ext);
    }
    params[0] = param_make("server_max_window_bits", "11");

    /* permessage-deflate accepted before. */
    ext = SENTINEL_EXT;
    CHECK_RESULT(pmd_client_process_response_params(cfg, params, 1, dup, 2, &ext),
                 PMD_ERR_NEGOTIATION);
    CHECK_LAST_ERROR("received duplicate permessage-deflate");
    CHECK(ext == SENTINEL_EXT);
    /* A table case through the parameter API. */
    CHECK_RESULT(pmd_client_process_response_params(cfg, NULL, 0, NULL, 0, &ext),
                 PMD_ERR_NEGOTIATION);
    CHECK_LAST_ERROR("expected server_max_window_bits");
    CHECK(ext == SENTINEL_EXT);

    /* NULL pointers. */
    CHECK_RESULT(pmd_client_process_response_params(NULL, params, 1, NULL, 0, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_process_response_params(cfg, params, 1, NULL, 0, NULL),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_process_response_params(cfg, NULL, 1, NULL, 0, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_process_response_params(cfg, params, 1, NULL, 1, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_client_process_response_params(cfg, params, 1, with_null, 2, &ext),
                 PMD_ERR_NULL_POINTER);
    params[0].name = NULL;
    CHECK_RESULT(pmd_client_process_response_params(cfg, params, 1, NULL, 0, &ext),
                 PMD_ERR_NULL_POINTER);
    CHECK(ext == SENTINEL_EXT);
    pmd_config_free(cfg);
}

int main(void) {
    test_accept_table();
    test_accept_without_permessage_deflate();
    test_accept_null_pointers();
    test_offer();
    test_request_params();
    test_process_response_params();
    return check_finish("test_client_negotiation");
}
