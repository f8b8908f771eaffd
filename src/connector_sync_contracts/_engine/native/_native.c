/*
 * Optional compiled accelerator for `connector-sync validate` and `replay`.
 *
 * The contract has one source of truth: the pydantic models and the tables
 * in registry.py. Python derives a *spec* from them (_native_spec.py) and
 * hands it to Scanner(); nothing in this file names an event type, a field
 * or a transition.
 *
 * The scanner is a screen, like _fast.FastDecoder: it accepts a line only
 * when every value is written in the plain form it understands (ASCII
 * strings without escapes, plain numbers, no unknown or repeated keys, no
 * broken semantic rule) and declines ("defers") every other line to the
 * Python path, which decides and explains. The fold is a screen too: it
 * folds a connector only while nothing unusual happens (no anomaly, no
 * record that came from the Python path); otherwise the connector's records
 * are handed back as reducer facts and Python's Engine folds them. The
 * agreement tests prove both screens give exactly the Python results.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* ------------------------------------------------------------------ limits */

#define MAX_FIELDS 32
#define MAX_TYPES 32
#define MAX_ENUM 16
#define MAX_RULES 4
#define MAX_STATES 16
#define EID_MAX 36
#define NONE_U32 0xFFFFFFFFu

enum kind { K_EVENT_ID, K_UUID, K_DATETIME, K_STR, K_ENUM, K_INT, K_FLOAT };
enum family { F_CONNECTOR = 0, F_SYNC = 1, F_LINK = 2 };
/* Roles: which field values the fact needs (index into a value slot table). */
enum role {
    R_NONE = 0, R_CONNECTOR_ID, R_CONNECTOR_TYPE, R_PROVIDER, R_MISSION_ID, R_RECORDED_AT,
    R_HEALTH, R_LATENCY, R_PREVIOUS, R_DELIVERY, R_FINGERPRINT, R_RETRY, R_MAX_RETRIES,
    R_INGESTED, R_REPLAYED, R_PROJECT_UUID,
    /* envelope */
    R_EVENT_ID, R_TIMESTAMP, R_LAMPORT, R_ENV_PROJECT_UUID, R_EVENT_TYPE, R_PAYLOAD,
    R_COUNT
};

typedef struct {
    const char *name;  /* borrowed from the spec's str objects (kept alive) */
    Py_ssize_t name_len;
    int kind;
    int role;
    int nullable;
    int optional;
    int64_t lo, hi;    /* string length bounds, or integer bounds */
    double flo;        /* float lower bound */
    int has_flo;
    PyObject *check;   /* callable(str) -> str | None, or NULL */
    int check_bit;     /* bit in the intern table's "checked" mask */
    int n_enum;
    const char *enum_v[MAX_ENUM];
    Py_ssize_t enum_len[MAX_ENUM];
    /* One-entry caches: consecutive lines often repeat a value (the
       project's UUID, the schema version, a connector's strings). */
    uint32_t last_id;           /* interned id of the last string, or NONE_U32 */
    char last_raw[EID_MAX];     /* the last UUID as written ... */
    Py_ssize_t last_raw_len;    /* ... (0: none) */
    char last_hex[32];          /* ... and normalized */
} field_t;

typedef struct {
    const char *name;
    Py_ssize_t name_len;
    int family;
    int target;        /* connector target state, -1 when decided by health_status */
    int outcome;       /* sync outcome index */
    int is_reconnect;
    int is_health;
    int n_fields;
    field_t fields[MAX_FIELDS];
    int n_rules;
    int rule_a[MAX_RULES], rule_b[MAX_RULES];  /* field indexes: a > b breaks the rule */
    int uuid_idx;      /* the payload's project_uuid field, or -1 */
    uint32_t required_mask;
} etype_t;

/* ------------------------------------------------------------------ intern table */

typedef struct {
    uint64_t hash;
    uint32_t off, len;
    uint32_t checked;  /* bit per field check that accepted this string */
} istr_t;

typedef struct {
    char *arena;
    size_t arena_len, arena_cap;
    istr_t *items;
    uint32_t n_items, cap_items;
    uint64_t *slots;   /* (index+1) << 32 | low hash bits; 0 = empty */
    uint32_t n_slots;  /* power of two */
} intern_t;

/* Equality of short byte strings without a library call (keys, enum values). */
static inline int
same(const char *a, const char *b, Py_ssize_t n)
{
    while (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) return 0;
        a += 8;
        b += 8;
        n -= 8;
    }
    while (n--)
        if (*a++ != *b++) return 0;
    return 1;
}

static inline uint64_t
mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t
hash_bytes(const char *p, size_t n)
{
    /* Eight bytes at a time with a murmur3 finalizer: only used to place
       strings and event ids in our own tables (equality is always checked
       on the bytes, so a poor spread costs time, never correctness). */
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ mix64(w)) * 0x100000001b3ULL;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h ^= mix64(w ^ ((uint64_t)n << 56));
    return mix64(h);
}

/* Where an event id sits in the dedup table (and the tag its slot keeps). */
static inline uint32_t
eid_tag(const char *eid, size_t n)
{
    return (uint32_t)hash_bytes(eid, n);
}

static int
intern_grow_slots(intern_t *t)
{
    uint32_t n = t->n_slots ? t->n_slots * 2 : 1024;
    uint64_t *slots = calloc(n, sizeof(uint64_t));
    if (!slots) return -1;
    for (uint32_t i = 0; i < t->n_items; i++) {
        uint32_t j = (uint32_t)t->items[i].hash & (n - 1);
        while (slots[j]) j = (j + 1) & (n - 1);
        slots[j] = (uint64_t)(i + 1) << 32 | (uint32_t)t->items[i].hash;
    }
    free(t->slots);
    t->slots = slots;
    t->n_slots = n;
    return 0;
}

/* Id of the string p[0:n], adding it when new (unless add is 0); UINT32_MAX
   when absent and not added, or on memory error. */
static uint32_t
intern_add(intern_t *t, const char *p, size_t n, int add)
{
    if ((uint64_t)(t->n_items + 1) * 10 >= (uint64_t)t->n_slots * 7) {
        if (intern_grow_slots(t) < 0) return NONE_U32;
    }
    uint64_t h = hash_bytes(p, n);
    uint32_t j = (uint32_t)h & (t->n_slots - 1);
    while (t->slots[j]) {
        uint64_t slot = t->slots[j];
        if ((uint32_t)slot == (uint32_t)h) {
            istr_t *s = &t->items[(slot >> 32) - 1];
            if (s->hash == h && s->len == n && same(t->arena + s->off, p, n))
                return (uint32_t)(slot >> 32) - 1;
        }
        j = (j + 1) & (t->n_slots - 1);
    }
    if (!add) return NONE_U32;
    if (t->n_items == t->cap_items) {
        uint32_t cap = t->cap_items ? t->cap_items * 2 : 1024;
        istr_t *items = realloc(t->items, cap * sizeof(istr_t));
        if (!items) return NONE_U32;
        t->items = items;
        t->cap_items = cap;
    }
    if (t->arena_len + n > t->arena_cap) {
        size_t cap = t->arena_cap ? t->arena_cap * 2 : 65536;
        while (cap < t->arena_len + n) cap *= 2;
        char *arena = realloc(t->arena, cap);
        if (!arena) return NONE_U32;
        t->arena = arena;
        t->arena_cap = cap;
    }
    if (t->arena_len + n > UINT32_MAX) return NONE_U32;
    memcpy(t->arena + t->arena_len, p, n);
    istr_t *s = &t->items[t->n_items];
    s->hash = h;
    s->off = (uint32_t)t->arena_len;
    s->len = (uint32_t)n;
    s->checked = 0;
    t->arena_len += n;
    t->slots[j] = (uint64_t)(t->n_items + 1) << 32 | (uint32_t)h;
    return t->n_items++;
}

static inline uint32_t
intern(intern_t *t, const char *p, size_t n)
{
    return intern_add(t, p, n, 1);
}

/* intern_add through a field's one-entry cache. */
static inline uint32_t
intern_cached(intern_t *t, uint32_t *last, const char *p, size_t n, int add)
{
    if (*last != NONE_U32) {
        istr_t *it = &t->items[*last];
        if (it->len == n && same(t->arena + it->off, p, n)) return *last;
    }
    uint32_t id = intern_add(t, p, n, add);
    if (id != NONE_U32) *last = id;
    return id;
}

static PyObject *
intern_str(intern_t *t, uint32_t id)
{
    istr_t *s = &t->items[id];
    /* Strings from the screen are ASCII; those offered by Python are kept
       as UTF-8 with surrogates passed through (see Scanner_offer). */
    return PyUnicode_DecodeUTF8(t->arena + s->off, s->len, "surrogatepass");
}

