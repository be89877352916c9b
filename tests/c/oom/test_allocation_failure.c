/* Allocation failure from C: every call survives it (issue 12, item 2).
 *
 * For each scenario, a first run counts the allocations it makes (A);
 * then, for every n in 1..A, the scenario runs again with the n-th
 * allocation failing ("once"), and again with the n-th and every later
 * one failing until the library reports it ("persistent": the error path
 * itself must not need memory). Each run asserts that
 *   - every call returns PMD_OK or PMD_ERR_OUT_OF_MEMORY (NULL for the
 *     constructors that return a pointer), and the latter only when an
 *     allocation really failed;
 *   - after PMD_ERR_OUT_OF_MEMORY the handles are usable as documented:
 *     the same call succeeds once memory is back (a failed encode: the
 *     message is sent again from its first frame, or, cut after its first
 *     frame, the encoder starts a new message a fresh peer decodes); a
 *     failed decode stays failed (decode errors are sticky) and is freed;
 *   - every message that goes through arrives byte for byte;
 *   - the live-block count of the allocator is back to its start after
 *     the handles are freed (nothing leaked).
 * Prints the matrix: per scenario, allocations, runs, failures injected,
 * calls that returned PMD_ERR_OUT_OF_MEMORY, and runs in which the library
 * absorbed the failure (every call still returned PMD_OK).
 *
 * The failing allocator is failing_alloc.c, linked into this executable
 * (it replaces libc's malloc for libpmdeflate.so and libz too), so this
 * runs natively, not under valgrind (whose malloc would replace it); its
 * live-block count is the leak check. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "failing_alloc.h"

/* ---- outcome of the current run --------------------------------------- */

static unsigned long run_ooms; /* calls that returned PMD_ERR_OUT_OF_MEMORY */

/* A call returned PMD_ERR_OUT_OF_MEMORY: an allocation must really have
   failed; memory comes back for the rest of the run. */
static void saw_oom(const char *where) {
    if (!CHECK(fa_failures() > 0)) fprintf(stderr, "    spurious out of memory at %s\n", where);
    CHECK(pmd_result_close_code(PMD_ERR_OUT_OF_MEMORY) == 1011);
    CHECK_CONTAINS(pmd_last_error(), "out of memory");
    CHECK(strncmp(pmd_last_error(), "pmd_", 4) == 0); /* names the function */
    run_ooms++;
    fa_disarm();
}

/* A call that succeeds, or fails for memory and then succeeds when made
   again with memory back. */
#define RETRY(expr)                                                     \
    do {                                                                \
        pmd_result r_ = (expr);                                         \
        if (r_ == PMD_ERR_OUT_OF_MEMORY) {                              \
            saw_oom(#expr);                                             \
            r_ = (expr);                                                \
        }                                                               \
        CHECK_RESULT(r_, PMD_OK);                                       \
    } while (0)

/* The same for a constructor that returns NULL when out of memory. */
#define RETRY_PTR(var, expr)                                            \
    do {                                                                \
        (var) = (expr);                                                 \
        if ((var) == NULL) {                                            \
            saw_oom(#expr);                                             \
            (var) = (expr);                                             \
        }                                                               \
        CHECK((var) != NULL);                                           \
    } while (0)

/* ---- messages ------------------------------------------------------------ */

#define MSG_LEN 24000
static uint8_t msg_a[MSG_LEN], msg_b[MSG_LEN], msg_c[600];
static uint8_t received[MSG_LEN];

/* Half text that compresses, half bytes that do not: output grows in
   steps, so both buffers are reallocated along the way. */
static void fill(uint8_t *p, size_t n, uint32_t seed) {
    static const char words[] = "permessage-deflate compresses each message; ";
    size_t i;
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (i / 1000) % 2 ? (uint8_t)(seed >> 16) : (uint8_t)words[(i + seed % 3) % (sizeof words - 1)];
    }
}

/* The frames a message is cut into: [0, 7000), [7000, 15000), [15000, len). */
static const size_t cuts[] = {0, 7000, 15000};
#define N_FRAMES 3

typedef pmd_result (*encode_fn)(void *tx, const pmd_frame *in, pmd_frame *out);

static pmd_result ext_encode(void *tx, const pmd_frame *in, pmd_frame *out) {
    return pmd_extension_encode((pmd_extension *)tx, in, out);
}

static pmd_result enc_encode(void *tx, const pmd_frame *in, pmd_frame *out) {
    return pmd_encoder_encode((pmd_encoder *)tx, in, out);
}

static pmd_frame frame_of(const uint8_t *msg, size_t len, int i, int whole) {
    pmd_frame f;
    size_t start = whole ? 0 : cuts[i];
    size_t end = whole || i == N_FRAMES - 1 ? len : cuts[i + 1];
    f.opcode = i == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION;
    f.fin = whole || i == N_FRAMES - 1;
    f.rsv1 = f.rsv2 = f.rsv3 = false;
    f.data = msg + start;
    f.len = end - start;
    return f;
}

/* A new decoder agreeing with `rx` (the same receiving parameters). */
static pmd_extension *fresh_like(const pmd_extension *rx) {
    pmd_negotiated n;
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_negotiated(rx, &n));
    CHECK_OK(pmd_extension_new(n.remote_no_context_takeover, n.local_no_context_takeover,
                               n.remote_max_window_bits, n.local_max_window_bits, NULL, &ext));
    return ext;
}

