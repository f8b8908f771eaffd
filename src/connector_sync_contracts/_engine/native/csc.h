/*
 * The compiled core of connector-sync-contracts: shared types and helpers.
 *
 * The contract has one source of truth: the pydantic models and the tables
 * in contract/. Python derives a *spec* from them (_engine/native/spec.py,
 * committed as spec.json) and hands it to Scanner(); nothing here names an
 * event type, a payload field, a state or an outcome. What this code knows
 * by name is the spec's own layout and the reducer facts' attribute names
 * (the "roles" the catalogue gives payload fields).
 *
 * Every input is untrusted: lengths and counts are checked before they are
 * used, every hash table is keyed with a per-scanner random SipHash key, and
 * every allocation and Python call is checked. Files:
 *   hash.c   SipHash-1-3 and the keyed hash of the scanner
 *   json.c   the JSON reader: UTF-8, escapes, numbers, limits, repeated keys
 *   spec.c   loading and checking the spec
 *   scan.c   a line -> a checked event (or "defer": Python decides)
 *   store.c  interned strings, records, deduplication by event_id
 *   fold.c   the connector and delivery fold, with every anomaly kind
 *   objects.c Python mappings and Events read with scan.c's checks
 *   route.c  the partition of each line, for a partitioned replay
 *   cloudevents.c structured CloudEvents lines mapped to envelope lines
 *   listing.c the command line's list of located anomalies, in one call
 *   module.c the Scanner type and its Python methods
 */
#ifndef CSC_H
#define CSC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

/* The head of a function that only prefetches (read prefetches: x86-64
   without PREFETCHW has no write prefetch, and the compiler drops one it
   cannot emit). Inlined always: GCC finds a function that only prefetches
   "pure" and drops the call, since nothing uses its result. */
#define PREFETCHER static inline __attribute__((always_inline)) void

/* Ask the kernel to back the whole 2 MB pages inside [p, p + n) with huge
   pages (Linux, where transparent huge pages are left to madvise): the
   tables read at random (deduplication slots, records) otherwise miss the
   TLB on nearly every read. Only a hint: nothing depends on it. */