static void
intern_free(intern_t *t)
{
    free(t->arena);
    free(t->items);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------ records */

enum rec_kind { RK_C = 0, RK_PY = 1, RK_DEAD = 2 };

typedef struct {
    uint64_t lamport;
    int64_t instant;
    uint64_t ident;
    uint32_t conn;       /* interned connector id, NONE_U32 for the stream-level group */
    uint8_t kind;        /* rec_kind */
    uint8_t etype;       /* index into the spec's event types */
    uint8_t eid_len;
    uint8_t small;       /* connector: health index + 1 (0 none); */
    uint8_t prev;        /* connector: previous_state index + 1 (0 none) */
    char eid[EID_MAX];
    union {
        struct {
            uint32_t ctype, provider, mission;
            int64_t recorded_at;
            double latency;
        } c;
        struct {
            uint64_t off;             /* delivery_id then fingerprint in the blob */
            uint32_t dlen, flen;
            union {
                struct {
                    int64_t retry, max_retries;
                };
                int64_t count;        /* ingested_count or replayed_count */
            };
        } s;
        PyObject *py;    /* the reducer fact (a new reference), for RK_PY */
    } u;
} rec_t;

/* Sort entries: the order keys copied next to the record index, so sorting
   a group compares contiguous memory (event ids only break ties). */
typedef struct {
    uint64_t lamport;
    int64_t instant;
    const rec_t *rec;
    uint32_t index;
} sortent_t;

typedef struct {
    uint32_t rec;        /* index of the first copy kept */
    uint32_t copies;     /* 0: empty slot */
    uint32_t tag;        /* the event id's hash: places the slot, and most misses skip the record */
    uint32_t conflicted;
} dslot_t;

typedef struct {
    PyObject_HEAD
    /* spec */
    int n_env;
    field_t env[MAX_FIELDS];
    uint32_t env_required;
    int env_type_idx, env_id_idx, env_lamport_idx, env_time_idx, env_uuid_idx;
    int n_types;
    etype_t types[MAX_TYPES];
    int allowed[MAX_STATES + 1][MAX_STATES];  /* [current+1][target] */
    int observation[MAX_STATES];
    int health_target[MAX_ENUM];
    int state_healthy, state_reconnected;
    int n_outcomes;
    int outcome_terminal[MAX_ENUM];
    int outcome_retry, outcome_replay;
    PyObject *spec;      /* keeps every borrowed name alive */
    PyObject *make_connector_fact, *make_sync_fact, *make_link_fact, *from_us;
    /* store */
    intern_t strings;
    char *blob;          /* delivery ids and fingerprints, appended in scan order */
    size_t blob_len, blob_cap;
    rec_t *recs;
    size_t n_recs, cap_recs; /* slots reserved (whole chunks), slots allocated */
    /* Each connector's records are kept in chunks of consecutive slots (1,
       2, 4, ... up to CHUNK_MAX), so a connector's records lie close
       together when it is sorted and folded. Bucket 0 holds stream-level
       records, bucket c + 1 connector c. */
    uint32_t *bk_start;
    uint16_t *bk_cap, *bk_fill;
    size_t bk_n;
    dslot_t *dedup;
    size_t n_dedup, dedup_slots;
    uint8_t *conn_py;    /* per interned string id: connector holds a Python record */
    size_t conn_py_cap;
    /* fold cursor */
    uint32_t *order;
    sortent_t *ents;     /* scratch for sorting one group */
    size_t ents_cap;
    size_t *group_start;
    uint32_t *group_conn;
    size_t n_groups, next_group;
    int folding;
} Scanner;

/* ------------------------------------------------------------------ small parsers */

static inline const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return p;
}

/* A plain JSON string at p (which points at the opening quote): printable
   ASCII, no escapes. Sets *s, *n and returns the position after the closing
   quote, or NULL to defer. */
/* Bytes that end a plain string: the quote, a backslash, control characters
   and every non-ASCII byte. */
static uint8_t STRING_STOP[256];

static void
init_tables(void)
{
    for (int c = 0; c < 256; c++)
        STRING_STOP[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\';
}

static inline const char *
plain_string(const char *p, const char *end, const char **s, Py_ssize_t *n)
{
    const char *q = ++p;
#if defined(__SSE2__)
    /* Sixteen bytes at a time: a byte stops the string when it is the quote,
       a backslash, or below 0x20 as a signed byte (control characters and,
       being negative, every non-ASCII byte). */
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (q + 16 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)q);
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                    _mm_cmplt_epi8(v, space));
        int mask = _mm_movemask_epi8(stop);
        if (mask) {
            q += __builtin_ctz((unsigned)mask);
            goto stop;
        }
        q += 16;
    }
#endif
    while (q + 4 <= end) {
        if (STRING_STOP[(unsigned char)q[0]]) goto stop;
        if (STRING_STOP[(unsigned char)q[1]]) { q += 1; goto stop; }
        if (STRING_STOP[(unsigned char)q[2]]) { q += 2; goto stop; }
        if (STRING_STOP[(unsigned char)q[3]]) { q += 3; goto stop; }
        q += 4;
    }
    while (q < end && !STRING_STOP[(unsigned char)*q]) q++;
    if (q >= end) return NULL;
stop:
    if (*q != '"') return NULL;
    *s = p;
    *n = q - p;
    return q + 1;
}

static const char CROCKFORD_OK[256] = {
#define D(c) [c] = 1
    D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'), D('8'), D('9'),
    D('A'), D('B'), D('C'), D('D'), D('E'), D('F'), D('G'), D('H'), D('J'), D('K'),
    D('M'), D('N'), D('P'), D('Q'), D('R'), D('S'), D('T'), D('V'), D('W'), D('X'),
    D('Y'), D('Z'), D('a'), D('b'), D('c'), D('d'), D('e'), D('f'), D('g'), D('h'),
    D('j'), D('k'), D('m'), D('n'), D('p'), D('q'), D('r'), D('s'), D('t'), D('v'),
    D('w'), D('x'), D('y'), D('z'),
#undef D
};

static inline int
hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* UUID (36 hyphenated or 32 hex) to 32 lower-case hex digits; 0 when not one. */
static int
uuid_hex(const char *s, Py_ssize_t n, char out[32])
{
    int k = 0;
    if (n == 36) {
        if (s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return 0;
    } else if (n != 32) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (n == 36 && (i == 8 || i == 13 || i == 18 || i == 23)) continue;
        int v = hexval((unsigned char)s[i]);
        if (v < 0) return 0;
        out[k++] = "0123456789abcdef"[v];
    }
    return 1;
}

/* Normalized event id (ULID upper case, UUID lower-case hyphenated); length or 0. */
static int
event_id(const char *s, Py_ssize_t n, char out[EID_MAX])
{
    if (n == 26) {
        for (int i = 0; i < 26; i++) {
            unsigned char c = (unsigned char)s[i];
            if (!CROCKFORD_OK[c]) return 0;
            out[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : (char)c;
        }
        return 26;
    }
    char hex[32];
    if (!uuid_hex(s, n, hex)) return 0;
    int k = 0;
    for (int i = 0; i < 32; i++) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out[k++] = '-';
        out[k++] = hex[i];
    }
    return 36;
}

static inline int
digits(const char *s, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (s[i] - '0');
    }
    *value = v;
    return 1;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* RFC 3339 profile of _types.DATETIME_PATTERN to UTC microseconds since the
   epoch, truncating fraction digits beyond six. 0 defers: a shape outside
   the pattern, a day that does not exist, and years 1 and 9999 (where the
   UTC instant may leave the datetime range; Python decides those). */
static int
datetime_us(const char *s, Py_ssize_t n, int64_t *out)
{
    static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int Y, M, D, h, m, sec;
    if (n < 20) return 0;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2, &h) || s[13] != ':' ||
        !digits(s + 14, 2, &m) || s[16] != ':' || !digits(s + 17, 2, &sec))
        return 0;
    if (Y <= 1 || Y >= 9999 || M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 59) return 0;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M] + (M == 2 && leap)) return 0;
    Py_ssize_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        int k = 0;
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            if (k < 6) frac = frac * 10 + (s[i] - '0');
            k++;
            i++;
        }
        if (k < 1 || k > 9) return 0;
        for (int pad = k; pad < 6; pad++) frac *= 10;
    }
    int64_t offset = 0;
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        offset = 0;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return 0;
        offset = (int64_t)(oh * 60 + om) * 60;
        if (s[i] == '-') offset = -offset;
    } else {
        return 0;
    }
    int64_t secs = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - offset;
    *out = secs * 1000000 + frac;
    return 1;
}

/* ------------------------------------------------------------------ line parsing */

typedef struct {
    const char *s;       /* string value */
    Py_ssize_t n;
    int64_t i;           /* integer or datetime value */
    double f;
    int is_null;
    int present;
    uint32_t id;         /* interned id of strings the fact keeps */
    int idx;             /* enum index */
    char norm[EID_MAX];  /* normalized event id / uuid hex */
    int norm_len;
} value_t;

