/*
 * route.c: the partition of every line of a block (scale/routing.py).
 *
 * A partitioned replay sends each line to the partition the fold groups it
 * with. This file does that for the usual line without making a Python
 * object per line: it reads just the members routing needs (the event id,
 * the event type, and a few payload members) and skips everything else.
 *
 * It decides a line only when reading it is unambiguous: a JSON object
 * whose relevant members are plain strings (no escapes), named by keys
 * without escapes, each present once. Any other line is handed to the
 * Python router (`slow`), which reads it with msgspec. So for every line
 * the two could both read, they read the same members, and the partition
 * and check keys are the same (tests/scale/test_routing_agreement.py).
 * Skipping is lenient: a line that is not JSON may be routed by the members
 * it seems to have. That never changes a replay: such a line is no event,
 * and it is reported from whichever partition it lands in.
 *
 * Names (the envelope's and the payload's members) and the event types'
 * routing (by connector or by external key) come from Python: nothing here
 * names a contract field.
 */
#include "csc.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define RT_BY_CONNECTOR 0
#define RT_BY_EXTERNAL_KEY 1
#define RT_TOO_LONG 0xFF
#define RT_HIGH (~(uint64_t)0xFFFF)
#define RT_MAX_TYPES 64
#define RT_TOP 3   /* event id, event type, payload */
#define RT_PAY 5   /* connector id, provider, ref type, ref id, link id */

typedef struct {
    const char *s;
    Py_ssize_t n;
    int str;       /* 1: a JSON string without escapes; 0: any other value */
    int esc;       /* 1: a JSON string with an escape (s, n: its raw bytes) */
} rval_t;

typedef struct {
    const char *name[RT_TOP + RT_PAY];
    Py_ssize_t len[RT_TOP + RT_PAY];
    int n_types;
    const char *type[RT_MAX_TYPES];
    Py_ssize_t type_len[RT_MAX_TYPES];
    int route[RT_MAX_TYPES];
    int partitions, shift;
    int connectors, link_first, links;  /* routing.partition_spaces(partitions) */
} rctx_t;

typedef struct {
    Py_ssize_t start, len;     /* the line in the block, without its \n */
    uint8_t part, n_keys;
    uint64_t key[2];
} rline_t;

/* ------------------------------------------------------------------ CRC-32 (zlib's) */

static uint32_t crc_table[256];

static void
crc_init(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
}

