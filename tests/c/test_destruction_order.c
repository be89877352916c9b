/* The order in which the library destroys the caller's objects, recorded
 * by their destroy callbacks (include/pmdeflate.h):
 * - pmd_negotiator_free: factories in reverse order of addition, client
 *   and server factories interleaved as they were added (added client 1,
 *   server 2, client 3: destroyed 3, 2, 1), as C++ destroys members and
 *   a stack unwinds: a later factory may use an earlier one's user data;
 * - pmd_chain_free: extensions in reverse order of acceptance;
 * - a negotiation that fails after accepting some extensions (a later
 *   offer's factory fails, an unknown response element, a buffer too
 *   small): those destroyed last accepted first, *chain left unchanged.
 * Run under valgrind by tests/c/run.sh: each object destroyed once. */
#include "check.h"

static char order[64];
static size_t n_order;

static void record(void *p) {
    if (n_order + 1 < sizeof order) {
        order[n_order++] = *(const char *)p;
        order[n_order] = '\0';
    }
}

static void reset(void) {
    n_order = 0;
    order[0] = '\0';
}

static const char IDS[] = "0123456789";

/* ---- an extension whose state is its id ("x-o; id=N") ------------------- */

static int pass_encode(void *state, const pmd_frame *in, pmd_frame *out) {
    (void)state;
    *out = *in;
    return PMD_OK;
}

static int pass_decode(void *state, const pmd_frame *in, size_t max_size, pmd_frame *out) {
    (void)state, (void)max_size;
    *out = *in;
    return PMD_OK;
}

static const pmd_extension_vtable order_vtable = {sizeof(pmd_extension_vtable), "x-o", pass_encode, pass_decode,
                                                  record};

/* The id of an element ("id=N", 0..9), or -1. */
static int id_of(const pmd_param *params, size_t n) {
    if (n != 1 || params[0].name_len != 2 || memcmp(params[0].name, "id", 2) != 0 || params[0].value_len != 1 ||
        params[0].value[0] < '0' || params[0].value[0] > '9') {
        return -1;
    }
    return params[0].value[0] - '0';
}

/* Accepts "x-o; id=N" as an instance recording N when destroyed; id=9
 * fails with PMD_ERR_INTERNAL. */
static int make(const pmd_param *params, size_t n, pmd_extension_instance *out) {
    int id = id_of(params, n);
    if (id < 0) {
        return PMD_ERR_NEGOTIATION;
    }
    if (id == 9) {
        return PMD_ERR_INTERNAL;
    }
    out->vtable = &order_vtable;
    out->state = (void *)&IDS[id];
    return PMD_OK;
}

static int server_make(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                       size_t n_accepted, const pmd_param **response, size_t *n_response, pmd_extension_instance *out) {
    (void)user, (void)accepted, (void)n_accepted, (void)response, (void)n_response;
    return make(params, n, out);
}

static int client_make(void *user, const pmd_param *params, size_t n, const pmd_extension_instance *accepted,
                       size_t n_accepted, pmd_extension_instance *out) {
    (void)user, (void)accepted, (void)n_accepted;
    return make(params, n, out);
}

static int no_params(void *user, const pmd_param **params, size_t *n) {
    (void)user;
    *params = NULL;
    *n = 0;
    return PMD_OK;
}

static pmd_client_factory client_factory(const char *user) {
    pmd_client_factory c;
    memset(&c, 0, sizeof c);
    c.size = sizeof c;
    c.name = "x-o";
    c.user = (void *)user;
    c.get_request_params = no_params;
    c.process_response_params = client_make;
    c.destroy = record;
    return c;
}