static const double POW10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The double nearest to the decimal literal s[0:len], as float() gives it. */
static int
to_double(const char *s, Py_ssize_t len, double *out)
{
    /* Exact fast path (Clinger): at most 15 significant digits and 22
       fraction digits, no exponent; both operands are exact doubles, so the
       one IEEE division is correctly rounded. */
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
        double v = (double)mant / POW10[nfrac];
        *out = neg ? -v : v;
        return 1;
    }
    char buf[64];
    if (len >= (Py_ssize_t)sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = 0;
    *out = PyOS_string_to_double(buf, NULL, NULL);
    if (*out == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* Number at p: sets *isint (1: an integer literal of at most 18 digits,
   with its value in *iv; 0: a fraction or exponent; 2: a longer integer
   literal) and *fv when want_double (*isint 3 when it cannot be computed).
   Returns position after it or NULL (not a plain JSON number). */
static const char *
number(const char *p, const char *end, int want_double, int *isint, int64_t *iv, double *fv)
{
    const char *start = p;
    if (p < end && *p == '-') p++;
    if (p >= end) return NULL;
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
    *isint = !frac;
    int ndig = (int)(int_end - start) - (*start == '-');
    if (!frac && ndig <= 18) {
        int64_t v = 0;
        for (const char *q = start + (*start == '-'); q < int_end; q++) v = v * 10 + (*q - '0');
        *iv = *start == '-' ? -v : v;
    } else {
        *iv = 0;
        *isint = frac ? 0 : 2; /* 2: integer literal too long for the screen */
    }
    if (want_double && *isint != 2 && !to_double(start, p - start, fv)) *isint = 3;
    return p;
}

/* Run a field's Python check on a string once, caching acceptance in the
   intern table. Returns 1 accepted, 0 declined, -1 error. */
#define CHECK_CACHE_ITEMS (1u << 20)

static int
run_check(Scanner *self, field_t *f, value_t *v)
{
    /* Accepted strings are remembered while the table is small; past that
       (a log of mostly unique URLs, say) new strings are checked each time,
       so memory stays bounded. */
    int add = self->strings.n_items < CHECK_CACHE_ITEMS;
    uint32_t id = intern_cached(&self->strings, &f->last_id, v->s, v->n, add);
    if (id == NONE_U32 && add) {
        PyErr_NoMemory();
        return -1;
    }
    v->id = id;
    if (id != NONE_U32 && self->strings.items[id].checked & (1u << f->check_bit)) return 1;
    PyObject *arg = PyUnicode_DecodeASCII(v->s, v->n, NULL);
    if (!arg) return -1;
    PyObject *res = PyObject_CallOneArg(f->check, arg);
    Py_DECREF(arg);
    if (!res) return -1;
    int ok = res != Py_None;
    Py_DECREF(res);
    if (ok && id != NONE_U32) self->strings.items[id].checked |= 1u << f->check_bit;
    return ok;
}

/* Parse and check one value of field f at p. Returns the position after it,
   NULL to defer; sets *err on a Python error. */
static const char *
field_value(Scanner *self, field_t *f, const char *p, const char *end, value_t *v, int *err)
{
    v->present = 1;
    v->is_null = 0;
    if (p < end && *p == 'n') {
        if (end - p >= 4 && memcmp(p, "null", 4) == 0 && f->nullable) {
            v->is_null = 1;
            return p + 4;
        }
        return NULL;
    }
    if (f->kind == K_INT || f->kind == K_FLOAT) {
        int isint;
        int64_t iv;
        double fv;
        const char *q = number(p, end, f->kind == K_FLOAT, &isint, &iv, &fv);
        if (!q) return NULL;
        if (f->kind == K_INT) {
            if (isint != 1 || iv < f->lo || iv > f->hi) return NULL;
            v->i = iv;
        } else {
            /* An integer literal beyond the screen's 18 digits, or any
               non-finite value, is left to the Python path. */
            if (isint >= 2 || !(fv - fv == 0)) return NULL;
            if (f->has_flo && !(fv >= f->flo)) return NULL;
            if (!(fv < 9.2e18)) return NULL;
            v->f = fv;
        }
        return q;
    }
    if (p >= end || *p != '"') return NULL;
    const char *q = plain_string(p, end, &v->s, &v->n);
    if (!q) return NULL;
    switch (f->kind) {
    case K_EVENT_ID:
        v->norm_len = event_id(v->s, v->n, v->norm);
        if (!v->norm_len) return NULL;
        break;
    case K_UUID:
        if (f->last_raw_len && f->last_raw_len == v->n && same(f->last_raw, v->s, v->n)) {
            memcpy(v->norm, f->last_hex, 32);
        } else {
            if (!uuid_hex(v->s, v->n, v->norm)) return NULL;
            memcpy(f->last_raw, v->s, v->n);  /* n is 32 or 36 here */
            memcpy(f->last_hex, v->norm, 32);
            f->last_raw_len = v->n;
        }
        v->norm_len = 32;
        break;
    case K_DATETIME:
        if (!datetime_us(v->s, v->n, &v->i)) return NULL;
        break;
    case K_ENUM: {
        int found = -1;
        for (int k = 0; k < f->n_enum; k++) {
            if (f->enum_len[k] == v->n && same(f->enum_v[k], v->s, v->n)) {
                found = k;
                break;
            }
        }
        if (found < 0) return NULL;
        v->idx = found;
        break;
    }
    case K_STR:
        if (v->n < f->lo || (f->hi >= 0 && v->n > f->hi)) return NULL;
        if (f->check) {
            int ok = run_check(self, f, v);
            if (ok < 0) {
                *err = 1;
                return NULL;
            }
            if (!ok) return NULL;
        }
        break;
    default:
        return NULL;
    }
    return q;
}

static inline int
find_field(field_t *fields, int n, int hint, const char *k, Py_ssize_t kn)
{
    if (hint < n && fields[hint].name_len == kn && same(fields[hint].name, k, kn))
        return hint;
    for (int i = 0; i < n; i++)
        if (fields[i].name_len == kn && same(fields[i].name, k, kn)) return i;
    return -1;
}

/* Values are read only where present (the required masks guarantee it), so
   only the flags need resetting per line. */
static inline void
clear_values(value_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        v[i].present = 0;
        v[i].is_null = 0;
    }
}

typedef struct {
    int etype;           /* -1 until the payload was parsed */
    uint32_t pseen;
    const char *at, *end; /* payload span when it came before event_type */
    value_t *pay;
} payload_ctx;

static int
resolve_type(Scanner *self, value_t *tv)
{
    for (int i = 0; i < self->n_types; i++)
        if (self->types[i].name_len == tv->n && same(self->types[i].name, tv->s, tv->n))
            return i;
    return -1;
}

/* Parse the members of an object starting after '{' into vals (one per
   field). For the envelope, ctx receives the payload: parsed at once when
   event_type came first, else its span, parsed once event_type is known.
   Returns the position after '}', or NULL to defer. */
static const char *
members(Scanner *self, field_t *fields, int n, const char *p, const char *end, value_t *vals,
        uint32_t *seen, payload_ctx *ctx, int *err)
{
    p = skip_ws(p, end);
    if (p < end && *p == '}') return p + 1;
    int hint = 0;
    for (;;) {
        if (p >= end || *p != '"') return NULL;
        const char *k;
        Py_ssize_t kn;
        p = plain_string(p, end, &k, &kn);
        if (!p) return NULL;
        p = skip_ws(p, end);
        if (p >= end || *p != ':') return NULL;
        p = skip_ws(p + 1, end);
        int i = find_field(fields, n, hint, k, kn);
        if (i < 0) return NULL;
        if (*seen & (1u << i)) return NULL; /* a repeated key: Python reports it */
        *seen |= 1u << i;
        hint = i + 1;
        if (fields[i].role == R_PAYLOAD) {
            if (p >= end || *p != '{') return NULL;
            value_t *tv = &vals[self->env_type_idx];
            int t = tv->present ? resolve_type(self, tv) : -1;
            if (tv->present && t < 0) return NULL;
            if (t >= 0) {
                etype_t *et = &self->types[t];
                clear_values(ctx->pay, et->n_fields);
                p = members(self, et->fields, et->n_fields, p + 1, end, ctx->pay, &ctx->pseen,
                            NULL, err);
                if (!p) return NULL;
                ctx->etype = t;
            } else {
                /* Skipped here, parsed once event_type is known: a flat object. */
                ctx->at = p + 1;
                p++;
                for (;;) {
                    if (p >= end) return NULL;
                    char c = *p;
                    if (c == '}') break;
                    if (c == '{' || c == '[' || c == '\\') return NULL;
                    if (c == '"') {
                        const char *s;
                        Py_ssize_t sn;
                        p = plain_string(p, end, &s, &sn);
                        if (!p) return NULL;
                        continue;
                    }
                    p++;
                }
                ctx->end = p;
                p++;
            }
        } else if (fields[i].role == R_EVENT_TYPE) {
            if (p >= end || *p != '"') return NULL;
            p = plain_string(p, end, &vals[i].s, &vals[i].n);
            if (!p) return NULL;
            vals[i].present = 1;
        } else {
            p = field_value(self, &fields[i], p, end, &vals[i], err);
            if (!p) return NULL;
        }
        p = skip_ws(p, end);
        if (p >= end) return NULL;
        if (*p == '}') return p + 1;
        if (*p != ',') return NULL;
        p = skip_ws(p + 1, end);
    }
}

typedef struct {
    int etype;
    uint64_t lamport;
    int64_t instant;
    char eid[EID_MAX];
    int eid_len;
    value_t env[MAX_FIELDS];
    value_t pay[MAX_FIELDS];
} parsed_t;

static int
role_index(field_t *fields, int n, int role)
{
    for (int i = 0; i < n; i++)
        if (fields[i].role == role) return i;
    return -1;
}

/* 1: accepted into *out; 0: defer; -1: Python error. */
static int
parse_line(Scanner *self, const char *p, const char *end, parsed_t *out)
{
    int err = 0;
    uint32_t seen = 0;
    payload_ctx ctx = {-1, 0, NULL, NULL, out->pay};
    clear_values(out->env, self->n_env);
    p = skip_ws(p, end);
    if (p >= end || *p != '{') return 0;
    p = members(self, self->env, self->n_env, p + 1, end, out->env, &seen, &ctx, &err);
    if (err) return -1;
    if (!p) return 0;
    if (skip_ws(p, end) != end) return 0;
    if ((seen & self->env_required) != self->env_required) return 0;
    if (ctx.etype < 0) {
        if (!ctx.at) return 0;
        int t = resolve_type(self, &out->env[self->env_type_idx]);
        if (t < 0) return 0;
        etype_t *et = &self->types[t];
        clear_values(out->pay, et->n_fields);
        const char *q = members(self, et->fields, et->n_fields, ctx.at, ctx.end + 1, out->pay,
                                &ctx.pseen, NULL, &err);
        if (err) return -1;
        if (q != ctx.end + 1) return 0;
        ctx.etype = t;
    }
    int t = ctx.etype;
    etype_t *et = &self->types[t];
    if ((ctx.pseen & et->required_mask) != et->required_mask) return 0;
    for (int r = 0; r < et->n_rules; r++) {
        value_t *a = &out->pay[et->rule_a[r]], *b = &out->pay[et->rule_b[r]];
        if (a->i > b->i) return 0; /* a broken semantic rule: Python reports it */
    }
    int iu = et->uuid_idx;
    int eu = self->env_uuid_idx;
    if (iu >= 0 && eu >= 0 &&
        (!out->pay[iu].present || !out->env[eu].present || out->pay[iu].is_null ||
         out->env[eu].is_null || memcmp(out->pay[iu].norm, out->env[eu].norm, 32) != 0))
        return 0; /* strict mode reports a mismatch: Python decides */
    value_t *id = &out->env[self->env_id_idx];
    out->eid_len = id->norm_len;
    memcpy(out->eid, id->norm, id->norm_len);
    out->lamport = (uint64_t)out->env[self->env_lamport_idx].i;
    out->instant = out->env[self->env_time_idx].i;
    out->etype = t;
    return 1;
}

/* ------------------------------------------------------------------ store */

#define CHUNK_MAX 256

/* The slot the next record of connector conn (NONE_U32: stream-level) goes
   in; *index receives its index. Valid until the next store_slot call. */
static rec_t *
store_slot(Scanner *self, uint32_t conn, uint32_t *index)
{
    size_t b = conn == NONE_U32 ? 0 : (size_t)conn + 1;
    if (b >= self->bk_n) {
        size_t n = self->bk_n ? self->bk_n : 1024;
        while (n <= b) n *= 2;
        uint32_t *start = realloc(self->bk_start, n * sizeof(uint32_t));
        if (start) self->bk_start = start;
        uint16_t *cap = realloc(self->bk_cap, n * sizeof(uint16_t));
        if (cap) self->bk_cap = cap;
        uint16_t *fill = realloc(self->bk_fill, n * sizeof(uint16_t));
        if (fill) self->bk_fill = fill;
        if (!start || !cap || !fill) {
            PyErr_NoMemory();
            return NULL;
        }
        memset(self->bk_cap + self->bk_n, 0, (n - self->bk_n) * sizeof(uint16_t));
        memset(self->bk_fill + self->bk_n, 0, (n - self->bk_n) * sizeof(uint16_t));
        self->bk_n = n;
    }
    if (self->bk_fill[b] == self->bk_cap[b]) {
        size_t want = self->bk_cap[b] ? (size_t)self->bk_cap[b] * 2 : 1;
        if (want > CHUNK_MAX) want = CHUNK_MAX;
        if (self->n_recs + want > self->cap_recs) {
            size_t cap = self->cap_recs ? self->cap_recs + self->cap_recs / 2 : 65536;
            while (cap < self->n_recs + want) cap += cap / 2;
            if (cap > NONE_U32 - 1) {
                PyErr_SetString(PyExc_MemoryError, "more than 4 billion events in one replay");
                return NULL;
            }
            rec_t *recs = realloc(self->recs, cap * sizeof(rec_t));
            if (!recs) {
                PyErr_NoMemory();
                return NULL;
            }
            self->recs = recs;
            self->cap_recs = cap;
        }
        for (size_t k = self->n_recs; k < self->n_recs + want; k++) self->recs[k].kind = RK_DEAD;
        self->bk_start[b] = (uint32_t)self->n_recs;
        self->bk_cap[b] = (uint16_t)want;
        self->bk_fill[b] = 0;
        self->n_recs += want;
    }
    *index = self->bk_start[b] + self->bk_fill[b];
    return &self->recs[*index];
}

/* Rehash the dedup table into n slots (a power of two above its entries). */
static int
dedup_resize(Scanner *self, size_t n)
{
    dslot_t *slots = calloc(n, sizeof(dslot_t));
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t i = 0; i < self->dedup_slots; i++) {
        dslot_t *d = &self->dedup[i];
        if (!d->copies) continue;
        size_t j = d->tag & (n - 1);
        while (slots[j].copies) j = (j + 1) & (n - 1);
        slots[j] = *d;
    }
    free(self->dedup);
    self->dedup = slots;
    self->dedup_slots = n;
    return 0;
}

