/*
 * The JSON reader: exactly the JSON text Python's input layer accepts
 * (validation/input.py), checked without building objects.
 *
 * A value is accepted only when Python would read it as the same JSON value
 * and it is within the contract's limits (specification section 8): valid
 * UTF-8 (no encoded surrogates, no overlong forms), escapes that decode to
 * valid Unicode (a lone \uD800 is refused), no raw control characters in
 * strings, integers within [-2^63, 2^64-1], finite numbers, nesting no
 * deeper than the spec's max_depth, and no object that repeats a key.
 * Anything else returns NULL: the line is deferred to Python, which decides
 * and explains. So this reader may be stricter than Python, never looser.
 */
#include "csc.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

int
buf_reserve(buf_t *b, size_t n)
{
    if (b->data && n <= b->cap - b->len) return 0; /* never NULL once reserved */
    if (n > SIZE_MAX / 2 - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) cap *= 2;
    char *data = realloc(b->data, cap);
    if (!data) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

const char *
json_ws(const char *p, const char *end)
{
    while (p < end && json_is_ws(*p)) p++;
    return p;
}

/* Bytes that end a run of plain string bytes: the quote, a backslash,
   control characters and every non-ASCII byte. */
static const uint8_t STOP[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(1), R16(1),                                     /* 0x00-0x1f: control */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x20-0x2f: '"' */
    R16(0), R16(0),                                     /* 0x30-0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* 0x50-0x5f: '\\' */
    R16(0), R16(0),                                     /* 0x60-0x7f */
    R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), R16(1), /* 0x80-0xff */
#undef R16
};

/* Advance q over plain bytes; returns the first stop byte's position or end. */
static inline const char *
plain_run(const char *q, const char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (q + 16 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)q);
        /* Signed compare: control characters and (negative) non-ASCII bytes. */
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                    _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(stop);
        if (mask) return q + __builtin_ctz((unsigned)mask);
        q += 16;
    }
#endif
    while (q < end && !STOP[(unsigned char)*q]) q++;
    return q;
}

/* The end of the JSON string whose opening quote is p[-1]: the position of its
   closing quote, or NULL (not a string this contract takes). Checks every
   escape and every UTF-8 sequence; decodes nothing. */
static const char *
string_close(const char *p, const char *end, Py_ssize_t *chars_out, int *ascii_out,
             int *escaped_out)
{
    const char *q = p;
    Py_ssize_t chars = 0;
    int ascii = 1, escaped = 0;
    for (;;) {
        const char *stop = plain_run(q, end);
        chars += stop - q;
        q = stop;
        if (q >= end) return NULL;
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c == '\\') {
            unsigned cp;
            int n = json_escape(q, end, &cp);
            if (!n) return NULL;
            escaped = 1;
            if (cp >= 0x80) ascii = 0;
            q += n;
            chars++;
            continue;
        }
        if (c < 0x20) return NULL; /* a raw control character */
        int len = utf8_sequence((const unsigned char *)q, (const unsigned char *)end);
        if (!len) return NULL;
        ascii = 0;
        q += len;
        chars++;
    }
    *chars_out = chars;
    *ascii_out = ascii;
    *escaped_out = escaped;
    return q;
}

const char *
json_string(jctx_t *j, const char *p, const char *end, jstr_t *out, int *err)
{
    const char *start = ++p;
    Py_ssize_t chars;
    int ascii, escaped;
    const char *q = string_close(start, end, &chars, &ascii, &escaped);
    if (!q) return NULL;
    out->chars = chars;
    out->ascii = ascii;
    if (!escaped) {
        out->s = start;
        out->n = q - start;
        return q + 1;
    }
    /* Decode the escapes into the scratch buffer. jctx_begin_line reserved room
     * for the whole line, twice, so the buffer never moves while earlier strings
     * of the line still point into it. */
    size_t need = (size_t)(q - start);
    if (need > j->scratch->cap - j->scratch->len) {
        PyErr_SetString(PyExc_SystemError, "csc: scratch buffer not reserved for the line");
        *err = 1;
        return NULL;
    }
    char *o = j->scratch->data + j->scratch->len;
    size_t len = 0;
    for (const char *r = start; r < q;) {
        if (*r != '\\') {
            o[len++] = *r++;
            continue;
        }
        unsigned cp = 0;
        r += json_escape(r, q, &cp); /* checked by the first pass */
        put_utf8(o, &len, cp);
    }
    out->s = o;
    out->n = (Py_ssize_t)len;
    j->scratch->len += len;
    return q + 1;
}

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The double nearest to the decimal literal s[0:len], as Python's float()
   gives it: an exact fast path, else Python's own parser. 0 on error. */