/* zlib.crc32(data, crc): chained calls equal one call over the joined data. */
static uint32_t
crc32_of(uint32_t crc, const char *p, Py_ssize_t n)
{
    crc = ~crc;
    for (Py_ssize_t i = 0; i < n; i++) crc = crc_table[(crc ^ (uint8_t)p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* zlib.crc32(data[::-1]) */
static uint32_t
crc32_reversed(const char *p, Py_ssize_t n)
{
    uint32_t crc = ~(uint32_t)0;
    for (Py_ssize_t i = n; i-- > 0;) crc = crc_table[(crc ^ (uint8_t)p[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

/* ------------------------------------------------------------------ lenient reading */

static inline const char *
ws(const char *p, const char *end)
{
    while (p < end && json_is_ws(*p)) p++;
    return p;
}

/* The string at p (its opening quote): *out holds its raw bytes, and
   whether it had an escape. NULL when it does not end. Strings here are
   short, so a plain loop beats two memchr calls. */
static const char *
rstring(const char *p, const char *end, rval_t *out)
{
    const char *s = ++p;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)p);
        int hit = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
        if (hit) {
            p += __builtin_ctz((unsigned)hit);
            break;
        }
        p += 16;
    }
#endif
    while (p < end && *p != '"' && *p != '\\') p++;
    if (p < end && *p == '"') {
        out->s = s;
        out->n = p - s;
        out->str = 1;
        out->esc = 0;
        return p + 1;
    }
    while (p < end) {
        if (*p == '\\') {
            if (end - p < 2) return NULL;
            p += 2;
        } else if (*p == '"') {
            out->s = s;
            out->n = p - s;
            out->str = 0;
            out->esc = 1;
            return p + 1;
        } else {
            p++;
        }
    }
    return NULL;
}

/* Skip the value at p (not whitespace); NULL when it does not end. */
static const char *
rskip(const char *p, const char *end)
{
    rval_t t;
    if (*p == '"') return rstring(p, end, &t);
    if (*p == '{' || *p == '[') {
        Py_ssize_t depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') {
                p = rstring(p, end, &t);
                if (!p) return NULL;
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) return p + 1;
            }
            p++;
        }
        return NULL;
    }
    const char *s = p;
    while (p < end && *p != ',' && *p != '}' && *p != ']' && !json_is_ws(*p)) p++;
    return p == s ? NULL : p;
}

/* Returned by rpayload when every member it was told to stop after is read. */
static const char RSTOP[1];

/* The key and value separator after a member name, then the value's start. */
static inline const char *
rcolon(const char *p, const char *end)
{
    p = ws(p, end);
    if (p >= end || *p != ':') return NULL;
    p = ws(p + 1, end);
    return p < end ? p : NULL;
}

/* After a member's value: the next member's name, or the object's end (*closed). */
static inline const char *
rnext(const char *p, const char *end, int *closed)
{
    p = ws(p, end);
    if (p >= end) return NULL;
    if (*p == '}') {
        *closed = 1;
        return p + 1;
    }
    if (*p != ',') return NULL;
    p = ws(p + 1, end);
    return p < end && *p == '"' ? p : NULL;
}

/* The index of name k among names[0..n), or -1. */
static inline int
rfind(const char *const *names, const Py_ssize_t *lens, int n, const rval_t *k)
{
    for (int i = 0; i < n; i++)
        if (lens[i] == k->n && same(names[i], k->s, k->n)) return i;
    return -1;
}

/* A wanted member's value at p: a plain string, or any other value (str 0). */
static inline const char *
rvalue(const char *p, const char *end, rval_t *v)
{
    if (*p == '"') return rstring(p, end, v);
    v->str = v->esc = 0;
    return rskip(p, end);
}

/* The payload object at p ('{'): the wanted members in pay[i] (bit i of
   *seen). Returns its end; RSTOP as soon as every member in `stop` (a
   mask; 0: none) is read; NULL when it does not read as an object, a key
   has an escape, or a wanted key comes twice. */
static const char *
rpayload(const rctx_t *c, const char *p, const char *end, rval_t *pay, uint32_t *seen,
         uint32_t stop)
{
    int closed = 0;
    p = ws(p + 1, end);
    if (p < end && *p == '}') return p + 1;
    if (p >= end || *p != '"') return NULL;
    while (!closed) {
        rval_t k;
        p = rstring(p, end, &k);
        if (!p || !k.str || !(p = rcolon(p, end))) return NULL;
        int which = rfind(c->name + RT_TOP, c->len + RT_TOP, RT_PAY, &k);
        if (which >= 0) {
            if (*seen & (1u << which)) return NULL;
            *seen |= 1u << which;
            p = rvalue(p, end, &pay[which]);
            if (p && stop && (*seen & stop) == stop) return RSTOP;
        } else {
            p = rskip(p, end);
        }
        if (!p || !(p = rnext(p, end, &closed))) return NULL;
    }
    return p;
}

/* *crc moved on over the string v as JSON decodes it (its UTF-8 bytes, as
   Python's crc32 of the str encoded sees them): 1, or 0 when v is no
   string or has an escape json_escape refuses (Python decides). */
static int
crc32_string(uint32_t *crc, const rval_t *v)
{
    if (v->str) {
        *crc = crc32_of(*crc, v->s, v->n);
        return 1;
    }
    if (!v->esc) return 0;
    const char *r = v->s, *end = v->s + v->n;
    uint32_t c = *crc;
    while (r < end) {
        const char *run = memchr(r, '\\', (size_t)(end - r));
        if (!run) run = end;
        c = crc32_of(c, r, run - r);
        if (run == end) break;
        unsigned cp;
        int n = json_escape(run, end, &cp);
        if (!n) return 0;
        char utf8[4];
        size_t len = 0;
        put_utf8(utf8, &len, cp);
        c = crc32_of(c, utf8, (Py_ssize_t)len);
        r = run + n;
    }
    *crc = c;
    return 1;
}

/* int(s.replace("-", ""), 36) modulo 2**64, masked to the check key's bits:
   0 when s has another character or no digit (Python decides). */
static int
id_key(const char *s, Py_ssize_t n, uint64_t *key)
{
    uint64_t v = 0;
    int digits = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'z') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'Z') d = c - 'A' + 10;
        else if (c == '-') continue;
        else return 0;
        v = v * 36u + d;   /* unsigned: wraps modulo 2**64, as the mask wants */
        digits = 1;
    }
    *key = v & RT_HIGH;
    return digits;
}

/* How an event type is routed: RT_BY_CONNECTOR, RT_BY_EXTERNAL_KEY, or -1. */
static int
type_route(const rctx_t *c, const rval_t *t)
{
    if (!t->str) return -1;
    for (int i = 0; i < c->n_types; i++)
        if (c->type_len[i] == t->n && same(c->type[i], t->s, t->n)) return c->route[i];
    return -1;
}

/* The partition and check keys of one line: 1 decided, 0 for Python.

   Members are read until the three envelope members are found, and the
   payload until what its event type is routed by is found (when the event
   id and type come before it): what follows is not read. A routing member
   with escapes is decoded here; an event id or link_id with one is left to
   Python. */