static int
dedup_grow(Scanner *self)
{
    return dedup_resize(self, self->dedup_slots ? self->dedup_slots * 2 : 65536);
}

/* Slots for `events` entries below the table's 70% load limit. */
static size_t
dedup_slots_for(size_t events)
{
    uint64_t n = 65536;
    while (((uint64_t)events + 1) * 10 >= n * 7) n *= 2;
    return n > SIZE_MAX / sizeof(dslot_t) ? SIZE_MAX / sizeof(dslot_t) : (size_t)n;
}

static int
conn_mark_py(Scanner *self, uint32_t conn)
{
    if (conn == NONE_U32) return 0;
    if (conn >= self->conn_py_cap) {
        size_t cap = self->conn_py_cap ? self->conn_py_cap : 1024;
        while (cap <= conn) cap *= 2;
        uint8_t *m = realloc(self->conn_py, cap);
        if (!m) {
            PyErr_NoMemory();
            return -1;
        }
        memset(m + self->conn_py_cap, 0, cap - self->conn_py_cap);
        self->conn_py = m;
        self->conn_py_cap = cap;
    }
    self->conn_py[conn] = 1;
    return 0;
}

/* Keep *tmp in its connector's next slot unless it is an identical copy of
   a kept record; copies that differ mark the event id as conflicted, to be
   settled by Python from the raw lines. A copy not kept releases its fact.
   tag is eid_tag() of the record's event id (the scan has it already). */
static int
store_put(Scanner *self, rec_t *tmp, int dedup, uint32_t tag)
{
    uint32_t index;
    size_t mask = self->dedup_slots - 1;
    size_t j = 0;
    if (dedup) {
        if ((self->n_dedup + 1) * 10 >= self->dedup_slots * 7 && dedup_grow(self) < 0) goto fail;
        mask = self->dedup_slots - 1;
        j = tag & mask;
        while (self->dedup[j].copies) {
            dslot_t *d = &self->dedup[j];
            rec_t *held = &self->recs[d->rec];
            if (d->tag == tag && held->eid_len == tmp->eid_len &&
                same(held->eid, tmp->eid, tmp->eid_len)) {
                d->copies++;
                if (!d->conflicted && held->ident != tmp->ident) d->conflicted = 1;
                if (tmp->kind == RK_PY) Py_CLEAR(tmp->u.py);
                return 0;
            }
            j = (j + 1) & mask;
        }
    }
    rec_t *slot = store_slot(self, tmp->conn, &index);
    if (!slot) goto fail;
    *slot = *tmp;
    self->bk_fill[tmp->conn == NONE_U32 ? 0 : (size_t)tmp->conn + 1]++;
    if (dedup) {
        self->dedup[j].rec = index;
        self->dedup[j].tag = tag;
        self->dedup[j].copies = 1;
        self->dedup[j].conflicted = 0;
        self->n_dedup++;
    }
    return 0;
fail:
    if (tmp->kind == RK_PY) Py_CLEAR(tmp->u.py);
    return -1;
}

#if PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030E0000
/* Exported by CPython 3.13 but declared only in its internal headers. */
PyAPI_FUNC(Py_hash_t) _Py_HashBytes(const void *, Py_ssize_t);
#endif

static uint64_t
line_ident(const char *p, Py_ssize_t n)
{
    /* The same keyed hash as Python's hash(bytes), so records offered from
       Python (hash(raw)) and from here agree. */
#if PY_VERSION_HEX >= 0x030E0000
    Py_hash_t h = Py_HashBuffer(p, n);
#else
    Py_hash_t h = _Py_HashBytes(p, n);
#endif
    if (h == -1) h = -2;
    return (uint64_t)h;
}

/* Start a record: zeroed, with its order key, event id, line identity and kind. */
static void
record_head(rec_t *r, int kind, uint64_t lamport, int64_t instant, uint64_t ident,
            const char *eid, int eid_len)
{
    memset(r, 0, sizeof(*r));
    r->lamport = lamport;
    r->instant = instant;
    r->ident = ident;
    r->kind = (uint8_t)kind;
    r->eid_len = (uint8_t)eid_len;
    memcpy(r->eid, eid, eid_len);
}

/* Fill a C record from a parsed line; -1 on error. */
static int
fill_record(Scanner *self, parsed_t *pl, const char *line, Py_ssize_t n, rec_t *r)
{
    etype_t *et = &self->types[pl->etype];
    record_head(r, RK_C, pl->lamport, pl->instant, line_ident(line, n), pl->eid, pl->eid_len);
    r->etype = (uint8_t)pl->etype;
    uint32_t ids[R_COUNT];
    for (int k = 0; k < R_COUNT; k++) ids[k] = NONE_U32;
    int64_t ints[R_COUNT] = {0};
    value_t *strs[2] = {NULL, NULL};
    for (int i = 0; i < et->n_fields; i++) {
        field_t *f = &et->fields[i];
        value_t *v = &pl->pay[i];
        if (!v->present || v->is_null) continue;
        switch (f->role) {
        case R_DELIVERY: case R_FINGERPRINT:
            strs[f->role - R_DELIVERY] = v;
            break;
        case R_CONNECTOR_TYPE: case R_PROVIDER: case R_MISSION_ID:
            if (et->family != F_CONNECTOR) break;
            /* fall through */
        case R_CONNECTOR_ID:
            if (v->id != NONE_U32 && f->check) {
                ids[f->role] = v->id; /* interned by its check already */
                break;
            }
            ids[f->role] = intern_cached(&self->strings, &f->last_id, v->s, v->n, 1);
            if (ids[f->role] == NONE_U32) {
                PyErr_NoMemory();
                return -1;
            }
            break;
        case R_RECORDED_AT: case R_RETRY: case R_MAX_RETRIES: case R_INGESTED: case R_REPLAYED:
            ints[f->role] = v->i;
            break;
        case R_HEALTH:
            r->small = (uint8_t)(v->idx + 1);
            break;
        case R_PREVIOUS:
            r->prev = (uint8_t)(v->idx + 1);
            break;
        case R_LATENCY:
            r->u.c.latency = v->f;
            break;
        default:
            break;
        }
    }
    r->conn = ids[R_CONNECTOR_ID];
    if (et->family == F_CONNECTOR) {
        r->u.c.ctype = ids[R_CONNECTOR_TYPE];
        r->u.c.provider = ids[R_PROVIDER];
        r->u.c.mission = ids[R_MISSION_ID];
        r->u.c.recorded_at = ints[R_RECORDED_AT];
    } else {
        if (!strs[0] || !strs[1]) {
            PyErr_SetString(PyExc_ValueError, "sync payload without delivery_id or fingerprint");
            return -1;
        }
        size_t need = (size_t)strs[0]->n + (size_t)strs[1]->n;
        if (self->blob_len + need > self->blob_cap) {
            size_t cap = self->blob_cap ? self->blob_cap * 2 : (1 << 20);
            while (cap < self->blob_len + need) cap *= 2;
            char *blob = realloc(self->blob, cap);
            if (!blob) {
                PyErr_NoMemory();
                return -1;
            }
            self->blob = blob;
            self->blob_cap = cap;
        }
        r->u.s.off = self->blob_len;
        r->u.s.dlen = (uint32_t)strs[0]->n;
        r->u.s.flen = (uint32_t)strs[1]->n;
        memcpy(self->blob + self->blob_len, strs[0]->s, strs[0]->n);
        memcpy(self->blob + self->blob_len + strs[0]->n, strs[1]->s, strs[1]->n);
        self->blob_len += need;
        if (et->outcome == self->outcome_retry) {
            r->u.s.retry = ints[R_RETRY];
            r->u.s.max_retries = ints[R_MAX_RETRIES];
        } else {
            r->u.s.count = ints[R_INGESTED] + ints[R_REPLAYED];
        }
    }
    return 0;
}

