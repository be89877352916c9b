/* The Sec-WebSocket-Extensions grammar: pmd_header_parse / count / get /
 * free and pmd_header_build (docs/header.md). Also compiled as C++. */
#include "check.h"

static int sentinel_object;
#define SENTINEL_HEADER ((pmd_header *)(void *)&sentinel_object)
#define SENTINEL_CHARS ((const char *)(const void *)&sentinel_object)
#define SENTINEL_PARAMS ((const pmd_param *)(const void *)&sentinel_object)

static pmd_header *parse_ok(const char *value, size_t len) {
    pmd_header *h = NULL;
    if (!CHECK_OK(pmd_header_parse(value, len, &h))) {
        fprintf(stderr, "    while parsing \"%.*s\"\n", (int)len, value);
        return NULL;
    }
    CHECK(h != NULL);
    return h;
}

/* Element i of h has this name and n params. */
static const pmd_param *element(const pmd_header *h, size_t i, const char *name, size_t n) {
    const char *got_name = NULL;
    size_t name_len = 0, n_params = 99;
    const pmd_param *params = SENTINEL_PARAMS;
    if (!CHECK_OK(pmd_header_get(h, i, &got_name, &name_len, &params, &n_params))) {
        return NULL;
    }
    CHECK_SPAN(got_name, name_len, name);
    CHECK(got_name != NULL && got_name[name_len] == '\0'); /* NUL-terminated */
    CHECK_EQ(n_params, n);
    if (n == 0) {
        CHECK(params == NULL);
    }
    return params;
}

static void param_is(const pmd_param *p, const char *name, const char *value) {
    CHECK_SPAN(p->name, p->name_len, name);
    CHECK(p->name != NULL && p->name[p->name_len] == '\0');
    if (value == NULL) {
        CHECK(p->value == NULL);
        CHECK_EQ(p->value_len, 0);
    } else {
        CHECK_SPAN(p->value, p->value_len, value);
        CHECK(p->value != NULL && p->value[p->value_len] == '\0');
    }
}

static void test_parse_elements(void) {
    const char *v = "permessage-deflate; client_max_window_bits, "
                    "permessage-deflate; server_max_window_bits=10; client_max_window_bits=\"12\","
                    "x-foo";
    pmd_header *h = parse_ok(v, strlen(v));
    const pmd_param *p;
    if (h == NULL) {
        return;
    }
    CHECK_EQ(pmd_header_count(h), 3);
    p = element(h, 0, "permessage-deflate", 1);
    if (p) {
        param_is(&p[0], "client_max_window_bits", NULL);
    }
    p = element(h, 1, "permessage-deflate", 2);
    if (p) {
        param_is(&p[0], "server_max_window_bits", "10");
        param_is(&p[1], "client_max_window_bits", "12"); /* unquoted */
    }
    element(h, 2, "x-foo", 0);
    pmd_header_free(h);
}

static void test_parse_whitespace_and_empty_elements(void) {
    const char *v = " \t, ,a ;  b = 1 ;c=\"d\" ,\t, e;f ,, \t";
    pmd_header *h = parse_ok(v, strlen(v));
    const pmd_param *p;
    if (h == NULL) {
        return;
    }
    CHECK_EQ(pmd_header_count(h), 2);
    p = element(h, 0, "a", 2);
    if (p) {
        param_is(&p[0], "b", "1");
        param_is(&p[1], "c", "d");
    }
    p = element(h, 1, "e", 1);
    if (p) {
        param_is(&p[0], "f", NULL);
    }
    pmd_header_free(h);

    /* Empty and all-comma values have no elements. */
    h = parse_ok("", 0);
    CHECK_EQ(pmd_header_count(h), 0);
    pmd_header_free(h);
    h = parse_ok(" , ,\t,", 6);
    CHECK_EQ(pmd_header_count(h), 0);
    pmd_header_free(h);
    /* The value is (ptr, len): bytes after len are not read. */
    h = parse_ok("abc; d=1\x01\x02 garbage", 8);
    CHECK_EQ(pmd_header_count(h), 1);
    p = element(h, 0, "abc", 1);
    if (p) {
        param_is(&p[0], "d", "1");
    }
    pmd_header_free(h);
    /* Quoted strings with escapes unquote to a token. */
    h = parse_ok("a; b=\"\\x\\y\"", 11);
    p = element(h, 0, "a", 1);
    if (p) {
        param_is(&p[0], "b", "xy");
    }
    pmd_header_free(h);
    /* Names are case-sensitive and kept as sent. */
    h = parse_ok("PerMessage-Deflate; Server_Max_Window_Bits=9", 44);
    p = element(h, 0, "PerMessage-Deflate", 1);
    if (p) {
        param_is(&p[0], "Server_Max_Window_Bits", "9");
    }
    pmd_header_free(h);
}