static int
route_line(const rctx_t *c, const char *p, const char *end, rline_t *out)
{
    rval_t top[RT_TOP], pay[RT_PAY];
    uint32_t seen = 0, pseen = 0;
    int route = -1, closed = 0;
    p = ws(p, end);
    if (p >= end || *p != '{') return 0;
    p = ws(p + 1, end);
    if (p >= end || *p != '"') return 0;
    while (seen != 7) {
        rval_t k;
        p = rstring(p, end, &k);
        if (!p || !k.str || !(p = rcolon(p, end))) return 0;
        int which = rfind(c->name, c->len, RT_TOP, &k);
        if (which < 0) {
            p = rskip(p, end);
        } else if (seen & (1u << which)) {
            return 0;
        } else if (which == 2) {
            if (*p != '{') return 0;
            /* The payload's routing members end the reading only when the
               event id was read before: else it is read to its end. */
            uint32_t stop = 0;
            if (seen & 1)
                stop = route == RT_BY_CONNECTOR ? 0x1 : route == RT_BY_EXTERNAL_KEY ? 0x1E : 0;
            p = rpayload(c, p, end, pay, &pseen, stop);
            if (p == RSTOP) {
                seen = 7;
                break;
            }
        } else {
            p = rvalue(p, end, &top[which]);
            if (which == 1) route = type_route(c, &top[1]);
        }
        if (which >= 0) seen |= 1u << which;
        if (seen == 7) break;
        if (!p || !(p = rnext(p, end, &closed)) || closed) return 0;
    }
    if (!p || route < 0 || !top[0].str) return 0;
    uint64_t key;
    if (!id_key(top[0].s, top[0].n, &key)) return 0;
    uint32_t crc = 0;
    out->n_keys = 0;
    if (route == RT_BY_CONNECTOR) {
        /* An empty connector_id (a plain string of no bytes) is Python's. */
        if (!(pseen & 1) || (pay[0].str && pay[0].n == 0) || !crc32_string(&crc, &pay[0]))
            return 0;
    } else {
        /* crc32 of "provider\0ref_type\0ref_id" */
        for (int i = 1; i <= 3; i++) {
            if (!(pseen & (1u << i))) return 0;
            if (i > 1) crc = crc32_of(crc, "", 1);
            if (!crc32_string(&crc, &pay[i])) return 0;
        }
        if (pseen & (1u << 4)) {
            if (!pay[4].str) {
                /* A link_id that is not a plain string: Python reads it
                   (an escaped one has a key, any other value none). */
                return 0;
            }
            uint64_t link = (uint64_t)crc32_of(0, pay[4].s, pay[4].n) << 32
                            | crc32_reversed(pay[4].s, pay[4].n);
            out->key[out->n_keys++] = link & RT_HIGH;
        }
    }
    out->part = route == RT_BY_CONNECTOR
                    ? (uint8_t)(crc % (uint32_t)c->connectors)
                    : (uint8_t)(c->link_first + crc % (uint32_t)c->links);
    out->key[out->n_keys++] = key;
    return 1;
}

/* The Python router's answer for one line: (partition, keys). */
static int
route_slow(PyObject *slow, const char *p, Py_ssize_t n, int partitions, rline_t *out)
{
    PyObject *res = PyObject_CallFunction(slow, "y#", p, n);
    if (!res) return -1;
    long part;
    PyObject *keys;
    if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2
        || !PyList_Check(keys = PyTuple_GET_ITEM(res, 1)) || PyList_GET_SIZE(keys) > 2) {
        Py_DECREF(res);
        PyErr_SetString(PyExc_TypeError, "the slow router must return (partition, [up to 2 keys])");
        return -1;
    }
    part = PyLong_AsLong(PyTuple_GET_ITEM(res, 0));
    if (part == -1 && PyErr_Occurred()) goto fail;
    if (part < 0 || part >= partitions) {
        PyErr_Format(PyExc_ValueError, "the slow router gave partition %ld of %d", part, partitions);
        goto fail;
    }
    out->part = (uint8_t)part;
    out->n_keys = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(keys); i++) {
        uint64_t k = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(keys, i));
        if (k == (uint64_t)-1 && PyErr_Occurred()) goto fail;
        out->key[out->n_keys++] = k & RT_HIGH;
    }
    Py_DECREF(res);
    return 0;
fail:
    Py_DECREF(res);
    return -1;
}

/* Room for `more` bytes at the end of a bytearray (*at). Its allocation at
   least doubles when it grows (a bytearray shrunk by less than half keeps
   its allocation), so appending n bytes in pieces copies O(n) bytes. */
static int
grow(PyObject *bytearray, Py_ssize_t more, char **at)
{
    Py_ssize_t have = PyByteArray_GET_SIZE(bytearray);
    if (more > PY_SSIZE_T_MAX / 2 - have) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t want = have + more;
    if (have && want > have + have / 8) {
        if (PyByteArray_Resize(bytearray, 2 * want) < 0) return -1;
    }
    if (PyByteArray_Resize(bytearray, want) < 0) return -1;
    *at = PyByteArray_AS_STRING(bytearray) + have;
    return 0;
}

static int
load_names(rctx_t *c, PyObject *names)
{
    if (!PyTuple_Check(names) || PyTuple_GET_SIZE(names) != RT_TOP + RT_PAY) {
        PyErr_SetString(PyExc_ValueError, "names: a tuple of 3 envelope and 5 payload names");
        return -1;
    }
    for (int i = 0; i < RT_TOP + RT_PAY; i++) {
        PyObject *name = PyTuple_GET_ITEM(names, i);
        if (!PyBytes_Check(name)) {
            PyErr_SetString(PyExc_TypeError, "names: bytes");
            return -1;
        }
        c->name[i] = PyBytes_AS_STRING(name);
        c->len[i] = PyBytes_GET_SIZE(name);
    }
    return 0;
}