static PyObject *us_or_none(Scanner *self, int has, int64_t us);

/* A link record keeps the reducer fact itself (links are few and folded by
   Python): every payload value, by the Python factory. */
static int
fill_link_record(Scanner *self, parsed_t *pl, const char *line, Py_ssize_t n, rec_t *r)
{
    etype_t *et = &self->types[pl->etype];
    record_head(r, RK_PY, pl->lamport, pl->instant, line_ident(line, n), pl->eid, pl->eid_len);
    r->etype = (uint8_t)pl->etype;
    r->conn = NONE_U32;
    PyObject *values = PyTuple_New(et->n_fields);
    if (!values) return -1;
    for (int i = 0; i < et->n_fields; i++) {
        value_t *v = &pl->pay[i];
        PyObject *item;
        if (!v->present || v->is_null) {
            item = Py_NewRef(Py_None);
        } else if (et->fields[i].kind == K_DATETIME) {
            item = us_or_none(self, 1, v->i);
        } else if (et->fields[i].kind == K_INT) {
            item = PyLong_FromLongLong(v->i);
        } else if (et->fields[i].kind == K_FLOAT) {
            item = PyFloat_FromDouble(v->f);
        } else {
            item = PyUnicode_DecodeASCII(v->s, v->n, NULL);
        }
        if (!item) {
            Py_DECREF(values);
            return -1;
        }
        PyTuple_SET_ITEM(values, i, item);
    }
    r->u.py = PyObject_CallFunction(self->make_link_fact, "s#iN", pl->eid, (Py_ssize_t)pl->eid_len,
                                    pl->etype, values);
    return r->u.py ? 0 : -1;
}

/* ------------------------------------------------------------------ Scanner.scan */

static PyObject *
Scanner_scan(Scanner *self, PyObject *args)
{
    Py_buffer buf;
    int keep;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "y*pn", &buf, &keep, &limit)) return NULL;
    if (self->folding) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_RuntimeError, "scan() after fold started");
        return NULL;
    }
    PyObject *deferred = PyList_New(0);
    if (!deferred) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    const char *data = buf.buf, *end = data + buf.len, *p = data;
    Py_ssize_t index = 0;
    parsed_t pl;
    while (p < end) {
        const char *nl = memchr(p, '\n', end - p);
        const char *stop = nl ? nl : end;
        const char *line_end = stop;
        if (nl && line_end > p && line_end[-1] == '\r') line_end--;
        Py_ssize_t n = line_end - p;
        int ok = 0;
        if (n <= limit) {
            ok = parse_line(self, p, line_end, &pl);
            if (ok < 0) goto error;
        }
        if (ok && keep) {
            uint32_t tag = eid_tag(pl.eid, pl.eid_len);
            if (self->dedup_slots) __builtin_prefetch(&self->dedup[tag & (self->dedup_slots - 1)]);
            rec_t tmp;
            if (self->types[pl.etype].family == F_LINK) {
                if (fill_link_record(self, &pl, p, n, &tmp) < 0) goto error;
            } else if (fill_record(self, &pl, p, n, &tmp) < 0) {
                goto error;
            }
            if (store_put(self, &tmp, 1, tag) < 0) goto error;
        }
        if (!ok) {
            PyObject *t = Py_BuildValue("(nnn)", index, (Py_ssize_t)(p - data),
                                        (Py_ssize_t)(line_end - data));
            if (!t || PyList_Append(deferred, t) < 0) {
                Py_XDECREF(t);
                goto error;
            }
            Py_DECREF(t);
        }
        index++;
        p = nl ? nl + 1 : end;
    }
    PyBuffer_Release(&buf);
    PyObject *res = Py_BuildValue("(nN)", index, deferred);
    return res;
error:
    PyBuffer_Release(&buf);
    Py_DECREF(deferred);
    return NULL;
}

/* ------------------------------------------------------------------ facts for Python */

static PyObject *
us_or_none(Scanner *self, int has, int64_t us)
{
    if (!has) Py_RETURN_NONE;
    return PyObject_CallFunction(self->from_us, "L", (long long)us);
}

static PyObject *
eid_str(rec_t *r)
{
    return PyUnicode_DecodeASCII(r->eid, r->eid_len, NULL);
}

static PyObject *
delivery_str(Scanner *self, rec_t *r)
{
    return PyUnicode_DecodeASCII(self->blob + r->u.s.off, r->u.s.dlen, NULL);
}

static PyObject *
fingerprint_str(Scanner *self, rec_t *r)
{
    return PyUnicode_DecodeASCII(self->blob + r->u.s.off + r->u.s.dlen, r->u.s.flen, NULL);
}

/* The reducer fact of a C record, built by the Python factories. */
static PyObject *
record_fact(Scanner *self, rec_t *r)
{
    if (r->kind == RK_PY) {
        Py_INCREF(r->u.py);
        return r->u.py;
    }
    etype_t *et = &self->types[r->etype];
    intern_t *t = &self->strings;
    PyObject *eid = eid_str(r), *res = NULL;
    PyObject *cid = intern_str(t, r->conn);
    if (!eid || !cid) goto done;
    if (et->family == F_CONNECTOR) {
        PyObject *ctype = intern_str(t, r->u.c.ctype), *prov = intern_str(t, r->u.c.provider);
        PyObject *mission = intern_str(t, r->u.c.mission);
        PyObject *at = us_or_none(self, 1, r->u.c.recorded_at);
        if (ctype && prov && mission && at)
            res = PyObject_CallFunction(self->make_connector_fact, "OiOOOOOiNi", eid, r->etype,
                                        cid, ctype, prov, mission, at, (int)r->small - 1,
                                        r->small ? PyFloat_FromDouble(r->u.c.latency) : Py_NewRef(Py_None),
                                        (int)r->prev - 1);
        Py_XDECREF(ctype);
        Py_XDECREF(prov);
        Py_XDECREF(mission);
        Py_XDECREF(at);
    } else {
        PyObject *dlv = delivery_str(self, r), *fp = fingerprint_str(self, r);
        int retry = et->outcome == self->outcome_retry;
        if (dlv && fp)
            res = PyObject_CallFunction(self->make_sync_fact, "OiOOOLLL", eid, r->etype, cid, dlv,
                                        fp, (long long)(retry ? r->u.s.retry : 0),
                                        (long long)(retry ? r->u.s.max_retries : 0),
                                        (long long)(retry ? 0 : r->u.s.count));
        Py_XDECREF(dlv);
        Py_XDECREF(fp);
    }
done:
    Py_XDECREF(eid);
    Py_XDECREF(cid);
    return res;
}

static PyObject *
Scanner_probe(Scanner *self, PyObject *arg)
{
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0) return NULL;
    parsed_t pl;
    int ok = parse_line(self, buf.buf, (const char *)buf.buf + buf.len, &pl);
    PyObject *res = NULL;
    if (ok < 0) goto done;
    if (!ok) {
        res = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *fact;
    rec_t r;
    if (self->types[pl.etype].family == F_LINK) {
        if (fill_link_record(self, &pl, buf.buf, buf.len, &r) < 0) goto done;
        fact = r.u.py;
    } else {
        if (fill_record(self, &pl, buf.buf, buf.len, &r) < 0) goto done;
        fact = record_fact(self, &r);
        if (!fact) goto done;
    }
    res = Py_BuildValue("(s#KLN)", pl.eid, (Py_ssize_t)pl.eid_len,
                        (unsigned long long)pl.lamport, (long long)pl.instant, fact);
done:
    PyBuffer_Release(&buf);
    return res;
}

/* ------------------------------------------------------------------ Scanner.offer */

static PyObject *
Scanner_offer(Scanner *self, PyObject *args)
{
    const char *eid;
    Py_ssize_t eid_len;
    unsigned long long lamport;
    long long instant;
    long long ident;
    PyObject *fact, *conn;
    int dedup;
    if (!PyArg_ParseTuple(args, "s#KLLOOp", &eid, &eid_len, &lamport, &instant, &ident, &fact,
                          &conn, &dedup))
        return NULL;
    if (self->folding) {
        PyErr_SetString(PyExc_RuntimeError, "offer() after fold started");
        return NULL;
    }
    if (eid_len > EID_MAX) {
        PyErr_SetString(PyExc_ValueError, "event_id longer than 36 characters");
        return NULL;
    }
    rec_t tmp, *r = &tmp;
    record_head(r, RK_PY, lamport, instant, (uint64_t)ident, eid, (int)eid_len);
    r->conn = NONE_U32;
    if (conn != Py_None) {
        PyObject *utf8 = PyUnicode_AsEncodedString(conn, "utf-8", "surrogatepass");
        if (!utf8) return NULL;
        r->conn = intern(&self->strings, PyBytes_AS_STRING(utf8), PyBytes_GET_SIZE(utf8));
        Py_DECREF(utf8);
        if (r->conn == NONE_U32) return PyErr_NoMemory();
        if (conn_mark_py(self, r->conn) < 0) return NULL;
    }
    r->u.py = Py_NewRef(fact);
    if (store_put(self, r, dedup, eid_tag(r->eid, r->eid_len)) < 0) return NULL;
    Py_RETURN_NONE;
}