static int
to_double(const char *s, Py_ssize_t len, double *out, int *err)
{
    uint64_t mant = 0;
    int ndig = 0, nfrac = 0, seen_dot = 0, neg = 0;
    Py_ssize_t i = 0;
    if (i < len && s[i] == '-') {
        neg = 1;
        i++;
    }
    for (; i < len; i++) {
        char c = s[i];
        if (c == '.') {
            seen_dot = 1;
            continue;
        }
        if (c < '0' || c > '9') break;
        mant = mant * 10 + (uint64_t)(c - '0');
        if (mant) ndig++;
        nfrac += seen_dot;
        if (ndig > 15) break;
    }
    if (i == len && ndig <= 15 && nfrac <= 22) {
        /* Both operands are exact doubles, so the one division is correctly rounded. */
        double v = (double)mant / POW10[nfrac];
        *out = neg ? -v : v;
        return 1;
    }
    char stack[64], *buf = stack;
    if (len >= (Py_ssize_t)sizeof(stack)) {
        buf = malloc((size_t)len + 1);
        if (!buf) {
            PyErr_NoMemory();
            *err = 1;
            return 0;
        }
    }
    memcpy(buf, s, (size_t)len);
    buf[len] = 0;
    double v = PyOS_string_to_double(buf, NULL, NULL);
    if (buf != stack) free(buf);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = v;
    return 1;
}

/* Whether the JSON number literal whose digits start at `digits` (after any
   minus sign) and whose fraction and exponent end at `end` reads as a finite
   double, told from its magnitude alone: 1 finite, 0 not (it overflows), -1
   when only rounding can tell (10^308 <= |value| < 10^309) or the exponent is
   too long to add up. A literal nothing reads is checked so: converting it
   (to_double) costs far more for the 16-17 digits producers write. Zero and
   any value that underflows are finite. */
static int
finite_magnitude(const char *digits, const char *end)
{
    /* lead: the power of ten of the first nonzero digit, as written. JSON
       writes no leading zero: the integer part is 0 or starts with one. */
    const char *q = digits;
    while (q < end && *q >= '0' && *q <= '9') q++;
    int nonzero = *digits != '0';
    int64_t lead = nonzero ? (int64_t)(q - digits) - 1 : 0;
    if (q < end && *q == '.') {
        const char *fraction = ++q;
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (!nonzero && *q != '0') {
                nonzero = 1;
                lead = -(int64_t)(q - fraction) - 1;
            }
        }
    }
    if (!nonzero) return 1;
    int64_t exponent = 0;
    int negative = 0;
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-')) negative = *q++ == '-';
        for (; q < end && *q >= '0' && *q <= '9'; q++) {
            if (exponent > INT64_C(1000000000000000)) return -1; /* beyond any line's length */
            exponent = exponent * 10 + (*q - '0');
        }
    }
    /* |lead| is at most the line's length, far below 2^62: the sum is exact. */
    int64_t power = lead + (negative ? -exponent : exponent);
    if (power <= 307) return 1; /* below 10^308 < DBL_MAX */
    if (power >= 309) return 0; /* at least 10^309 > DBL_MAX */
    return -1;
}

const char *
json_number(const char *p, const char *end, int *isint, int64_t *iv, uint64_t *uv, int *big,
            double *fv, int *err)
{
    const char *start = p;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p >= end) return NULL;
    const char *digits = p;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') p++;
    } else {
        return NULL;
    }
    const char *int_end = p;
    int frac = 0;
    if (p < end && *p == '.') {
        p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == d) return NULL;
        frac = 1;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9') p++;
        if (p == d) return NULL;
        frac = 1;
    }
    *big = 0;
    if (!frac) {
        /* An integer literal: within [-2^63, 2^64-1] or deferred. */
        if (int_end - digits > 20) return NULL;
        uint64_t v = 0;
        for (const char *q = digits; q < int_end; q++) {
            unsigned d = (unsigned)(*q - '0');
            if (v > (UINT64_MAX - d) / 10) return NULL;
            v = v * 10 + d;
        }
        *isint = 1;
        if (neg) {
            if (v > (uint64_t)INT64_MAX + 1) return NULL;
            *iv = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
        } else if (v > (uint64_t)INT64_MAX) {
            *big = 1;
            *uv = v;
            *iv = 0;
        } else {
            *iv = (int64_t)v;
        }
        if (fv) *fv = neg ? -(double)v : (double)v;
        return p;
    }
    *isint = 0;
    if (!fv) {
        int finite = finite_magnitude(digits, p);
        if (finite >= 0) return finite ? p : NULL;
    }
    double v = 0;
    if (!to_double(start, p - start, &v, err)) return NULL;
    if (!(v - v == 0)) return NULL; /* inf or nan: not a JSON number (section 8) */
    if (fv) *fv = v;
    return p;
}

