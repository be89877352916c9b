/*
 * scale.c - N server connections in one process: their memory and their
 * message rate.
 *
 * Usage: scale N SETTING [compact=1] [rounds=3] [max_rss_per_conn=0]
 *   SETTING  nct  no_context_takeover both ways, window 15, memLevel 8
 *            w15  window 15, memLevel 8, context takeover
 *            w12  window 12, memLevel 5, context takeover
 *   compact  1: pmd_extension_compact on each connection after each of
 *            its exchanges; 0: never
 *   rounds   exchanges per connection (a small message each way)
 *   max_rss_per_conn  when > 0, fail (exit 1) if the RSS per connection
 *            after the first or the last round is above this many bytes
 *
 * "A connection" is the server side only: the N live pmd_extension
 * handles are a server's, and the process RSS they add is what is
 * reported. Each is negotiated for real: the client's offer
 * (pmd_client_offer) goes through pmd_server_negotiate, and the server's
 * response through pmd_client_accept, which gives a client handle.
 *
 * Round 1, per connection in turn: negotiate; the client handle sends a
 * small message, the server decodes it; the server sends a small message,
 * the client handle decodes it; both are checked; the client handle is
 * freed (so no client state stays in the process); the server side is
 * compacted when asked. Rounds 2.., over all N connections in turn: a
 * client message made by a shared encoder (pmd_encoder, each message from
 * an empty window: a valid message for a decoder with context takeover
 * too, as it refers to nothing before itself) is decoded by the server
 * and checked; the server's reply is checked by inflating it with raw
 * zlib, whose window is first given the server's earlier messages on that
 * connection (with context takeover) as a dictionary; then the connection
 * is compacted when asked. Every message differs (it names its connection
 * and round), so a mixed-up stream fails the check.
 *
 * Reported (one line of key=value): the process RSS (VmRSS of
 * /proc/self/status) added by the connections after round 1 and after the
 * last round, per connection; the sum of pmd_extension_memory_usage per
 * connection; and the server's messages per second: messages decoded and
 * encoded by the server handles over the time spent in the server's calls
 * (decode, encode, compaction; negotiation too in round 1), and over the
 * wall time of the rounds (client side and checks included).
 *
 * PMD_SCALE_THP_DISABLE=1 in the environment turns transparent huge pages
 * off for the process (prctl PR_SET_THP_DISABLE), so that RSS counts 4 KiB
 * pages whatever the kernel's THP mode: with THP "always" a heap of a few
 * MB may be backed by 2 MB pages, which at a few thousand connections adds
 * hundreds of bytes per connection that are the kernel's rounding, not the
 * library's memory. tests/scale/run.sh sets it; the figures in
 * BENCHMARKS.md are from a kernel in THP "madvise" mode, where glibc's
 * heap gets no huge pages either.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <zlib.h>

#include "pmdeflate.h"

typedef struct setting {
    const char *name;
    int nct; /* no_context_takeover both ways */
    int wbits;
    int mem_level;
} setting;

static const setting settings[] = {
    {"nct", 1, 15, 8},
    {"w15", 0, 15, 8},
    {"w12", 0, 12, 5},
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, long conn) {
    fprintf(stderr, "scale: %s (connection %ld; %s)\n", what, conn, pmd_last_error());
    exit(1);
}

/* VmRSS of this process, in bytes. */
static long rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f) die("cannot open /proc/self/status", -1);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    fclose(f);
    if (kb < 0) die("no VmRSS in /proc/self/status", -1);
    return kb * 1024;
}

/* The small message of connection `conn`, round `round`, from the client
   (from_server 0) or the server (1): 70-90 bytes of chat-like JSON. */