static inline void
advise_huge(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t start = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
    if (p && end > start) (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

#define CSC_SPEC_FORMAT 2

#define MAX_FIELDS 64
#define MAX_TYPES 64
#define MAX_ENUM 16
#define MAX_RULES 8
#define MESSAGES_KEPT 4096 /* shared anomaly messages a scanner keeps */
#define MAX_STATES 16
#define MAX_OUTCOMES 16
#define MAX_FAMILIES 3
#define EID_MAX 36
/* A delivery's plain data: key (delivery_id, fingerprint), status, attempts,
   last event_id (reducing/steps.py's DELIVERY_FIELDS). */
#define DELIVERY_FIELDS 5
#define NONE_U32 0xFFFFFFFFu

/* ------------------------------------------------------------------ spec */

/* K_DEFER: a field the core has no check for (a type the spec derivation
   does not know): a line that gives it a value other than null is decided
   by Python. */
enum kind { K_EVENT_ID, K_UUID, K_DATETIME, K_STR, K_ENUM, K_INT, K_FLOAT, K_OBJECT, K_BOOL, K_DEFER };
enum family { F_CONNECTOR = 0, F_SYNC = 1, F_LINK = 2, F_OTHER = 3 };

/* Roles: the reducer fact attribute a payload field fills, or what the
   scanner reads from the envelope. R_KEPT marks the fields a link fact
   takes whole. */
enum role {
    R_NONE = 0,
    R_CONNECTOR_ID, R_CONNECTOR_TYPE, R_PROVIDER, R_MISSION_ID, R_RECORDED_AT,
    R_HEALTH, R_LATENCY, R_PREVIOUS, R_DELIVERY, R_FINGERPRINT, R_RETRY, R_MAX_RETRIES,
    R_INGESTED, R_REPLAYED, R_PROJECT_UUID, R_KEPT,
    R_EVENT_ID, R_EVENT_TYPE, R_TIMESTAMP, R_LAMPORT, R_ENV_PROJECT_UUID, R_PAYLOAD,
    R_COUNT
};

typedef struct {
    char *name;                /* owned, NUL-terminated */
    Py_ssize_t name_len;
    int kind;
    int role;
    int nullable, optional;
    int64_t lo, hi;            /* string lengths (characters) or integer bounds */
    int has_lo, has_hi;
    double flo;                /* float lower bound */
    int has_flo;
    PyObject *check;           /* callable(str) -> str | None (owned), or NULL */
    int check_bit;             /* bit in the intern table's "checked" mask */
    int check_url;             /* check is url_check: run url_ok in place of the call */
    int n_enum;
    char *enum_v[MAX_ENUM];    /* owned */
    Py_ssize_t enum_len[MAX_ENUM];
    PyObject *enum_obj[MAX_ENUM]; /* the values as str (owned) */
    uint32_t last_id;          /* one-entry cache: last interned id of this field */
    int uuid_raw_n;            /* one-entry cache of a K_UUID field: the last text read */
    char uuid_raw[36];         /*   (uuid_raw_n bytes; 0: none) and its 32 hex digits */
    char uuid_norm[32];
    PyObject *uuid_int;        /* objects.c: the last uuid.UUID's int read (owned), and */
    char uuid_int_hex[32];     /*   its 32 hex digits: Events repeat one project's UUID */
    PyObject *key_obj;         /* objects.c: the last dict key (str) found to name this
                                  field, held (owned) so that the same object is known again
                                  by identity, without reading its text */
    PyObject *role_obj;        /* R_KEPT: the role's name (owned), the link fact attribute
                                  and the key of the link's result dict */
} field_t;

/* What the link fold reads of a link event, by the roles of its fields (the
   link fact attributes of reducing/facts.py's LinkFact). */
enum link_role { L_LINK_ID, L_PROVIDER, L_REF_TYPE, L_REF_ID, L_AGG_TYPE, L_AGG_ID,
                 L_RECORDED_AT, L_COUNT };

typedef struct {
    char *name;                /* owned */
    Py_ssize_t name_len;
    PyObject *name_obj;        /* owned */
    int family;
    int target;                /* connector target state, -1: by health status */
    int outcome;               /* sync outcome, -1 otherwise */
    int n_fields;
    field_t *fields;           /* owned: n_fields of them (at most MAX_FIELDS) */
    uint64_t required_mask;
    int n_rules;
    int rule_a[MAX_RULES], rule_b[MAX_RULES];  /* field indexes: a > b breaks the rule */
    int rule_budget[MAX_RULES];                /* raises retry_budget_exceeded, not semantic_violation */
    PyObject *rule_code[MAX_RULES];            /* owned */
    int role_field[R_COUNT];   /* field index of each role, -1 */
    int link_field[L_COUNT];   /* a link type: field index of each link role */
    int uuid_idx;              /* the payload's project_uuid field, -1 */
} etype_t;

typedef struct {
    int n_env;
    field_t *env;              /* owned: n_env of them (at most MAX_FIELDS) */
    uint64_t env_required;
    int env_role[R_COUNT];     /* envelope field index of each envelope role, -1 */
    uint64_t env_record_mask;  /* the envelope fields a record is made of */
    int n_types;
    etype_t *types;            /* owned: n_types of them (at most MAX_TYPES); sized to
                                  the catalogue, so that a new scanner is cheap */
    int n_states;
    PyObject *state_obj[MAX_STATES];       /* owned: the names (str), for messages */
    PyObject *state_member[MAX_STATES];    /* owned: the enum members, for results */
    int allowed[MAX_STATES + 1][MAX_STATES]; /* [current + 1][target] */
    int observation[MAX_STATES];
    int health_target[MAX_ENUM];           /* health enum index -> state */
    int state_healthy, state_reconnected;
    int n_outcomes;
    PyObject *outcome_obj[MAX_OUTCOMES];   /* owned: the names (str), for messages */
    PyObject *outcome_member[MAX_OUTCOMES]; /* owned: the enum members, for results */
    int terminal[MAX_OUTCOMES];
    int outcome_retry, outcome_replay;
    int max_depth;
    uint8_t ulid[256];         /* ULID alphabet (upper and lower case): each character's
                                  upper case, 0 for a character not in it */
    int n_families;
    PyObject *family_obj[MAX_FAMILIES];    /* owned */
    int link_type;             /* the first link event type (for offered link facts), -1 */
    int n_delivery_fields;
    PyObject *delivery_field[DELIVERY_FIELDS]; /* owned: the keys of a delivery's dict */
} spec_t;

int spec_load(spec_t *spec, PyObject *dict);
/* A scanner's own copy of a loaded spec (its caches empty): loading parses the
   spec's dict (~40 µs), copying does not. On error, spec_free frees the copy. */
int spec_clone(spec_t *spec, const spec_t *from);
void spec_free(spec_t *spec);
int spec_type_index(const spec_t *spec, const char *s, Py_ssize_t n);

/* ------------------------------------------------------------------ hashing */

typedef struct {
    uint64_t k0, k1;
    int weak_bits;             /* 0: full 64-bit hashes; else only that many bits vary */
} hkey_t;

uint64_t siphash13(const hkey_t *key, const void *data, size_t len);

static inline uint64_t
khash(const hkey_t *key, const void *data, size_t len)
{
    uint64_t h = siphash13(key, data, len);
    if (key->weak_bits) h &= (((uint64_t)1 << key->weak_bits) - 1);
    return h;
}

/* What identities are made of (a line's members, an item's encoding): the
   full keyed hash, never weakened (it is compared, not used to find a slot).
   Two differing copies of one event_id are taken for identical only if
   their 64-bit SipHash values (for a line, their sums) under this scanner's
   secret random key collide. */
static inline uint64_t
content_hash(const hkey_t *key, const void *data, size_t len)
{
    return siphash13(key, data, len);
}

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

/* One UTF-8 sequence at q (first byte >= 0x80), strictly as Python decodes
   UTF-8: no overlong forms, no encoded surrogates, nothing above U+10FFFF.
   Returns its length, or 0 when invalid. */
static inline int
utf8_sequence(const unsigned char *q, const unsigned char *end)
{
    unsigned c = q[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (end - q < 2 || (q[1] & 0xC0) != 0x80) return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (end - q < 3 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80) return 0;
        if (c == 0xE0 && q[1] < 0xA0) return 0;  /* overlong */
        if (c == 0xED && q[1] > 0x9F) return 0;  /* U+D800..U+DFFF */
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (end - q < 4 || (q[1] & 0xC0) != 0x80 || (q[2] & 0xC0) != 0x80 ||
            (q[3] & 0xC0) != 0x80)
            return 0;
        if (c == 0xF0 && q[1] < 0x90) return 0;  /* overlong */
        if (c == 0xF4 && q[1] > 0x8F) return 0;  /* above U+10FFFF */
        return 4;
    }
    return 0;
}

/* ------------------------------------------------------------------ growable buffers */

typedef struct {
    char *data;
    size_t len, cap;
} buf_t;

/* Room for n more bytes; -1 (with MemoryError set) when it cannot grow. */
int buf_reserve(buf_t *b, size_t n);
/* buf_reserve without a call when there is room already. */
static inline int
buf_room(buf_t *b, size_t n)
{
    return b->data && n <= b->cap - b->len ? 0 : buf_reserve(b, n);
}
static inline void
buf_free(buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Defines `static TYPE *NAME(TYPE *e, TYPE *tmp, size_t n)`: a stable merge
   sort of e[0..n) by BEFORE(a, b) (a strictly before b), using tmp[0..n):
   insertion sort of runs of 16, then merges that alternate between the two
   arrays. The comparison is inlined (qsort's indirect calls cost a tenth of
   a replay). Returns the array holding the result. */
#define CSC_STABLE_SORT(NAME, TYPE, BEFORE)                                                     \
    static TYPE *NAME(TYPE *e, TYPE *tmp, size_t n)                                             \
    {                                                                                           \
        for (size_t lo = 0; lo < n; lo += 16) {                                                 \
            size_t hi = lo + 16 < n ? lo + 16 : n;                                              \
            for (size_t i = lo + 1; i < hi; i++) {                                              \
                TYPE cur = e[i];                                                                \
                size_t j = i;                                                                   \
                for (; j > lo && BEFORE(&cur, &e[j - 1]); j--) e[j] = e[j - 1];                 \
                e[j] = cur;                                                                     \
            }                                                                                   \
        }                                                                                       \
        TYPE *from = e, *to = tmp;                                                              \
        for (size_t width = 16; width < n; width *= 2) {                                        \
            for (size_t lo = 0; lo < n; lo += 2 * width) {                                      \
                size_t mid = lo + width < n ? lo + width : n;                                   \
                size_t hi = lo + 2 * width < n ? lo + 2 * width : n;                            \
                size_t i = lo, j = mid, k = lo;                                                 \
                while (i < mid && j < hi)                                                       \
                    to[k++] = BEFORE(&from[j], &from[i]) ? from[j++] : from[i++];               \
                while (i < mid) to[k++] = from[i++];                                            \
                while (j < hi) to[k++] = from[j++];                                             \
            }                                                                                   \
            TYPE *swap = from;                                                                  \
            from = to;                                                                          \
            to = swap;                                                                          \
        }                                                                                       \
        return from;                                                                            \
    }

/* Size of n items of size `size`, or SIZE_MAX when it overflows. */
static inline size_t
array_size(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) return SIZE_MAX;
    return n * size;
}

/* Room for n items of size `size` (> 0) followed by as many for a
   CSC_STABLE_SORT of them (its tmp), at least one each: malloc'd, or NULL
   (no memory, or more than the largest object). */
static inline void *
sort_room(size_t n, size_t size)
{
    if (!n) n = 1;
    if (n > (size_t)PTRDIFF_MAX / 2 / size) return NULL;
    return malloc(2 * n * size);
}

/* ------------------------------------------------------------------ JSON reading */

/* A string as read: its bytes (escapes decoded) and what it holds. */
typedef struct {
    const char *s;             /* in the line, or in the scratch buffer when decoded */
    Py_ssize_t n;              /* bytes (UTF-8) */
    Py_ssize_t chars;          /* code points */
    int ascii;
} jstr_t;

typedef struct {
    hkey_t *key;
    buf_t *scratch;            /* decoded strings of the current line */
    int max_depth;
    /* repeated-key detection for objects the scanner does not know */
    struct dupslot { uint64_t h; uint32_t obj, gen; uint32_t off, len; uint8_t in_scratch; } *dup;
    uint32_t dup_cap, dup_used, dup_gen, next_obj;
    const char *line;          /* the current line (for keys stored by offset) */
} jctx_t;

int jctx_begin_line(jctx_t *j, const char *line, size_t len);
/* Four hex digits at p (the caller checked they are there): 1 and their
   value in *out, or 0. */
static inline int
hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        v = v << 4 | d;
    }
    *out = v;
    return 1;
}