/* Event ids seen with differing raw bytes: their records are removed (Python
   re-reads those lines and offers the winner), and the number of identical
   copies dropped for every other id. */
static PyObject *
Scanner_settle(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *ids = PyList_New(0);
    if (!ids) return NULL;
    Py_ssize_t dropped = 0;
    int any = 0;
    for (size_t i = 0; i < self->dedup_slots; i++) {
        dslot_t *d = &self->dedup[i];
        if (!d->copies) continue;
        if (!d->conflicted) {
            dropped += d->copies - 1;
            continue;
        }
        any = 1;
        rec_t *r = &self->recs[d->rec];
        PyObject *s = eid_str(r);
        if (!s || PyList_Append(ids, s) < 0) {
            Py_XDECREF(s);
            Py_DECREF(ids);
            return NULL;
        }
        Py_DECREF(s);
    }
    if (any) {
        /* Every kept record of a conflicted id is the first copy (later ones
           were never stored), so one lookup per record finds them. */
        size_t mask = self->dedup_slots - 1;
        for (size_t k = 0; k < self->n_recs; k++) {
            rec_t *r = &self->recs[k];
            if (r->kind == RK_DEAD) continue;
            size_t j = eid_tag(r->eid, r->eid_len) & mask;
            while (self->dedup[j].copies) {
                dslot_t *d = &self->dedup[j];
                if (d->rec == k) {
                    if (d->conflicted) {
                        if (r->kind == RK_PY) Py_CLEAR(r->u.py);
                        r->kind = RK_DEAD;
                    }
                    break;
                }
                j = (j + 1) & mask;
            }
        }
    }
    free(self->dedup);
    self->dedup = NULL;
    self->dedup_slots = self->n_dedup = 0;
    return Py_BuildValue("(Nn)", ids, dropped);
}

/* ------------------------------------------------------------------ fold */

static int
ent_cmp(const void *a, const void *b)
{
    const sortent_t *x = a, *y = b;
    if (x->lamport != y->lamport) return x->lamport < y->lamport ? -1 : 1;
    if (x->instant != y->instant) return x->instant < y->instant ? -1 : 1;
    const rec_t *p = x->rec, *q = y->rec;
    int n = p->eid_len < q->eid_len ? p->eid_len : q->eid_len;
    int c = memcmp(p->eid, q->eid, n);
    if (c) return c;
    return (int)p->eid_len - (int)q->eid_len;
}

/* Put one group's record indexes in replay order. */
static int
sort_group(Scanner *self, uint32_t *idx, size_t n)
{
    if (n > self->ents_cap) {
        sortent_t *ents = realloc(self->ents, n * sizeof(sortent_t));
        if (!ents) return -1;
        self->ents = ents;
        self->ents_cap = n;
    }
    sortent_t *e = self->ents;
    for (size_t i = 0; i < n; i++) {
        if (i + 8 < n) __builtin_prefetch(&self->recs[idx[i + 8]]);
        const rec_t *r = &self->recs[idx[i]];
        e[i].lamport = r->lamport;
        e[i].instant = r->instant;
        e[i].rec = r;
        e[i].index = idx[i];
    }
    qsort(e, n, sizeof(sortent_t), ent_cmp);
    for (size_t i = 0; i < n; i++) idx[i] = e[i].index;
    return 0;
}

/* Group live records by connector (stream-level group last), each group in
   replay order. Returns the number of live records. */
static PyObject *
Scanner_start_fold(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    if (self->folding) {
        PyErr_SetString(PyExc_RuntimeError, "fold already started");
        return NULL;
    }
    self->folding = 1;
    size_t nconn = self->strings.n_items + 1; /* last bucket: stream-level */
    size_t *count = calloc(nconn + 1, sizeof(size_t));
    if (!count) return PyErr_NoMemory();
    size_t live = 0;
    for (size_t k = 0; k < self->n_recs; k++) {
        rec_t *r = &self->recs[k];
        if (r->kind == RK_DEAD) continue;
        count[r->conn == NONE_U32 ? nconn - 1 : r->conn]++;
        live++;
    }
    self->order = malloc((live ? live : 1) * sizeof(uint32_t));
    self->group_start = malloc((nconn + 1) * sizeof(size_t));
    self->group_conn = malloc(nconn * sizeof(uint32_t));
    if (!self->order || !self->group_start || !self->group_conn) {
        free(count);
        return PyErr_NoMemory();
    }
    size_t pos = 0, g = 0;
    size_t *at = calloc(nconn, sizeof(size_t));
    if (!at) {
        free(count);
        return PyErr_NoMemory();
    }
    for (size_t c = 0; c < nconn; c++) {
        if (!count[c]) continue;
        self->group_start[g] = pos;
        self->group_conn[g] = c == nconn - 1 ? NONE_U32 : (uint32_t)c;
        at[c] = pos;
        pos += count[c];
        g++;
    }
    self->group_start[g] = pos;
    self->n_groups = g;
    for (size_t k = 0; k < self->n_recs; k++) {
        rec_t *r = &self->recs[k];
        if (r->kind == RK_DEAD) continue;
        size_t c = r->conn == NONE_U32 ? nconn - 1 : r->conn;
        self->order[at[c]++] = (uint32_t)k;
    }
    free(at);
    free(count);
    self->next_group = 0;
    return PyLong_FromSize_t(live);
}

typedef struct {
    int state;           /* -1: none */
    int64_t last_transition, last_health_check;
    int has_transition, has_health_check;
    int health;          /* -1 none */
    double latency;
    Py_ssize_t events;
    int64_t reconnects;
    int has_identity;
    uint32_t ctype, provider, mission;
} cacc_t;

typedef struct {
    uint64_t key;        /* hash of (delivery_id, fingerprint), never 0; 0 marks an empty slot */
    uint32_t rec;        /* its last record: strings and last_event_id */
    int status;
    int terminal;        /* -1 none */
    int64_t last_retry;
    int replayed;
    Py_ssize_t attempts;
} dlv_t;

typedef struct {
    dlv_t *slots;
    size_t n, cap;
} dmap_t;

static dlv_t *
dmap_get(dmap_t *m, uint64_t key, int create)
{
    if (create && (m->n + 1) * 10 >= m->cap * 7) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        dlv_t *slots = calloc(cap, sizeof(dlv_t));
        if (!slots) return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].key) continue;
            size_t j = (m->slots[i].key * 0x9E3779B97F4A7C15ULL) >> 20 & (cap - 1);
            while (slots[j].key) j = (j + 1) & (cap - 1);
            slots[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    if (!m->cap) return NULL;
    size_t j = (key * 0x9E3779B97F4A7C15ULL) >> 20 & (m->cap - 1);
    while (m->slots[j].key) {
        if (m->slots[j].key == key) return &m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!create) return NULL;
    dlv_t *d = &m->slots[j];
    memset(d, 0, sizeof(*d));
    d->key = key;
    d->terminal = -1;
    m->n++;
    return d;
}

/* An exact sum of non-negative 64-bit counts: two words with a carry, so a
   total never wraps (specification section 8: sums are exact integers). */
typedef struct {
    uint64_t hi, lo;
} sum128_t;

static inline void
sum_add(sum128_t *s, int64_t v)
{
    uint64_t add = (uint64_t)v; /* counts are >= 0 (the spec's bounds say so) */
    s->lo += add;
    s->hi += s->lo < add;
}

/* The sum as a Python int (public API only: hi << 64 | lo). */
static PyObject *
sum_to_pylong(const sum128_t *s)
{
    if (!s->hi) return PyLong_FromUnsignedLongLong(s->lo);
    PyObject *hi = PyLong_FromUnsignedLongLong(s->hi);
    PyObject *lo = PyLong_FromUnsignedLongLong(s->lo);
    PyObject *shift = PyLong_FromLong(64);
    PyObject *high = NULL, *res = NULL;
    if (hi && lo && shift) high = PyNumber_Lshift(hi, shift);
    if (high) res = PyNumber_Or(high, lo);
    Py_XDECREF(hi);
    Py_XDECREF(lo);
    Py_XDECREF(shift);
    Py_XDECREF(high);
    return res;
}

/* Fold one group in C. 1: folded into *ca/dm; 0: something unusual happened
   (the Python fold decides); -1: memory error. */