static int
load_types(rctx_t *c, PyObject *types)
{
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    c->n_types = 0;
    while (PyDict_Next(types, &pos, &k, &v)) {
        if (c->n_types == RT_MAX_TYPES) break;  /* the rest go to Python */
        long route = PyLong_Check(v) ? PyLong_AsLong(v) : -1;
        if (!PyBytes_Check(k) || (route != RT_BY_CONNECTOR && route != RT_BY_EXTERNAL_KEY)) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "types: {bytes: 0 (by connector) or 1 (by key)}");
            return -1;
        }
        c->type[c->n_types] = PyBytes_AS_STRING(k);
        c->type_len[c->n_types] = PyBytes_GET_SIZE(k);
        c->route[c->n_types++] = (int)route;
    }
    return 0;
}

#define RT_CHUNK 16384

/* Where routed lines go: partition p's bytes are staged in
   stage[p * cap, p * cap + fill[p]) and handed to flush(p, view) when the
   stage is full. flush must write or copy the view before it returns: the
   view is released then. */
typedef struct {
    char *stage;
    int64_t *fill;
    Py_ssize_t cap;
    PyObject *flush;
} rsink_t;

static int
sink_call(rsink_t *k, int p, const char *data, Py_ssize_t n)
{
    PyObject *view = PyMemoryView_FromMemory((char *)data, n, PyBUF_READ);
    if (!view) return -1;
    PyObject *res = PyObject_CallFunction(k->flush, "iO", p, view);
    /* The view is released whatever flush did; an error flush raised stays the
       error (a call with an exception set would be a SystemError). */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *raised = PyErr_GetRaisedException();
#else
    PyObject *type, *raised, *trace;
    PyErr_Fetch(&type, &raised, &trace);
#endif
    PyObject *done = PyObject_CallMethod(view, "release", NULL);
    if (!res) {  /* flush raised: its error is the one to report */
        Py_CLEAR(done);
        PyErr_Clear();
#if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(raised);
#else
        PyErr_Restore(type, raised, trace);
#endif
    }
    Py_DECREF(view);
    if (!res || !done) {
        Py_XDECREF(res);
        Py_XDECREF(done);
        return -1;
    }
    Py_DECREF(res);
    Py_DECREF(done);
    return 0;
}

/* Stage one line (and its \n) for partition p, flushing as needed. */
static int
sink_line(rsink_t *k, int p, const char *line, Py_ssize_t n)
{
    char *stage = k->stage + (Py_ssize_t)p * k->cap;
    if (k->fill[p] + n + 1 > k->cap) {
        if (k->fill[p] && sink_call(k, p, stage, (Py_ssize_t)k->fill[p]) < 0) return -1;
        k->fill[p] = 0;
        if (n + 1 > k->cap)  /* longer than a stage: handed over as it is */
            return sink_call(k, p, line, n) < 0 ? -1 : sink_call(k, p, "\n", 1);
    }
    memcpy(stage + k->fill[p], line, (size_t)n);
    stage[k->fill[p] + n] = '\n';
    k->fill[p] += n + 1;
    return 0;
}

/* Append lines ls[0..n) of the block: their bytes to their partitions'
   stages, their partitions to the routing map, their keys to their buckets. */
static int
append_lines(const rctx_t *c, const char *data, const rline_t *ls, size_t n, rsink_t *sink,
             PyObject *routing, PyObject *ids, Py_ssize_t n_buckets, Py_ssize_t *line_bytes)
{
    char *rmap, **bat = NULL;
    Py_ssize_t *bucket_n = PyMem_Calloc((size_t)n_buckets, sizeof(Py_ssize_t));
    int ok = -1;
    bat = PyMem_Calloc((size_t)n_buckets, sizeof(char *));
    if (!bucket_n || !bat) {
        PyErr_NoMemory();
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < ls[i].n_keys; k++)
            bucket_n[c->shift == 64 ? 0 : ls[i].key[k] >> c->shift]++;
    for (Py_ssize_t b = 0; b < n_buckets; b++)
        if (bucket_n[b] && grow(PyTuple_GET_ITEM(ids, b), bucket_n[b] * 8, &bat[b]) < 0) goto done;
    if (grow(routing, (Py_ssize_t)n, &rmap) < 0) goto done;
    for (size_t i = 0; i < n; i++) {
        const rline_t *r = &ls[i];
        rmap[i] = (char)r->part;
        if (r->part == RT_TOO_LONG) continue;
        for (int k = 0; k < r->n_keys; k++) {
            uint64_t v = r->key[k] | r->part;
            Py_ssize_t b = c->shift == 64 ? 0 : (Py_ssize_t)(r->key[k] >> c->shift);
            memcpy(bat[b], &v, 8);
            bat[b] += 8;
        }
    }
    /* The map and keys are complete; lines go out last, as flush may fail. */
    for (size_t i = 0; i < n; i++) {
        const rline_t *r = &ls[i];
        if (r->part == RT_TOO_LONG) continue;
        if (sink_line(sink, r->part, data + r->start, r->len) < 0) goto done;
        *line_bytes += r->len + 1;
    }
    ok = 0;
done:
    PyMem_Free(bucket_n);
    PyMem_Free(bat);
    return ok;
}