/* The code point cp as UTF-8 at o + *len (up to 4 bytes); *len moves past it. */
static inline void
put_utf8(char *o, size_t *len, unsigned cp)
{
    if (cp < 0x80) {
        o[(*len)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*len)++] = (char)(0xC0 | cp >> 6);
        o[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*len)++] = (char)(0xE0 | cp >> 12);
        o[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[(*len)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*len)++] = (char)(0xF0 | cp >> 18);
        o[(*len)++] = (char)(0x80 | (cp >> 12 & 0x3F));
        o[(*len)++] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[(*len)++] = (char)(0x80 | (cp & 0x3F));
    }
}

/* The JSON escape at p (its backslash; end: where the text ends): the code
   point it stands for in *cp (a surrogate pair as one), and its length (2,
   6 or 12); 0 when JSON takes no such escape or it decodes to no valid
   Unicode (a lone surrogate). The one reading of escapes: the JSON reader
   and the router both decode with it. */
static inline int
json_escape(const char *p, const char *end, unsigned *cp)
{
    if (end - p < 2) return 0;
    switch (p[1]) {
    case '"': case '\\': case '/': *cp = (unsigned char)p[1]; return 2;
    case 'b': *cp = '\b'; return 2;
    case 'f': *cp = '\f'; return 2;
    case 'n': *cp = '\n'; return 2;
    case 'r': *cp = '\r'; return 2;
    case 't': *cp = '\t'; return 2;
    case 'u': break;
    default: return 0;
    }
    unsigned u, low;
    if (end - p < 6 || !hex4(p + 2, &u) || (u >= 0xDC00 && u <= 0xDFFF)) return 0;
    if (u < 0xD800 || u > 0xDBFF) {
        *cp = u;
        return 6;
    }
    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || !hex4(p + 8, &low) || low < 0xDC00
        || low > 0xDFFF)
        return 0; /* a high surrogate without its pair */
    *cp = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
    return 12;
}