static void test_parse_syntax_errors(void) {
    static const struct {
        const char *value;
        const char *detail; /* pmd_last_error contains this */
    } cases[] = {
        {";", "offset 0"},
        {"a;", "offset 2"},
        {"a; ;", "offset 3"},
        {"a; b=", "offset 5"},
        {"a; b =  ", "offset 8"},
        {"a; =1", "offset 3"},
        {"a; b=\"unterminated", "offset 5"},
        {"a; b=\"x y\"", "offset 5"}, /* unquoted value is not a token */
        {"a; b=\"\"", "offset 5"},    /* empty is not a token */
        {"a b", "offset 2"},
        {"a,b c", "offset 4"},
        {"a\x01", "offset 1"},
        {"a; b=\x7f", "offset 5"},
        {"{}", "offset 0"},
        {"a; b{=1", "offset 4"},
        {"a; b=c=d", "offset 6"},
        {"a; b=(c)", "offset 5"},
        {"a; b=\"c\\", "offset 8"}, /* escape at the end */
        {"\"a\"", "offset 0"},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pmd_header *h = SENTINEL_HEADER;
        pmd_result r = pmd_header_parse(cases[i].value, strlen(cases[i].value), &h);
        if (!CHECK_RESULT(r, PMD_ERR_HEADER_SYNTAX)) {
            fprintf(stderr, "    value \"%s\"\n", cases[i].value);
            if (r == PMD_OK) {
                pmd_header_free(h);
            }
            continue;
        }
        CHECK(h == SENTINEL_HEADER); /* untouched */
        CHECK_LAST_ERROR("pmd_header_parse");
        if (!CHECK_LAST_ERROR(cases[i].detail)) {
            fprintf(stderr, "    value \"%s\"\n", cases[i].value);
        }
    }
    /* A NUL inside the length is a control character, not an end. */
    {
        pmd_header *h = SENTINEL_HEADER;
        CHECK_RESULT(pmd_header_parse("ab\0cd", 5, &h), PMD_ERR_HEADER_SYNTAX);
        CHECK_LAST_ERROR("offset 2");
        CHECK(h == SENTINEL_HEADER);
    }
}