/* route_block(block, partitions, (connectors, link_first, links), shift,
   max_line, names, types, slow, stage, fill, flush, routing, ids) ->
   (lines, line bytes): see scale/routing.py. A connector's line goes to
   one of partitions 0..connectors-1, a link to one of the links from
   link_first (routing.partition_spaces).
   A line is a run of bytes ended by \n or by the block's end; a last empty
   run is no line. stage: a writable buffer of partitions * cap bytes; fill:
   a writable buffer of one int64 per partition (bytes staged). When slow or
   flush raises, the lines before it may have been taken. */
PyObject *
route_block(PyObject *module, PyObject *args)
{
    Py_buffer block, stage = {0}, fill = {0};
    int partitions, shift;
    Py_ssize_t max_line, line_bytes = 0;
    PyObject *names, *types_in, *slow, *stage_obj, *fill_obj, *flush, *routing, *ids_in;
    PyObject *types = NULL, *ids = NULL, *result = NULL;
    rctx_t c;
    rsink_t sink;
    int64_t fills[RT_TOO_LONG];
    int filling = 0;
    rline_t *ls = NULL;
    size_t n = 0, total = 0;
    if (!PyArg_ParseTuple(args, "y*i(iii)inO!O!OOOOO!O!", &block, &partitions, &c.connectors,
                          &c.link_first, &c.links, &shift, &max_line, &PyTuple_Type, &names,
                          &PyDict_Type, &types_in, &slow, &stage_obj, &fill_obj, &flush,
                          &PyByteArray_Type, &routing, &PyList_Type, &ids_in))
        return NULL;
    /* At most 2**20 key buckets, so 64 - 20 <= shift <= 64. */
    Py_ssize_t n_buckets = shift >= 44 && shift <= 64 ? (Py_ssize_t)1 << (64 - shift) : 0;
    if (partitions < 1 || partitions > RT_TOO_LONG || c.connectors < 1 || c.connectors > partitions
        || c.links < 1 || c.link_first < 0 || c.link_first > partitions - c.links || !n_buckets
        || PyList_GET_SIZE(ids_in) != n_buckets || max_line < 0) {
        PyErr_SetString(PyExc_ValueError,
                        "route_block: partitions, their spaces, shift or ids out of range");
        goto done;
    }
    if (PyObject_GetBuffer(stage_obj, &stage, PyBUF_WRITABLE) < 0) goto done;
    if (PyObject_GetBuffer(fill_obj, &fill, PyBUF_WRITABLE) < 0) goto done;
    if (fill.len != (Py_ssize_t)sizeof(int64_t) * partitions || stage.len % partitions
        || stage.len / partitions < 1) {
        PyErr_SetString(PyExc_ValueError, "route_block: stage or fill does not fit the partitions");
        goto done;
    }
    /* The fill levels are kept here while routing (what flush does to the
       caller's array cannot move a write) and handed back at the end. */
    sink.stage = stage.buf;
    memcpy(fills, fill.buf, (size_t)fill.len);
    sink.fill = fills;
    sink.cap = stage.len / partitions;
    sink.flush = flush;
    for (int p = 0; p < partitions; p++)
        if (sink.fill[p] < 0 || sink.fill[p] > sink.cap) {
            PyErr_SetString(PyExc_ValueError, "route_block: a fill level outside its stage");
            goto done;
        }
    filling = 1;
    c.partitions = partitions;
    c.shift = shift;
    /* Own copies: slow may learn new types, and nothing it does moves what
       this call reads. */
    types = PyDict_Copy(types_in);
    ids = PyList_AsTuple(ids_in);
    if (!types || !ids || load_names(&c, names) < 0 || load_types(&c, types) < 0) goto done;
    for (Py_ssize_t i = 0; i < n_buckets; i++)
        if (!PyByteArray_Check(PyTuple_GET_ITEM(ids, i))) {
            PyErr_SetString(PyExc_TypeError, "route_block: ids is a list of bytearray");
            goto done;
        }
    ls = PyMem_Malloc(RT_CHUNK * sizeof(rline_t));
    if (!ls) {
        PyErr_NoMemory();
        goto done;
    }
    const char *data = block.buf, *end = data + block.len;
    for (const char *p = data; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        rline_t *r = &ls[n];
        r->start = p - data;
        r->len = stop - p;
        Py_ssize_t content = r->len - (r->len && stop[-1] == '\r');
        if (content > max_line) {
            r->part = RT_TOO_LONG;
            r->n_keys = 0;
        } else if (!route_line(&c, p, stop, r)) {
            if (route_slow(slow, p, r->len, partitions, r) < 0) goto done;
        }
        p = nl ? nl + 1 : end;
        if (++n == RT_CHUNK || p == end) {
            if (append_lines(&c, data, ls, n, &sink, routing, ids, n_buckets, &line_bytes) < 0)
                goto done;
            total += n;
            n = 0;
        }
    }
    result = Py_BuildValue("(nn)", (Py_ssize_t)total, line_bytes);
done:
    if (filling) memcpy(fill.buf, fills, (size_t)fill.len);
    Py_XDECREF(types);
    Py_XDECREF(ids);
    PyMem_Free(ls);
    if (stage.obj) PyBuffer_Release(&stage);
    if (fill.obj) PyBuffer_Release(&fill);
    PyBuffer_Release(&block);
    return result;
}

