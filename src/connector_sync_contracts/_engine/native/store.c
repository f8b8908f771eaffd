/*
 * The record store: interned strings, one compact record per kept event,
 * and deduplication by event_id.
 *
 * Copies of an event_id with identical lines are dropped and counted here;
 * copies that differ are settled by Python (specification section 2: a
 * valid payload first, then the smallest (sort key, canonical JSON)), which
 * re-reads them and offers the winner back. Every table is keyed with the
 * scanner's SipHash key, and every size is checked before it is used.
 */
#include "csc.h"

#include <errno.h>
#ifndef _WIN32
#include <unistd.h>
#endif

/* ------------------------------------------------------------------ interned strings */

static int
intern_grow_slots(intern_t *t)
{
    uint32_t n = t->n_slots ? t->n_slots * 2 : 1024;
    if (n == 0 || n > (1u << 31)) {
        PyErr_NoMemory();
        return -1;
    }
    uint64_t *slots = calloc(n, sizeof(uint64_t));
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    advise_huge(slots, n * sizeof(uint64_t));
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

/* Slots for `more` strings beyond those interned, so that adding them moves
   no slot. */
static int
intern_room(intern_t *t, uint32_t more)
{
    while ((uint64_t)t->n_items + more + 1 > (uint64_t)t->n_slots * 7 / 10)
        if (intern_grow_slots(t) < 0) return -1;
    return 0;
}

/* The id of p (hashed h = khash(key, p, n)), added when absent and `add`;
   NONE_U32 when absent, or on error (set). */
static uint32_t
intern_hashed(intern_t *t, uint64_t h, const char *p, size_t n, int add)
{
    if (n > UINT32_MAX) {
        PyErr_SetString(PyExc_MemoryError, "a string longer than 4 GB");
        return NONE_U32;
    }
    if ((uint64_t)(t->n_items + 1) * 10 >= (uint64_t)t->n_slots * 7 && intern_grow_slots(t) < 0)
        return NONE_U32;
    uint32_t j = (uint32_t)h & (t->n_slots - 1);
    while (t->slots[j]) {
        uint64_t slot = t->slots[j];
        if ((uint32_t)slot == (uint32_t)h) {
            istr_t *s = &t->items[(slot >> 32) - 1];
            if (s->hash == h && s->len == n && same(t->arena.data + s->off, p, (Py_ssize_t)n))
                return (uint32_t)(slot >> 32) - 1;
        }
        j = (j + 1) & (t->n_slots - 1);
    }
    if (!add) return NONE_U32;
    if (t->n_items >= UINT32_MAX - 1) {
        PyErr_SetString(PyExc_MemoryError, "more than 4 billion distinct strings");
        return NONE_U32;
    }
    if (t->n_items == t->cap_items) {
        uint32_t cap = t->cap_items ? t->cap_items * 2 : 1024;
        istr_t *items = realloc(t->items, array_size(cap, sizeof(istr_t)));
        if (!items) {
            PyErr_NoMemory();
            return NONE_U32;
        }
        t->items = items;
        t->cap_items = cap;
    }
    if (t->arena.len + n > UINT32_MAX) {
        PyErr_SetString(PyExc_MemoryError, "more than 4 GB of distinct strings");
        return NONE_U32;
    }
    if (buf_reserve(&t->arena, n) < 0) return NONE_U32;
    if (n) memcpy(t->arena.data + t->arena.len, p, n);
    istr_t *s = &t->items[t->n_items];
    s->hash = h;
    s->off = (uint32_t)t->arena.len;
    s->len = (uint32_t)n;
    s->checked = 0;
    t->arena.len += n;
    t->slots[j] = (uint64_t)(t->n_items + 1) << 32 | (uint32_t)h;
    return t->n_items++;
}

uint32_t
intern_add(intern_t *t, const hkey_t *key, const char *p, size_t n, int add)
{
    return intern_hashed(t, khash(key, p, n), p, n, add);
}

/* A string that intern_many looks up: its text, its hash (khash) and where
   its id goes. */
typedef struct {
    const char *p;
    size_t n;
    uint64_t h;
    uint32_t *id;
} iwant_t;

/* The entry of h's first slot when that slot holds h's low bits (a hint
   of where h's string is), else NULL. */
static inline const istr_t *
slot_entry(const intern_t *t, uint64_t h, uint32_t mask)
{
    uint64_t slot = t->slots[(uint32_t)h & mask];
    return slot && (uint32_t)slot == (uint32_t)h ? &t->items[(slot >> 32) - 1] : NULL;
}

/* Intern every one of want[0..n) (added), each id written to *want[k].id.
   A found string costs three reads that wait for memory one after another
   (its slot, its entry, its text): asked for together, stage by stage, the
   strings wait about as long as one of them would. The slots were asked
   for when the hashes were taken (link_queue). */
static int
intern_many(intern_t *t, iwant_t *want, int n)
{
    if (intern_room(t, (uint32_t)n) < 0) return -1;
    uint32_t mask = t->n_slots - 1;
    for (int k = 0; k < n; k++) {
        const istr_t *it = slot_entry(t, want[k].h, mask);
        if (it) __builtin_prefetch(it, 0);
    }
    for (int k = 0; k < n; k++) {
        const istr_t *it = slot_entry(t, want[k].h, mask);
        if (it) __builtin_prefetch(t->arena.data + it->off, 0);
    }
    for (int k = 0; k < n; k++)
        if ((*want[k].id = intern_hashed(t, want[k].h, want[k].p, want[k].n, 1)) == NONE_U32)
            return -1;
    return 0;
}

PyObject *
intern_str(const intern_t *t, uint32_t id)
{
    const istr_t *s = &t->items[id];
    /* UTF-8 from a line, or from Python with surrogates passed through. */
    return PyUnicode_DecodeUTF8(t->arena.data + s->off, s->len, "surrogatepass");
}

void
intern_free(intern_t *t)
{
    buf_free(&t->arena);
    free(t->items);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* ------------------------------------------------------------------ records */

#define CHUNK_MAX 256
/* The first sizes of the record array and the dedup table (a power of two):
   small, so that a scanner made for a few events (replay() of a short list)
   costs little; both grow as events arrive, and reserve() sizes the table
   for a large input up front. */
#define RECS_MIN 1024
#define DEDUP_MIN 64

uint32_t
eid_tag(const hkey_t *key, const char *eid, size_t n)
{
    return (uint32_t)khash(key, eid, n);
}

/* The slot the next record of partition conn (NONE_U32: stream-level) goes
   in; *index receives its index. Valid until the next store_slot call. */
static rec_t *
store_slot(store_t *st, uint32_t conn, uint32_t *index)
{
    size_t b = conn == NONE_U32 ? 0 : (size_t)conn + 1;
    if (b >= st->bk_n) {
        size_t n = st->bk_n ? st->bk_n : 1024;
        while (n <= b) n *= 2;
        uint32_t *start = realloc(st->bk_start, array_size(n, sizeof(uint32_t)));
        if (start) st->bk_start = start;
        uint16_t *cap = realloc(st->bk_cap, array_size(n, sizeof(uint16_t)));
        if (cap) st->bk_cap = cap;
        uint16_t *fill = realloc(st->bk_fill, array_size(n, sizeof(uint16_t)));
        if (fill) st->bk_fill = fill;
        if (!start || !cap || !fill) {
            PyErr_NoMemory();
            return NULL;
        }
        memset(st->bk_cap + st->bk_n, 0, (n - st->bk_n) * sizeof(uint16_t));
        memset(st->bk_fill + st->bk_n, 0, (n - st->bk_n) * sizeof(uint16_t));
        st->bk_n = n;
    }
    if (st->bk_fill[b] == st->bk_cap[b]) {
        size_t want = st->bk_cap[b] ? (size_t)st->bk_cap[b] * 2 : 1;
        if (want > CHUNK_MAX) want = CHUNK_MAX;
        if (st->n_recs + want > st->cap_recs) {
            size_t cap = st->cap_recs ? st->cap_recs + st->cap_recs / 2 : RECS_MIN;
            while (cap < st->n_recs + want) cap += cap / 2;
            if (cap > NONE_U32 - 1) {
                PyErr_SetString(PyExc_MemoryError, "more than 4 billion events in one replay");
                return NULL;
            }
            rec_t *recs = realloc(st->recs, array_size(cap, sizeof(rec_t)));
            if (!recs) {
                PyErr_NoMemory();
                return NULL;
            }
            st->recs = recs;
            st->cap_recs = cap;
        }
        for (size_t k = st->n_recs; k < st->n_recs + want; k++) st->recs[k].kind = RK_DEAD;
        st->bk_start[b] = (uint32_t)st->n_recs;
        st->bk_cap[b] = (uint16_t)want;
        st->bk_fill[b] = 0;
        st->n_recs += want;
    }
    *index = st->bk_start[b] + st->bk_fill[b];
    return &st->recs[*index];
}

static int
dedup_resize(store_t *st, size_t n)
{
    dslot_t *slots = calloc(n, sizeof(dslot_t));
    if (!slots) {
        PyErr_NoMemory();
        return -1;
    }
    advise_huge(slots, n * sizeof(dslot_t));
    for (size_t i = 0; i < st->dedup_slots; i++) {
        dslot_t *d = &st->dedup[i];
        if (!d->copies) continue;
        size_t j = d->tag & (n - 1);
        while (slots[j].copies) j = (j + 1) & (n - 1);
        slots[j] = *d;
    }
    free(st->dedup);
    st->dedup = slots;
    st->dedup_slots = n;
    return 0;
}

/* Slots for `events` entries below the table's 70% load. */
static size_t
dedup_slots_for(size_t events)
{
    uint64_t n = DEDUP_MIN;
    while (((uint64_t)events + 1) * 10 >= n * 7) n *= 2;
    return (size_t)n;
}

/* A reservation from an estimate is bounded, so a wrong estimate (a
   compressed or mostly invalid input) can cost at most 512 MB up front;
   past it the table grows as records arrive. */
#define RESERVE_MAX ((size_t)1 << 24)

int
store_reserve(Scanner *self, size_t events)
{
    store_t *st = &self->store;
    if (events > RESERVE_MAX) events = RESERVE_MAX;
    size_t n = dedup_slots_for(events);
    if (n > st->dedup_slots) return dedup_resize(st, n);
    return 0;
}

static void
release(rec_t *r)
{
    if (r->kind == RK_MALFORMED) Py_CLEAR(r->u.py);
    r->kind = RK_DEAD;
}

/* Past the JSON white space at s[i] (json.c's json_ws, by index). */
static size_t
json_space(const char *s, size_t n, size_t i)
{
    return (size_t)(json_ws(s + i, s + n) - s);
}

/* The end of the JSON string whose opening quote is at i (after its closing
   quote), or SIZE_MAX when it does not end. */
static size_t
string_end(const char *s, size_t n, size_t i)
{
    for (i++; i < n;) {
        const char *q = memchr(s + i, '"', n - i);
        if (!q) break;
        size_t at = (size_t)(q - s), run = at;
        while (run > i && s[run - 1] == '\\') run--;
        if ((at - run) % 2 == 0) return at + 1; /* not escaped */
        i = at + 1;
    }
    return SIZE_MAX;
}

/* The end of the scalar JSON value at i (a string, number or literal), or
   SIZE_MAX. Only its extent is read: the lines given an identity were read
   whole as JSON (other text gets some identity, safely, and in bounds). */
static size_t
scalar_end(const char *s, size_t n, size_t i)
{
    if (i >= n) return SIZE_MAX;
    if (s[i] == '"') return string_end(s, n, i);
    size_t start = i;
    while (i < n && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != '{' && s[i] != '[' &&
           s[i] != '"' && s[i] != ':' && !json_is_ws(s[i]))
        i++;
    return i > start ? i : SIZE_MAX;
}

/* Appends the text of the JSON string [i, end) (i: its opening quote, end:
   after its closing quote) written the one way: escapes decoded, then only
   the quote, the backslash (as \" and \\) and control characters (as
   \u00XX) escaped, everything else as its UTF-8 bytes; then the closing
   quote. A string written with no backslash is written so already. 1, 0
   (an escape that decodes to no valid Unicode, a raw control character:
   the line is hashed whole), -1 (memory). */
static int
normal_string(buf_t *out, const char *s, size_t i, size_t end)
{
    static const char hex[] = "0123456789abcdef";
    size_t src = end - i;
    if (src > SIZE_MAX / 4) return 0;
    /* At most 3 bytes out per byte in (\n becomes \u000a), and the quote. */
    if (buf_room(out, 3 * src + 1) < 0) return -1;
    char *o = out->data + out->len;
    size_t len = 0, last = end - 1;
    for (size_t r = i + 1; r < last;) {
        unsigned char c = (unsigned char)s[r];
        if (c != '\\') {
            if (c < 0x20) return 0;
            o[len++] = (char)c;
            r++;
            continue;
        }
        unsigned cp;
        int k = json_escape(s + r, s + last, &cp);
        if (!k) return 0;
        r += (size_t)k;
        if (cp == '"' || cp == '\\') {
            o[len++] = '\\';
            o[len++] = (char)cp;
        } else if (cp < 0x20) {
            memcpy(o + len, "\\u00", 4);
            o[len + 4] = hex[cp >> 4];
            o[len + 5] = hex[cp & 15];
            len += 6;
        } else {
            put_utf8(o, &len, cp);
        }
    }
    o[len++] = '"';
    out->len += len;
    return 1;
}

enum { VH_OBJECT = 1, VH_ARRAY = 2 };

static int member_hash(Scanner *self, const char *s, size_t n, size_t key, size_t colon,
                       size_t v, int depth, int escaped, size_t *v_end, uint64_t *h);

/* The identity of the object or array at s[i] (nested at `depth`) as a
   value, not as text: an object by the sum of its members' hashes
   (member_hash), so in any order; an array by its items chained in order,
   each hashed as an array item member would be. *end: just past it. 1, 0
   (not read so: nested deeper than the contract allows, or not JSON; the
   line is then hashed whole), -1 (memory). */
static int
nested_hash(Scanner *self, const char *s, size_t n, size_t i, int depth, int escaped,
            size_t *end, uint64_t *h)
{
    if (depth > self->spec.max_depth) return 0;
    int object = s[i] == '{';
    char close = object ? '}' : ']';
    /* {kind, the members' sum or the items' chain, how many} */
    uint64_t acc[3] = {object ? VH_OBJECT : VH_ARRAY, 0, 0};
    i = json_space(s, n, i + 1);
    if (i < n && s[i] == close) {
        *end = i + 1;
        *h = content_hash(&self->key, acc, sizeof acc);
        return 1;
    }
    for (;;) {
        uint64_t item;
        int ok;
        if (object) {
            if (i >= n || s[i] != '"') return 0;
            size_t key = i + 1, after = string_end(s, n, i);
            if (after == SIZE_MAX) return 0;
            i = json_space(s, n, after);
            if (i >= n || s[i] != ':') return 0;
            size_t v = json_space(s, n, i + 1);
            if ((ok = member_hash(self, s, n, key, after, v, depth, escaped, &i, &item)) <= 0) return ok;
            acc[1] += item;
        } else {
            /* An item as a member with no key: its text alone ("" + value). */
            if ((ok = member_hash(self, s, n, i, i, i, depth, escaped, &i, &item)) <= 0) return ok;
            uint64_t chain[2] = {acc[1], item};
            acc[1] = content_hash(&self->key, chain, sizeof chain);
        }
        acc[2]++;
        i = json_space(s, n, i);
        if (i < n && s[i] == ',') {
            i = json_space(s, n, i + 1);
            continue;
        }
        if (i < n && s[i] == close) break;
        return 0;
    }
    *end = i + 1;
    *h = content_hash(&self->key, acc, sizeof acc);
    return 1;
}

/* One member's part of an identity: the keyed hash of its normal text,
   key":value. The key and a string value are written the one way
   (normal_string), the envelope's event_id in its normal form (read
   decoded: its key or value may be escaped too), and an object or array
   value as the byte 1 and its nested_hash. A member written so already
   (compact, no escape, a scalar value) is hashed where it lies. key: the
   first byte of the key's text; colon: just after its closing quote (a
   compact member's colon); key == colon: an array item, no key; v: the
   value; depth: the nesting of the member's object; escaped: whether the
   line holds a backslash at all. *v_end: just past the value. 1, 0 (the
   line is hashed whole), -1. */
static int
member_hash(Scanner *self, const char *s, size_t n, size_t key, size_t colon, size_t v,
            int depth, int escaped, size_t *v_end, uint64_t *h)
{
    if (v >= n) return 0;
    int nested = s[v] == '{' || s[v] == '[';
    uint64_t inner = 0;
    int ok;
    if (nested) {
        if ((ok = nested_hash(self, s, n, v, depth + 1, escaped, v_end, &inner)) <= 0) return ok;
    } else if ((*v_end = scalar_end(s, n, v)) == SIZE_MAX) {
        return 0;
    }
    size_t end = *v_end;
    int plain_key = !escaped || !memchr(s + key, '\\', colon - key);
    int plain_value = !escaped || s[v] != '"' || !memchr(s + v, '\\', end - v);
    buf_t *out = &self->ident_buf;
    out->len = 0;
    /* The key's normal text, its closing quote included: where it lies, or in out. */
    if (!plain_key && (ok = normal_string(out, s, key - 1, colon)) <= 0) return ok;
    const char *key_text = plain_key ? s + key : out->data;
    size_t key_len = plain_key ? colon - key : out->len;
    char norm[EID_MAX];
    int k = 0;
    if (depth == 1 && key_len == 9 && memcmp(key_text, "event_id\"", 9) == 0 && s[v] == '"') {
        /* The value's text (decoded in out, after the key, when it has escapes),
           then its normal form. */
        size_t at = out->len, text_len = end - v - 2;
        const char *text = s + v + 1;
        if (!plain_value) {
            if ((ok = normal_string(out, s, v, end)) <= 0) return ok;
            text = out->data + at;
            text_len = out->len - at - 1; /* without the closing quote */
        }
        if (text_len <= EID_MAX)
            k = normalize_event_id(&self->spec, text, (Py_ssize_t)text_len, norm);
        if (k && plain_value && (size_t)k == text_len && memcmp(norm, text, (size_t)k) == 0)
            k = 0; /* written in normal form already */
        out->len = at;
    }
    int compact = key == colon ? v == key : v == colon + 1;
    if (!nested && !k && plain_key && plain_value && compact) {
        *h = content_hash(&self->key, s + key, end - key);
        return 1;
    }
    if (plain_key) {
        if (buf_room(out, key_len) < 0) return -1;
        if (key_len) memcpy(out->data, key_text, key_len);
        out->len = key_len;
    }
    if (buf_room(out, 2 + EID_MAX + 8) < 0) return -1;
    if (key != colon) out->data[out->len++] = ':';
    if (nested) {
        out->data[out->len++] = 1;
        memcpy(out->data + out->len, &inner, 8);
        out->len += 8;
    } else if (k) {
        out->data[out->len++] = '"';
        memcpy(out->data + out->len, norm, (size_t)k);
        out->len += (size_t)k;
        out->data[out->len++] = '"';
    } else if (s[v] == '"') {
        out->data[out->len++] = '"';
        if ((ok = normal_string(out, s, v, end)) <= 0) return ok;
    } else {
        if (buf_room(out, end - v) < 0) return -1;
        memcpy(out->data + out->len, s + v, end - v);
        out->len += end - v;
    }
    *h = content_hash(&self->key, out->data, out->len);
    return 1;
}

/* Copies of an event that another writer wrote again have one canonical
   JSON (specification section 2), so they share an identity: the line's
   object as a value (nested_hash: its members' hashes summed, whatever
   their order). What another writer may change: the order of members at any
   depth, white space, how a string is escaped (\u00e9 or the character,
   \/ or /), and the event_id's spelling (a ULID's case, a UUID's hyphens
   and case). Equal identities mean equal sets of members, each the same
   JSON value (a string the same once decoded, an object the same set of
   members, a number written alike), hence one canonical JSON: a member set
   is the object because a kept line has no repeated key (the input layer
   rejects one). A number written otherwise (1.0 and 1.00), an envelope
   field's other spellings (a timestamp's offset) and anything that is not
   an object (hashed whole) still tell copies apart: those are settled
   exactly, in Python. */
int
line_identity(Scanner *self, const char *text, size_t len, uint64_t *ident)
{
    int escaped = memchr(text, '\\', len) != NULL; /* else no member is looked at for one */
    size_t i = json_space(text, len, 0), end;
    if (i < len && text[i] == '{') {
        int ok = nested_hash(self, text, len, i, 1, escaped, &end, ident);
        if (ok < 0) return -1;
        if (ok && json_space(text, len, end) == len) return 0;
    }
    *ident = content_hash(&self->key, text, len); /* not an object read whole */
    return 0;
}

/* The line of a LAZY_LINE record read again into reread_buf, from its
   source's file descriptor or its read callable: 1 (*text set, valid until
   the next reread), 0 not readable so (no file or callable, or the source
   no longer holds that many bytes there), -1 an error. A line read again is
   counted, so that Python can check afterwards that the file did not change
   meanwhile (runner.py); both ways of reading count alike. */
static int
line_again(Scanner *self, const rec_t *r, const char **text)
{
    size_t len = (size_t)(r->ident & (LINE_LEN_LIMIT - 1));
    size_t source = (size_t)(r->where >> 48);
    if (source >= self->n_rereads) return 0;
    off_t at = (off_t)(r->ident >> LINE_LEN_BITS);
    buf_t *b = &self->reread_buf;
    b->len = 0;
    if (buf_room(b, len ? len : 1) < 0) return -1;
    PyObject *read = self->rereads[source].read;
    if (read) {
        self->rereading = 1;
        PyObject *got = PyObject_CallFunction(read, "Kn", (unsigned long long)at, (Py_ssize_t)len);
        self->rereading = 0;
        if (!got) return -1;
        int ok = PyBytes_Check(got) && (size_t)PyBytes_GET_SIZE(got) == len;
        if (ok) memcpy(b->data, PyBytes_AS_STRING(got), len);
        Py_DECREF(got);
        if (!ok) return 0;
    } else {
#ifdef _WIN32
        return 0;
#else
        if (self->rereads[source].fd < 0) return 0;
        size_t got = 0;
        while (got < len) {
            ssize_t n = pread(self->rereads[source].fd, b->data + got, len - got, at + (off_t)got);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return 0;
            got += (size_t)n;
        }
#endif
    }
    self->rereads[source].count++;
    *text = b->data;
    return 1;
}

/* The identity of a LAZY_LINE record: the keyed hash of its line, taken
   from text (the line in its block, when the caller has it) or read again
   (line_again). 1 (*ident set), 0 not known (not readable again: the copies
   are then settled exactly, in Python). */
static int
line_ident(Scanner *self, const rec_t *r, const char *text, uint64_t *ident)
{
    size_t len = (size_t)(r->ident & (LINE_LEN_LIMIT - 1));
    if (!text) {
        int ok = line_again(self, r, &text);
        if (ok <= 0) return ok;
    }
    return line_identity(self, text, len, ident) < 0 ? -1 : 1;
}

/* Whether two copies of an event_id are identical: 1, 0 (or not known:
   Python settles them exactly), -1 an error. A lazy identity is made here,
   once, so only event ids with copies pay for one. */
static int
identical(Scanner *self, rec_t *held, rec_t *tmp)
{
    /* A copy redelivered byte for byte (the usual kind) is identical without
       hashing either line: compare the held line, read again, with the new
       one. Lines that differ in bytes are hashed, the held one from the text
       read here, as below. */
    size_t len = (size_t)(held->ident & (LINE_LEN_LIMIT - 1));
    if (held->lazy == LAZY_LINE && tmp->lazy == LAZY_LINE && self->put_line &&
        len == (size_t)(tmp->ident & (LINE_LEN_LIMIT - 1))) {
        const char *again;
        int ok = line_again(self, held, &again);
        if (ok < 0) return -1;
        if (ok) {
            if (memcmp(again, self->put_line, len) == 0) return 1;
            if (line_identity(self, again, len, &held->ident) < 0) return -1;
            held->lazy = LAZY_NONE;
        }
    }
    rec_t *copies[2] = {held, tmp};
    for (int k = 0; k < 2; k++) {
        if (!copies[k]->lazy) continue;
        int ok = copies[k]->lazy == LAZY_LINE
                     ? line_ident(self, copies[k], k ? self->put_line : NULL, &copies[k]->ident)
                     : object_ident(self, copies[k], &copies[k]->ident);
        if (ok <= 0) return ok;
        copies[k]->lazy = LAZY_NONE;
    }
    return held->ident == tmp->ident;
}

/* Remember where copy r of the event id of record rec is. */
static int
copy_at_add(store_t *st, uint32_t rec, const rec_t *r)
{
    if (st->n_copy_at == st->cap_copy_at) {
        size_t cap = st->cap_copy_at ? st->cap_copy_at * 2 : 256;
        if (cap > SIZE_MAX / 2 / sizeof(struct copy_at)) {
            PyErr_NoMemory();
            return -1;
        }
        struct copy_at *grown = realloc(st->copy_at, cap * sizeof(struct copy_at));
        if (!grown) {
            PyErr_NoMemory();
            return -1;
        }
        st->copy_at = grown;
        st->cap_copy_at = cap;
    }
    st->copy_at[st->n_copy_at].rec = rec;
    st->copy_at[st->n_copy_at].where = r->where;
    st->copy_at[st->n_copy_at].at = r->lazy == LAZY_LINE ? r->ident : UINT64_MAX;
    st->n_copy_at++;
    return 0;
}

static int
copy_at_order(const void *a, const void *b)
{
    const struct copy_at *x = a, *y = b;
    if (x->rec != y->rec) return x->rec < y->rec ? -1 : 1;
    return x->where < y->where ? -1 : x->where > y->where;
}

/* (source, line, offset, length) of a copy; offset and length -1 when not known. */
static PyObject *
place_tuple(const struct copy_at *c)
{
    int known = c->at != UINT64_MAX;
    return Py_BuildValue("(KKLL)", (unsigned long long)(c->where >> 48),
                         (unsigned long long)(c->where & 0xFFFFFFFFFFFFULL),
                         known ? (long long)(c->at >> LINE_LEN_BITS) : -1LL,
                         known ? (long long)(c->at & (LINE_LEN_LIMIT - 1)) : -1LL);
}

/* The places of the copies of the event id whose first record is rec (the
   copies sorted by record, then where). */
static PyObject *
copy_places(store_t *st, uint32_t rec)
{
    size_t lo = 0, hi = st->n_copy_at;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (st->copy_at[mid].rec < rec)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < st->n_copy_at && st->copy_at[end].rec == rec) end++;
    PyObject *places = PyTuple_New((Py_ssize_t)(end - lo));
    if (!places) return NULL;
    for (size_t k = lo; k < end; k++) {
        PyObject *place = place_tuple(&st->copy_at[k]);
        if (!place) {
            Py_DECREF(places);
            return NULL;
        }
        PyTuple_SET_ITEM(places, (Py_ssize_t)(k - lo), place);
    }
    return places;
}

int
store_put(Scanner *self, rec_t *tmp, int dedup, uint32_t tag)
{
    store_t *st = &self->store;
    uint32_t index;
    size_t j = 0;
    if (dedup) {
        if ((st->n_dedup + 1) * 10 >= st->dedup_slots * 7) {
            size_t n = st->dedup_slots ? st->dedup_slots * 2 : DEDUP_MIN;
            if (n > SIZE_MAX / sizeof(dslot_t) / 2 || dedup_resize(st, n) < 0) {
                if (!PyErr_Occurred()) PyErr_NoMemory();
                goto fail;
            }
        }
        size_t mask = st->dedup_slots - 1;
        j = tag & mask;
        while (st->dedup[j].copies) {
            dslot_t *d = &st->dedup[j];
            rec_t *held = &st->recs[d->rec];
            if (d->tag == tag && held->eid_len == tmp->eid_len &&
                same(held->eid, tmp->eid, tmp->eid_len)) {
                if (d->copies == UINT32_MAX) {
                    PyErr_SetString(PyExc_OverflowError, "more than 4 billion copies of one event");
                    goto fail;
                }
                d->copies++;
                st->n_copies++;
                /* Before identical() replaces a lazy identity (the line's place) by its hash. */
                if (d->copies == 2 && copy_at_add(st, d->rec, held) < 0) goto fail;
                if (copy_at_add(st, d->rec, tmp) < 0) goto fail;
                if (!d->conflicted) {
                    int ok = identical(self, held, tmp);
                    if (ok < 0) goto fail;
                    if (!ok) {
                        d->conflicted = 1;
                        st->n_conflicted++;
                    }
                }
                release(tmp);
                return 0;
            }
            j = (j + 1) & mask;
        }
    }
    rec_t *slot = store_slot(st, tmp->conn, &index);
    if (!slot) goto fail;
    *slot = *tmp;
    st->bk_fill[tmp->conn == NONE_U32 ? 0 : (size_t)tmp->conn + 1]++;
    if (dedup) {
        st->dedup[j].rec = index;
        st->dedup[j].tag = tag;
        st->dedup[j].copies = 1;
        st->dedup[j].conflicted = 0;
        st->n_dedup++;
    }
    return 0;
fail:
    release(tmp);
    return -1;
}

/* The slots a record's put will touch (PREFETCHER). */
PREFETCHER
prefetch_slots(store_t *st, uint32_t conn, uint32_t tag)
{
    if (st->dedup_slots) __builtin_prefetch(&st->dedup[tag & (st->dedup_slots - 1)], 0);
    size_t b = conn == NONE_U32 ? 0 : (size_t)conn + 1;
    if (b < st->bk_n && st->bk_fill[b] < st->bk_cap[b])
        __builtin_prefetch(&st->recs[st->bk_start[b] + st->bk_fill[b]], 0);
}

int
store_put_later(Scanner *self, pending_t *p, rec_t *r, uint32_t tag, const char *line)
{
    if (r) prefetch_slots(&self->store, r->conn, tag);
    if (p->full) {
        p->full = 0;
        self->put_line = p->line;
        int rc = store_put(self, &p->rec, 1, p->tag);
        self->put_line = NULL;
        if (rc < 0) {
            if (r) release(r);
            return -1;
        }
    }
    if (r) {
        p->rec = *r;
        p->tag = tag;
        p->line = r->lazy == LAZY_LINE ? line : NULL;
        p->full = 1;
    }
    return 0;
}

void
store_drop_pending(pending_t *p)
{
    if (p->full) release(&p->rec);
    p->full = 0;
}

/* A value's id when it is known without a look in the table: interned by
   its check, or its field's last string again; else NONE_U32. */
static uint32_t
known_value(Scanner *self, const field_t *f, const value_t *v)
{
    if (v->id != NONE_U32) return v->id;
    intern_t *t = &self->store.strings;
    if (f->last_id != NONE_U32) {
        istr_t *it = &t->items[f->last_id];
        if (it->len == (uint32_t)v->str.n && same(t->arena.data + it->off, v->str.s, v->str.n))
            return f->last_id;
    }
    return NONE_U32;
}

/* Intern a value through its field's one-entry cache (the check may have
   interned it already). */
static uint32_t
intern_value(Scanner *self, field_t *f, value_t *v)
{
    uint32_t id = known_value(self, f, v);
    if (id != NONE_U32) return id;
    id = intern_add(&self->store.strings, &self->key, v->str.s, (size_t)v->str.n, 1);
    if (id != NONE_U32) f->last_id = id;
    return id;
}

int
link_vals_add(store_t *s, int n, uint64_t *at)
{
    if (s->cap_link_vals - s->n_link_vals < (size_t)n) {
        size_t cap = s->cap_link_vals ? s->cap_link_vals : 1024;
        while (cap - s->n_link_vals < (size_t)n) {
            if (cap > SIZE_MAX / 2 / sizeof(uint32_t)) {
                PyErr_NoMemory();
                return -1;
            }
            cap *= 2;
        }
        uint32_t *vals = realloc(s->link_vals, cap * sizeof(uint32_t));
        if (!vals) {
            PyErr_NoMemory();
            return -1;
        }
        s->link_vals = vals;
        s->cap_link_vals = cap;
    }
    *at = s->n_link_vals;
    s->n_link_vals += (size_t)n;
    return 0;
}

int
store_flush_links(Scanner *self)
{
    store_t *st = &self->store;
    int n = st->n_lq;
    if (!n) return 0;
    st->n_lq = 0;
    st->lq_text.len = 0;
    iwant_t want[LINK_QUEUE_MAX];
    for (int k = 0; k < n; k++) {
        const struct lqueued *q = &st->lq[k];
        want[k] = (iwant_t){st->lq_text.data + q->off, q->n, q->h, &st->link_vals[q->at]};
    }
    if (intern_many(&st->strings, want, n) < 0) return -1;
    for (int k = 0; k < n; k++) st->lq[k].field->last_id = *want[k].id;
    return 0;
}

/* Queue one of a link's strings (see store_t.lq), its slot asked for now. */
static int
link_queue(Scanner *self, field_t *f, const value_t *v, uint64_t at)
{
    store_t *st = &self->store;
    if ((st->n_lq == LINK_QUEUE_MAX || st->lq_text.len > LINK_QUEUE_TEXT) &&
        store_flush_links(self) < 0)
        return -1;
    if (!st->lq && !(st->lq = malloc(LINK_QUEUE_MAX * sizeof(*st->lq)))) {
        PyErr_NoMemory();
        return -1;
    }
    size_t n = (size_t)v->str.n;
    if (buf_room(&st->lq_text, n) < 0) return -1;
    uint64_t h = khash(&self->key, v->str.s, n);
    const intern_t *t = &st->strings;
    if (t->n_slots) __builtin_prefetch(&t->slots[(uint32_t)h & (t->n_slots - 1)], 0);
    if (n) memcpy(st->lq_text.data + st->lq_text.len, v->str.s, n);
    st->lq[st->n_lq++] = (struct lqueued){h, at, st->lq_text.len, n, f};
    st->lq_text.len += n;
    return 0;
}

/* A link's fields (their interned strings: NONE_U32 for a field it does
   not keep or leaves null, or one queued until store_flush_links) and its
   time. */
static int
link_record(Scanner *self, etype_t *et, parsed_t *pl, rec_t *r)
{
    uint64_t at;
    if (link_vals_add(&self->store, et->n_fields, &at) < 0) return -1;
    for (int i = 0; i < et->n_fields; i++) {
        field_t *f = &et->fields[i];
        value_t *v = &pl->pay[i];
        uint32_t id = NONE_U32;
        if (f->role == R_KEPT && f->kind == K_STR && v->present && !v->is_null &&
            (id = known_value(self, f, v)) == NONE_U32 && link_queue(self, f, v, at + (uint64_t)i) < 0)
            return -1;
        self->store.link_vals[at + (uint64_t)i] = id;
    }
    r->kind = RK_LINK;
    r->u.l.vals = at;
    r->u.l.recorded_at = pl->pay[et->link_field[L_RECORDED_AT]].i;
    return 0;
}

int
record_from_line(Scanner *self, parsed_t *pl, uint64_t ident, uint64_t where, rec_t *r)
{
    memset(r, 0, sizeof(*r));
    r->lamport = pl->lamport;
    r->instant = pl->instant;
    r->ident = ident;
    r->where = where;
    r->eid_len = (uint8_t)pl->eid_len;
    memcpy(r->eid, pl->eid, (size_t)pl->eid_len);
    r->conn = NONE_U32;
    if (pl->etype < 0) {
        r->kind = RK_OTHER;
        return 0;
    }
    etype_t *et = &self->spec.types[pl->etype];
    r->etype = (uint8_t)pl->etype;
    r->broken = (uint8_t)pl->broken;
    if (et->family == F_LINK) return link_record(self, et, pl, r);
    r->kind = RK_EVENT;
    int f = et->role_field[R_CONNECTOR_ID];
    r->conn = intern_value(self, &et->fields[f], &pl->pay[f]);
    if (r->conn == NONE_U32) return -1;
    if (et->family == F_CONNECTOR) {
        static const int roles[3] = {R_CONNECTOR_TYPE, R_PROVIDER, R_MISSION_ID};
        uint32_t ids[3];
        for (int k = 0; k < 3; k++) {
            int i = et->role_field[roles[k]];
            ids[k] = intern_value(self, &et->fields[i], &pl->pay[i]);
            if (ids[k] == NONE_U32) return -1;
        }
        r->u.c.ctype = ids[0];
        r->u.c.provider = ids[1];
        r->u.c.mission = ids[2];
        r->u.c.recorded_at = pl->pay[et->role_field[R_RECORDED_AT]].i;
        int h = et->role_field[R_HEALTH];
        if (h >= 0) {
            r->health = (uint8_t)(pl->pay[h].idx + 1);
            /* + 0.0: a negative zero is written 0.0 (specification section 8). */
            r->u.c.latency = pl->pay[et->role_field[R_LATENCY]].f + 0.0;
        }
        int prev = et->role_field[R_PREVIOUS];
        if (prev >= 0) r->prev = (uint8_t)(pl->pay[prev].idx + 1);
        return 0;
    }
    value_t *dv = &pl->pay[et->role_field[R_DELIVERY]], *fv = &pl->pay[et->role_field[R_FINGERPRINT]];
    size_t need = (size_t)dv->str.n + (size_t)fv->str.n;
    if ((size_t)dv->str.n > UINT32_MAX || (size_t)fv->str.n > UINT32_MAX ||
        buf_reserve(&self->store.blob, need) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return -1;
    }
    buf_t *blob = &self->store.blob;
    r->u.s.off = blob->len;
    r->u.s.dlen = (uint32_t)dv->str.n;
    r->u.s.flen = (uint32_t)fv->str.n;
    if (dv->str.n) memcpy(blob->data + blob->len, dv->str.s, (size_t)dv->str.n);
    if (fv->str.n) memcpy(blob->data + blob->len + dv->str.n, fv->str.s, (size_t)fv->str.n);
    blob->len += need;
    int retry = et->role_field[R_RETRY];
    if (retry >= 0) {
        r->u.s.retry = pl->pay[retry].i;
        r->u.s.max_retries = pl->pay[et->role_field[R_MAX_RETRIES]].i;
    }
    int count = et->role_field[R_INGESTED] >= 0 ? et->role_field[R_INGESTED] : et->role_field[R_REPLAYED];
    if (count >= 0) r->u.s.count = pl->pay[count].i;
    return 0;
}

/* Event ids seen with differing lines: their records are removed (Python
   re-reads those lines and offers the winner back), and the number of
   identical copies dropped for every other id. */
PyObject *
store_settle(Scanner *self)
{
    store_t *st = &self->store;
    PyObject *ids = PyList_New(0);
    if (!ids) return NULL;
    Py_CLEAR(st->settled_places);
    PyObject *places = PyDict_New();
    if (!places) {
        Py_DECREF(ids);
        return NULL;
    }
    size_t dropped = 0;
    if (!st->n_conflicted) {
        /* Every copy was identical to the first: no slot need be visited. */
        dropped = st->n_copies;
        goto done;
    }
    if (st->n_copy_at > 1) qsort(st->copy_at, st->n_copy_at, sizeof(struct copy_at), copy_at_order);
    for (size_t i = 0; i < st->dedup_slots; i++) {
        dslot_t *d = &st->dedup[i];
        if (!d->copies) continue;
        if (!d->conflicted) {
            dropped += d->copies - 1;
            continue;
        }
        rec_t *r = &st->recs[d->rec];
        PyObject *s = PyUnicode_DecodeASCII(r->eid, r->eid_len, NULL);
        PyObject *at = s ? copy_places(st, d->rec) : NULL;
        if (!at || PyList_Append(ids, s) < 0 || PyDict_SetItem(places, s, at) < 0) {
            Py_XDECREF(s);
            Py_XDECREF(at);
            Py_DECREF(ids);
            Py_DECREF(places);
            return NULL;
        }
        Py_DECREF(s);
        Py_DECREF(at);
        release(r);
    }
done:
    st->settled_places = places;
    free(st->copy_at);
    st->copy_at = NULL;
    st->n_copy_at = st->cap_copy_at = 0;
    /* No copy is compared again: the items need not be held. */
    Py_CLEAR(self->items);
    Py_CLEAR(self->items_type);
    free(st->dedup);
    st->dedup = NULL;
    st->dedup_slots = st->n_dedup = 0;
    st->n_copies = st->n_conflicted = 0;
    return Py_BuildValue("(Nn)", ids, (Py_ssize_t)dropped);
}

PyObject *
store_copy_places(Scanner *self)
{
    PyObject *places = self->store.settled_places;
    if (!places) Py_RETURN_NONE;
    self->store.settled_places = NULL;
    return places;
}

void
store_free(store_t *st)
{
    free(st->copy_at);
    Py_CLEAR(st->settled_places);
    for (size_t k = 0; k < st->n_recs; k++) release(&st->recs[k]);
    free(st->recs);
    free(st->bk_start);
    free(st->bk_cap);
    free(st->bk_fill);
    buf_free(&st->blob);
    free(st->link_vals);
    free(st->lq);
    buf_free(&st->lq_text);
    free(st->dedup);
    intern_free(&st->strings);
    memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------ locations */

/* {event_id: (source, line)} for the wanted event ids that a kept record has
   with a known place (line > 0); one pass over the records, with the wanted
   ids in a keyed table. */
PyObject *
store_locate(Scanner *self, PyObject *eids)
{
    store_t *st = &self->store;
    Py_ssize_t n = PyList_GET_SIZE(eids);
    size_t slots = 16;
    while ((size_t)n * 2 >= slots) slots *= 2;
    struct want { const char *s; Py_ssize_t n; PyObject *obj; uint64_t where; } *table;
    table = calloc(slots, sizeof(*table));
    if (!table) return PyErr_NoMemory();
    PyObject *out = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(eids, i);
        Py_ssize_t len;
        const char *s = PyUnicode_Check(e) ? PyUnicode_AsUTF8AndSize(e, &len) : NULL;
        if (!s) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "event ids must be str");
            goto done;
        }
        if (len < 1 || len > EID_MAX) continue;
        size_t j = khash(&self->key, s, (size_t)len) & (slots - 1);
        while (table[j].s && !(table[j].n == len && same(table[j].s, s, len))) j = (j + 1) & (slots - 1);
        table[j].s = s;
        table[j].n = len;
        table[j].obj = e;
    }
    for (size_t r = 0; r < st->n_recs; r++) {
        const rec_t *rec = &st->recs[r];
        if (rec->kind == RK_DEAD || (rec->where & 0xFFFFFFFFFFFFULL) == 0) continue;
        size_t j = khash(&self->key, rec->eid, rec->eid_len) & (slots - 1);
        while (table[j].s) {
            if (table[j].n == rec->eid_len && same(table[j].s, rec->eid, rec->eid_len)) {
                if (!table[j].where || rec->where < table[j].where) table[j].where = rec->where;
                break;
            }
            j = (j + 1) & (slots - 1);
        }
    }
    out = PyDict_New();
    if (!out) goto done;
    for (size_t j = 0; j < slots; j++) {
        if (!table[j].s || !table[j].where) continue;
        PyObject *place = Py_BuildValue("(KK)", (unsigned long long)(table[j].where >> 48),
                                        (unsigned long long)(table[j].where & 0xFFFFFFFFFFFFULL));
        if (!place || PyDict_SetItem(out, table[j].obj, place) < 0) {
            Py_XDECREF(place);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(place);
    }
done:
    free(table);
    return out;
}
