/* Threads (docs/conventions.md): one writer thread encoding and one reader
 * thread decoding on the same extension at the same time; memory usage read
 * meanwhile from a third; a config shared by threads that negotiate at once;
 * pmd_last_error kept per thread. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "check.h"

#define MESSAGES 120

/* One frame as it went over the wire (owned copy). */
typedef struct wire_frame {
    pmd_frame f;
    unsigned char *copy;
} wire_frame;

typedef struct wire {
    wire_frame *frames;
    size_t n, cap;
} wire;

static void wire_push(wire *w, const pmd_frame *f) {
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->frames = (wire_frame *)realloc(w->frames, w->cap * sizeof *w->frames);
        if (w->frames == NULL) {
            exit(2);
        }
    }
    w->frames[w->n].f = *f;
    w->frames[w->n].copy = (unsigned char *)malloc(f->len ? f->len : 1);
    if (f->len) {
        memcpy(w->frames[w->n].copy, f->data, f->len);
    }
    w->frames[w->n].f.data = w->frames[w->n].copy;
    w->n++;
}

static void wire_free(wire *w) {
    size_t i;
    for (i = 0; i < w->n; i++) {
        free(w->frames[i].copy);
    }
    free(w->frames);
    w->frames = NULL;
    w->n = w->cap = 0;
}

/* Message i: its size, content and framing are a function of i. */
static size_t message_len(int i) {
    return (size_t)((i * 7919) % 30000) + (i % 5 == 0 ? 0 : 1);
}

static void message_fill(int i, unsigned char *p, size_t n) {
    if (i % 3 == 0) {
        fill_random(p, n, (uint32_t)i + 1);
    } else {
        fill_text(p, n, (uint32_t)i + 1);
    }
}

static size_t message_chunk(int i) {
    return i % 4 == 0 ? 1000 : 0; /* 0: one frame */
}

/* Encodes messages 0..MESSAGES-1 on ext into w; returns the failures. */
static int encode_all(pmd_extension *ext, wire *w, char *why, size_t why_len) {
    unsigned char *buf = (unsigned char *)malloc(30001);
    int i, failures = 0;
    for (i = 0; i < MESSAGES; i++) {
        size_t len = message_len(i), chunk = message_chunk(i), off = 0;
        if (chunk == 0) {
            chunk = len ? len : 1;
        }
        message_fill(i, buf, len);
        do {
            size_t n = len - off < chunk ? len - off : chunk;
            pmd_frame in = frame_make(off == 0 ? PMD_OPCODE_BINARY : PMD_OPCODE_CONTINUATION,
                                      off + n == len, buf + off, n);
            pmd_frame out;
            pmd_result r = pmd_extension_encode(ext, &in, &out);
            if (r != PMD_OK) {
                if (failures++ == 0) {
                    snprintf(why, why_len, "encode message %d: %s: %s", i, pmd_result_name(r),
                             pmd_last_error());
                }
                break;
            }
            wire_push(w, &out);
            off += n;
        } while (off < len);
    }
    free(buf);
    return failures;
}

/* Decodes w on ext and compares with messages 0..MESSAGES-1. */
static int decode_all(pmd_extension *ext, const wire *w, char *why, size_t why_len) {
    unsigned char *want = (unsigned char *)malloc(30001);
    bytes_buf got = {NULL, 0, 0};
    int failures = 0, msg = 0;
    size_t k;
    for (k = 0; k < w->n; k++) {
        pmd_frame out;
        pmd_result r = pmd_extension_decode(ext, &w->frames[k].f, SIZE_MAX, &out);
        if (r != PMD_OK) {
            if (failures++ == 0) {
                snprintf(why, why_len, "decode frame %lu: %s: %s", (unsigned long)k,
                         pmd_result_name(r), pmd_last_error());
            }
            break;
        }
        bytes_append(&got, out.data, out.len);
        if (out.fin) {
            size_t len = message_len(msg);
            message_fill(msg, want, len);
            if (got.len != len || (len && memcmp(got.p, want, len) != 0)) {
                if (failures++ == 0) {
                    snprintf(why, why_len, "message %d: got %lu bytes, want %lu", msg,
                             (unsigned long)got.len, (unsigned long)len);
                }
            }
            got.len = 0;
            msg++;
        }
    }
    if (msg != MESSAGES && failures++ == 0) {
        snprintf(why, why_len, "decoded %d messages, want %d", msg, MESSAGES);
    }
    bytes_free(&got);
    free(want);
    return failures;
}

typedef struct job {
    pmd_extension *ext;
    wire *w;
    pthread_barrier_t *start;
    volatile int *done;
    int failures;
    char why[256];
} job;