/* Sort v[0..n) ascending, least significant byte first, with tmp[0..n) as
   room. A byte that every value shares (the bucket's top bits, most of the
   partition bits) costs no pass. No Python object is touched: callable
   without the GIL. */
static void
radix_sort_u64(uint64_t *v, uint64_t *tmp, size_t n)
{
    static const int digits = 8;
    size_t count[8][256];
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++)
        for (int d = 0; d < digits; d++) count[d][(v[i] >> (8 * d)) & 0xFF]++;
    uint64_t *src = v, *dst = tmp;
    for (int d = 0; d < digits; d++) {
        if (count[d][(src[0] >> (8 * d)) & 0xFF] == n) continue;  /* one digit for all */
        size_t at = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[d][b];
            count[d][b] = at;
            at += c;
        }
        for (size_t i = 0; i < n; i++) dst[count[d][(src[i] >> (8 * d)) & 0xFF]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v) memcpy(v, src, n * 8);
}

/* The packed 64-bit values of in, sorted ascending, in a new array with room
   for as many again (PyMem_RawFree it); *n: how many. NULL with an error set:
   in is not a whole number of values (who names the function), or no memory. */
static uint64_t *
sorted_values(const Py_buffer *in, const char *who, size_t *n)
{
    *n = (size_t)in->len / 8;
    if ((size_t)in->len % 8) {
        PyErr_Format(PyExc_ValueError, "%s: a whole number of 64-bit values", who);
        return NULL;
    }
    if (*n > PY_SSIZE_T_MAX / 16) {
        PyErr_NoMemory();
        return NULL;
    }
    uint64_t *v = PyMem_RawMalloc(*n ? 2 * *n * 8 : 1);
    if (!v) {
        PyErr_NoMemory();
        return NULL;
    }
    size_t count = *n;
    Py_BEGIN_ALLOW_THREADS
    memcpy(v, in->buf, count * 8);
    if (count) radix_sort_u64(v, v + count, count);
    Py_END_ALLOW_THREADS
    return v;
}

/* key_ties(values) -> [[key, partition, ...], ...]: for every check key (the
   upper 48 bits of a packed value, shifted down) seen with more than one
   partition, the key and those partitions ascending; the lists in key order. */
PyObject *
key_ties(PyObject *module, PyObject *arg)
{
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *ties = NULL, *tie = NULL;
    size_t n;
    uint64_t *v = sorted_values(&in, "key_ties", &n);
    if (!v) goto done;
    ties = PyList_New(0);
    if (!ties) goto done;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && (v[j] & RT_HIGH) == (v[i] & RT_HIGH)) j++;
        if (v[j - 1] != v[i]) {  /* more than one partition for this key */
            tie = PyList_New(0);
            if (!tie) goto fail;
            PyObject *key = PyLong_FromUnsignedLongLong(v[i] >> 16);
            if (!key || PyList_Append(tie, key) < 0) {
                Py_XDECREF(key);
                goto fail;
            }
            Py_DECREF(key);
            for (size_t k = i; k < j; k++) {
                if (k > i && v[k] == v[k - 1]) continue;
                PyObject *part = PyLong_FromUnsignedLongLong(v[k] & ~RT_HIGH);
                if (!part || PyList_Append(tie, part) < 0) {
                    Py_XDECREF(part);
                    goto fail;
                }
                Py_DECREF(part);
            }
            if (PyList_Append(ties, tie) < 0) goto fail;
            Py_CLEAR(tie);
        }
        i = j;
    }
    goto done;
fail:
    Py_XDECREF(tie);
    Py_CLEAR(ties);
done:
    PyMem_RawFree(v);
    PyBuffer_Release(&in);
    return ties;
}

/* ------------------------------------------------------------------ lines that may name an id

   scale/_engine_calls.py's may_name for every line of a block: a partition
   file is read again for the lines of a few event ids (the first line of an
   anomaly's event), and asking Python about each line cost more than the
   fold. The rule is may_name's, byte for byte; tests/scale/test_lines_naming.py
   holds the two equal. */

#define EVENT_ID_KEY "\"event_id\""
#define EVENT_ID_KEY_LEN 10

/* The first "event_id" (quotes included) in [p, end), or NULL. Found by its
   'v' (its only one, 2 bytes in), which a line holds far fewer of than quotes. */
static const char *
find_event_id_key(const char *p, const char *end)
{
    Py_ssize_t n = end - p;
    for (Py_ssize_t from = 2; n - from >= EVENT_ID_KEY_LEN - 2;) {
        /* A 'v' at most n - 8: the name must end within the line. */
        const char *v = memchr(p + from, 'v', (size_t)(n - from - (EVENT_ID_KEY_LEN - 2) + 1));
        if (!v) return NULL;
        if (memcmp(v - 2, EVENT_ID_KEY, EVENT_ID_KEY_LEN) == 0) return v - 2;
        from = v - p + 1;
    }
    return NULL;
}