/* JSON's white space: space, tab, line feed, carriage return. */
static inline int
json_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
const char *json_ws(const char *p, const char *end);
/* A JSON string at p (the opening quote): checked and decoded into *out.
   Returns the position after it, or NULL: not a string this contract takes
   (the line is deferred to Python, which explains). -2 in *err: memory. */
const char *json_string(jctx_t *j, const char *p, const char *end, jstr_t *out, int *err);
/* A JSON number at p. *isint: 1 integer literal (value in *iv when signed
   64-bit, *uv for 2^63..2^64-1: *big = 1), 0 fraction or exponent (finite
   value in *fv). Returns the position after it, or NULL: not a JSON number,
   outside [-2^63, 2^64-1], or not finite. */
const char *json_number(const char *p, const char *end, int *isint, int64_t *iv, uint64_t *uv,
                        int *big, double *fv, int *err);
/* Skip any JSON value at p (depth: nesting of the value's parent),
   applying every input limit. NULL defers; *err is set on a Python error. */
const char *json_skip(jctx_t *j, const char *p, const char *end, int depth, int *err);
/* The end of the object or array at p (after its closing bracket), found from
   its brackets and strings alone: nothing is checked, no limit applied. Only
   for a span that is read again whole, with every check, and must then end
   at the same place (scan.c: a payload before its event_type). NULL when the
   brackets do not close. */
const char *json_span(const char *p, const char *end);
/* Remember the unknown key k of object `obj`; 1 when it was already there. */
int json_dup_key(jctx_t *j, uint32_t obj, const jstr_t *k, int *err);

/* The keys of one object, for repeated-key detection: the first few are
   compared directly (no hashing for the small objects lines are made of);
   past KEYSET_SMALL they all go to the keyed table (json_dup_key). */
#define KEYSET_SMALL 8
typedef struct {
    uint32_t obj;
    int n;                     /* keys in k[]; -1 once they moved to the table */
    struct { uint32_t off, len; uint8_t in_scratch; } k[KEYSET_SMALL];
} keyset_t;

static inline void
keyset_begin(keyset_t *ks, uint32_t obj)
{
    ks->obj = obj;
    ks->n = 0;
}

/* Add key k of the object; 1 when the object already had it. */
int keyset_add(jctx_t *j, keyset_t *ks, const jstr_t *k, int *err);
void jctx_free(jctx_t *j);

/* ------------------------------------------------------------------ interned strings */

typedef struct {
    uint64_t hash;
    uint32_t off, len;
    uint32_t checked;          /* bit per field check that accepted this string */
} istr_t;

