/* What a server author relies on: a message limit that cannot switch
 * itself off (max_size 0 is "only empty output", SIZE_MAX is "no limit"),
 * the per-message limit that counts every data frame of a message,
 * compressed or not, on an extension, from a config and on a chain;
 * (NULL, 0) as an absent header on every entry point that takes a header
 * value; and a reassembled message decoded as one frame. */
#include "check.h"

static pmd_extension *new_ext(const pmd_config *cfg) {
    pmd_extension *ext = NULL;
    CHECK_OK(pmd_extension_new(false, false, 15, 15, cfg, &ext));
    CHECK(ext != NULL);
    return ext;
}

static pmd_frame data_frame(uint8_t op, bool fin, bool rsv1, const void *p, size_t n) {
    pmd_frame f = frame_make(op, fin, p, n);
    f.rsv1 = rsv1;
    return f;
}

/* A negotiator with the built-in permessage-deflate factories, both roles. */
static pmd_negotiator *new_negotiator(void) {
    pmd_negotiator *neg = pmd_negotiator_new();
    pmd_config *cfg = pmd_config_new();
    pmd_client_factory cf;
    pmd_server_factory sf;
    CHECK_OK(pmd_client_factory_permessage_deflate(cfg, &cf));
    CHECK_OK(pmd_server_factory_permessage_deflate(cfg, &sf));
    CHECK_OK(pmd_negotiator_add_client(neg, &cf));
    CHECK_OK(pmd_negotiator_add_server(neg, &sf));
    pmd_config_free(cfg);
    return neg;
}

/* Compresses `msg` as one message cut into `parts` frames; the frames'
 * payloads go to wire[i] (owned by the caller). */
static void encode_parts(const unsigned char *msg, size_t n, size_t parts, bytes_buf *wire,
                         pmd_frame *frames) {
    pmd_extension *tx = new_ext(NULL);
    for (size_t i = 0; i < parts; i++) {
        size_t from = n * i / parts, to = n * (i + 1) / parts;
        pmd_frame in = frame_make(i == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION,
                                  i + 1 == parts, msg + from, to - from);
        pmd_frame out;
        CHECK_OK(pmd_extension_encode(tx, &in, &out));
        bytes_append(&wire[i], out.data, out.len);
        frames[i] = out;
        frames[i].data = wire[i].p;
    }
    pmd_extension_free(tx);
}

/* The README's recipe: pass the message's remaining budget. Once it is
 * spent, a frame that decodes to anything is refused instead of switching
 * the limit off. */