/* Whether the key of the event_id value [value, close) (hyphens left out,
   ASCII lower case) is in keys: 1, 0, or -1 an error. */
static int
value_key_in(const char *value, const char *close, PyObject *keys, char *room, Py_ssize_t longest)
{
    Py_ssize_t n = 0;
    for (const char *c = value; c < close; c++) {
        if (*c == '-') continue;
        if (n == longest) return 0;  /* longer than every key */
        room[n++] = *c >= 'A' && *c <= 'Z' ? (char)(*c - 'A' + 'a') : *c;
    }
    PyObject *key = PyBytes_FromStringAndSize(room, n);
    if (!key) return -1;
    int found = PySet_Contains(keys, key);
    Py_DECREF(key);
    return found;
}

/* A line with a backslash (an escape anywhere: `\/` in a URL, `\u00e9` in a
   reason): its top-level members are walked as JSON reads them, strings
   skipped escape by escape. 0 when no top-level member is named event_id
   (line_event_id reads None, which is never wanted), or when the one that
   is holds a plain string whose key is not in keys; 1 when it may name one:
   a key with an escape (it may spell event_id), an event_id twice, a value
   with an escape or not a string, or bytes that do not walk as an object. */
static int
may_name_escaped(const char *p, const char *end, PyObject *keys, char *room, Py_ssize_t longest)
{
    p = ws(p, end);
    if (p >= end || *p != '{') return 1;
    p = ws(p + 1, end);
    if (p < end && *p == '}') return 0;
    rval_t id;
    int named = 0, closed = 0;
    while (!closed) {
        rval_t k;
        if (p >= end || *p != '"' || !(p = rstring(p, end, &k)) || !k.str) return 1;
        if (!(p = rcolon(p, end))) return 1;
        if (k.n == EVENT_ID_KEY_LEN - 2 && memcmp(k.s, EVENT_ID_KEY + 1, (size_t)k.n) == 0) {
            if (named++) return 1;
            p = rvalue(p, end, &id);
        } else {
            p = rskip(p, end);
        }
        if (!p || !(p = rnext(p, end, &closed))) return 1;
    }
    if (!named) return 0;
    if (!id.str) return 1;
    return value_key_in(id.s, id.s + id.n, keys, room, longest);
}

/* may_name of the line [p, end) (without its \n and a \r before it): 0 only
   when it has no backslash, one "event_id", and that member's value is a
   plain string whose key (hyphens left out, ASCII lower case) is not in
   keys; 1 otherwise; -1 an error. room: longest bytes, the longest key.
   A line with a backslash is decided by may_name_escaped, which passes over
   no line that may_name would keep and line_event_id would read as wanted. */
static int
may_name_line(const char *p, const char *end, PyObject *keys, char *room, Py_ssize_t longest)
{
    if (memchr(p, '\\', (size_t)(end - p))) return may_name_escaped(p, end, keys, room, longest);
    const char *first = find_event_id_key(p, end);
    /* Counted as bytes.count counts: the next one after the end of this one. */
    if (!first || find_event_id_key(first + EVENT_ID_KEY_LEN, end)) return 1;
    /* The regular expression's search: the leftmost start where the member
       reads, trying every "event_id", also one sharing a quote with the
       first ("event_id"event_id":...). */
    const char *value = NULL, *close = NULL;
    for (const char *at = first; at && !close; at = find_event_id_key(at + 1, end)) {
        const char *q = at + EVENT_ID_KEY_LEN;
        while (q < end && json_is_ws(*q)) q++;
        if (q == end || *q != ':') continue;
        q++;
        while (q < end && json_is_ws(*q)) q++;
        if (q == end || *q != '"') continue;
        value = q + 1;
        close = memchr(value, '"', (size_t)(end - value));
    }
    if (!close) return 1;
    return value_key_in(value, close, keys, room, longest);
}

PyObject *
lines_naming(PyObject *module, PyObject *args)
{
    Py_buffer block;
    PyObject *keys, *found = NULL, *result = NULL;
    char *room = NULL;
    if (!PyArg_ParseTuple(args, "y*O!", &block, &PyFrozenSet_Type, &keys)) return NULL;
    Py_ssize_t longest = 0;
    PyObject *each = PyObject_GetIter(keys), *key;
    if (!each) goto done;
    while ((key = PyIter_Next(each))) {
        int is_bytes = PyBytes_Check(key);
        if (is_bytes && PyBytes_GET_SIZE(key) > longest) longest = PyBytes_GET_SIZE(key);
        Py_DECREF(key);
        if (!is_bytes) {
            PyErr_SetString(PyExc_TypeError, "lines_naming: keys is a frozenset of bytes");
            break;
        }
    }
    Py_DECREF(each);
    if (PyErr_Occurred()) goto done;
    room = PyMem_Malloc((size_t)longest + 1);
    found = PyList_New(0);
    if (!room || !found) {
        if (!room) PyErr_NoMemory();
        goto done;
    }
    const char *data = block.buf, *end = data + block.len;
    Py_ssize_t index = 0;
    for (const char *p = data; p < end; index++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        const char *content = stop > p && stop[-1] == '\r' ? stop - 1 : stop;
        int may = may_name_line(p, content, keys, room, longest);
        if (may < 0) goto done;
        if (may) {
            PyObject *item = Py_BuildValue("(ny#)", index, p, (Py_ssize_t)(stop - p));
            if (!item || PyList_Append(found, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
        }
        p = nl ? nl + 1 : end;
    }
    result = Py_BuildValue("(nO)", index, found);
done:
    Py_XDECREF(found);
    PyMem_Free(room);
    PyBuffer_Release(&block);
    return result;
}

/* ------------------------------------------------------------------ lines with a wanted check key */

/* Whether the sorted keys w[0..n) hold k. */
static int
holds_key(const uint64_t *w, size_t n, uint64_t k)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w[mid] < k) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && w[lo] == k;
}