typedef struct {
    buf_t arena;
    istr_t *items;
    uint32_t n_items, cap_items;
    uint64_t *slots;           /* (index + 1) << 32 | low hash bits; 0 = empty */
    uint32_t n_slots;          /* power of two */
} intern_t;

/* ------------------------------------------------------------------ records */

enum rec_kind { RK_DEAD = 0, RK_EVENT, RK_LINK, RK_OTHER, RK_MALFORMED };

typedef struct {
    uint64_t lamport;
    int64_t instant;
    uint64_t ident;            /* what identical copies share (store.c's line_identity),
                                  or while lazy == LAZY_LINE the line's place */
    uint64_t where;            /* source << 48 | line number (or item index) */
    uint32_t conn;             /* interned partition key; NONE_U32: the stream-level group */
    uint8_t kind;              /* rec_kind */
    uint8_t etype;             /* index into spec.types (RK_EVENT) */
    uint8_t family;            /* RK_MALFORMED: the family whose payload failed */
    uint8_t eid_len;
    uint8_t health;            /* connector: health index + 1 (0: none); RK_MALFORMED:
                                  1 when its fact names a connector */
    uint8_t prev;              /* connector: previous_state index + 1 (0: none) */
    uint8_t broken;            /* bit r: semantic rule r of the event type broken */
    uint8_t lazy;              /* ident not made yet: LAZY_ITEM or LAZY_LINE */
    char eid[EID_MAX];
    union {
        struct {
            uint32_t ctype, provider, mission;
            int64_t recorded_at;
            double latency;
        } c;
        struct {
            uint64_t off;      /* delivery_id then fingerprint, in the blob */
            uint32_t dlen, flen;
            int64_t retry, max_retries, count;  /* count: ingested or replayed */
        } s;
        struct {
            uint64_t vals;     /* its fields' interned ids (NONE_U32: no string), in the
                                  type's field order, at store.link_vals + vals */
            int64_t recorded_at;
        } l;                   /* RK_LINK */
        PyObject *py;          /* RK_MALFORMED: the malformed fact */
    } u;
} rec_t;

#define WHERE(src, line) ((uint64_t)(src) << 48 | ((uint64_t)(line) & 0xFFFFFFFFFFFFULL))

/* A record's identity is made only when a copy of its event_id arrives:
   LAZY_ITEM, by object_ident() from the item scan_objects read; LAZY_LINE,
   from its line read again from its source's file (see reread_from), ident
   holding the line's place until then: offset << LINE_LEN_BITS | length. */
enum { LAZY_NONE = 0, LAZY_ITEM = 1, LAZY_LINE = 2 };
#define LINE_LEN_BITS 24
#define LINE_OFF_LIMIT ((uint64_t)1 << (64 - LINE_LEN_BITS))
#define LINE_LEN_LIMIT ((uint64_t)1 << LINE_LEN_BITS)

typedef struct {
    uint32_t rec;              /* index of the first copy kept */
    uint32_t copies;           /* 0: empty slot */
    uint32_t tag;              /* the event id's hash: places the slot */
    uint32_t conflicted;
} dslot_t;

typedef struct {
    intern_t strings;
    buf_t blob;                /* delivery ids and fingerprints */
    uint32_t *link_vals;       /* the links' field ids (rec_t.u.l) */
    size_t n_link_vals, cap_link_vals;
    rec_t *recs;
    size_t n_recs, cap_recs;
    /* Each partition's records sit in chunks of adjacent slots (1, 2, 4 ...
       up to CHUNK_MAX): bucket 0 is the stream-level group, c + 1 partition c. */
    uint32_t *bk_start;
    uint16_t *bk_cap, *bk_fill;
    size_t bk_n;
    dslot_t *dedup;
    size_t n_dedup, dedup_slots;
    size_t n_copies, n_conflicted; /* further copies seen; event ids marked conflicted */
    /* Every copy of an event id that has several, as (index of the first
       copy's record, its where, its line's place in its file: offset <<
       LINE_LEN_BITS | length, or UINT64_MAX): settle() tells Python where
       the copies of a conflicted id are, so it reads only those lines. */
    struct copy_at { uint64_t rec; uint64_t where; uint64_t at; } *copy_at;
    size_t n_copy_at, cap_copy_at;
    PyObject *settled_places;  /* settle(): {event_id: ((source, line), ...)}, or NULL */
    /* Link strings waiting to be interned (link_record). They are looked
       up together (store_flush_links) when LINK_QUEUE_MAX wait or their
       text passes LINK_QUEUE_TEXT bytes, and before a call that made
       records returns: a found string waits on three reads from memory one
       after another, which overlap across a batch of several lines. Each
       one's text is copied (a line's or an item's memory does not outlive
       it); its id goes to link_vals[at], NONE_U32 until then. */
    struct lqueued { uint64_t h; uint64_t at; size_t off; size_t n; field_t *field; } *lq;
    int n_lq;
    buf_t lq_text;
} store_t;

/* ------------------------------------------------------------------ the scanner */