static size_t message(char *buf, size_t cap, long conn, int round, int from_server) {
    static const char *texts[] = {"hello", "are you there?", "on my way", "ok, see you soon",
                                  "the build is green again"};
    int n = snprintf(buf, cap, "{\"type\":\"%s\",\"conn\":%ld,\"round\":%d,\"text\":\"%s\"}",
                     from_server ? "reply" : "message", conn, round,
                     texts[(conn + round + from_server) % 5]);
    return (size_t)n;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: scale N nct|w15|w12 [compact=1] [rounds=3] [max_rss_per_conn=0]\n");
        return 2;
    }
    long n = atol(argv[1]);
    const setting *s = NULL;
    for (size_t k = 0; k < sizeof settings / sizeof settings[0]; k++)
        if (strcmp(argv[2], settings[k].name) == 0) s = &settings[k];
    int compact = argc > 3 ? atoi(argv[3]) : 1;
    int rounds = argc > 4 ? atoi(argv[4]) : 3;
    long max_rss = argc > 5 ? atol(argv[5]) : 0;
    if (n < 1 || !s || rounds < 1) {
        fprintf(stderr, "scale: bad arguments\n");
        return 2;
    }

    const char *thp = getenv("PMD_SCALE_THP_DISABLE");
    const int thp_off = thp != NULL && strcmp(thp, "1") == 0;
    if (thp_off && prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) != 0) die("prctl(PR_SET_THP_DISABLE)", -1);

    /* Configs: the client offers the setting, the server accepts it. */
    pmd_config *ccfg = pmd_config_new(), *scfg = pmd_config_new();
    if (!ccfg || !scfg) die("pmd_config_new", -1);
    if (pmd_config_set_mem_level(ccfg, s->mem_level) || pmd_config_set_mem_level(scfg, s->mem_level))
        die("mem level", -1);
    if (s->nct && (pmd_config_set_server_no_context_takeover(ccfg, true) ||
                   pmd_config_set_client_no_context_takeover(ccfg, true)))
        die("no_context_takeover", -1);
    if (s->wbits != 15 && (pmd_config_set_server_max_window_bits(ccfg, s->wbits) ||
                           pmd_config_set_client_max_window_bits(ccfg, s->wbits)))
        die("window bits", -1);
    char offer[PMD_MAX_RESPONSE_LEN], response[PMD_MAX_RESPONSE_LEN];
    size_t offer_len = 0, response_len = 0;
    if (pmd_client_offer(ccfg, offer, sizeof offer, &offer_len)) die("pmd_client_offer", -1);

    /* The client side of rounds 2..: a shared encoder, and raw zlib to
       check the server's replies. */
    pmd_encoder *cenc = NULL;
    if (pmd_encoder_new(ccfg, s->wbits, &cenc)) die("pmd_encoder_new", -1);
    z_stream check;
    memset(&check, 0, sizeof check);
    if (inflateInit2(&check, -s->wbits) != Z_OK) die("inflateInit2", -1);
    const size_t hist_cap = (size_t)1 << s->wbits;
    char *hist = malloc(hist_cap + 128);
    pmd_extension **srv = calloc((size_t)n, sizeof *srv);
    if (!hist || !srv) die("out of memory", -1);
    memset(srv, 0, (size_t)n * sizeof *srv); /* touch the pages before the baseline */

    const long rss0 = rss_bytes();
    char cmsg[128], smsg[128], got[256];
    double server_s = 0, t0, t1;

    /* Round 1: connect and exchange, one connection after the other. */
    const double wall1 = now();
    for (long i = 0; i < n; i++) {
        pmd_extension *cli = NULL;
        t0 = now();
        if (pmd_server_negotiate(scfg, offer, offer_len, response, sizeof response, &response_len,
                                 &srv[i]) ||
            !srv[i])
            die("pmd_server_negotiate", i);
        server_s += now() - t0;
        if (pmd_client_accept(ccfg, response, response_len, &cli) || !cli)
            die("pmd_client_accept", i);
        if (i == 0) {
            pmd_negotiated p;
            if (pmd_extension_negotiated(srv[0], &p) || p.local_no_context_takeover != s->nct ||
                p.remote_no_context_takeover != s->nct || p.local_max_window_bits != s->wbits ||
                p.remote_max_window_bits != s->wbits)
                die("negotiated parameters differ from the setting", i);
        }
        size_t clen = message(cmsg, sizeof cmsg, i, 1, 0), slen = message(smsg, sizeof smsg, i, 1, 1);
        pmd_frame in = {PMD_OPCODE_TEXT, true, false, false, false, (const uint8_t *)cmsg, clen};
        pmd_frame wire, plain;
        if (pmd_extension_encode(cli, &in, &wire)) die("client encode", i);
        t0 = now();
        if (pmd_extension_decode(srv[i], &wire, SIZE_MAX, &plain)) die("server decode", i);
        t1 = now();
        if (plain.len != clen || memcmp(plain.data, cmsg, clen)) die("server decoded wrong bytes", i);
        pmd_frame sin = {PMD_OPCODE_TEXT, true, false, false, false, (const uint8_t *)smsg, slen};
        if (pmd_extension_encode(srv[i], &sin, &wire)) die("server encode", i);
        server_s += now() - t1 + (t1 - t0);
        if (pmd_extension_decode(cli, &wire, SIZE_MAX, &plain)) die("client decode", i);
        if (plain.len != slen || memcmp(plain.data, smsg, slen)) die("client decoded wrong bytes", i);
        pmd_extension_free(cli);
        if (compact) {
            t0 = now();
            if (pmd_extension_compact(srv[i])) die("pmd_extension_compact", i);
            server_s += now() - t0;
        }
    }
    const double round1_wall = now() - wall1, round1_server = server_s;
    const long rss1 = rss_bytes();
    size_t usage1 = 0;
    for (long i = 0; i < n; i++) usage1 += pmd_extension_memory_usage(srv[i]);

    /* Rounds 2..: every connection in turn, once per round. */
    server_s = 0;
    const double wall2 = now();
    for (int r = 2; r <= rounds; r++) {
        for (long i = 0; i < n; i++) {
            size_t clen = message(cmsg, sizeof cmsg, i, r, 0), slen = message(smsg, sizeof smsg, i, r, 1);
            pmd_frame in = {PMD_OPCODE_TEXT, true, false, false, false, (const uint8_t *)cmsg, clen};
            pmd_frame wire, plain;
            if (pmd_encoder_encode(cenc, &in, &wire)) die("client (shared encoder) encode", i);
            t0 = now();
            if (pmd_extension_decode(srv[i], &wire, SIZE_MAX, &plain)) die("server decode", i);
            t1 = now();
            if (plain.len != clen || memcmp(plain.data, cmsg, clen)) die("server decoded wrong bytes", i);
            pmd_frame sin = {PMD_OPCODE_TEXT, true, false, false, false, (const uint8_t *)smsg, slen};
            if (pmd_extension_encode(srv[i], &sin, &wire)) die("server encode", i);
            server_s += now() - t1 + (t1 - t0);

            /* The client's window: the server's earlier messages on this
               connection (context takeover), nothing (no_context_takeover). */
            size_t hlen = 0;
            if (!s->nct)
                for (int q = 1; q < r; q++)
                    hlen += message(hist + hlen, hist_cap + 128 - hlen, i, q, 1);
            if (hlen > hist_cap) die("history longer than the window (not expected here)", i);
            static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
            unsigned char buf[512];
            if (wire.len + 4 > sizeof buf) die("server frame too long", i);
            memcpy(buf, wire.data, wire.len);
            memcpy(buf + wire.len, tail, 4);
            if (inflateReset(&check) != Z_OK) die("inflateReset", i);
            if (hlen && inflateSetDictionary(&check, (const Bytef *)hist, (uInt)hlen) != Z_OK)
                die("inflateSetDictionary", i);
            check.next_in = buf;
            check.avail_in = (uInt)(wire.len + 4);
            check.next_out = (Bytef *)got;
            check.avail_out = sizeof got;
            int zr = inflate(&check, Z_SYNC_FLUSH);
            if ((zr != Z_OK && zr != Z_BUF_ERROR) || check.avail_in != 0 ||
                sizeof got - check.avail_out != slen || memcmp(got, smsg, slen))
                die("the server's reply does not inflate to its message", i);

            if (compact) {
                t0 = now();
                if (pmd_extension_compact(srv[i])) die("pmd_extension_compact", i);
                server_s += now() - t0;
            }
        }
    }
    const double rounds_wall = now() - wall2, rounds_server = server_s;
    const long rss2 = rss_bytes();
    size_t usage2 = 0;
    for (long i = 0; i < n; i++) usage2 += pmd_extension_memory_usage(srv[i]);

    const double later = 2.0 * (double)n * (rounds - 1);
    printf("scale setting=%s wbits=%d memlevel=%d takeover=%d n=%ld compact=%d rounds=%d "
           "rss_base_MB=%.1f rss_round1_MB=%.1f rss_round1_per_conn_B=%.0f "
           "usage_round1_per_conn_B=%.0f rss_last_MB=%.1f rss_last_per_conn_B=%.0f "
           "usage_last_per_conn_B=%.0f round1_conn_per_s=%.0f round1_server_msgs_per_s=%.0f "
           "server_msgs_per_s=%.0f wall_msgs_per_s=%.0f thp_disabled=%d zlib=%s\n",
           s->name, s->wbits, s->mem_level, !s->nct, n, compact, rounds, rss0 / 1e6,
           (rss1 - rss0) / 1e6, (double)(rss1 - rss0) / (double)n, (double)usage1 / (double)n,
           (rss2 - rss0) / 1e6, (double)(rss2 - rss0) / (double)n, (double)usage2 / (double)n,
           n / round1_wall, 2.0 * n / round1_server, rounds > 1 ? later / rounds_server : 0.0,
           rounds > 1 ? later / rounds_wall : 0.0, thp_off, pmd_zlib_version());
    fflush(stdout);

    int status = 0;
    const double per1 = (double)(rss1 - rss0) / (double)n, per2 = (double)(rss2 - rss0) / (double)n;
    if (max_rss > 0 && (per1 > (double)max_rss || per2 > (double)max_rss)) {
        fprintf(stderr,
                "scale: %.0f B (round 1) and %.0f B (last round) of RSS per connection; bound %ld B\n",
                per1, per2, max_rss);
        status = 1;
    }
    for (long i = 0; i < n; i++) pmd_extension_free(srv[i]);
    free(srv);
    free(hist);
    inflateEnd(&check);
    pmd_encoder_free(cenc);
    pmd_config_free(ccfg);
    pmd_config_free(scfg);
    return status;
}