static int
fold_group(Scanner *self, uint32_t *idx, size_t n, long long max_cycles, cacc_t *ca, int *has_conn,
           dmap_t *dm, Py_ssize_t *counts, sum128_t *ingested, sum128_t *replayed, int *has_sync)
{
    for (size_t i = 0; i < n; i++) {
        /* The group's records (sorted just before, so mostly cached) and
           their delivery strings are scattered: fetch a few ahead. */
        if (i + 8 < n) __builtin_prefetch(&self->recs[idx[i + 8]]);
        if (i + 4 < n) {
            const rec_t *ahead = &self->recs[idx[i + 4]];
            if (self->types[ahead->etype].family == F_SYNC)
                __builtin_prefetch(self->blob + ahead->u.s.off);
        }
        rec_t *r = &self->recs[idx[i]];
        etype_t *et = &self->types[r->etype];
        if (et->family == F_CONNECTOR) {
            *has_conn = 1;
            ca->events++;
            if (ca->has_identity &&
                (r->u.c.provider != ca->provider || r->u.c.ctype != ca->ctype))
                return 0;
            int target = et->target >= 0 ? et->target : self->health_target[r->small - 1];
            if (!(ca->state == target && self->observation[target])) {
                if (!self->allowed[ca->state + 1][target]) return 0;
                if (et->is_reconnect && (int)r->prev - 1 != ca->state) return 0;
                ca->state = target;
                ca->last_transition = r->u.c.recorded_at;
                ca->has_transition = 1;
                if (!ca->has_identity) {
                    ca->has_identity = 1;
                    ca->ctype = r->u.c.ctype;
                    ca->provider = r->u.c.provider;
                    ca->mission = r->u.c.mission;
                }
                if (target == self->state_reconnected) {
                    if (++ca->reconnects > max_cycles) return 0;
                } else if (target == self->state_healthy) {
                    ca->reconnects = 0;
                }
            }
            if (et->is_health) {
                ca->last_health_check = r->u.c.recorded_at;
                ca->has_health_check = 1;
                ca->health = r->small - 1;
                ca->latency = r->u.c.latency;
            }
        } else {
            *has_sync = 1;
            int outcome = et->outcome;
            const char *ds = self->blob + r->u.s.off;
            uint64_t key = hash_bytes(ds, r->u.s.dlen) * 31 +
                           hash_bytes(ds + r->u.s.dlen, r->u.s.flen);
            key += !key;
            dlv_t *d = dmap_get(dm, key, 0);
            if (d) {
                rec_t *o = &self->recs[d->rec];
                if (o->u.s.dlen != r->u.s.dlen || o->u.s.flen != r->u.s.flen ||
                    memcmp(self->blob + o->u.s.off, ds, r->u.s.dlen + r->u.s.flen) != 0)
                    return 0; /* two deliveries share a hash: the Python fold decides */
            }
            if (outcome == self->outcome_replay) {
                if (d && d->replayed) return 0;
                if (!d && !(d = dmap_get(dm, key, 1))) return -1;
                d->replayed = 1;
                sum_add(replayed, r->u.s.count);
            } else if (outcome == self->outcome_retry) {
                if (d) {
                    if (d->terminal >= 0 || r->u.s.retry <= d->last_retry) return 0;
                } else if (!(d = dmap_get(dm, key, 1))) {
                    return -1;
                }
                d->last_retry = r->u.s.retry;
                d->attempts++;
            } else if (self->outcome_terminal[outcome]) {
                if (d && d->terminal >= 0) return 0;
                if (!d && !(d = dmap_get(dm, key, 1))) return -1;
                d->terminal = outcome;
                d->attempts++;
                sum_add(ingested, r->u.s.count);
            } else {
                return 0; /* an outcome the table does not place: Python decides */
            }
            d->status = outcome;
            d->rec = idx[i];
            counts[outcome]++;
        }
    }
    return 1;
}

/* The next group: (connector_id or None, facts) when Python must fold it,
   (connector_id, connector_part, sync_part) when folded here; None at the end. */
static PyObject *
Scanner_next_group(Scanner *self, PyObject *args)
{
    int keep_logs;
    long long max_cycles;
    if (!PyArg_ParseTuple(args, "pL", &keep_logs, &max_cycles)) return NULL;
    if (!self->folding) {
        PyErr_SetString(PyExc_RuntimeError, "start_fold() first");
        return NULL;
    }
    if (self->next_group >= self->n_groups) Py_RETURN_NONE;
    size_t g = self->next_group++;
    uint32_t conn = self->group_conn[g];
    uint32_t *idx = self->order + self->group_start[g];
    size_t n = self->group_start[g + 1] - self->group_start[g];
    if (sort_group(self, idx, n) < 0) return PyErr_NoMemory();
    PyObject *cid = conn == NONE_U32 ? Py_NewRef(Py_None) : intern_str(&self->strings, conn);
    if (!cid) return NULL;
    int python = conn == NONE_U32 || (conn < self->conn_py_cap && self->conn_py[conn]);
    cacc_t ca;
    memset(&ca, 0, sizeof(ca));
    ca.state = -1;
    ca.health = -1;
    dmap_t dm = {0};
    Py_ssize_t counts[MAX_ENUM] = {0};
    sum128_t ingested = {0, 0}, replayed = {0, 0};
    int has_conn = 0, has_sync = 0;
    if (!python) {
        int ok = fold_group(self, idx, n, max_cycles, &ca, &has_conn, &dm, counts, &ingested,
                            &replayed, &has_sync);
        if (ok < 0) {
            free(dm.slots);
            Py_DECREF(cid);
            return PyErr_NoMemory();
        }
        python = !ok;
    }
    if (python) {
        free(dm.slots);
        PyObject *facts = PyList_New((Py_ssize_t)n);
        if (!facts) {
            Py_DECREF(cid);
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            PyObject *f = record_fact(self, &self->recs[idx[i]]);
            if (!f) {
                Py_DECREF(facts);
                Py_DECREF(cid);
                return NULL;
            }
            PyList_SET_ITEM(facts, (Py_ssize_t)i, f);
        }
        return Py_BuildValue("(NN)", cid, facts);
    }
    intern_t *t = &self->strings;
    PyObject *conn_part = Py_NewRef(Py_None), *sync_part = Py_NewRef(Py_None);
    if (has_conn) {
        PyObject *log = Py_NewRef(Py_None);
        if (keep_logs) {
            Py_DECREF(log);
            log = PyList_New(0);
            /* Re-walk: transitions are the applied, non-observation events. */
            int state = -1;
            for (size_t i = 0; log && i < n; i++) {
                rec_t *r = &self->recs[idx[i]];
                etype_t *et = &self->types[r->etype];
                if (et->family != F_CONNECTOR) continue;
                int target = et->target >= 0 ? et->target : self->health_target[r->small - 1];
                if (state == target && self->observation[target]) continue;
                state = target;
                PyObject *item = Py_BuildValue("(Ni)", eid_str(r), target);
                if (!item || PyList_Append(log, item) < 0) Py_CLEAR(log);
                Py_XDECREF(item);
            }
        }
        Py_DECREF(conn_part);
        conn_part = log ? Py_BuildValue(
            "(NNNiNNiNnN)",
            ca.has_identity ? intern_str(t, ca.ctype) : Py_NewRef(Py_None),
            ca.has_identity ? intern_str(t, ca.provider) : Py_NewRef(Py_None),
            ca.has_identity ? intern_str(t, ca.mission) : Py_NewRef(Py_None), ca.state,
            us_or_none(self, ca.has_transition, ca.last_transition),
            us_or_none(self, ca.has_health_check, ca.last_health_check), ca.health,
            ca.health >= 0 ? PyFloat_FromDouble(ca.latency) : Py_NewRef(Py_None), ca.events,
            log) : NULL;
    }
    if (has_sync && conn_part) {
        Py_ssize_t pending = 0;
        for (size_t i = 0; i < dm.cap; i++)
            if (dm.slots[i].key && dm.slots[i].terminal < 0 && dm.slots[i].last_retry > 0)
                pending++;
        PyObject *cnt = PyTuple_New(self->n_outcomes);
        for (int k = 0; cnt && k < self->n_outcomes; k++)
            PyTuple_SET_ITEM(cnt, k, PyLong_FromSsize_t(counts[k]));
        PyObject *olog = Py_NewRef(Py_None), *dlvs = Py_NewRef(Py_None);
        if (keep_logs) {
            Py_DECREF(olog);
            Py_DECREF(dlvs);
            olog = PyList_New(0);
            dlvs = PyList_New(0);
            for (size_t i = 0; olog && i < n; i++) {
                rec_t *r = &self->recs[idx[i]];
                etype_t *et = &self->types[r->etype];
                if (et->family != F_SYNC) continue;
                PyObject *item = Py_BuildValue("(NiN)", eid_str(r), et->outcome,
                                               delivery_str(self, r));
                if (!item || PyList_Append(olog, item) < 0) Py_CLEAR(olog);
                Py_XDECREF(item);
            }
            for (size_t i = 0; dlvs && i < dm.cap; i++) {
                dlv_t *d = &dm.slots[i];
                if (!d->key) continue;
                rec_t *o = &self->recs[d->rec];
                PyObject *item = Py_BuildValue(
                    "(NNiiLinN)", delivery_str(self, o), fingerprint_str(self, o), d->status,
                    d->terminal,
                    (long long)d->last_retry, d->replayed, d->attempts,
                    eid_str(o));
                if (!item || PyList_Append(dlvs, item) < 0) Py_CLEAR(dlvs);
                Py_XDECREF(item);
            }
        }
        Py_DECREF(sync_part);
        sync_part = (cnt && olog && dlvs)
                        ? Py_BuildValue("(NNNnNN)", cnt, sum_to_pylong(&ingested), sum_to_pylong(&replayed),
                                        pending, olog, dlvs)
                        : NULL;
        if (!sync_part) {
            Py_XDECREF(cnt);
            Py_XDECREF(olog);
            Py_XDECREF(dlvs);
        }
    }
    free(dm.slots);
    if (!conn_part || !sync_part) {
        Py_XDECREF(conn_part);
        Py_XDECREF(sync_part);
        Py_DECREF(cid);
        return NULL;
    }
    return Py_BuildValue("(NNN)", cid, conn_part, sync_part);
}

/* ------------------------------------------------------------------ spec loading */