/* What makes result models of one class: the class and the setters of its
   three pydantic slots (NULL: set through PyObject_GenericSetAttr), found
   once, as PyObject_GenericSetAttr would find them, for many models. */
typedef struct {
    PyTypeObject *cls;
    PyObject *slot[3];         /* fields set, extra, private */
} maker_t;


typedef struct {
    PyObject_HEAD
    spec_t spec;
    int loaded;
    hkey_t key;
    buf_t scratch;
    buf_t objtext;             /* the encoding of the object being compared */
    PyObject *items;           /* the list scan_objects reads (its records' idents are lazy) */
    PyObject *items_type;      /* and the Event class it was given */
    uint64_t items_where;      /* WHERE(source, first_line) of items[0] */
    jctx_t json;
    PyObject *link_fact;       /* callable(event_id, event_type, values) -> link fact:
                                  what probe() gives for a link */
    PyObject *link_event_id;   /* "event_id": the key of a link's event id in its data */
    PyObject *make_anomaly;    /* callable((kind, event_id, *params)) -> the anomaly's dict */
    PyObject *shared_kinds;    /* frozenset: kinds whose message is one per (kind, *params) */
    PyObject *messages;        /* {(kind, *params): message} of those kinds, MESSAGES_KEPT at most */
    PyObject *anomaly_key[3];  /* "kind", "event_id", "message": an anomaly dict's keys */
    store_t store;
    int folding;
    uint32_t *order;           /* record indexes grouped by partition */
    size_t *group_start;
    uint32_t *group_conn;
    size_t n_groups, next_group;
    struct sortent *ents;
    size_t ents_cap;
    maker_t deliveries;        /* the delivery model next_group makes, if asked */
    PyObject *placed;          /* start_fold(place=True): {event_id: (source, line)} of the
                                  events of the anomalies folded so far, else NULL */
    uint64_t unplaced;         /* and how many of those anomalies it could not place */
    /* Where the lines of each source can be read again from (reread_from):
       a file (fd, -1 none; the fds are Python's) or a callable read(offset,
       length) -> bytes | None (owned; NULL none); count: lines read again. */
    struct reread { int fd; uint64_t count; PyObject *read; } *rereads;
    int rereading;             /* a read callable is running: the scanner refuses every call */
    int probing;               /* probe_object() is reading an item: another call defers */
    int in_place;              /* an item is read in place: run no Python code (a pattern
                                  check), which another thread could use to change it */
    int python_wanted;         /* ... and a check needed Python code: read it again from
                                  private copies (scan_object) */
    size_t n_rereads;
    buf_t reread_buf;          /* a line read again */
    buf_t ident_buf;           /* a member of a line, written the one way (line_identity) */
    const char *put_line;      /* the text of the LAZY_LINE record being put, in its block */
    buf_t mapped;              /* the envelope lines map_cloudevents makes of a block */
} Scanner;

/* scan.c */
typedef struct {
    jstr_t str;                /* string value */
    int64_t i;                 /* integer or instant (microseconds) */
    double f;
    int is_null, present;
    uint32_t id;               /* interned id of a checked string, NONE_U32 */
    int idx;                   /* enum index */
    char norm[EID_MAX];        /* normalized event id / UUID hex */
    int norm_len;
} value_t;

typedef struct {
    int etype;                 /* -1: an event type the catalogue does not know */
    uint64_t lamport;
    int64_t instant;
    char eid[EID_MAX];
    int eid_len;
    uint32_t broken;
    int unknown;               /* an unknown envelope or payload field */
    int uuid_mismatch;
    int report;                /* REPORT_*: why a line returned as an event is reported */
    value_t env[MAX_FIELDS];
    value_t pay[MAX_FIELDS];
} parsed_t;

/* Why a line the core took (it keeps its record) is still reported as a
   problem, when the caller asks for that (reports): Python words the
   problem from this alone, without reading the line with the models. */
enum {
    REPORT_NONE = 0,
    REPORT_UNKNOWN_TYPE = 1, /* a valid envelope of an event type the catalogue does not know */
    REPORT_RULES = 2         /* a valid event that breaks the semantic rules in `broken` */
};

/* 1: a valid event in *out (with reports, also one to report: out->report);
   0: defer to Python; -1: a Python error. */
int scan_line(Scanner *self, const char *p, const char *end, parsed_t *out, int strict,
              int reports);
/* The index of the field named k (hint: where to look first), or -1. */
static inline int
find_field(const field_t *fields, int n, int hint, const char *k, Py_ssize_t kn)
{
    if (hint < n && fields[hint].name_len == kn && same(fields[hint].name, k, kn)) return hint;
    for (int i = 0; i < n; i++)
        if (fields[i].name_len == kn && same(fields[i].name, k, kn)) return i;
    return -1;
}

/* Mark every value absent. */
static inline void
clear_values(value_t *v, int n)
{
    for (int i = 0; i < n; i++) {
        v[i].present = 0;
        v[i].is_null = 0;
    }
}