static pmd_server_factory server_factory(const char *user) {
    pmd_server_factory s;
    memset(&s, 0, sizeof s);
    s.size = sizeof s;
    s.name = "x-o";
    s.user = (void *)user;
    s.process_request_params = server_make;
    s.destroy = record;
    return s;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_negotiator_free(void) {
    pmd_negotiator *neg = pmd_negotiator_new();
    pmd_client_factory c1 = client_factory("1"), c3 = client_factory("3"), c6 = client_factory("6");
    pmd_server_factory s2 = server_factory("2"), s4 = server_factory("4"), s5 = server_factory("5");
    pmd_server_factory builtin;
    pmd_config *cfg = pmd_config_new();

    /* The case of the issue: client 1, server 2, client 3. */
    CHECK_OK(pmd_negotiator_add_client(neg, &c1));
    CHECK_OK(pmd_negotiator_add_server(neg, &s2));
    CHECK_OK(pmd_negotiator_add_client(neg, &c3));
    reset();
    pmd_negotiator_free(neg);
    CHECK_STR(order, "321");

    /* Longer runs of each kind, with a built-in factory in between (its
     * user data is the library's and is freed without a callback). */
    neg = pmd_negotiator_new();
    CHECK_OK(pmd_negotiator_add_client(neg, &c1));
    CHECK_OK(pmd_negotiator_add_server(neg, &s2));
    CHECK_OK(pmd_negotiator_add_client(neg, &c3));
    CHECK_OK(pmd_server_factory_permessage_deflate(cfg, &builtin));
    CHECK_OK(pmd_negotiator_add_server(neg, &builtin));
    CHECK_OK(pmd_negotiator_add_server(neg, &s4));
    CHECK_OK(pmd_negotiator_add_server(neg, &s5));
    CHECK_OK(pmd_negotiator_add_client(neg, &c6));
    reset();
    pmd_negotiator_free(neg);
    CHECK_STR(order, "654321");

    /* A factory that was refused stays the caller's: not destroyed. */
    neg = pmd_negotiator_new();
    c1.name = "not a token";
    CHECK_RESULT(pmd_negotiator_add_client(neg, &c1), PMD_ERR_INVALID_ARGUMENT);
    reset();
    pmd_negotiator_free(neg);
    CHECK_STR(order, "");
    pmd_config_free(cfg);
}

static void test_chains(void) {
    pmd_negotiator *neg = pmd_negotiator_new();
    pmd_client_factory c = client_factory("c");
    pmd_server_factory s = server_factory("s");
    pmd_chain *chain = NULL;
    char buf[256];
    size_t len = 0;
    const char *req;

    CHECK_OK(pmd_negotiator_add_client(neg, &c));
    CHECK_OK(pmd_negotiator_add_server(neg, &s));

    /* Server: a chain of three, freed last accepted first. */
    req = "x-o; id=1, x-o; id=2, x-o; id=3";
    reset();
    CHECK_OK(pmd_negotiator_server_negotiate(neg, req, strlen(req), buf, sizeof buf, &len, &chain));
    CHECK_SPAN(buf, len, "x-o, x-o, x-o");
    CHECK_EQ(pmd_chain_count(chain), 3);
    CHECK_STR(order, "");
    pmd_chain_free(chain);
    CHECK_STR(order, "321");

    /* A later offer's factory fails: the accepted ones go, last first. */
    chain = NULL;
    req = "x-o; id=1, x-o; id=2, x-o; id=9, x-o; id=4";
    reset();
    CHECK_RESULT(pmd_negotiator_server_negotiate(neg, req, strlen(req), buf, sizeof buf, &len, &chain),
                 PMD_ERR_INTERNAL);
    CHECK(chain == NULL);
    CHECK_STR(order, "21");

    /* The response does not fit: the same. */
    req = "x-o; id=1, x-o; id=2, x-o; id=3";
    reset();
    CHECK_RESULT(pmd_negotiator_server_negotiate(neg, req, strlen(req), buf, 4, &len, &chain),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, strlen("x-o, x-o, x-o"));
    CHECK(chain == NULL);
    CHECK_STR(order, "321");

    /* Client: a chain of three, then failures after two accepted. */
    req = "x-o; id=4, x-o; id=5, x-o; id=6";
    reset();
    CHECK_OK(pmd_negotiator_client_accept(neg, req, strlen(req), &chain));
    CHECK_EQ(pmd_chain_count(chain), 3);
    pmd_chain_free(chain);
    CHECK_STR(order, "654");
    chain = NULL;
    req = "x-o; id=4, x-o; id=5, x-unknown";
    reset();
    CHECK_RESULT(pmd_negotiator_client_accept(neg, req, strlen(req), &chain), PMD_ERR_NEGOTIATION);
    CHECK(chain == NULL);
    CHECK_STR(order, "54");
    req = "x-o; id=4, x-o; id=5, x-o; id=9";
    reset();
    CHECK_RESULT(pmd_negotiator_client_accept(neg, req, strlen(req), &chain), PMD_ERR_INTERNAL);
    CHECK(chain == NULL);
    CHECK_STR(order, "54");

    reset();
    pmd_negotiator_free(neg);
    CHECK_STR(order, "sc");
}

int main(void) {
    test_negotiator_free();
    test_chains();
    return check_finish("test_destruction_order");
}