int
jctx_begin_line(jctx_t *j, const char *line, size_t len)
{
    j->line = line;
    j->scratch->len = 0;
    /* Reserve room for every decoded string of the line now: a later realloc
     * would leave the strings already decoded pointing at freed memory. Decoded
     * text is never longer than its source, and a byte is decoded at most twice
     * (a payload that comes before event_type is skipped, then read). */
    if (len > SIZE_MAX / 4) {
        PyErr_NoMemory();
        return -1;
    }
    if (buf_reserve(j->scratch, 2 * len) < 0) return -1;
    j->next_obj = 0;
    j->dup_used = 0;
    if (++j->dup_gen == 0) {
        /* The generation counter wrapped: clear the slots once. */
        if (j->dup) memset(j->dup, 0, (size_t)j->dup_cap * sizeof(*j->dup));
        j->dup_gen = 1;
    }
    return 0;
}

static int
dup_grow(jctx_t *j)
{
    uint32_t cap = j->dup_cap ? j->dup_cap * 2 : 64;
    if (cap > (1u << 30)) {
        PyErr_NoMemory();
        return -1;
    }
    struct dupslot *slots = calloc(cap, sizeof(*slots));
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    for (uint32_t i = 0; i < j->dup_cap; i++) {
        struct dupslot *d = &j->dup[i];
        if (d->gen != j->dup_gen) continue;
        uint32_t k = (uint32_t)d->h & (cap - 1);
        while (slots[k].gen == j->dup_gen) k = (k + 1) & (cap - 1);
        slots[k] = *d;
    }
    free(j->dup);
    j->dup = slots;
    j->dup_cap = cap;
    return 0;
}

int
json_dup_key(jctx_t *j, uint32_t obj, const jstr_t *k, int *err)
{
    if ((j->dup_used + 1) * 2 > j->dup_cap && dup_grow(j) < 0) {
        *err = 1;
        return 0;
    }
    uint64_t h = khash(j->key, k->s, (size_t)k->n) ^ ((uint64_t)obj * 0x9E3779B97F4A7C15ULL);
    uint32_t mask = j->dup_cap - 1, i = (uint32_t)h & mask;
    /* A decoded key lives in the scratch buffer, a plain one in the line. */
    const char *scratch = j->scratch->data;
    int in_scratch = scratch && (uintptr_t)k->s >= (uintptr_t)scratch &&
                     (uintptr_t)k->s < (uintptr_t)scratch + j->scratch->len;
    while (j->dup[i].gen == j->dup_gen) {
        struct dupslot *d = &j->dup[i];
        if (d->h == h && d->obj == obj && d->len == (uint32_t)k->n) {
            const char *held = (d->in_scratch ? j->scratch->data : j->line) + d->off;
            if (same(held, k->s, k->n)) return 1;
        }
        i = (i + 1) & mask;
    }
    struct dupslot *d = &j->dup[i];
    d->h = h;
    d->obj = obj;
    d->gen = j->dup_gen;
    d->len = (uint32_t)k->n;
    d->in_scratch = (uint8_t)in_scratch;
    d->off = (uint32_t)(k->s - (in_scratch ? j->scratch->data : j->line));
    j->dup_used++;
    return 0;
}

static inline const char *
held_key(const jctx_t *j, uint8_t in_scratch, uint32_t off)
{
    return (in_scratch ? j->scratch->data : j->line) + off;
}