static int
load_field(PyObject *spec, PyObject *item, field_t *f, int *check_bits)
{
    /* (name, kind, role, nullable, optional, lo, hi, flo or None, check or None, enum) */
    PyObject *name, *flo, *check, *enums;
    long long lo, hi;
    if (!PyArg_ParseTuple(item, "UiippLLOOO", &name, &f->kind, &f->role, &f->nullable,
                          &f->optional, &lo, &hi, &flo, &check, &enums))
        return -1;
    f->name = PyUnicode_AsUTF8AndSize(name, &f->name_len);
    if (!f->name) return -1;
    f->last_id = NONE_U32;
    f->last_raw_len = 0;
    f->lo = lo;
    f->hi = hi;
    f->has_flo = flo != Py_None;
    f->flo = f->has_flo ? PyFloat_AsDouble(flo) : 0;
    if (f->has_flo && PyErr_Occurred()) return -1;
    f->check = check == Py_None ? NULL : check;
    if (f->check) {
        if (*check_bits >= 32) {
            PyErr_SetString(PyExc_ValueError, "too many checked fields");
            return -1;
        }
        f->check_bit = (*check_bits)++;
    }
    f->n_enum = 0;
    if (enums != Py_None) {
        Py_ssize_t ne = PyTuple_Size(enums);
        if (ne < 0 || ne > MAX_ENUM) {
            PyErr_SetString(PyExc_ValueError, "enum too large");
            return -1;
        }
        for (Py_ssize_t k = 0; k < ne; k++) {
            f->enum_v[k] = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(enums, k), &f->enum_len[k]);
            if (!f->enum_v[k]) return -1;
        }
        f->n_enum = (int)ne;
    }
    (void)spec;
    return 0;
}

static int
load_fields(PyObject *spec, PyObject *seq, field_t *fields, int *n, uint32_t *required,
            int *check_bits)
{
    Py_ssize_t len = PyTuple_Size(seq);
    if (len < 0) return -1;
    if (len > MAX_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "too many fields");
        return -1;
    }
    *n = (int)len;
    *required = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        if (load_field(spec, PyTuple_GET_ITEM(seq, i), &fields[i], check_bits) < 0) return -1;
        if (!fields[i].optional) *required |= 1u << i;
    }
    return 0;
}

static int
int_table(PyObject *seq, int *out, int max)
{
    Py_ssize_t len = PyTuple_Size(seq);
    if (len < 0) return -1;
    if (len > max) {
        PyErr_SetString(PyExc_ValueError, "table too large");
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        out[i] = (int)PyLong_AsLong(PyTuple_GET_ITEM(seq, i));
        if (out[i] == -1 && PyErr_Occurred()) return -1;
    }
    return (int)len;
}

static int
Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"spec",    "make_connector_fact", "make_sync_fact",
                             "make_link_fact", "from_us", NULL};
    PyObject *spec, *mcf, *msf, *mlf, *fus;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!OOOO", kwlist, &PyTuple_Type, &spec, &mcf,
                                     &msf, &mlf, &fus))
        return -1;
    if (self->spec) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner is initialised once");
        return -1;
    }
    /* spec: (envelope_fields, types, allowed, observation, health_target,
              (healthy, reconnected), terminal, (retry, replay)) */
    PyObject *env, *types, *allowed, *observation, *health_target, *special, *terminal, *sync;
    if (!PyArg_ParseTuple(spec, "O!O!O!O!O!O!O!O!", &PyTuple_Type, &env, &PyTuple_Type, &types,
                          &PyTuple_Type, &allowed, &PyTuple_Type, &observation, &PyTuple_Type,
                          &health_target, &PyTuple_Type, &special, &PyTuple_Type, &terminal,
                          &PyTuple_Type, &sync))
        return -1;
    int check_bits = 0;
    if (load_fields(spec, env, self->env, &self->n_env, &self->env_required, &check_bits) < 0)
        return -1;
    Py_ssize_t nt = PyTuple_Size(types);
    if (nt > MAX_TYPES) {
        PyErr_SetString(PyExc_ValueError, "too many event types");
        return -1;
    }
    self->n_types = (int)nt;
    for (Py_ssize_t i = 0; i < nt; i++) {
        etype_t *et = &self->types[i];
        PyObject *name, *fields, *rules;
        if (!PyArg_ParseTuple(PyTuple_GET_ITEM(types, i), "UiiippO!O!", &name, &et->family,
                              &et->target, &et->outcome, &et->is_reconnect, &et->is_health,
                              &PyTuple_Type, &fields, &PyTuple_Type, &rules))
            return -1;
        et->name = PyUnicode_AsUTF8AndSize(name, &et->name_len);
        if (!et->name) return -1;
        if (load_fields(spec, fields, et->fields, &et->n_fields, &et->required_mask,
                        &check_bits) < 0)
            return -1;
        Py_ssize_t nr = PyTuple_Size(rules);
        if (nr > MAX_RULES) {
            PyErr_SetString(PyExc_ValueError, "too many rules");
            return -1;
        }
        et->n_rules = (int)nr;
        for (Py_ssize_t r = 0; r < nr; r++)
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(rules, r), "ii", &et->rule_a[r],
                                  &et->rule_b[r]))
                return -1;
    }
    /* allowed: one tuple of allowed targets per current state (None first) */
    Py_ssize_t na = PyTuple_Size(allowed);
    if (na < 1 || na > MAX_STATES + 1) {
        PyErr_SetString(PyExc_ValueError, "bad transition table");
        return -1;
    }
    for (Py_ssize_t c = 0; c < na; c++) {
        int row[MAX_STATES];
        int nrow = int_table(PyTuple_GET_ITEM(allowed, c), row, MAX_STATES);
        if (nrow < 0) return -1;
        for (int k = 0; k < nrow; k++) self->allowed[c][row[k]] = 1;
    }
    int obs[MAX_STATES];
    int nobs = int_table(observation, obs, MAX_STATES);
    if (nobs < 0) return -1;
    for (int k = 0; k < nobs; k++) self->observation[obs[k]] = 1;
    if (int_table(health_target, self->health_target, MAX_ENUM) < 0) return -1;
    if (!PyArg_ParseTuple(special, "ii", &self->state_healthy, &self->state_reconnected))
        return -1;
    int term[MAX_ENUM];
    int nterm = int_table(terminal, term, MAX_ENUM);
    if (nterm < 0) return -1;
    for (int k = 0; k < nterm; k++) self->outcome_terminal[term[k]] = 1;
    if (!PyArg_ParseTuple(sync, "iii", &self->n_outcomes, &self->outcome_retry,
                          &self->outcome_replay))
        return -1;
    self->env_type_idx = role_index(self->env, self->n_env, R_EVENT_TYPE);
    self->env_id_idx = role_index(self->env, self->n_env, R_EVENT_ID);
    self->env_lamport_idx = role_index(self->env, self->n_env, R_LAMPORT);
    self->env_time_idx = role_index(self->env, self->n_env, R_TIMESTAMP);
    self->env_uuid_idx = role_index(self->env, self->n_env, R_ENV_PROJECT_UUID);
    if (self->env_type_idx < 0 || self->env_id_idx < 0 || self->env_lamport_idx < 0 ||
        self->env_time_idx < 0 || role_index(self->env, self->n_env, R_PAYLOAD) < 0) {
        PyErr_SetString(PyExc_ValueError, "envelope spec lacks a required role");
        return -1;
    }
    for (int i = 0; i < self->n_types; i++)
        self->types[i].uuid_idx =
            role_index(self->types[i].fields, self->types[i].n_fields, R_PROJECT_UUID);
    self->spec = Py_NewRef(spec);
    self->make_connector_fact = Py_NewRef(mcf);
    self->make_sync_fact = Py_NewRef(msf);
    self->make_link_fact = Py_NewRef(mlf);
    self->from_us = Py_NewRef(fus);
    return 0;
}

static void
Scanner_dealloc(Scanner *self)
{
    for (size_t k = 0; k < self->n_recs; k++)
        if (self->recs[k].kind == RK_PY) Py_CLEAR(self->recs[k].u.py);
    free(self->recs);
    free(self->bk_start);
    free(self->bk_cap);
    free(self->bk_fill);
    free(self->blob);
    free(self->dedup);
    free(self->conn_py);
    free(self->order);
    free(self->ents);
    free(self->group_start);
    free(self->group_conn);
    intern_free(&self->strings);
    Py_XDECREF(self->spec);
    Py_XDECREF(self->make_connector_fact);
    Py_XDECREF(self->make_sync_fact);
    Py_XDECREF(self->make_link_fact);
    Py_XDECREF(self->from_us);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Scanner_reserve(Scanner *self, PyObject *arg)
{
    Py_ssize_t events = PyLong_AsSsize_t(arg);
    if (events < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "reserve() needs a count >= 0");
        return NULL;
    }
    if (self->folding) {
        PyErr_SetString(PyExc_RuntimeError, "reserve() after fold started");
        return NULL;
    }
    if ((size_t)events > ((size_t)1 << 32)) events = (Py_ssize_t)((size_t)1 << 32);
    size_t n = dedup_slots_for((size_t)events);
    if (n > self->dedup_slots && dedup_resize(self, n) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef Scanner_methods[] = {
    {"reserve", (PyCFunction)Scanner_reserve, METH_O,
     "reserve(events): size the dedup table for about this many records at once, instead of "
     "doubling it (and moving every entry) as they arrive."},
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS,
     "scan(block, keep, limit) -> (lines, deferred): check every line of a block of whole "
     "lines; keep accepted ones as records when keep is true. deferred lists (index, start, "
     "end) of the lines the Python path must handle."},
    {"probe", (PyCFunction)Scanner_probe, METH_O,
     "probe(line) -> (event_id, lamport, instant_us, fact) or None when the line is deferred."},
    {"offer", (PyCFunction)Scanner_offer, METH_VARARGS,
     "offer(event_id, lamport, instant_us, ident, fact, connector_id, dedup): keep a record "
     "the Python path built."},
    {"settle", (PyCFunction)Scanner_settle, METH_NOARGS,
     "settle() -> (conflicted_event_ids, identical_copies_dropped)."},
    {"start_fold", (PyCFunction)Scanner_start_fold, METH_NOARGS,
     "start_fold() -> live record count: sort records into per-connector groups."},
    {"next_group", (PyCFunction)Scanner_next_group, METH_VARARGS,
     "next_group(keep_logs, max_cycles) -> the next folded or Python-bound group, or None."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "connector_sync_contracts._native.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Compiled line screen, record store and connector fold (see _native.c).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "connector_sync_contracts._native",
    "Optional compiled accelerator for validate and replay.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    init_tables();
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&native_module);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