static void *writer(void *arg) {
    job *j = (job *)arg;
    pthread_barrier_wait(j->start);
    j->failures = encode_all(j->ext, j->w, j->why, sizeof j->why);
    __atomic_add_fetch(j->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void *reader(void *arg) {
    job *j = (job *)arg;
    pthread_barrier_wait(j->start);
    j->failures = decode_all(j->ext, j->w, j->why, sizeof j->why);
    __atomic_add_fetch(j->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void run_concurrent(bool nct, int bits) {
    pmd_extension *client = NULL, *server = NULL;
    wire to_client = {NULL, 0, 0}, to_server = {NULL, 0, 0};
    pthread_barrier_t start;
    pthread_t tw, tr;
    volatile int done = 0;
    job jw, jr;
    char why[256] = "";
    unsigned long polls = 0;
    size_t bad_usage = 1; /* 1: no bad reading seen */

    CHECK_OK(pmd_extension_new(nct, nct, bits, bits, NULL, &client));
    CHECK_OK(pmd_extension_new(nct, nct, bits, bits, NULL, &server));
    /* What the server sends, ready before the threads start. */
    CHECK_EQ(encode_all(server, &to_client, why, sizeof why), 0);

    CHECK_EQ(pthread_barrier_init(&start, NULL, 3), 0);
    memset(&jw, 0, sizeof jw);
    memset(&jr, 0, sizeof jr);
    jw.ext = jr.ext = client;
    jw.start = jr.start = &start;
    jw.done = jr.done = &done;
    jw.w = &to_server;  /* the writer thread fills it */
    jr.w = &to_client;  /* the reader thread consumes it */
    CHECK_EQ(pthread_create(&tw, NULL, writer, &jw), 0);
    CHECK_EQ(pthread_create(&tr, NULL, reader, &jr), 0);
    pthread_barrier_wait(&start);
    /* Memory usage may be read while both sides work: always at least the
     * handle, never more than both streams and their buffers. */
    do {
        size_t m = pmd_extension_memory_usage(client);
        if (m == 0 || m > 4u << 20) {
            bad_usage = m;
        }
        polls++;
        sched_yield();
    } while (__atomic_load_n(&done, __ATOMIC_SEQ_CST) < 2);
    CHECK_EQ(pthread_join(tw, NULL), 0);
    CHECK_EQ(pthread_join(tr, NULL), 0);
    CHECK_EQ(bad_usage, 1);
    pthread_barrier_destroy(&start);

    if (!CHECK_EQ(jw.failures, 0)) {
        fprintf(stderr, "    writer: %s\n", jw.why);
    }
    if (!CHECK_EQ(jr.failures, 0)) {
        fprintf(stderr, "    reader: %s\n", jr.why);
    }
    /* The server decodes what the writer thread sent. */
    if (!CHECK_EQ(decode_all(server, &to_server, why, sizeof why), 0)) {
        fprintf(stderr, "    server: %s\n", why);
    }
    wire_free(&to_client);
    wire_free(&to_server);
    pmd_extension_free(client);
    pmd_extension_free(server);
}

/* ---- a shared config, negotiating on several threads at once ---------- */

typedef struct negotiator {
    const pmd_config *cfg;
    int failures;
    char why[256];
} negotiator;

static void *negotiate_many(void *arg) {
    negotiator *n = (negotiator *)arg;
    int i;
    for (i = 0; i < 200; i++) {
        char buf[PMD_MAX_RESPONSE_LEN];
        size_t len = 0;
        pmd_extension *ext = NULL;
        const char *req = i % 2 ? "permessage-deflate; client_max_window_bits"
                                : "permessage-deflate; server_max_window_bits=9";
        const char *want = i % 2 ? "permessage-deflate; server_max_window_bits=10; "
                                   "client_max_window_bits=11"
                                 : "permessage-deflate; server_max_window_bits=9";
        pmd_result r = pmd_server_negotiate(n->cfg, req, strlen(req), buf, sizeof buf, &len, &ext);
        if (r != PMD_OK || ext == NULL || strcmp(buf, want) != 0) {
            if (n->failures++ == 0) {
                snprintf(n->why, sizeof n->why, "%s: \"%.200s\"", pmd_result_name(r), buf);
            }
        }
        pmd_extension_free(ext);
    }
    return NULL;
}

static void test_shared_config(void) {
    pmd_config *cfg = pmd_config_new();
    negotiator n[4];
    pthread_t t[4];
    int i;
    CHECK_OK(pmd_config_set_server_max_window_bits(cfg, 10));
    CHECK_OK(pmd_config_set_client_max_window_bits(cfg, 11));
    for (i = 0; i < 4; i++) {
        memset(&n[i], 0, sizeof n[i]);
        n[i].cfg = cfg;
        CHECK_EQ(pthread_create(&t[i], NULL, negotiate_many, &n[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        CHECK_EQ(pthread_join(t[i], NULL), 0);
        if (!CHECK_EQ(n[i].failures, 0)) {
            fprintf(stderr, "    thread %d: %s\n", i, n[i].why);
        }
    }
    pmd_config_free(cfg);
}

/* ---- pmd_last_error is per thread -------------------------------------- */

typedef struct error_probe {
    char before[128], after[128];
} error_probe;

static void *probe_last_error(void *arg) {
    error_probe *p = (error_probe *)arg;
    snprintf(p->before, sizeof p->before, "%s", pmd_last_error());
    (void)pmd_config_set_strategy(NULL, 0);
    snprintf(p->after, sizeof p->after, "%s", pmd_last_error());
    return NULL;
}

static void test_last_error_per_thread(void) {
    pmd_config *cfg = pmd_config_new();
    error_probe p;
    pthread_t t;
    CHECK_RESULT(pmd_config_set_mem_level(cfg, 42), PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("42");
    memset(&p, 0, sizeof p);
    CHECK_EQ(pthread_create(&t, NULL, probe_last_error, &p), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_STR(p.before, ""); /* a new thread has no detail */
    CHECK_CONTAINS(p.after, "pmd_config_set_strategy");
    /* The other thread's failure did not touch this thread's detail. */
    CHECK_LAST_ERROR("pmd_config_set_mem_level");
    CHECK_LAST_ERROR("42");
    pmd_config_free(cfg);
}

int main(void) {
    run_concurrent(false, 15);
    run_concurrent(true, 9);
    test_shared_config();
    test_last_error_per_thread();
    return check_finish("test_threads");
}