/* Decodes one whole-message frame and checks it is (msg, len). */
static void decode_whole(pmd_extension *rx, const pmd_frame *f, const uint8_t *msg, size_t len) {
    pmd_frame out;
    if (CHECK_OK(pmd_extension_decode(rx, f, SIZE_MAX, &out)))
        CHECK_BYTES(out.data, out.len, msg, len);
}

/* Sends (msg, len) in N_FRAMES frames from `tx` to `rx`. Returns 1 when it
   arrived intact, 0 when an allocation failure ended the connection (after
   checking what the handles do then). */
static int send_message(encode_fn encode, void *tx, pmd_extension *rx, const uint8_t *msg, size_t len) {
    int i;
    size_t got = 0;
    for (i = 0; i < N_FRAMES; i++) {
        pmd_frame in = frame_of(msg, len, i, 0), wire, plain;
        pmd_result r = encode(tx, &in, &wire);
        if (r == PMD_ERR_OUT_OF_MEMORY) {
            saw_oom("encode");
            if (i == 0) {
                /* Nothing was sent: send the message again. */
                return send_message(encode, tx, rx, msg, len);
            }
            /* The message was cut: the connection fails. The encoder still
               works: its next message starts a new stream, which a decoder
               that saw none of this one decodes. */
            {
                pmd_extension *fresh = fresh_like(rx);
                pmd_frame whole = frame_of(msg_c, sizeof msg_c, 0, 1);
                if (CHECK_OK(encode(tx, &whole, &wire))) decode_whole(fresh, &wire, msg_c, sizeof msg_c);
                pmd_extension_free(fresh);
            }
            return 0;
        }
        if (!CHECK_OK(r)) return 0;
        r = pmd_extension_decode(rx, &wire, SIZE_MAX, &plain);
        if (r == PMD_ERR_OUT_OF_MEMORY) {
            saw_oom("decode");
            /* Decode errors are sticky: the connection is closed (1011). */
            CHECK_RESULT(pmd_extension_decode(rx, &wire, SIZE_MAX, &plain), PMD_ERR_OUT_OF_MEMORY);
            return 0;
        }
        if (!CHECK_OK(r)) return 0;
        if (!CHECK(got + plain.len <= sizeof received)) return 0;
        memcpy(received + got, plain.data, plain.len);
        got += plain.len;
    }
    return CHECK_BYTES(received, got, msg, len);
}

/* ---- scenarios ------------------------------------------------------------ */

typedef struct exchange_arg {
    int bits;
    int no_context_takeover;
} exchange_arg;