/* lines_keyed(block, names, types, wanted) -> (lines, [(index, start, line), ...]).
   The lines of a block whose check keys (the event_id's, a link's link_id's;
   plan.Tie.key, 48 bits) may be among wanted (packed 64-bit values): a line
   route_line reads with a wanted key, and every line it leaves to Python.
   Each with its 0-based index, where it starts in the block, and its bytes
   with their \n. scale/untangle.py reads a tied partition again for the
   copies of a few event ids; the Python router tells each line found
   exactly (its keys are route_line's wherever route_line reads a line:
   tests/scale/test_routing_agreement.py). */
PyObject *
lines_keyed(PyObject *module, PyObject *args)
{
    Py_buffer block, packed;
    PyObject *names, *types_in, *types = NULL, *found = NULL, *result = NULL;
    uint64_t *w = NULL;
    rctx_t c;
    if (!PyArg_ParseTuple(args, "y*O!O!y*", &block, &PyTuple_Type, &names, &PyDict_Type,
                          &types_in, &packed))
        return NULL;
    size_t n;
    c.partitions = c.connectors = c.links = 1;  /* partitions are not asked for */
    c.link_first = 0;
    c.shift = 64;
    types = PyDict_Copy(types_in);
    if (!types || load_names(&c, names) < 0 || load_types(&c, types) < 0) goto done;
    w = sorted_values(&packed, "lines_keyed", &n);
    if (!w || !(found = PyList_New(0))) goto done;
    const char *data = block.buf, *end = data + block.len;
    Py_ssize_t index = 0;
    for (const char *p = data; p < end; index++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        rline_t r;
        int keep = !route_line(&c, p, stop, &r);
        for (int k = 0; !keep && k < r.n_keys; k++) keep = holds_key(w, n, r.key[k] >> 16);
        const char *next = nl ? nl + 1 : end;
        if (keep) {
            PyObject *item = Py_BuildValue("(nny#)", index, (Py_ssize_t)(p - data), p,
                                           (Py_ssize_t)(next - p));
            if (!item || PyList_Append(found, item) < 0) {
                Py_XDECREF(item);
                goto done;
            }
            Py_DECREF(item);
        }
        p = next;
    }
    result = Py_BuildValue("(nO)", index, found);
done:
    Py_XDECREF(types);
    Py_XDECREF(found);
    PyMem_RawFree(w);
    PyBuffer_Release(&packed);
    PyBuffer_Release(&block);
    return result;
}

/* ------------------------------------------------------------------ the k-th occurrence of a byte */

/* byte_positions(data, byte, counts) -> [index, ...]: for each count k
   (1-based, ascending), the index in data of the k-th occurrence of byte;
   the list stops where data has fewer. scale/plan.py's Tracer finds the
   k-th line of a partition in the routing map with it, and untangle where
   a partition file's k-th line starts (the byte after its (k-1)-th \n). */
PyObject *
byte_positions(PyObject *module, PyObject *args)
{
    Py_buffer data;
    int byte;
    PyObject *counts, *found = NULL;
    if (!PyArg_ParseTuple(args, "y*iO!", &data, &byte, &PyList_Type, &counts)) return NULL;
    if (byte < 0 || byte > 255) {
        PyErr_SetString(PyExc_ValueError, "byte_positions: byte must be 0..255");
        goto fail;
    }
    found = PyList_New(0);
    if (!found) goto fail;
    const char *base = data.buf, *p = base, *end = base + data.len;
    Py_ssize_t seen = 0, previous = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(counts); i++) {
        Py_ssize_t k = PyLong_AsSsize_t(PyList_GET_ITEM(counts, i));
        if (k == -1 && PyErr_Occurred()) goto fail;
        if (k <= previous) {
            PyErr_SetString(PyExc_ValueError, "byte_positions: counts must be ascending, from 1");
            goto fail;
        }
        previous = k;
        const char *at = NULL;
        while (seen < k) {
            at = memchr(p, byte, (size_t)(end - p));
            if (!at) goto done;
            seen++;
            p = at + 1;
        }
        PyObject *index = PyLong_FromSsize_t(at - base);
        if (!index || PyList_Append(found, index) < 0) {
            Py_XDECREF(index);
            goto fail;
        }
        Py_DECREF(index);
    }
done:
    PyBuffer_Release(&data);
    return found;
fail:
    Py_XDECREF(found);
    PyBuffer_Release(&data);
    return NULL;
}

int
route_init(void)
{
    crc_init();
    return 0;
}