static void test_budget_reaching_zero_is_refused(void) {
    enum { N = 3000, PARTS = 3, BUDGET = N * 2 / 3 };
    unsigned char msg[N];
    bytes_buf wire[PARTS];
    pmd_frame frames[PARTS], out;
    memset(wire, 0, sizeof wire);
    fill_text(msg, N, 1);
    encode_parts(msg, N, PARTS, wire, frames);

    pmd_extension *rx = new_ext(NULL);
    size_t budget = BUDGET; /* exactly the first two frames */
    for (size_t i = 0; i < 2; i++) {
        CHECK_OK(pmd_extension_decode(rx, &frames[i], budget, &out));
        budget -= out.len;
    }
    CHECK_EQ(budget, 0);
    CHECK_RESULT(pmd_extension_decode(rx, &frames[2], budget, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max_size of 0 bytes");
    CHECK_EQ(pmd_result_close_code(PMD_ERR_PAYLOAD_TOO_BIG), 1009);
    pmd_extension_free(rx);

    /* A spent budget still takes an empty final frame. */
    rx = new_ext(NULL);
    pmd_extension *tx = new_ext(NULL);
    pmd_frame a = frame_make(PMD_OPCODE_TEXT, false, "abc", 3), b = frame_make(PMD_OPCODE_CONTINUATION, true, NULL, 0);
    pmd_frame wa, wb;
    bytes_buf keep = {NULL, 0, 0};
    CHECK_OK(pmd_extension_encode(tx, &a, &wa));
    bytes_append(&keep, wa.data, wa.len);
    wa.data = keep.p;
    CHECK_OK(pmd_extension_encode(tx, &b, &wb));
    CHECK_OK(pmd_extension_decode(rx, &wa, 3, &out));
    CHECK_SPAN((const char *)out.data, out.len, "abc");
    CHECK_OK(pmd_extension_decode(rx, &wb, 0, &out));
    CHECK_EQ(out.len, 0);
    bytes_free(&keep);
    pmd_extension_free(tx);
    pmd_extension_free(rx);
    for (size_t i = 0; i < PARTS; i++) bytes_free(&wire[i]);
}

/* The per-message limit counts uncompressed frames, which the per-call
 * max_size leaves to the host. */
static void test_message_limit_counts_uncompressed_frames(void) {
    pmd_frame out;
    pmd_extension *rx = new_ext(NULL);
    CHECK_OK(pmd_extension_set_max_message_size(rx, 10));
    pmd_frame f1 = data_frame(PMD_OPCODE_TEXT, false, false, "12345", 5);
    pmd_frame ping = data_frame(PMD_OPCODE_PING, true, false, "a long ping payload", 19);
    pmd_frame f2 = data_frame(PMD_OPCODE_CONTINUATION, false, false, "67890", 5);
    pmd_frame f3 = data_frame(PMD_OPCODE_CONTINUATION, true, false, "!", 1);
    CHECK_OK(pmd_extension_decode(rx, &f1, SIZE_MAX, &out));
    CHECK(out.data == f1.data); /* still passed through */
    CHECK_OK(pmd_extension_decode(rx, &ping, SIZE_MAX, &out)); /* control frames do not count */
    CHECK_OK(pmd_extension_decode(rx, &f2, SIZE_MAX, &out)); /* exactly 10 */
    CHECK_RESULT(pmd_extension_decode(rx, &f3, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max message size of 10 bytes");
    /* Sticky, like every decode error. */
    CHECK_RESULT(pmd_extension_decode(rx, &ping, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(rx);

    /* A single uncompressed frame over the limit; the next message starts
     * from zero after a final frame. */
    rx = new_ext(NULL);
    CHECK_OK(pmd_extension_set_max_message_size(rx, 5));
    pmd_frame whole = data_frame(PMD_OPCODE_BINARY, true, false, "12345", 5);
    CHECK_OK(pmd_extension_decode(rx, &whole, SIZE_MAX, &out));
    CHECK_OK(pmd_extension_decode(rx, &whole, SIZE_MAX, &out));
    pmd_frame big = data_frame(PMD_OPCODE_BINARY, true, false, "123456", 6);
    CHECK_RESULT(pmd_extension_decode(rx, &big, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(rx);

    /* 0 allows only empty messages. */
    rx = new_ext(NULL);
    CHECK_OK(pmd_extension_set_max_message_size(rx, 0));
    pmd_frame empty = data_frame(PMD_OPCODE_TEXT, true, false, NULL, 0);
    CHECK_OK(pmd_extension_decode(rx, &empty, SIZE_MAX, &out));
    CHECK_RESULT(pmd_extension_decode(rx, &whole, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(rx);

    CHECK_RESULT(pmd_extension_set_max_message_size(NULL, 1), PMD_ERR_NULL_POINTER);
}

/* Compressed messages: the limit stops inflating a bomb across frames, and
 * the smaller of max_size and the room left wins. */
static void test_message_limit_on_compressed_messages(void) {
    enum { N = 200000, PARTS = 4 };
    unsigned char *msg = (unsigned char *)calloc(N, 1);
    bytes_buf wire[PARTS];
    pmd_frame frames[PARTS], out;
    memset(wire, 0, sizeof wire);
    encode_parts(msg, N, PARTS, wire, frames);

    pmd_extension *rx = new_ext(NULL);
    CHECK_OK(pmd_extension_set_max_message_size(rx, N - 1));
    size_t got = 0;
    for (size_t i = 0; i + 1 < PARTS; i++) {
        CHECK_OK(pmd_extension_decode(rx, &frames[i], SIZE_MAX, &out));
        got += out.len;
    }
    CHECK_EQ(got, N * 3 / 4);
    CHECK_RESULT(pmd_extension_decode(rx, &frames[PARTS - 1], SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max message size");
    /* Nothing beyond the limit was kept. */
    CHECK(pmd_extension_memory_usage(rx) < 64 * 1024);
    pmd_extension_free(rx);

    /* Exactly the limit is fine; a smaller max_size still names itself. */
    rx = new_ext(NULL);
    CHECK_OK(pmd_extension_set_max_message_size(rx, N));
    for (size_t i = 0; i < PARTS; i++) CHECK_OK(pmd_extension_decode(rx, &frames[i], SIZE_MAX, &out));
    CHECK_RESULT(pmd_extension_decode(rx, &frames[0], 10, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max_size of 10 bytes");
    pmd_extension_free(rx);

    /* The config's limit reaches extensions made from it. */
    pmd_config *cfg = pmd_config_new();
    CHECK_OK(pmd_config_set_max_message_size(cfg, N / 2));
    CHECK_RESULT(pmd_config_set_max_message_size(NULL, 1), PMD_ERR_NULL_POINTER);
    rx = new_ext(cfg);
    CHECK_OK(pmd_extension_decode(rx, &frames[0], SIZE_MAX, &out));
    CHECK_OK(pmd_extension_decode(rx, &frames[1], SIZE_MAX, &out));
    CHECK_RESULT(pmd_extension_decode(rx, &frames[2], SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_extension_free(rx);
    /* ... and through negotiation; the extension may lift it. */
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t len;
    CHECK_OK(pmd_server_negotiate(cfg, "permessage-deflate", 18, buf, sizeof buf, &len, &rx));
    CHECK(rx != NULL);
    CHECK_OK(pmd_extension_set_max_message_size(rx, SIZE_MAX));
    for (size_t i = 0; i < PARTS; i++) CHECK_OK(pmd_extension_decode(rx, &frames[i], SIZE_MAX, &out));
    pmd_extension_free(rx);
    pmd_config_free(cfg);

    for (size_t i = 0; i < PARTS; i++) bytes_free(&wire[i]);
    free(msg);
}

/* A host that reassembles a message first may decode it as one final
 * frame: the payloads joined, the first frame's opcode and RSV1. */
static void test_reassembled_message_decodes_as_one_frame(void) {
    enum { N = 50000, PARTS = 5 };
    unsigned char *msg = (unsigned char *)malloc(N);
    bytes_buf wire[PARTS], joined = {NULL, 0, 0};
    pmd_frame frames[PARTS], out;
    memset(wire, 0, sizeof wire);
    fill_text(msg, N, 7);
    encode_parts(msg, N, PARTS, wire, frames);
    for (size_t i = 0; i < PARTS; i++) bytes_append(&joined, wire[i].p, wire[i].len);

    pmd_extension *rx = new_ext(NULL);
    pmd_frame whole = data_frame(PMD_OPCODE_BINARY, true, true, joined.p, joined.len);
    for (int round = 0; round < 2; round++) { /* twice: the window carries over */
        CHECK_OK(pmd_extension_decode(rx, &whole, N, &out));
        CHECK_BYTES(out.data, out.len, msg, (size_t)N);
    }
    pmd_extension_free(rx);
    bytes_free(&joined);
    for (size_t i = 0; i < PARTS; i++) bytes_free(&wire[i]);
    free(msg);
}

/* (NULL, 0) is an absent header everywhere a header value goes in; NULL
 * with a length stays an error. */
static void test_absent_headers(void) {
    pmd_config *cfg = pmd_config_new();
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t len = 99;
    pmd_extension *ext = (pmd_extension *)&len;

    CHECK_OK(pmd_server_negotiate(cfg, NULL, 0, buf, sizeof buf, &len, &ext));
    CHECK(ext == NULL);
    CHECK_EQ(len, 0);
    CHECK_RESULT(pmd_server_negotiate(cfg, NULL, 1, buf, sizeof buf, &len, &ext), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("request");
    /* A NULL out_len is refused before the request is read, bad or not. */
    CHECK_RESULT(pmd_server_negotiate(cfg, "bad value;", 10, buf, sizeof buf, NULL, &ext), PMD_ERR_NULL_POINTER);
    CHECK_LAST_ERROR("out_len");

    ext = (pmd_extension *)&len;
    CHECK_OK(pmd_client_accept(cfg, NULL, 0, &ext));
    CHECK(ext == NULL);
    CHECK_RESULT(pmd_client_accept(cfg, NULL, 1, &ext), PMD_ERR_NULL_POINTER);

    pmd_header *h = NULL;
    CHECK_OK(pmd_header_parse(NULL, 0, &h));
    CHECK_EQ(pmd_header_count(h), 0);
    pmd_header_free(h);
    CHECK_RESULT(pmd_header_parse(NULL, 1, &h), PMD_ERR_NULL_POINTER);

    /* `require`: an absent header is "not offered". */
    CHECK_OK(pmd_config_set_require(cfg, true));
    CHECK_RESULT(pmd_server_negotiate(cfg, NULL, 0, buf, sizeof buf, &len, &ext), PMD_ERR_NEGOTIATION);
    CHECK_LAST_ERROR("not offered");

    /* The framework's negotiator, both roles. */
    pmd_negotiator *neg = new_negotiator();
    pmd_chain *chain = NULL;
    CHECK_OK(pmd_negotiator_server_negotiate(neg, NULL, 0, buf, sizeof buf, &len, &chain));
    CHECK(chain != NULL);
    CHECK_EQ(pmd_chain_count(chain), 0);
    CHECK_EQ(len, 0);
    pmd_chain_free(chain);
    chain = NULL;
    CHECK_OK(pmd_negotiator_client_accept(neg, NULL, 0, &chain));
    CHECK(chain != NULL);
    CHECK_EQ(pmd_chain_count(chain), 0);
    pmd_chain_free(chain);
    CHECK_RESULT(pmd_negotiator_client_accept(neg, NULL, 3, &chain), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_negotiator_server_negotiate(neg, NULL, 3, buf, sizeof buf, &len, &chain),
                 PMD_ERR_NULL_POINTER);
    pmd_negotiator_free(neg);
    pmd_config_free(cfg);
}

/* The chain's limit counts what comes out of the chain, whichever
 * extension (or none) handled the frame. */
static void test_chain_message_limit(void) {
    pmd_negotiator *neg = new_negotiator();
    char buf[PMD_MAX_RESPONSE_LEN];
    size_t len;
    pmd_chain *chain = NULL;
    CHECK_OK(pmd_negotiator_server_negotiate(neg, "permessage-deflate", 18, buf, sizeof buf, &len, &chain));
    CHECK_EQ(pmd_chain_count(chain), 1);
    CHECK_OK(pmd_chain_set_max_message_size(chain, 8));
    CHECK_RESULT(pmd_chain_set_max_message_size(NULL, 8), PMD_ERR_NULL_POINTER);

    pmd_frame out;
    pmd_frame a = data_frame(PMD_OPCODE_TEXT, false, false, "abcd", 4);
    pmd_frame b = data_frame(PMD_OPCODE_CONTINUATION, true, false, "efgh", 4);
    CHECK_OK(pmd_chain_decode(chain, &a, SIZE_MAX, &out));
    CHECK_OK(pmd_chain_decode(chain, &b, SIZE_MAX, &out));
    /* A compressed message of 9 bytes. */
    pmd_extension *tx = new_ext(NULL);
    pmd_frame nine = frame_make(PMD_OPCODE_TEXT, true, "123456789", 9), wire;
    CHECK_OK(pmd_extension_encode(tx, &nine, &wire));
    CHECK_RESULT(pmd_chain_decode(chain, &wire, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    CHECK_LAST_ERROR("max message size of 8 bytes");
    pmd_chain_free(chain);

    /* Uncompressed frames over the chain's limit. */
    chain = NULL;
    CHECK_OK(pmd_negotiator_server_negotiate(neg, "permessage-deflate", 18, buf, sizeof buf, &len, &chain));
    CHECK_OK(pmd_chain_set_max_message_size(chain, 7));
    CHECK_OK(pmd_chain_decode(chain, &a, SIZE_MAX, &out));
    CHECK_RESULT(pmd_chain_decode(chain, &b, SIZE_MAX, &out), PMD_ERR_PAYLOAD_TOO_BIG);
    pmd_chain_free(chain);

    pmd_extension_free(tx);
    pmd_negotiator_free(neg);
}

int main(void) {
    test_budget_reaching_zero_is_refused();
    test_message_limit_counts_uncompressed_frames();
    test_message_limit_on_compressed_messages();
    test_reassembled_message_decodes_as_one_frame();
    test_absent_headers();
    test_chain_message_limit();
    return check_finish("test_server_api");
}