/* Whether UTF-8 text fully matches contract/patterns.py's URL_PATTERN. */
int url_ok(const char *s, Py_ssize_t n);
/* url_check(value) -> value when it fully matches URL_PATTERN, else None. */
PyObject *url_check(PyObject *module, PyObject *value);
/* The checks of a string value v->str for field f (kind, bounds, pattern),
   filling v's normalized forms: 1 taken, 0 defer, -1 a Python error. */
int check_string(Scanner *self, field_t *f, value_t *v);
/* The checks that need every field of an event of type t (required fields,
   semantic rules), then the event's identity and order in *out: 1 or 0. */
int finish_event(Scanner *self, parsed_t *out, int t, uint64_t pseen, int strict, int reports);
/* Days from 1970-01-01 to the proleptic Gregorian date y-m-d. */
int64_t days_from_civil(int64_t y, int m, int d);
/* The proleptic Gregorian date days after 1970-01-01 (days_from_civil's inverse). */
void civil_from_days(int64_t days, int *y, int *m, int *d);
/* The UTC instant of an RFC 3339 date-time in microseconds; 0 when not one. */
int datetime_us(const char *s, Py_ssize_t n, int64_t *out);
int normalize_event_id(const spec_t *spec, const char *s, Py_ssize_t n, char out[EID_MAX]);

/* store.c */
uint32_t intern_add(intern_t *t, const hkey_t *key, const char *p, size_t n, int add);
PyObject *intern_str(const intern_t *t, uint32_t id);
void intern_free(intern_t *t);
uint32_t eid_tag(const hkey_t *key, const char *eid, size_t n);
int store_put(Scanner *self, rec_t *tmp, int dedup, uint32_t tag);
/* What identical copies of a line share (*ident): its top-level members'
   keyed hashes summed, white space and the event_id's spelling left out
   (store.c). 0, or -1 with MemoryError set. */
int line_identity(Scanner *self, const char *text, size_t len, uint64_t *ident);
/* A kept record waiting to be put while the next item is read, so that the
   memory its put touches (a dedup slot, a record slot) arrives meanwhile. */
typedef struct {
    rec_t rec;
    uint32_t tag;
    int full;
    const char *line;          /* a LAZY_LINE record's text, alive until it is put */
} pending_t;
/* Put the record waiting in *p, if any, then make *r (deduplicated by tag)
   wait in its place, its slots prefetched; r NULL: only put. line: the
   text of r when it is LAZY_LINE (its block outlives the wait), else NULL.
   0, or -1 with both records released. */
int store_put_later(Scanner *self, pending_t *p, rec_t *r, uint32_t tag, const char *line);
/* Release a waiting record (on an error). */
void store_drop_pending(pending_t *p);
int record_from_line(Scanner *self, parsed_t *pl, uint64_t ident, uint64_t where, rec_t *r);
/* Room for n more link field ids at store.link_vals + *at: 0, or -1 (MemoryError). */
int link_vals_add(store_t *s, int n, uint64_t *at);
#define LINK_QUEUE_MAX 64
#define LINK_QUEUE_TEXT 65536 /* bytes of queued text past which it is flushed */
/* Intern the link strings link_record queued and write their ids: 0, or -1
   (MemoryError; the ids not written stay NONE_U32, which the fold refuses).
   Every entry point that makes records calls it before it returns, so no
   record waits when Python holds the scanner again (after an error, the
   records put may stay unresolved: the caller drops the scanner). */
int store_flush_links(Scanner *self);
void store_free(store_t *s);
int store_reserve(Scanner *self, size_t events);
PyObject *store_settle(Scanner *self);
/* What settle() found of the copies of each event id it returned:
   {event_id: ((source, line, offset, length), ...)} (offset and length -1
   when not known), once; None before settle(). */
PyObject *store_copy_places(Scanner *self);
/* {event_id: (source, line)} of the wanted ids (a list of str) among the kept records. */
PyObject *store_locate(Scanner *self, PyObject *eids);

/* objects.c */
int objects_init(void);
/* instances(cls, dicts) -> tuple of models made from the dicts without validation. */
PyObject *instances(PyObject *module, PyObject *args);
int maker_init(maker_t *m, PyTypeObject *cls);
void maker_clear(maker_t *m);
/* A model of m's class whose instance dictionary is d itself. keys: NULL,
   or a set of exactly d's keys that the caller vouches for, copied as the
   fields set (a set copies faster than a dict's keys), and then also that
   d's values are leaves (see objects.c), so the model is untracked without
   looking. */
PyObject *maker_make(const maker_t *m, PyObject *d, PyObject *keys);
/* An instant in microseconds as its UTC date, second of the day and microsecond. */
void split_instant(int64_t us, int *y, int *m, int *d, int *sod, int *micro);
/* The aware UTC datetime of an instant in microseconds since the epoch. */
PyObject *utc_datetime(int64_t us);
/* Stop the cyclic collector tracking tuple t if all its items are leaves
   (untracked objects or enum members): it can be part of no cycle. */