int
keyset_add(jctx_t *j, keyset_t *ks, const jstr_t *k, int *err)
{
    if (ks->n >= 0) {
        for (int i = 0; i < ks->n; i++)
            if (ks->k[i].len == (uint32_t)k->n &&
                same(held_key(j, ks->k[i].in_scratch, ks->k[i].off), k->s, k->n))
                return 1;
        if (ks->n < KEYSET_SMALL) {
            const char *scratch = j->scratch->data;
            int in_scratch = scratch && (uintptr_t)k->s >= (uintptr_t)scratch &&
                             (uintptr_t)k->s < (uintptr_t)scratch + j->scratch->len;
            ks->k[ks->n].in_scratch = (uint8_t)in_scratch;
            ks->k[ks->n].off = (uint32_t)(k->s - (in_scratch ? scratch : j->line));
            ks->k[ks->n].len = (uint32_t)k->n;
            ks->n++;
            return 0;
        }
        /* A large object: its keys move to the keyed table. */
        for (int i = 0; i < KEYSET_SMALL; i++) {
            jstr_t held = {held_key(j, ks->k[i].in_scratch, ks->k[i].off), ks->k[i].len, 0, 0};
            if (json_dup_key(j, ks->obj, &held, err) || *err) return *err ? 0 : 1;
        }
        ks->n = -1;
    }
    return json_dup_key(j, ks->obj, k, err);
}

/* The first '"' or '\\' at or after q, or a position >= end. */
static inline const char *
quote_or_backslash(const char *q, const char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    while (q + 16 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)q);
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)));
        if (mask) return q + __builtin_ctz((unsigned)mask);
        q += 16;
    }
#endif
    while (q < end && *q != '"' && *q != '\\') q++;
    return q;
}

const char *
json_span(const char *p, const char *end)
{
    size_t depth = 0;
    while (p < end) {
        char c = *p++;
        if (c == '"') {
            for (;;) {
                p = quote_or_backslash(p, end);
                if (p >= end) return NULL;
                if (*p == '"') break;
                if (end - p < 2) return NULL; /* a '\\' that ends the text */
                p += 2;                        /* the escaped character, whatever it is */
            }
            p++;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0) return NULL;
            if (--depth == 0) return p;
        }
    }
    return NULL;
}

const char *
json_skip(jctx_t *j, const char *p, const char *end, int depth, int *err)
{
    if (p >= end) return NULL;
    switch (*p) {
    case '"': { /* checked, not decoded: nothing reads a skipped value */
        Py_ssize_t chars;
        int ascii, escaped;
        const char *q = string_close(p + 1, end, &chars, &ascii, &escaped);
        return q ? q + 1 : NULL;
    }
    case '{': {
        if (depth + 1 > j->max_depth) return NULL;
        keyset_t keys;
        keyset_begin(&keys, ++j->next_obj);
        p = json_ws(p + 1, end);
        if (p < end && *p == '}') return p + 1;
        for (;;) {
            if (p >= end || *p != '"') return NULL;
            jstr_t k;
            p = json_string(j, p, end, &k, err);
            if (!p) return NULL;
            if (keyset_add(j, &keys, &k, err)) return NULL;
            if (*err) return NULL;
            p = json_ws(p, end);
            if (p >= end || *p != ':') return NULL;
            p = json_skip(j, json_ws(p + 1, end), end, depth + 1, err);
            if (!p) return NULL;
            p = json_ws(p, end);
            if (p >= end) return NULL;
            if (*p == '}') return p + 1;
            if (*p != ',') return NULL;
            p = json_ws(p + 1, end);
        }
    }
    case '[': {
        if (depth + 1 > j->max_depth) return NULL;
        p = json_ws(p + 1, end);
        if (p < end && *p == ']') return p + 1;
        for (;;) {
            p = json_skip(j, p, end, depth + 1, err);
            if (!p) return NULL;
            p = json_ws(p, end);
            if (p >= end) return NULL;
            if (*p == ']') return p + 1;
            if (*p != ',') return NULL;
            p = json_ws(p + 1, end);
        }
    }
    case 't':
        return end - p >= 4 && memcmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return end - p >= 5 && memcmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return end - p >= 4 && memcmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default: {
        int isint, big;
        int64_t iv;
        uint64_t uv;
        return json_number(p, end, &isint, &iv, &uv, &big, NULL, err);
    }
    }
}

void
jctx_free(jctx_t *j)
{
    free(j->dup);
    j->dup = NULL;
    j->dup_cap = j->dup_used = 0;
}