static void test_parse_limits(void) {
    const size_t max = 64 * 1024;
    char *big = (char *)malloc(max + 1 + 8 * 1025);
    pmd_header *h;
    size_t i, n;
    if (!CHECK(big != NULL)) {
        return;
    }
    /* Exactly 64 KiB parses (one long token). */
    memset(big, 'a', max + 1);
    h = parse_ok(big, max);
    CHECK_EQ(pmd_header_count(h), 1);
    pmd_header_free(h);
    /* One byte more is refused, whatever it holds. */
    h = SENTINEL_HEADER;
    CHECK_RESULT(pmd_header_parse(big, max + 1, &h), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR("too long");
    CHECK(h == SENTINEL_HEADER);

    /* 1024 elements parse, 1025 do not. */
    n = 0;
    for (i = 0; i < 1025; i++) {
        memcpy(big + n, "e,", 2);
        n += 2;
    }
    h = parse_ok(big, 1024 * 2 - 1);
    CHECK_EQ(pmd_header_count(h), 1024);
    pmd_header_free(h);
    h = SENTINEL_HEADER;
    CHECK_RESULT(pmd_header_parse(big, 1025 * 2 - 1, &h), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR("too long");
    CHECK(h == SENTINEL_HEADER);

    /* 1024 parameters parse, 1025 do not (all elements together). */
    n = 0;
    big[n++] = 'e';
    for (i = 0; i < 1025; i++) {
        memcpy(big + n, ";p", 2);
        n += 2;
    }
    h = parse_ok(big, 1 + 1024 * 2);
    CHECK_EQ(pmd_header_count(h), 1);
    element(h, 0, "e", 1024);
    pmd_header_free(h);
    h = SENTINEL_HEADER;
    CHECK_RESULT(pmd_header_parse(big, 1 + 1025 * 2, &h), PMD_ERR_HEADER_SYNTAX);
    CHECK_LAST_ERROR("too long");
    CHECK(h == SENTINEL_HEADER);
    free(big);
}

static void test_get_errors(void) {
    pmd_header *h = parse_ok("a; b=1", 6);
    const char *name = SENTINEL_CHARS;
    size_t name_len = 77, n_params = 88;
    const pmd_param *params = SENTINEL_PARAMS;
    if (h == NULL) {
        return;
    }
    CHECK_RESULT(pmd_header_get(NULL, 0, &name, &name_len, &params, &n_params),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_get(h, 0, NULL, &name_len, &params, &n_params),
                 PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_get(h, 0, &name, NULL, &params, &n_params), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_get(h, 0, &name, &name_len, NULL, &n_params), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_get(h, 0, &name, &name_len, &params, NULL), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_get(h, 1, &name, &name_len, &params, &n_params),
                 PMD_ERR_INVALID_ARGUMENT);
    CHECK_LAST_ERROR("index 1");
    CHECK_RESULT(pmd_header_get(h, (size_t)-1, &name, &name_len, &params, &n_params),
                 PMD_ERR_INVALID_ARGUMENT);
    /* Out-pointers untouched by every failure above. */
    CHECK(name == SENTINEL_CHARS);
    CHECK_EQ(name_len, 77);
    CHECK(params == SENTINEL_PARAMS);
    CHECK_EQ(n_params, 88);
    CHECK_EQ(pmd_header_count(NULL), 0);
    pmd_header_free(h);

    /* An empty header has no element 0. */
    h = parse_ok("", 0);
    CHECK_RESULT(pmd_header_get(h, 0, &name, &name_len, &params, &n_params),
                 PMD_ERR_INVALID_ARGUMENT);
    pmd_header_free(h);

    /* Parsing NULL pointers. */
    h = SENTINEL_HEADER;
    CHECK_RESULT(pmd_header_parse(NULL, 5, &h), PMD_ERR_NULL_POINTER);
    CHECK(h == SENTINEL_HEADER);
    /* (NULL, 0) is an absent header: no elements. */
    CHECK_OK(pmd_header_parse(NULL, 0, &h));
    CHECK_EQ(pmd_header_count(h), 0);
    pmd_header_free(h);
    h = SENTINEL_HEADER;
    CHECK_RESULT(pmd_header_parse("a", 1, NULL), PMD_ERR_NULL_POINTER);
    pmd_header_free(NULL);
    CHECK(1); /* reached: pmd_header_free(NULL) is a no-op */
}

static void test_build(void) {
    char buf[256];
    size_t len = 0;
    pmd_param params[3];
    params[0] = param_make("server_max_window_bits", "10");
    params[1] = param_make("client_max_window_bits", NULL);
    params[2] = param_make("x", "a b\"c\\d");

    CHECK_OK(pmd_header_build("permessage-deflate", 18, params, 2, buf, sizeof buf, &len));
    CHECK_STR(buf, "permessage-deflate; server_max_window_bits=10; client_max_window_bits");
    CHECK_EQ(len, strlen(buf));

    /* A value that is not a token is quoted, with '"' and '\' escaped. */
    CHECK_OK(pmd_header_build("e", 1, params + 2, 1, buf, sizeof buf, &len));
    CHECK_STR(buf, "e; x=\"a b\\\"c\\\\d\"");
    CHECK_EQ(len, strlen(buf));

    /* No parameters: params may be NULL when n is 0. */
    CHECK_OK(pmd_header_build("x-foo", 5, NULL, 0, buf, sizeof buf, &len));
    CHECK_STR(buf, "x-foo");
    /* Name is (ptr, len): no NUL needed. */
    CHECK_OK(pmd_header_build("abcdef", 3, NULL, 0, buf, sizeof buf, &len));
    CHECK_STR(buf, "abc");
    CHECK_EQ(len, 3);
}

static void test_build_buffer_sizes(void) {
    const char *want = "permessage-deflate; server_no_context_takeover";
    const size_t n = strlen(want);
    pmd_param p = param_make("server_no_context_takeover", NULL);
    char buf[128];
    size_t len = 0;

    /* Size query: buf NULL, cap 0. */
    CHECK_RESULT(pmd_header_build("permessage-deflate", 18, &p, 1, NULL, 0, &len),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n);
    /* One byte short. */
    len = 0;
    memset(buf, '#', sizeof buf);
    CHECK_RESULT(pmd_header_build("permessage-deflate", 18, &p, 1, buf, n - 1, &len),
                 PMD_ERR_BUFFER_TOO_SMALL);
    CHECK_EQ(len, n);
    CHECK_LAST_ERROR("buffer too small");
    CHECK(buf[n - 1] == '#'); /* nothing written past cap */
    /* Exactly the length: OK, without the NUL (no room for it). */
    len = 0;
    memset(buf, '#', sizeof buf);
    CHECK_OK(pmd_header_build("permessage-deflate", 18, &p, 1, buf, n, &len));
    CHECK_EQ(len, n);
    CHECK(memcmp(buf, want, n) == 0);
    CHECK(buf[n] == '#');
    /* One more: NUL-terminated. */
    memset(buf, '#', sizeof buf);
    CHECK_OK(pmd_header_build("permessage-deflate", 18, &p, 1, buf, n + 1, &len));
    CHECK_STR(buf, want);
    CHECK(buf[n + 1] == '#');
}

static void test_build_errors(void) {
    char buf[64];
    size_t len = 55;
    pmd_param good = param_make("a", "1");
    pmd_param bad;

    /* NULL pointers: name, out_len, params with n > 0, a parameter name,
     * buf with cap > 0. *out_len untouched. */
    CHECK_RESULT(pmd_header_build(NULL, 0, NULL, 0, buf, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_build(NULL, 3, NULL, 0, buf, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_build("e", 1, NULL, 0, buf, sizeof buf, NULL), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_build("e", 1, NULL, 1, buf, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    bad = param_make(NULL, "1");
    bad.name_len = 1;
    CHECK_RESULT(pmd_header_build("e", 1, &bad, 1, buf, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_RESULT(pmd_header_build("e", 1, &good, 1, NULL, sizeof buf, &len), PMD_ERR_NULL_POINTER);
    CHECK_EQ(len, 55);

    /* Not tokens, or bytes no header may carry. */
    CHECK_RESULT(pmd_header_build("", 0, NULL, 0, buf, sizeof buf, &len), PMD_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(pmd_header_build("a b", 3, NULL, 0, buf, sizeof buf, &len),
                 PMD_ERR_INVALID_ARGUMENT);
    CHECK_RESULT(pmd_header_build("a;", 2, NULL, 0, buf, sizeof buf, &len),
                 PMD_ERR_INVALID_ARGUMENT);
    bad = param_make("p q", NULL);
    CHECK_RESULT(pmd_header_build("e", 1, &bad, 1, buf, sizeof buf, &len),
                 PMD_ERR_INVALID_ARGUMENT);
    bad = param_make("", "1");
    CHECK_RESULT(pmd_header_build("e", 1, &bad, 1, buf, sizeof buf, &len),
                 PMD_ERR_INVALID_ARGUMENT);
    bad = param_make("p", "x\001y");
    CHECK_RESULT(pmd_header_build("e", 1, &bad, 1, buf, sizeof buf, &len),
                 PMD_ERR_INVALID_ARGUMENT);
    bad = param_make("p", "x\ny");
    CHECK_RESULT(pmd_header_build("e", 1, &bad, 1, buf, sizeof buf, &len),
                 PMD_ERR_INVALID_ARGUMENT);
    CHECK_EQ(len, 55);
}

/* Build several elements, join them with ", ", parse: the same elements. */
static void test_round_trip(void) {
    static const char *const names[] = {"permessage-deflate", "x-webkit-deflate-frame", "foo"};
    pmd_param sets[3][4];
    static const size_t counts[] = {4, 0, 2};
    char joined[512];
    size_t joined_len = 0, i, k;
    pmd_header *h;

    sets[0][0] = param_make("server_no_context_takeover", NULL);
    sets[0][1] = param_make("client_no_context_takeover", NULL);
    sets[0][2] = param_make("server_max_window_bits", "9");
    sets[0][3] = param_make("client_max_window_bits", NULL);
    sets[2][0] = param_make("a", "b.c-d_e~1");
    sets[2][1] = param_make("x", "!#$%&'*+^`|");

    for (i = 0; i < 3; i++) {
        size_t len = 0;
        if (i > 0) {
            memcpy(joined + joined_len, ", ", 2);
            joined_len += 2;
        }
        CHECK_OK(pmd_header_build(names[i], strlen(names[i]), sets[i], counts[i],
                                  joined + joined_len, sizeof joined - joined_len, &len));
        joined_len += len;
    }
    h = parse_ok(joined, joined_len);
    if (h == NULL) {
        return;
    }
    CHECK_EQ(pmd_header_count(h), 3);
    for (i = 0; i < 3; i++) {
        const pmd_param *p = element(h, i, names[i], counts[i]);
        for (k = 0; p != NULL && k < counts[i]; k++) {
            char name[64], value[64];
            memcpy(name, sets[i][k].name, sets[i][k].name_len);
            name[sets[i][k].name_len] = '\0';
            if (sets[i][k].value) {
                memcpy(value, sets[i][k].value, sets[i][k].value_len);
                value[sets[i][k].value_len] = '\0';
            }
            param_is(&p[k], name, sets[i][k].value ? value : NULL);
        }
    }
    pmd_header_free(h);
}

int main(void) {
    test_parse_elements();
    test_parse_whitespace_and_empty_elements();
    test_parse_syntax_errors();
    test_parse_limits();
    test_get_errors();
    test_build();
    test_build_buffer_sizes();
    test_build_errors();
    test_round_trip();
    return check_finish("test_header");
}