void untrack_leaf_tuple(PyObject *t);
/* A mapping or an Event (event_type: the Event class, or None) read and
   checked like a line, without JSON text: 1 a valid event in *out, 0 defer
   (Python decides it), -1 an error. With reports, an item of an unknown event
   type or one that breaks a semantic rule is taken, as a line with reports
   is. *held receives what the caller keeps (then releases) until it is done
   with *out, which holds the strings read in place. An item is read in
   place, and read again from private copies (*held) when a pattern check
   needs Python code, during which another thread could change or free what
   is being read. *enc receives a binary encoding of
   everything read, which identical items share (their identity). */
int scan_object(Scanner *self, PyObject *item, PyObject *event_type, int reports, parsed_t *out,
                buf_t *enc, PyObject **held);
/* Reading a list of items ahead of scan_object (objects.c): call ahead_step
   before reading items[index] (index < stop) and ahead_clear when done.
   Zero-initialized before use. */
#define AHEAD_SLOTS 8
typedef struct {
    PyObject *members; /* the item's dict (held) */
    PyObject *inner;   /* its first dict value, the payload (held) */
} ahead_slot_t;
typedef struct {
    ahead_slot_t slots[AHEAD_SLOTS];
} ahead_t;
void ahead_step(ahead_t *a, PyObject *items, PyObject *event_type, Py_ssize_t index,
                Py_ssize_t stop);
void ahead_clear(ahead_t *a);
/* The identity of record r, kept by scan_objects from self->items without
   one: its item read again with its encoding. 1 (*ident set), 0 none (the
   item is gone or no longer reads as that event: the copies are then settled
   exactly, in Python), -1 an error. */
int object_ident(Scanner *self, const rec_t *r, uint64_t *ident);

/* route.c */
int route_init(void);
/* route_block(block, partitions, shift, max_line, names, types, slow, stage,
   fill, flush, routing, ids): the partitions of a block's lines
   (scale/routing.py). */
PyObject *route_block(PyObject *module, PyObject *args);
/* key_ties(packed check values): the partitions tied by a shared key. */
PyObject *key_ties(PyObject *module, PyObject *arg);
/* lines_naming(block, keys) -> (lines, [(index, line), ...]): the lines of a
   block that may name an event id whose key is in keys (a frozenset of
   bytes), as scale/_engine_calls.py's may_name tells. */
PyObject *lines_naming(PyObject *module, PyObject *args);
/* lines_keyed(block, names, types, wanted) -> (lines, [(index, start, line), ...]): the
   lines of a block that may hold a wanted check key (scale/untangle.py). */
PyObject *lines_keyed(PyObject *module, PyObject *args);
/* byte_positions(data, byte, counts) -> [index, ...]: where the k-th occurrences
   of a byte are (scale/plan.py). */
PyObject *byte_positions(PyObject *module, PyObject *args);

/* cloudevents.c */
enum { CE_EQUAL, CE_STRING, CE_RAW, CE_INTEGER, CE_TYPE, CE_SOURCE, CE_JSON_MEDIA };
#define CE_MAX_ROWS 32
typedef struct {
    const char *s;
    Py_ssize_t n;
} ce_span_t;
typedef struct {
    ce_span_t name;            /* the attribute */
    int kind, required;
    ce_span_t field[2];        /* the envelope fields it fills */
    ce_span_t arg[2];          /* what its kind checks against */
} ce_row_t;
typedef struct {
    ce_row_t rows[CE_MAX_ROWS];
    int n;
    size_t extra;              /* bytes a mapped line may add to its line */
} ce_plan_t;
/* The rows of a plan tuple (interop/_attributes.py compiled_plan); -1 on error. */
int ce_plan_read(PyObject *plan, ce_plan_t *out);
/* Append the envelope line (with its \n) of the CloudEvent p..end to out:
   1 mapped, 0 declined (Python maps it), -1 a Python error. */
int ce_map_line(Scanner *self, const ce_plan_t *plan, const char *p, const char *end, buf_t *out);

/* listing.c */
int listing_init(void);
/* fold.c: what next_group hands over a link index's JSON as (read-only
   bytes through the buffer protocol, not copied). */
extern PyTypeObject TextType;

/* located_lines(groups, places, sources, ranks, reported, root_causes[, chunk]) -> [str]:
   cli/render.py's listing of located anomalies (render.replay_located_lines),
   or with chunk > 0 its lines joined, chunk lines a str (None: a line holds a newline). */
PyObject *located_lines(PyObject *module, PyObject *args);

/* fold.c */
PyObject *fold_start(Scanner *self);
/* link_indent >= 0: the link index as JSON (fold.c: fold_stream). */
PyObject *fold_next(Scanner *self, int keep_logs, long long max_cycles, int families,
                    PyObject *delivery_model, int link_indent);
void fold_free(Scanner *self);

#endif