/* Configuration: a config with every setter. */
static void sc_config(const void *arg) {
    pmd_config *cfg;
    (void)arg;
    RETRY_PTR(cfg, pmd_config_new());
    RETRY(pmd_config_set_server_no_context_takeover(cfg, true));
    RETRY(pmd_config_set_client_no_context_takeover(cfg, true));
    RETRY(pmd_config_set_server_max_window_bits(cfg, 10));
    RETRY(pmd_config_set_client_max_window_bits(cfg, 11));
    RETRY(pmd_config_set_compress_level(cfg, 4));
    RETRY(pmd_config_set_mem_level(cfg, 5));
    RETRY(pmd_config_set_strategy(cfg, PMD_STRATEGY_FILTERED));
    RETRY(pmd_config_set_require(cfg, true));
    RETRY(pmd_config_set_require_client_max_window_bits(cfg, true));
    RETRY(pmd_config_set_max_message_size(cfg, 1 << 20));
    RETRY(pmd_config_set_strict_window(cfg, true));
    RETRY(pmd_config_set_compress_threshold(cfg, 16));
    pmd_config_free(cfg);
}

/* Negotiation: offer, server negotiate, client accept; then the
   parameter-level functions; then the header grammar. */
static void sc_negotiation(const void *arg) {
    static const char request[] =
        "x-other; a=\"quoted\", permessage-deflate; client_max_window_bits; server_max_window_bits=11, "
        "permessage-deflate";
    pmd_config *ccfg, *scfg;
    pmd_extension *client = NULL, *server = NULL;
    pmd_header *h = NULL;
    pmd_param params[4], response[4];
    char offer[PMD_MAX_RESPONSE_LEN], answer[PMD_MAX_RESPONSE_LEN], built[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0, answer_len = 0, n = 0, n_response = 0, built_len = 0;
    const char *name;
    size_t name_len, n_params;
    const pmd_param *hp;
    (void)arg;

    RETRY_PTR(ccfg, pmd_config_new());
    RETRY(pmd_config_set_client_max_window_bits(ccfg, PMD_WINDOW_BITS_NO_VALUE));
    RETRY(pmd_config_set_server_max_window_bits(ccfg, 12));
    RETRY(pmd_config_set_client_no_context_takeover(ccfg, true));
    RETRY_PTR(scfg, pmd_config_new());
    RETRY(pmd_config_set_client_max_window_bits(scfg, 10));

    RETRY(pmd_client_offer(ccfg, offer, sizeof offer, &offer_len));
    CHECK_SPAN(offer, offer_len,
               "permessage-deflate; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits");
    RETRY(pmd_server_negotiate(scfg, offer, offer_len, answer, sizeof answer, &answer_len, &server));
    CHECK(server != NULL);
    RETRY(pmd_client_accept(ccfg, answer, answer_len, &client));
    CHECK(client != NULL);
    pmd_extension_free(client);
    pmd_extension_free(server);
    client = server = NULL;

    RETRY(pmd_server_negotiate(scfg, request, strlen(request), answer, sizeof answer, &answer_len, &server));
    CHECK_SPAN(answer, answer_len, "permessage-deflate; server_max_window_bits=11; client_max_window_bits=10");
    pmd_extension_free(server);
    server = NULL;

    RETRY(pmd_client_request_params(ccfg, params, 4, &n));
    CHECK(n == 3);
    RETRY(pmd_server_process_request_params(scfg, params, n, NULL, 0, response, 4, &n_response, &server));
    RETRY(pmd_client_process_response_params(ccfg, response, n_response, NULL, 0, &client));
    pmd_extension_free(client);
    pmd_extension_free(server);

    RETRY(pmd_header_parse(request, strlen(request), &h));
    if (CHECK(h != NULL) && CHECK(pmd_header_count(h) == 3)) {
        RETRY(pmd_header_get(h, 0, &name, &name_len, &hp, &n_params));
        CHECK_SPAN(name, name_len, "x-other");
        RETRY(pmd_header_build(name, name_len, hp, n_params, built, sizeof built, &built_len));
        CHECK_SPAN(built, built_len, "x-other; a=quoted");
        RETRY(pmd_header_get(h, 1, &name, &name_len, &hp, &n_params));
        RETRY(pmd_header_build(name, name_len, hp, n_params, built, sizeof built, &built_len));
        CHECK_SPAN(built, built_len, "permessage-deflate; client_max_window_bits; server_max_window_bits=11");
    }
    pmd_header_free(h);
    pmd_config_free(ccfg);
    pmd_config_free(scfg);
}

/* Two extensions that agreed `bits` and (no) context takeover both ways. */
static void make_pair(const exchange_arg *a, pmd_extension **client, pmd_extension **server) {
    bool nct = a->no_context_takeover != 0;
    RETRY(pmd_extension_new(nct, nct, a->bits, a->bits, NULL, client));
    RETRY(pmd_extension_new(nct, nct, a->bits, a->bits, NULL, server));
}

/* A fragmented exchange: two messages each way, three frames each. */
static void sc_exchange(const void *arg) {
    pmd_extension *client = NULL, *server = NULL;
    make_pair((const exchange_arg *)arg, &client, &server);
    if (send_message(ext_encode, client, server, msg_a, MSG_LEN) &&
        send_message(ext_encode, server, client, msg_b, MSG_LEN) &&
        send_message(ext_encode, client, server, msg_b, MSG_LEN))
        send_message(ext_encode, server, client, msg_a, MSG_LEN);
    pmd_extension_free(client);
    pmd_extension_free(server);
}

/* Compaction between messages, and the restore that follows. */
static void sc_compaction(const void *arg) {
    pmd_extension *client = NULL, *server = NULL;
    make_pair((const exchange_arg *)arg, &client, &server);
    if (send_message(ext_encode, client, server, msg_a, MSG_LEN) &&
        send_message(ext_encode, server, client, msg_b, MSG_LEN)) {
        RETRY(pmd_extension_compact(client));
        RETRY(pmd_extension_compact(server));
        if (send_message(ext_encode, client, server, msg_a, MSG_LEN) &&
            send_message(ext_encode, server, client, msg_b, MSG_LEN)) {
            RETRY(pmd_extension_compact(client));
            RETRY(pmd_extension_compact(server));
        }
    }
    pmd_extension_free(client);
    pmd_extension_free(server);
}

/* A shared encoder and a connection that receives its messages. */
static void sc_shared_encoder(const void *arg) {
    const exchange_arg *a = (const exchange_arg *)arg;
    pmd_encoder *enc = NULL;
    pmd_extension *rx = NULL;
    RETRY(pmd_encoder_new(NULL, a->bits, &enc));
    RETRY(pmd_extension_new(true, true, a->bits, a->bits, NULL, &rx));
    if (send_message(enc_encode, enc, rx, msg_a, MSG_LEN)) send_message(enc_encode, enc, rx, msg_b, MSG_LEN);
    pmd_encoder_free(enc);
    pmd_extension_free(rx);
}

/* ---- a custom C extension for the chain: x-id, which changes nothing ---- */

static unsigned long factories_destroyed;

static int xid_encode(void *state, const pmd_frame *in, pmd_frame *out) {
    (void)state;
    *out = *in;
    return PMD_OK;
}

static int xid_decode(void *state, const pmd_frame *in, size_t max_size, pmd_frame *out) {
    (void)state;
    if (in->len > max_size) return PMD_ERR_PAYLOAD_TOO_BIG;
    *out = *in;
    return PMD_OK;
}

static void xid_destroy(void *state) { (void)state; }

static const pmd_extension_vtable xid_vtable = {sizeof(pmd_extension_vtable), "x-id", xid_encode, xid_decode,
                                                xid_destroy};
static const pmd_param xid_params[1] = {{"mode", 4, "1", 1}};

static int xid_get_request_params(void *user, const pmd_param **params, size_t *n) {
    (void)user;
    *params = xid_params;
    *n = 1;
    return PMD_OK;
}

static int xid_process_response(void *user, const pmd_param *params, size_t n,
                                const pmd_extension_instance *accepted, size_t n_accepted,
                                pmd_extension_instance *out) {
    (void)user, (void)params, (void)n, (void)accepted, (void)n_accepted;
    out->vtable = &xid_vtable;
    out->state = NULL;
    return PMD_OK;
}

static int xid_process_request(void *user, const pmd_param *params, size_t n,
                               const pmd_extension_instance *accepted, size_t n_accepted,
                               const pmd_param **response, size_t *n_response, pmd_extension_instance *out) {
    (void)user, (void)params, (void)accepted, (void)n_accepted;
    *response = xid_params;
    *n_response = n == 1 ? 1 : 0;
    out->vtable = &xid_vtable;
    out->state = NULL;
    return PMD_OK;
}

static void xid_factory_destroy(void *user) {
    (void)user;
    factories_destroyed++;
}

/* Adds a factory of x-id to each negotiator. After PMD_ERR_OUT_OF_MEMORY
   the caller still owns the factory: it was not destroyed. */
static void add_xid(pmd_negotiator *cneg, pmd_negotiator *sneg) {
    pmd_client_factory cf;
    pmd_server_factory sf;
    unsigned long destroyed = factories_destroyed;
    memset(&cf, 0, sizeof cf);
    memset(&sf, 0, sizeof sf);
    cf.size = sizeof cf;
    cf.name = "x-id";
    cf.get_request_params = xid_get_request_params;
    cf.process_response_params = xid_process_response;
    cf.destroy = xid_factory_destroy;
    sf.size = sizeof sf;
    sf.name = "x-id";
    sf.process_request_params = xid_process_request;
    sf.destroy = xid_factory_destroy;
    RETRY(pmd_negotiator_add_client(cneg, &cf));
    RETRY(pmd_negotiator_add_server(sneg, &sf));
    CHECK(factories_destroyed == destroyed);
}

/* The extension framework: negotiators with pmdeflate's own factories
   (and, with an argument, the custom x-id after them), offer, negotiate,
   accept, then a fragmented message through the chains. */
static void sc_chain(const void *arg) {
    pmd_config *cfg;
    pmd_negotiator *cneg, *sneg;
    pmd_client_factory cf;
    pmd_server_factory sf;
    pmd_chain *cchain = NULL, *schain = NULL;
    char offer[PMD_MAX_RESPONSE_LEN], answer[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0, answer_len = 0, got = 0;
    int i;
    (void)arg;

    RETRY_PTR(cfg, pmd_config_new());
    RETRY(pmd_config_set_client_max_window_bits(cfg, 11));
    RETRY_PTR(cneg, pmd_negotiator_new());
    RETRY_PTR(sneg, pmd_negotiator_new());
    RETRY(pmd_client_factory_permessage_deflate(cfg, &cf));
    RETRY(pmd_negotiator_add_client(cneg, &cf));
    RETRY(pmd_server_factory_permessage_deflate(cfg, &sf));
    RETRY(pmd_negotiator_add_server(sneg, &sf));
    if (arg != NULL) add_xid(cneg, sneg);
    RETRY(pmd_negotiator_client_offer(cneg, offer, sizeof offer, &offer_len));
    CHECK_SPAN(offer, offer_len,
               arg ? "permessage-deflate; client_max_window_bits=11, x-id; mode=1"
                   : "permessage-deflate; client_max_window_bits=11");
    RETRY(pmd_negotiator_server_negotiate(sneg, offer, offer_len, answer, sizeof answer, &answer_len, &schain));
    CHECK_SPAN(answer, answer_len,
               arg ? "permessage-deflate; client_max_window_bits=11, x-id; mode=1"
                   : "permessage-deflate; client_max_window_bits=11");
    RETRY(pmd_negotiator_client_accept(cneg, answer, answer_len, &cchain));
    if (cchain != NULL && schain != NULL) {
        CHECK(pmd_chain_count(cchain) == (arg ? 2u : 1u));
        CHECK(pmd_chain_count(schain) == (arg ? 2u : 1u));
    }
    for (i = 0; cchain != NULL && schain != NULL && i < N_FRAMES; i++) {
        pmd_frame in = frame_of(msg_a, MSG_LEN, i, 0), wire, plain;
        pmd_result r = pmd_chain_encode(cchain, &in, &wire);
        if (r == PMD_ERR_OUT_OF_MEMORY) {
            saw_oom("pmd_chain_encode");
            break; /* the message is cut: the connection fails */
        }
        if (!CHECK_OK(r)) break;
        r = pmd_chain_decode(schain, &wire, SIZE_MAX, &plain);
        if (r == PMD_ERR_OUT_OF_MEMORY) {
            saw_oom("pmd_chain_decode");
            CHECK_RESULT(pmd_chain_decode(schain, &wire, SIZE_MAX, &plain), PMD_ERR_OUT_OF_MEMORY);
            break;
        }
        if (!CHECK_OK(r)) break;
        memcpy(received + got, plain.data, plain.len);
        got += plain.len;
        if (i == N_FRAMES - 1) CHECK_BYTES(received, got, msg_a, MSG_LEN);
    }
    pmd_chain_free(cchain);
    pmd_chain_free(schain);
    {
        unsigned long destroyed = factories_destroyed;
        pmd_negotiator_free(cneg);
        pmd_negotiator_free(sneg);
        /* Each x-id factory destroyed once, by its negotiator. */
        CHECK(factories_destroyed - destroyed == (arg ? 2u : 0u));
    }
    pmd_config_free(cfg);
}

/* ---- the matrix ------------------------------------------------------------ */

typedef void (*scenario_fn)(const void *arg);

static unsigned long total_runs, total_failures, total_ooms;

static void matrix(const char *name, scenario_fn f, const void *arg) {
    unsigned long allocs, n, runs = 0, injected = 0, ooms = 0, absorbed = 0;
    int persistent;
    long live;

    /* Counting run (also warms up anything allocated once per process). */
    fa_disarm();
    fa_reset_calls();
    run_ooms = 0;
    f(arg);
    allocs = fa_calls();
    CHECK(run_ooms == 0);

    for (persistent = 0; persistent <= 1; persistent++) {
        for (n = 1; n <= allocs; n++) {
            live = fa_live();
            run_ooms = 0;
            fa_arm(n, persistent);
            f(arg);
            fa_disarm();
            runs++;
            injected += fa_failures();
            ooms += run_ooms;
            if (fa_failures() > 0 && run_ooms == 0) absorbed++;
            if (!CHECK(fa_live() == live))
                fprintf(stderr, "    %s: %ld blocks leaked with allocation %lu failing (%s)\n", name,
                        fa_live() - live, n, persistent ? "persistent" : "once");
        }
    }
    printf("%-40s %6lu %6lu %9lu %8lu %9lu\n", name, allocs, runs, injected, ooms, absorbed);
    fflush(stdout);
    total_runs += runs;
    total_failures += injected;
    total_ooms += ooms;
}

int main(void) {
    static exchange_arg args[16];
    char name[64];
    int bits, nct, i = 0;

    fill(msg_a, sizeof msg_a, 1);
    fill(msg_b, sizeof msg_b, 2);
    fill(msg_c, sizeof msg_c, 3);
    /* Everything printed goes out before the first measurement. */
    printf("%-40s %6s %6s %9s %8s %9s\n", "scenario", "allocs", "runs", "failures", "OOM-ret", "absorbed");
    fflush(stdout);

    matrix("config and setters", sc_config, NULL);
    matrix("negotiation and header", sc_negotiation, NULL);
    for (bits = 8; bits <= 15; bits++) {
        for (nct = 0; nct <= 1; nct++) {
            args[i].bits = bits;
            args[i].no_context_takeover = nct;
            snprintf(name, sizeof name, "fragmented exchange w=%d %s", bits, nct ? "nct" : "takeover");
            matrix(name, sc_exchange, &args[i]);
            i++;
        }
    }
    matrix("compaction and restore w=12 takeover", sc_compaction, &args[8]);
    matrix("compaction and restore w=15 nct", sc_compaction, &args[15]);
    matrix("shared encoder w=11", sc_shared_encoder, &args[6]);
    matrix("negotiator and chain (deflate)", sc_chain, NULL);
    matrix("negotiator and chain (deflate, C x-id)", sc_chain, "x-id");
    printf("total: %lu runs, %lu allocation failures injected, %lu PMD_ERR_OUT_OF_MEMORY results\n", total_runs,
           total_failures, total_ooms);
    return check_finish("test_allocation_failure");
}
