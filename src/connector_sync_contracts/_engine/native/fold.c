/*
 * The fold: each partition's records in replay order, through the connector
 * and delivery lifecycles (specification sections 3 and 4), every anomaly
 * kind included.
 *
 * This is the compiled twin of reducing/steps.py, held equal to it by the
 * shared rule suite (tests/reducing/rules runs every rule through every
 * engine) and a differential property test. Anomalies are worded in one
 * place, in Python (reducing/anomalies.py): each leaves here as the dict
 * that from_native makes of (kind, event_id, parameters), a shared kind's
 * message asked for once per parameters. The stream-level group (links,
 * events of other families, malformed payloads without a connector) is
 * folded here too: the link index of specification section 5, as
 * reducing/steps.py's link_step and LinkAcc.data make it.
 */
#include "csc.h"

#include <stdarg.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct sortent {
    uint64_t lamport;
    int64_t instant;
    const rec_t *rec;
    uint32_t index;
};

static inline int
ent_cmp(const struct sortent *x, const struct sortent *y)
{
    if (x->lamport != y->lamport) return x->lamport < y->lamport ? -1 : 1;
    if (x->instant != y->instant) return x->instant < y->instant ? -1 : 1;
    const rec_t *p = x->rec, *q = y->rec;
    int n = p->eid_len < q->eid_len ? p->eid_len : q->eid_len;
    int c = memcmp(p->eid, q->eid, (size_t)n);
    if (c) return c;
    return (int)p->eid_len - (int)q->eid_len;
}

static inline int
ent_before(const struct sortent *x, const struct sortent *y)
{
    return ent_cmp(x, y) < 0;
}

/* Records in replay order: a stable merge sort by ent_cmp. */
CSC_STABLE_SORT(sort_entries, struct sortent, ent_before)

/* Ask for every cache line of a record: the fold reads a record's fields
   at both ends, and the records of a group lie where the scan put them, in
   read order, far apart. */
PREFETCHER
prefetch_rec(const rec_t *r)
{
    __builtin_prefetch(r, 0);
    __builtin_prefetch((const char *)r + 64, 0);
    __builtin_prefetch((const char *)(r + 1) - 1, 0);
}

/* Put one group's record indexes in replay order. */
static int
sort_group(Scanner *self, uint32_t *idx, size_t n)
{
    if (n > self->ents_cap) {
        /* Room for n entries and as many for the merges. */
        size_t bytes = n > SIZE_MAX / 2 ? SIZE_MAX : array_size(2 * n, sizeof(struct sortent));
        struct sortent *ents = bytes == SIZE_MAX ? NULL : realloc(self->ents, bytes);
        if (!ents) {
            PyErr_NoMemory();
            return -1;
        }
        self->ents = ents;
        self->ents_cap = n;
    }
    struct sortent *e = self->ents;
    for (size_t i = 0; i < n; i++) {
        const rec_t *r = &self->store.recs[idx[i]];
        prefetch_rec(r); /* the sort reads its start, the fold all of it next */
        e[i].lamport = r->lamport;
        e[i].instant = r->instant;
        e[i].rec = r;
        e[i].index = idx[i];
    }
    const struct sortent *sorted = sort_entries(e, e + n, n);
    for (size_t i = 0; i < n; i++) idx[i] = sorted[i].index;
    return 0;
}

/* Group live records by partition (the stream-level group last), and
   return the number of live records. */
PyObject *
fold_start(Scanner *self)
{
    if (self->folding) {
        PyErr_SetString(PyExc_RuntimeError, "fold already started");
        return NULL;
    }
    store_t *st = &self->store;
    size_t nconn = (size_t)st->strings.n_items + 1; /* the last bucket: stream-level */
    size_t *count = calloc(nconn + 1, sizeof(size_t));
    size_t *at = calloc(nconn + 1, sizeof(size_t));
    if (!count || !at) {
        free(count);
        free(at);
        return PyErr_NoMemory();
    }
    size_t live = 0;
    for (size_t k = 0; k < st->n_recs; k++) {
        rec_t *r = &st->recs[k];
        if (r->kind == RK_DEAD) continue;
        count[r->conn == NONE_U32 ? nconn - 1 : r->conn]++;
        live++;
    }
    uint32_t *order = malloc(array_size(live ? live : 1, sizeof(uint32_t)));
    size_t *group_start = malloc(array_size(nconn + 1, sizeof(size_t)));
    uint32_t *group_conn = malloc(array_size(nconn, sizeof(uint32_t)));
    if (!order || !group_start || !group_conn) {
        free(order);
        free(group_start);
        free(group_conn);
        free(count);
        free(at);
        return PyErr_NoMemory();
    }
    size_t pos = 0, g = 0;
    for (size_t c = 0; c < nconn; c++) {
        if (!count[c]) continue;
        group_start[g] = pos;
        group_conn[g] = c == nconn - 1 ? NONE_U32 : (uint32_t)c;
        at[c] = pos;
        pos += count[c];
        g++;
    }
    group_start[g] = pos;
    for (size_t k = 0; k < st->n_recs; k++) {
        rec_t *r = &st->recs[k];
        if (r->kind == RK_DEAD) continue;
        size_t c = r->conn == NONE_U32 ? nconn - 1 : r->conn;
        order[at[c]++] = (uint32_t)k;
    }
    free(at);
    free(count);
    /* Only now is the scanner folding: a failure above left it able to try again. */
    self->order = order;
    self->group_start = group_start;
    self->group_conn = group_conn;
    self->n_groups = g;
    self->next_group = 0;
    self->folding = 1;
    return PyLong_FromSize_t(live);
}

/* ------------------------------------------------------------------ building results */

static PyObject *
eid_str(const rec_t *r)
{
    return PyUnicode_DecodeASCII(r->eid, r->eid_len, NULL);
}

static PyObject *
blob_str(Scanner *self, uint64_t off, uint32_t len)
{
    return PyUnicode_DecodeUTF8(self->store.blob.data + off, len, "surrogatepass");
}

/* A state's name (for anomaly messages), or None. */
static PyObject *
state_or_none(Scanner *self, int state)
{
    return state >= 0 ? Py_NewRef(self->spec.state_obj[state]) : Py_NewRef(Py_None);
}

/* A state's enum member (for results), or None. */
static PyObject *
member_or_none(Scanner *self, int state)
{
    return state >= 0 ? Py_NewRef(self->spec.state_member[state]) : Py_NewRef(Py_None);
}

/* Note where an anomaly's event is, when the fold places them (start_fold):
   its record's line, the first valid line of its event_id (the kept copy),
   as locate() finds it, without a pass over every record. */
static int
place_anomaly(Scanner *self, PyObject *eid, const rec_t *r)
{
    uint64_t line = r->where & 0xFFFFFFFFFFFFULL;
    if (!self->placed) return 0;
    if (!line) {
        self->unplaced++; /* offered without its line: Python finds it */
        return 0;
    }
    PyObject *place = PyTuple_New(2);
    if (!place) return -1;
    PyObject *source = PyLong_FromUnsignedLongLong(r->where >> 48);
    PyObject *number = source ? PyLong_FromUnsignedLongLong(line) : NULL;
    if (!number) {
        Py_XDECREF(source);
        Py_DECREF(place);
        return -1;
    }
    PyTuple_SET_ITEM(place, 0, source);
    PyTuple_SET_ITEM(place, 1, number);
    untrack_leaf_tuple(place);
    /* Settled, the store holds one record per event_id: another anomaly of the
       same event comes from the same record, and finds its place noted. */
    int rc = PyDict_SetDefault(self->placed, eid, place) ? 0 : -1;
    Py_DECREF(place);
    return rc;
}

/* An anomaly kind's name as a str (a new reference). The kinds are the
   fold's own string literals, so each one's str is made once and then
   found by the literal's address. */
static PyObject *
kind_str(const char *kind)
{
    static struct {
        const char *text;
        PyObject *str;
    } made[32];
    int k = 0;
    for (; k < 32 && made[k].text; k++)
        if (made[k].text == kind) return Py_NewRef(made[k].str);
    PyObject *str = PyUnicode_InternFromString(kind);
    if (str && k < 32) {
        made[k].text = kind;
        made[k].str = Py_NewRef(str); /* kept for the process's life, as interned strs are */
    }
    return str;
}

/* The anomaly's dict as make_anomaly makes it: {"kind", "event_id",
   "message"}, for kinds whose message depends on (kind, *params) only
   (shared_kinds), from the message made for an earlier one. */
static PyObject *
known_anomaly(Scanner *self, PyObject *name, PyObject *eid, PyObject *message)
{
    PyObject *made = PyDict_New();
    if (made && (PyDict_SetItem(made, self->anomaly_key[0], name) < 0 ||
                 PyDict_SetItem(made, self->anomaly_key[1], eid) < 0 ||
                 PyDict_SetItem(made, self->anomaly_key[2], message) < 0))
        Py_CLEAR(made);
    return made;
}

/* The anomaly (kind, event_id, *params) as make_anomaly makes it (one
   place words every message: reducing/anomalies.py). A kind in
   shared_kinds has one message per (kind, *params): it is asked for once,
   then kept, for at most MESSAGES_KEPT keys; a log can have an anomaly on
   every other line. */
static PyObject *
make_anomaly(Scanner *self, PyObject *name, PyObject *eid, PyObject *params)
{
    Py_ssize_t n = PyTuple_GET_SIZE(params);
    PyObject *key = NULL, *item = NULL, *made = NULL;
    int shared = PySet_Contains(self->shared_kinds, name);
    if (shared < 0) return NULL;
    if (shared) {
        key = PyTuple_New(1 + n);
        if (!key) return NULL;
        PyTuple_SET_ITEM(key, 0, Py_NewRef(name));
        for (Py_ssize_t k = 0; k < n; k++)
            PyTuple_SET_ITEM(key, k + 1, Py_NewRef(PyTuple_GET_ITEM(params, k)));
        PyObject *message = PyDict_GetItemWithError(self->messages, key); /* borrowed */
        if (message || PyErr_Occurred()) {
            made = message ? known_anomaly(self, name, eid, message) : NULL;
            goto done;
        }
    }
    item = PyTuple_New(2 + n);
    if (!item) goto done;
    PyTuple_SET_ITEM(item, 0, Py_NewRef(name));
    PyTuple_SET_ITEM(item, 1, Py_NewRef(eid));
    for (Py_ssize_t k = 0; k < n; k++)
        PyTuple_SET_ITEM(item, k + 2, Py_NewRef(PyTuple_GET_ITEM(params, k)));
    made = PyObject_CallOneArg(self->make_anomaly, item);
    if (made && !PyDict_CheckExact(made)) {
        PyErr_SetString(PyExc_TypeError, "make_anomaly must return a dict");
        Py_CLEAR(made);
    }
    if (made && key && PyDict_GET_SIZE(self->messages) < MESSAGES_KEPT) {
        PyObject *message = PyDict_GetItemWithError(made, self->anomaly_key[2]); /* borrowed */
        if (!message) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_KeyError, "message");
            Py_CLEAR(made);
        } else if (PyDict_SetItem(self->messages, key, message) < 0) {
            Py_CLEAR(made);
        }
    }
done:
    Py_XDECREF(key);
    Py_XDECREF(item);
    return made;
}

/* Append the anomaly (kind, event_id, *params) to an anomaly list, as
   make_anomaly makes it; params (a tuple) is stolen. */
static int
push_anomaly(Scanner *self, PyObject *list, const char *kind, const rec_t *r, PyObject *params)
{
    if (!params) return -1;
    PyObject *made = NULL, *name = NULL, *eid = eid_str(r);
    if (eid && place_anomaly(self, eid, r) < 0) Py_CLEAR(eid);
    if (eid && !PyTuple_Check(params)) PyErr_SetString(PyExc_SystemError, "anomaly params");
    else if (eid) name = kind_str(kind);
    if (name) made = make_anomaly(self, name, eid, params);
    Py_XDECREF(name);
    Py_XDECREF(eid);
    Py_DECREF(params);
    if (!made) return -1;
    int rc = PyList_Append(list, made);
    Py_DECREF(made);
    return rc;
}

/* Append a log entry made of n new references (one NULL: an error, and all
   are released) to log; the entry is untracked when of leaves only. */
static int
log_entry(PyObject *log, PyObject **items, int n)
{
    PyObject *entry = NULL;
    for (int k = 0; k < n; k++)
        if (!items[k]) goto fail;
    entry = PyTuple_New(n);
    if (!entry) goto fail;
    for (int k = 0; k < n; k++) PyTuple_SET_ITEM(entry, k, items[k]);
    untrack_leaf_tuple(entry);
    int rc = PyList_Append(log, entry);
    Py_DECREF(entry);
    return rc;
fail:
    for (int k = 0; k < n; k++) Py_XDECREF(items[k]);
    return -1;
}

/* A finished log as a tuple (None without one), untracked like its entries:
   the collector's first pass after a replay need not visit them. */
static PyObject *
log_tuple(PyObject *log)
{
    if (!log) return Py_NewRef(Py_None);
    PyObject *t = PyList_AsTuple(log);
    if (t) untrack_leaf_tuple(t);
    return t;
}

/* An anomaly's parameters as a tuple: `lead` new references (NULL: an
   error), then one item per character of format, "(...)": O borrowed,
   N stolen (NULL: an error), L a long long, s a string literal (its str
   made once: kind_str). What Py_VaBuildValue makes of these formats,
   without reading a general format once per anomaly (a log can have one
   on every other line). Every stolen reference is released on error. */
static PyObject *
params_tuple(PyObject *const *lead, Py_ssize_t n_lead, const char *format, va_list va)
{
    size_t len = strlen(format);
    if (len < 2 || format[0] != '(' || format[len - 1] != ')') {
        PyErr_SetString(PyExc_SystemError, "anomaly parameters: bad format");
        for (Py_ssize_t k = 0; k < n_lead; k++) Py_XDECREF(lead[k]);
        return NULL;
    }
    Py_ssize_t n = (Py_ssize_t)len - 2;
    PyObject *t = PyTuple_New(n_lead + n);
    int failed = !t;
    for (Py_ssize_t k = 0; k < n_lead + n; k++) {
        PyObject *o = NULL;
        if (k < n_lead) {
            o = lead[k];
        } else {
            switch (format[k - n_lead + 1]) {
            case 'O':
                o = Py_XNewRef(va_arg(va, PyObject *));
                break;
            case 'N':
                o = va_arg(va, PyObject *);
                break;
            case 'L':
                o = PyLong_FromLongLong(va_arg(va, long long));
                break;
            case 's':
                o = kind_str(va_arg(va, const char *));
                break;
            default: /* a format of this file's own: never */
                PyErr_SetString(PyExc_SystemError, "anomaly parameters: bad format");
                failed = 1;
                k = n_lead + n; /* no argument of an unknown kind can be read */
                continue;
            }
        }
        if (!o) failed = 1;
        if (t) PyTuple_SET_ITEM(t, k, o); /* a NULL item: released with t */
        else Py_XDECREF(o);
    }
    if (failed) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_SystemError, "anomaly parameters: NULL");
        Py_XDECREF(t);
        return NULL;
    }
    return t;
}

/* push_anomaly with params given as params_tuple's format. */
static int
add_anomaly(Scanner *self, PyObject *list, const char *kind, const rec_t *r, const char *format,
            ...)
{
    va_list va;
    va_start(va, format);
    PyObject *params = params_tuple(NULL, 0, format, va);
    va_end(va);
    return push_anomaly(self, list, kind, r, params);
}

/* ------------------------------------------------------------------ exact sums */

/* Two 64-bit words with a carry: a total never wraps (specification section 8). */
typedef struct {
    uint64_t hi, lo;
} sum128_t;

static inline void
sum_add(sum128_t *s, int64_t v)
{
    uint64_t add = (uint64_t)v; /* counts are >= 0: the spec's bounds are checked on load */
    s->lo += add;
    s->hi += s->lo < add;
}

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

/* ------------------------------------------------------------------ connector fold */

typedef struct {
    int state;                 /* -1: none */
    int64_t last_transition, last_health_check;
    int has_transition, has_health_check;
    int health;                /* -1: none */
    double latency;
    Py_ssize_t events;
    int64_t reconnects;
    int has_identity;
    uint32_t ctype, provider, mission;
    PyObject *log;             /* (event_id, state) per applied transition, or NULL */
    PyObject *anomalies;
} cacc_t;

static int
malformed_anomaly(Scanner *self, PyObject *list, const rec_t *r)
{
    PyObject *message = PyObject_GetAttrString(r->u.py, "message");
    if (!message) return -1;
    return add_anomaly(self, list, "malformed_payload", r, "(N)", message);
}

static int
fold_connector(Scanner *self, cacc_t *ca, const rec_t *r, long long max_cycles)
{
    spec_t *spec = &self->spec;
    intern_t *t = &self->store.strings;
    ca->events++;
    if (r->kind == RK_MALFORMED) return malformed_anomaly(self, ca->anomalies, r);
    etype_t *et = &spec->types[r->etype];
    if (ca->has_identity && (r->u.c.provider != ca->provider || r->u.c.ctype != ca->ctype)) {
        if (add_anomaly(self, ca->anomalies, "identity_changed", r, "(NNNN)",
                        intern_str(t, r->u.c.provider), intern_str(t, r->u.c.ctype),
                        intern_str(t, ca->provider), intern_str(t, ca->ctype)) < 0)
            return -1;
    }
    for (int k = 0; k < et->n_rules; k++)
        if (r->broken & (1u << k) &&
            add_anomaly(self, ca->anomalies, "semantic_violation", r, "(O)", et->rule_code[k]) < 0)
            return -1;
    int target = et->target >= 0 ? et->target : spec->health_target[r->health - 1];
    if (!(ca->state == target && spec->observation[target])) {
        if (!spec->allowed[ca->state + 1][target])
            return add_anomaly(self, ca->anomalies, "invalid_transition", r, "(ONN)", et->name_obj,
                               state_or_none(self, ca->state), state_or_none(self, target));
        if (r->prev && (int)r->prev - 1 != ca->state &&
            add_anomaly(self, ca->anomalies, "previous_state_mismatch", r, "(NN)",
                        state_or_none(self, (int)r->prev - 1), state_or_none(self, ca->state)) < 0)
            return -1;
        ca->state = target;
        ca->last_transition = r->u.c.recorded_at;
        ca->has_transition = 1;
        if (!ca->has_identity) {
            ca->has_identity = 1;
            ca->ctype = r->u.c.ctype;
            ca->provider = r->u.c.provider;
            ca->mission = r->u.c.mission;
        }
        if (ca->log) {
            PyObject *items[2] = {eid_str(r), member_or_none(self, target)};
            if (log_entry(ca->log, items, 2) < 0) return -1;
        }
        if (target == spec->state_reconnected) {
            if (ca->reconnects < INT64_MAX) ca->reconnects++;
            if (ca->reconnects > max_cycles &&
                add_anomaly(self, ca->anomalies, "reconnect_loop", r, "(LL)",
                            (long long)ca->reconnects, max_cycles) < 0)
                return -1;
        } else if (target == spec->state_healthy) {
            ca->reconnects = 0;
        }
    }
    if (r->health) {
        ca->last_health_check = r->u.c.recorded_at;
        ca->has_health_check = 1;
        ca->health = r->health - 1;
        ca->latency = r->u.c.latency;
    }
    return 0;
}

static PyObject *
us_or_none(int has, int64_t us)
{
    return has ? PyLong_FromLongLong(us) : Py_NewRef(Py_None);
}

static PyObject *
connector_part(Scanner *self, cacc_t *ca)
{
    intern_t *t = &self->store.strings;
    PyObject *health = Py_NewRef(Py_None);
    if (ca->health >= 0) {
        Py_DECREF(health);
        health = PyLong_FromLong(ca->health);
    }
    PyObject *log = log_tuple(ca->log);
    return Py_BuildValue(
        "(NNNNNNNNnNO)",
        ca->has_identity ? intern_str(t, ca->ctype) : Py_NewRef(Py_None),
        ca->has_identity ? intern_str(t, ca->provider) : Py_NewRef(Py_None),
        ca->has_identity ? intern_str(t, ca->mission) : Py_NewRef(Py_None),
        member_or_none(self, ca->state), us_or_none(ca->has_transition, ca->last_transition),
        us_or_none(ca->has_health_check, ca->last_health_check), health,
        ca->health >= 0 ? PyFloat_FromDouble(ca->latency) : Py_NewRef(Py_None), ca->events, log,
        ca->anomalies);
}

/* ------------------------------------------------------------------ delivery fold */

typedef struct {
    uint64_t hash;
    uint32_t rec;              /* the last applied record of the key */
    uint32_t used;
    int status;
    int terminal;              /* -1: none */
    int64_t last_retry;
    int replayed;
    Py_ssize_t attempts;
    /* With logs kept: the delivery_id and the last applied event_id as the
       str objects its log entries hold, shared with its delivery data. */
    PyObject *did, *last_eid;
} dlv_t;

typedef struct {
    dlv_t *slots;
    size_t n, cap;
    Py_ssize_t counts[MAX_OUTCOMES];
    sum128_t ingested, replayed;
    PyObject *log;             /* (event_id, outcome, delivery_id) per applied event, or NULL */
    PyObject *anomalies;
} sacc_t;

static inline int
same_key(Scanner *self, const rec_t *a, const rec_t *b)
{
    const char *blob = self->store.blob.data;
    return a->u.s.dlen == b->u.s.dlen && a->u.s.flen == b->u.s.flen &&
           same(blob + a->u.s.off, blob + b->u.s.off, (Py_ssize_t)a->u.s.dlen + b->u.s.flen);
}

/* One keyed hash of a delivery key: delivery_id and fingerprint lie together
   in the blob, and the key is varied by delivery_id's length, so that the
   splits of one text into the two are hashed apart. */
static uint64_t
key_hash(Scanner *self, const rec_t *r)
{
    const char *blob = self->store.blob.data + r->u.s.off;
    hkey_t key = self->key;
    key.k0 ^= r->u.s.dlen;
    return khash(&key, blob, (size_t)r->u.s.dlen + r->u.s.flen);
}

/* Records a group's fold looks ahead to: a delivery key lies in the blob in
   read order, far from its group's other keys, and hashing it waits for
   memory unless it was asked for this many records before. */
#define FOLD_AHEAD 6

PREFETCHER
prefetch_key(Scanner *self, const rec_t *r)
{
    if (r->kind == RK_EVENT && self->spec.types[r->etype].family == F_SYNC)
        __builtin_prefetch(self->store.blob.data + r->u.s.off, 0);
}

/* The delivery of record `ri`'s key: found, or made (create) with status; NULL on memory error
   (create) or when absent (!create). */
static dlv_t *
delivery(Scanner *self, sacc_t *sa, uint32_t ri, uint64_t h, int create)
{
    const rec_t *r = &self->store.recs[ri];
    if (create && (sa->n + 1) * 10 >= sa->cap * 7) {
        size_t cap = sa->cap ? sa->cap * 2 : 64;
        dlv_t *slots = calloc(cap, sizeof(dlv_t));
        if (!slots) {
            PyErr_NoMemory();
            return NULL;
        }
        for (size_t i = 0; i < sa->cap; i++) {
            if (!sa->slots[i].used) continue;
            size_t j = sa->slots[i].hash & (cap - 1);
            while (slots[j].used) j = (j + 1) & (cap - 1);
            slots[j] = sa->slots[i];
        }
        free(sa->slots);
        sa->slots = slots;
        sa->cap = cap;
    }
    if (!sa->cap) return NULL;
    size_t j = h & (sa->cap - 1);
    while (sa->slots[j].used) {
        dlv_t *d = &sa->slots[j];
        /* Equal hashes are only a hint: the key's bytes decide. */
        if (d->hash == h && same_key(self, &self->store.recs[d->rec], r)) return d;
        j = (j + 1) & (sa->cap - 1);
    }
    if (!create) return NULL;
    dlv_t *d = &sa->slots[j];
    memset(d, 0, sizeof(*d));
    d->used = 1;
    d->hash = h;
    d->rec = ri;
    d->terminal = -1;
    sa->n++;
    return d;
}

/* A skipped delivery event's anomaly: (kind, event_id, delivery_id, fingerprint, *extra). */
static int
skip(Scanner *self, sacc_t *sa, const rec_t *r, const char *kind, const char *format, ...)
{
    PyObject *key[2] = {blob_str(self, r->u.s.off, r->u.s.dlen),
                        blob_str(self, r->u.s.off + r->u.s.dlen, r->u.s.flen)};
    va_list va;
    va_start(va, format);
    PyObject *params = params_tuple(key, 2, format, va);
    va_end(va);
    return push_anomaly(self, sa->anomalies, kind, r, params);
}

/* A semantic_violation per broken rule (the budget aside) of a sync record
   being applied: a skipped one records only its skip's anomaly (section 8). */
static int
sync_semantic(Scanner *self, sacc_t *sa, const rec_t *r, const etype_t *et)
{
    for (int k = 0; k < et->n_rules; k++)
        if (r->broken & (1u << k) && !et->rule_budget[k] &&
            add_anomaly(self, sa->anomalies, "semantic_violation", r, "(O)", et->rule_code[k]) < 0)
            return -1;
    return 0;
}

static int
fold_sync(Scanner *self, sacc_t *sa, uint32_t ri)
{
    spec_t *spec = &self->spec;
    const rec_t *r = &self->store.recs[ri];
    if (r->kind == RK_MALFORMED) return malformed_anomaly(self, sa->anomalies, r);
    etype_t *et = &spec->types[r->etype];
    int outcome = et->outcome;
    uint64_t h = key_hash(self, r);
    dlv_t *d = delivery(self, sa, ri, h, 0);
    if (outcome == spec->outcome_replay) {
        if (d && d->replayed) return skip(self, sa, r, "duplicate_delivery", "(s)", "replay");
        if (sync_semantic(self, sa, r, et) < 0) return -1;
        if (!d && !(d = delivery(self, sa, ri, h, 1))) return -1;
        d->replayed = 1;
        sum_add(&sa->replayed, r->u.s.count);
    } else if (outcome == spec->outcome_retry) {
        if (d) {
            if (d->terminal >= 0)
                return skip(self, sa, r, "retry_after_terminal", "(O)", spec->outcome_obj[d->terminal]);
            if (r->u.s.retry == d->last_retry)
                return skip(self, sa, r, "duplicate_delivery", "(sL)", "retry", (long long)r->u.s.retry);
            if (r->u.s.retry < d->last_retry)
                return skip(self, sa, r, "retry_attempt_regressed", "(LL)", (long long)r->u.s.retry,
                            (long long)d->last_retry);
        } else if (!(d = delivery(self, sa, ri, h, 1))) {
            return -1;
        }
        /* Reported only once the retry is known to be applied (section 8). */
        if (sync_semantic(self, sa, r, et) < 0) return -1;
        for (int k = 0; k < et->n_rules; k++)
            if (r->broken & (1u << k) && et->rule_budget[k] &&
                add_anomaly(self, sa->anomalies, "retry_budget_exceeded", r, "(O)", et->rule_code[k]) < 0)
                return -1;
        d->last_retry = r->u.s.retry;
        d->attempts++;
    } else {
        if (d && d->terminal >= 0) {
            if (d->terminal == outcome)
                return skip(self, sa, r, "duplicate_delivery", "(sO)", "terminal",
                            spec->outcome_obj[outcome]);
            return skip(self, sa, r, "conflicting_outcome", "(OO)", spec->outcome_obj[outcome],
                        spec->outcome_obj[d->terminal]);
        }
        if (sync_semantic(self, sa, r, et) < 0) return -1;
        if (!d && !(d = delivery(self, sa, ri, h, 1))) return -1;
        d->terminal = outcome;
        d->attempts++;
        sum_add(&sa->ingested, r->u.s.count);
    }
    d->status = outcome;
    d->rec = ri;
    sa->counts[outcome]++;
    if (sa->log) {
        if (!d->did && !(d->did = blob_str(self, r->u.s.off, r->u.s.dlen))) return -1;
        PyObject *eid = eid_str(r);
        if (!eid) return -1;
        Py_XSETREF(d->last_eid, Py_NewRef(eid));
        PyObject *items[3] = {eid, Py_NewRef(spec->outcome_member[outcome]), Py_NewRef(d->did)};
        if (log_entry(sa->log, items, 3) < 0) return -1;
    }
    return 0;
}

/* A delivery key's place in the order of keys. */
typedef struct {
    const char *d, *f;         /* delivery_id and fingerprint, UTF-8 */
    uint32_t dlen, flen;
    const dlv_t *slot;
} dkey_t;

static inline int
bytes_order(const char *a, uint32_t an, const char *b, uint32_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    if (c) return c;
    return an < bn ? -1 : an > bn;
}

/* Keys in Python's order of (delivery_id, fingerprint) str tuples: UTF-8 byte
   order is code point order (surrogates passed through keep it too). A
   delivery key is unique in its table: no ties. */
static inline int
dkey_before(const dkey_t *a, const dkey_t *b)
{
    int c = bytes_order(a->d, a->dlen, b->d, b->dlen);
    return (c ? c : bytes_order(a->f, a->flen, b->f, b->flen)) < 0;
}

CSC_STABLE_SORT(sort_dkeys, dkey_t, dkey_before)

/* One delivery's plain data: a dict of the spec's delivery fields. */
static PyObject *
delivery_data(Scanner *self, const dlv_t *d)
{
    spec_t *spec = &self->spec;
    const rec_t *o = &self->store.recs[d->rec];
    PyObject *values[DELIVERY_FIELDS] = {
        d->did ? Py_NewRef(d->did) : blob_str(self, o->u.s.off, o->u.s.dlen),
        blob_str(self, o->u.s.off + o->u.s.dlen, o->u.s.flen),
        Py_NewRef(spec->outcome_member[d->status]),
        PyLong_FromSsize_t(d->attempts),
        d->last_eid ? Py_NewRef(d->last_eid) : eid_str(o),
    };
    PyObject *dict = PyDict_New();
    int ok = dict != NULL;
    for (int k = 0; k < DELIVERY_FIELDS; k++) {
        if (ok && (!values[k] || PyDict_SetItem(dict, spec->delivery_field[k], values[k]) < 0))
            ok = 0;
        Py_XDECREF(values[k]);
    }
    if (!ok) {
        Py_XDECREF(dict);
        return NULL;
    }
    return dict;
}

/* Every delivery key's data, ordered by key: a list of dicts, or with m a
   tuple of m's models, made while each dict is fresh in the cache. */
static PyObject *
deliveries_data(Scanner *self, const sacc_t *sa, size_t used, const maker_t *m)
{
    dkey_t *room = sort_room(used, sizeof(dkey_t));
    if (!room) return PyErr_NoMemory();
    dkey_t *keys = room;
    size_t n = 0;
    for (size_t i = 0; i < sa->cap && n < used; i++) {
        const dlv_t *d = &sa->slots[i];
        if (!d->used) continue;
        const rec_t *o = &self->store.recs[d->rec];
        const char *blob = self->store.blob.data + o->u.s.off;
        keys[n++] = (dkey_t){blob, blob + o->u.s.dlen, o->u.s.dlen, o->u.s.flen, d};
    }
    keys = sort_dkeys(keys, keys + n, n);
    PyObject *out = m ? PyTuple_New((Py_ssize_t)n) : PyList_New((Py_ssize_t)n);
    /* Every delivery's keys: its values are leaves (str, int, an enum member). */
    PyObject *fields = NULL;
    if (m && out && !(fields = PySet_New(NULL))) Py_CLEAR(out);
    for (int k = 0; fields && k < DELIVERY_FIELDS; k++)
        if (PySet_Add(fields, self->spec.delivery_field[k]) < 0) Py_CLEAR(out);
    for (size_t k = 0; out && k < n; k++) {
        PyObject *item = delivery_data(self, keys[k].slot);
        if (item && m) {
            PyObject *model = maker_make(m, item, fields);
            Py_SETREF(item, model);
        }
        if (!item) Py_CLEAR(out);
        else if (m) PyTuple_SET_ITEM(out, (Py_ssize_t)k, item);
        else PyList_SET_ITEM(out, (Py_ssize_t)k, item);
    }
    free(room);
    Py_XDECREF(fields);
    if (out && m) PyObject_GC_UnTrack(out);  /* of untracked models only */
    return out;
}

static PyObject *
sync_part(Scanner *self, sacc_t *sa, int keep_logs, const maker_t *m)
{
    spec_t *spec = &self->spec;
    Py_ssize_t pending = 0;
    size_t used = 0;
    for (size_t i = 0; i < sa->cap; i++) {
        dlv_t *d = &sa->slots[i];
        if (!d->used) continue;
        used++;
        if (d->terminal < 0 && d->last_retry > 0) pending++;
    }
    PyObject *deliveries = keep_logs ? deliveries_data(self, sa, used, m) : Py_NewRef(Py_None);
    if (!deliveries) return NULL;
    PyObject *counts = PyTuple_New(spec->n_outcomes);
    if (!counts) {
        Py_DECREF(deliveries);
        return NULL;
    }
    for (int k = 0; k < spec->n_outcomes; k++) {
        PyObject *c = PyLong_FromSsize_t(sa->counts[k]);
        if (!c) {
            Py_DECREF(counts);
            Py_DECREF(deliveries);
            return NULL;
        }
        PyTuple_SET_ITEM(counts, k, c);
    }
    PyObject *log = log_tuple(sa->log);
    return Py_BuildValue("(NNNnNNO)", counts, sum_to_pylong(&sa->ingested),
                         sum_to_pylong(&sa->replayed), pending, log, deliveries, sa->anomalies);
}

/* ------------------------------------------------------------------ link index */

/* A key's first link: the winner (section 5: the first link of a key wins). */
typedef struct {
    uint32_t key[3];           /* external_provider, external_ref_type, external_ref_id */
    uint32_t agg[2];           /* internal_aggregate_type, internal_aggregate_id */
    uint32_t rec;
} lwin_t;

typedef struct {
    lwin_t *wins;
    size_t n, cap;
    uint32_t *slots;           /* winner index + 1; 0 empty; keyed by the key's hash */
    size_t n_slots;            /* power of two */
    uint32_t *owner;           /* per interned string as a link_id: its winner + 1, 0 none */
    PyObject **strs;           /* per interned string: its str, made once (owned) */
    uint32_t n_strs;
    PyObject **shapes;         /* per event type: its link data's keys, valued None (owned) */
    int n_shapes;
} links_t;

static const uint32_t *
link_ids(Scanner *self, const rec_t *r)
{
    return self->store.link_vals + r->u.l.vals;
}

static uint32_t
link_id_of(Scanner *self, const rec_t *r, int role)
{
    return link_ids(self, r)[self->spec.types[r->etype].link_field[role]];
}

static uint64_t
lkey_hash(Scanner *self, const uint32_t key[3])
{
    return khash(&self->key, key, 3 * sizeof(uint32_t));
}

static int
links_grow(links_t *L)
{
    size_t n = L->n_slots ? L->n_slots * 2 : 64;
    uint32_t *slots = calloc(n, sizeof(uint32_t));
    if (!slots) return -1;
    free(L->slots);
    L->slots = slots;
    L->n_slots = n;
    return 0;
}

/* The winner of key (index + 1), or 0 and *free_slot: where a new one goes. */
static size_t
links_find(Scanner *self, links_t *L, const uint32_t key[3], size_t *free_slot)
{
    size_t mask = L->n_slots - 1;
    size_t j = (size_t)lkey_hash(self, key) & mask;
    while (L->slots[j]) {
        const lwin_t *w = &L->wins[L->slots[j] - 1];
        if (w->key[0] == key[0] && w->key[1] == key[1] && w->key[2] == key[2]) return L->slots[j];
        j = (j + 1) & mask;
    }
    *free_slot = j;
    return 0;
}

static int
links_add(Scanner *self, links_t *L, const lwin_t *w)
{
    if ((L->n + 1) * 2 > L->n_slots) {
        if (links_grow(L) < 0) return -1;
        for (size_t k = 0; k < L->n; k++) {
            size_t j, found = links_find(self, L, L->wins[k].key, &j);
            (void)found;
            L->slots[j] = (uint32_t)k + 1;
        }
    }
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        lwin_t *wins = realloc(L->wins, array_size(cap, sizeof(lwin_t)));
        if (!wins) return -1;
        L->wins = wins;
        L->cap = cap;
    }
    size_t j;
    (void)links_find(self, L, w->key, &j); /* absent: the caller looked first */
    L->wins[L->n] = *w;
    L->slots[j] = (uint32_t)++L->n;
    return 0;
}

/* An interned string as a str, made once per fold (a borrowed reference). */
static PyObject *
lstr(Scanner *self, links_t *L, uint32_t id)
{
    if (id == NONE_U32) return Py_None;
    if (id >= L->n_strs) {
        PyErr_SetString(PyExc_SystemError, "a link string outside the intern table");
        return NULL;
    }
    if (!L->strs[id]) L->strs[id] = intern_str(&self->store.strings, id);
    return L->strs[id];
}

static void
links_free(links_t *L)
{
    for (uint32_t k = 0; L->strs && k < L->n_strs; k++) Py_XDECREF(L->strs[k]);
    free(L->strs);
    for (int k = 0; L->shapes && k < L->n_shapes; k++) Py_XDECREF(L->shapes[k]);
    free(L->shapes);
    free(L->owner);
    free(L->slots);
    free(L->wins);
    memset(L, 0, sizeof(*L));
}

/* How far ahead the link fold asks for memory: a link's record, then its
   strings' ids, then what those ids lead to, each stage half as far ahead
   as the one before, so that each finds the last one's lines arrived. */
#define LINK_AHEAD 8

/* Ask ahead for what link_step reads of the records at idx[i + ...]. */
PREFETCHER
prefetch_link_steps(Scanner *self, const links_t *L, const uint32_t *idx, size_t i, size_t n)
{
    const rec_t *recs = self->store.recs;
    if (i + 2 * LINK_AHEAD < n) prefetch_rec(&recs[idx[i + 2 * LINK_AHEAD]]);
    if (i + LINK_AHEAD < n && recs[idx[i + LINK_AHEAD]].kind == RK_LINK)
        __builtin_prefetch(link_ids(self, &recs[idx[i + LINK_AHEAD]]), 0);
    if (i + LINK_AHEAD / 2 < n && recs[idx[i + LINK_AHEAD / 2]].kind == RK_LINK) {
        uint32_t lid = link_id_of(self, &recs[idx[i + LINK_AHEAD / 2]], L_LINK_ID);
        if (lid < L->n_strs) __builtin_prefetch(&L->owner[lid], 0);
    }
}

/* Fold one link (reducing/steps.py's link_step). */
static int
link_step(Scanner *self, links_t *L, PyObject *found, const rec_t *r, uint32_t ri)
{
    lwin_t w = {.key = {link_id_of(self, r, L_PROVIDER), link_id_of(self, r, L_REF_TYPE),
                        link_id_of(self, r, L_REF_ID)},
                .agg = {link_id_of(self, r, L_AGG_TYPE), link_id_of(self, r, L_AGG_ID)},
                .rec = ri};
    uint32_t lid = link_id_of(self, r, L_LINK_ID);
    if (lid >= L->n_strs || w.key[0] >= L->n_strs || w.key[1] >= L->n_strs ||
        w.key[2] >= L->n_strs || w.agg[0] >= L->n_strs || w.agg[1] >= L->n_strs) {
        PyErr_SetString(PyExc_SystemError, "a link string outside the intern table");
        return -1;
    }
    uint32_t owner = L->owner[lid];
    if (owner) {
        const lwin_t *o = &L->wins[owner - 1];
        if (o->key[0] != w.key[0] || o->key[1] != w.key[1] || o->key[2] != w.key[2]) {
            PyObject *p = lstr(self, L, lid), *a = lstr(self, L, o->key[0]);
            PyObject *b = lstr(self, L, o->key[1]), *c = lstr(self, L, o->key[2]);
            if (!p || !a || !b || !c) return -1;
            return add_anomaly(self, found, "link_id_reused", r, "(OOOO)", p, a, b, c);
        }
    }
    size_t j, at = L->n_slots ? links_find(self, L, w.key, &j) : 0;
    if (!at) {
        if (links_add(self, L, &w) < 0) {
            PyErr_NoMemory();
            return -1;
        }
        L->owner[lid] = (uint32_t)L->n;
        return 0;
    }
    const lwin_t *held = &L->wins[at - 1];
    if (held->agg[0] == w.agg[0] && held->agg[1] == w.agg[1]) return 0; /* absorbed */
    PyObject *v[7] = {lstr(self, L, w.key[0]),      lstr(self, L, w.key[1]),
                      lstr(self, L, w.key[2]),      lstr(self, L, held->agg[0]),
                      lstr(self, L, held->agg[1]),  lstr(self, L, w.agg[0]),
                      lstr(self, L, w.agg[1])};
    for (int k = 0; k < 7; k++)
        if (!v[k]) return -1;
    return add_anomaly(self, found, "conflicting_link", r, "(OOOOOOO)", v[0], v[1], v[2], v[3], v[4],
                       v[5], v[6]);
}

/* A string's UTF-8 in the intern table. */
typedef struct {
    const char *s;
    uint32_t n;
} ltext_t;

static ltext_t
ltext(Scanner *self, uint32_t id)
{
    const istr_t *it = &self->store.strings.items[id];
    return (ltext_t){self->store.strings.arena.data + it->off, it->len};
}

typedef struct {
    ltext_t k[3];              /* the winner's key, or an aggregate (2) and its place */
    uint32_t id[3];            /* the same strings' intern ids */
    size_t at;
} lsort_t;

/* The first parts texts of a and b in Python's order of str tuples (UTF-8
   byte order is code point order). Interned strings are equal exactly when
   their ids are, so equal parts (most providers and types) cost no memcmp. */
static inline int
texts_order(const lsort_t *a, const lsort_t *b, int parts)
{
    for (int k = 0; k < parts; k++) {
        if (a->id[k] == b->id[k]) continue;
        return bytes_order(a->k[k].s, a->k[k].n, b->k[k].s, b->k[k].n);
    }
    return 0;
}

/* Keys in order (a winner's key is unique: no ties). */
static inline int
lkey_before(const lsort_t *a, const lsort_t *b)
{
    return texts_order(a, b, 3) < 0;
}

/* Aggregates in order, then each one's keys in key order. */
static inline int
lagg_before(const lsort_t *a, const lsort_t *b)
{
    int c = texts_order(a, b, 2);
    return c ? c < 0 : a->at < b->at;
}

CSC_STABLE_SORT(sort_lkeys, lsort_t, lkey_before)
CSC_STABLE_SORT(sort_laggs, lsort_t, lagg_before)

/* The keys of a link's data for event type t, in order, each valued None (a
   borrowed reference, made once per fold): link_data copies it and sets each
   value, which costs less than inserting every key into a new dict. */
static PyObject *
link_shape(Scanner *self, links_t *L, int t)
{
    if (t < 0 || t >= L->n_shapes) {
        PyErr_SetString(PyExc_SystemError, "a link of an event type outside the spec");
        return NULL;
    }
    if (L->shapes[t]) return L->shapes[t];
    const etype_t *et = &self->spec.types[t];
    PyObject *d = PyDict_New();
    if (!d || PyDict_SetItem(d, self->link_event_id, Py_None) < 0) goto fail;
    for (int i = 0; i < et->n_fields; i++)
        if (et->fields[i].role_obj && PyDict_SetItem(d, et->fields[i].role_obj, Py_None) < 0)
            goto fail;
    return L->shapes[t] = d;
fail:
    Py_XDECREF(d);
    return NULL;
}

/* One winner's plain data: the fields of results.ExternalLink (LinkFact's
   link_fields): its event_id and every attribute its type keeps. */
static PyObject *
link_data(Scanner *self, links_t *L, const lwin_t *w)
{
    const rec_t *r = &self->store.recs[w->rec];
    const etype_t *et = &self->spec.types[r->etype];
    const uint32_t *ids = link_ids(self, r);
    PyObject *shape = link_shape(self, L, r->etype);
    PyObject *d = shape ? PyDict_Copy(shape) : NULL;
    if (!d) return NULL;
    PyObject *eid = eid_str(r);
    if (!eid || PyDict_SetItem(d, self->link_event_id, eid) < 0) goto fail;
    Py_CLEAR(eid);
    for (int i = 0; i < et->n_fields; i++) {
        const field_t *f = &et->fields[i];
        if (!f->role_obj) continue;
        if (i == et->link_field[L_RECORDED_AT]) {
            PyObject *at = utc_datetime(r->u.l.recorded_at);
            int rc = at ? PyDict_SetItem(d, f->role_obj, at) : -1;
            Py_XDECREF(at);
            if (rc < 0) goto fail;
            continue;
        }
        PyObject *v = lstr(self, L, ids[i]);
        if (!v || PyDict_SetItem(d, f->role_obj, v) < 0) goto fail;
    }
    PyObject_GC_UnTrack(d); /* str, None and a datetime: leaves */
    return d;
fail:
    Py_XDECREF(eid);
    Py_DECREF(d);
    return NULL;
}

/* The winners in key order: keys (sort_room of L->n) filled, then sorted;
   the sorted array (in keys or its second half). */
static lsort_t *
lkeys_sorted(Scanner *self, const links_t *L, lsort_t *keys)
{
    size_t n = L->n;
    for (size_t k = 0; k < n; k++) {
        const lwin_t *w = &L->wins[k];
        keys[k] = (lsort_t){{ltext(self, w->key[0]), ltext(self, w->key[1]),
                             ltext(self, w->key[2])},
                            {w->key[0], w->key[1], w->key[2]},
                            k};
    }
    return sort_lkeys(keys, keys + n, n);
}

/* Ask ahead for what writing the winners after keys[k] reads: the winner,
   its record, its strings' ids, their entries and their text. */
PREFETCHER
prefetch_winners(Scanner *self, const links_t *L, const lsort_t *keys, size_t k, size_t n)
{
    const rec_t *recs = self->store.recs;
    const intern_t *t = &self->store.strings;
    if (k + 2 * LINK_AHEAD < n) __builtin_prefetch(&L->wins[keys[k + 2 * LINK_AHEAD].at], 0);
    if (k + LINK_AHEAD < n) prefetch_rec(&recs[L->wins[keys[k + LINK_AHEAD].at].rec]);
    if (k + LINK_AHEAD / 2 < n)
        __builtin_prefetch(link_ids(self, &recs[L->wins[keys[k + LINK_AHEAD / 2].at].rec]), 0);
    for (size_t ahead = 2; ahead >= 1; ahead--) {
        if (k + ahead >= n) continue;
        const rec_t *r = &recs[L->wins[keys[k + ahead].at].rec];
        const uint32_t *ids = link_ids(self, r);
        for (int f = 0; f < self->spec.types[r->etype].n_fields; f++) {
            if (ids[f] >= t->n_items) continue;
            if (ahead == 2) __builtin_prefetch(&t->items[ids[f]], 0);
            else __builtin_prefetch(t->arena.data + t->items[ids[f]].off, 0);
        }
    }
}

/* The aggregate of w, the k-th winner in key order, for sort_laggs. */
static lsort_t
lagg_of(Scanner *self, const lwin_t *w, size_t k)
{
    return (lsort_t){
        {ltext(self, w->agg[0]), ltext(self, w->agg[1])}, {w->agg[0], w->agg[1], 0}, k};
}

/* The winner at aggs[k] (aggregates in order, over keys in key order). */
static const lwin_t *
lagg_win(const links_t *L, const lsort_t *keys, const lsort_t *aggs, size_t k)
{
    return &L->wins[keys[aggs[k].at].at];
}

/* The end of the run of aggs from k whose winners share one aggregate. */
static size_t
lagg_run_end(const links_t *L, const lsort_t *keys, const lsort_t *aggs, size_t k, size_t n)
{
    const lwin_t *first = lagg_win(L, keys, aggs, k);
    size_t end = k + 1;
    while (end < n) {
        const lwin_t *w = lagg_win(L, keys, aggs, end);
        if (w->agg[0] != first->agg[0] || w->agg[1] != first->agg[1]) break;
        end++;
    }
    return end;
}

/* (links, reverse index) of the winners: each link's data in key order, and
   (aggregate type, aggregate id, [keys in key order]) per aggregate, in order. */
static PyObject *
links_part(Scanner *self, links_t *L)
{
    size_t n = L->n;
    lsort_t *key_room = sort_room(n, sizeof(lsort_t));
    lsort_t *agg_room = sort_room(n, sizeof(lsort_t));
    lsort_t *keys = key_room, *aggs = agg_room;
    PyObject *links = PyList_New((Py_ssize_t)n), *reverse = PyList_New(0);
    PyObject **key_objs = calloc(n ? n : 1, sizeof(PyObject *));
    PyObject *result = NULL;
    if (!keys || !aggs || !key_objs) {
        PyErr_NoMemory();
        goto done;
    }
    if (!links || !reverse) goto done;
    keys = lkeys_sorted(self, L, keys);
    for (size_t k = 0; k < n; k++) {
        prefetch_winners(self, L, keys, k, n);
        const lwin_t *w = &L->wins[keys[k].at];
        PyObject *item = link_data(self, L, w);
        if (!item) goto done;
        PyList_SET_ITEM(links, (Py_ssize_t)k, item);
        PyObject *a = lstr(self, L, w->key[0]), *b = lstr(self, L, w->key[1]);
        PyObject *c = lstr(self, L, w->key[2]);
        if (!a || !b || !c || !(key_objs[k] = PyTuple_Pack(3, a, b, c))) goto done;
        aggs[k] = lagg_of(self, w, k);
    }
    aggs = sort_laggs(aggs, aggs + n, n);
    for (size_t k = 0; k < n;) {
        const lwin_t *first = lagg_win(L, keys, aggs, k);
        size_t end = lagg_run_end(L, keys, aggs, k, n);
        PyObject *refs = PyList_New((Py_ssize_t)(end - k));
        if (!refs) goto done;
        for (size_t q = k; q < end; q++)
            PyList_SET_ITEM(refs, (Py_ssize_t)(q - k), Py_NewRef(key_objs[aggs[q].at]));
        PyObject *t = lstr(self, L, first->agg[0]), *i = lstr(self, L, first->agg[1]);
        PyObject *entry = t && i ? PyTuple_Pack(3, t, i, refs) : NULL;
        Py_DECREF(refs);
        if (!entry) goto done;
        int rc = PyList_Append(reverse, entry);
        Py_DECREF(entry);
        if (rc < 0) goto done;
        k = end;
    }
    result = PyTuple_Pack(2, links, reverse);
done:
    for (size_t k = 0; key_objs && k < n; k++) Py_XDECREF(key_objs[k]);
    free(key_objs);
    free(key_room);
    free(agg_room);
    Py_XDECREF(links);
    Py_XDECREF(reverse);
    return result;
}

/* ------------------------------------------------------------------ the link index as JSON */

/* For a caller that only writes the projection (the CLI's --format json):
   the link index as the bytes contract/projection.py's canonical_dumps
   would write for the objects links_part makes (orjson with sorted keys, a
   2-space indent and UTC datetimes as "...Z"), so no object is made per
   link. `indent` is the indentation of the line the value starts on. */

static int
jw_put(buf_t *b, const char *s, size_t n)
{
    if (buf_room(b, n) < 0) return -1;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

/* A new line indented by `indent` spaces. */
static int
jw_line(buf_t *b, int indent)
{
    if (buf_room(b, (size_t)indent + 1) < 0) return -1;
    b->data[b->len++] = '\n';
    memset(b->data + b->len, ' ', (size_t)indent);
    b->len += (size_t)indent;
    return 0;
}

/* An array's or object's next item on a new line indented by `indent`
   spaces, after a comma unless it is the first. */
static int
jw_item(buf_t *b, int first, int indent)
{
    return (!first && jw_put(b, ",", 1) < 0) || jw_line(b, indent) < 0 ? -1 : 0;
}

/* The bytes orjson escapes: control characters, the quote, the backslash. */
static const uint8_t JW_ESCAPED[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
    R16(1), R16(1),                                 /* 0x00-0x1f */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20-0x2f: '"' */
    R16(0), R16(0),                                 /* 0x30-0x4f */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, /* 0x50-0x5f: '\\' */
#undef R16
    /* 0x60-0xff: 0, written as they are (UTF-8 is not escaped) */
};

/* The length of the first run of s's bytes that orjson writes as they are:
   all but the quote, the backslash and control characters (below 0x20). */
static inline size_t
jw_plain(const char *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    const __m128i control = _mm_set1_epi8(0x1F);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        /* Unsigned: max(c, 0x1f) == 0x1f exactly when c <= 0x1f. */
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                    _mm_cmpeq_epi8(_mm_max_epu8(v, control), control));
        int mask = _mm_movemask_epi8(stop);
        if (mask) return i + (size_t)__builtin_ctz((unsigned)mask);
    }
#endif
    /* 8 bytes at a time (most strings are shorter than 16): a byte is zero
       in x exactly when the "has a zero byte" test below finds one, and
       c < 0x20 exactly when c - 0x20 borrows from its top bit while c's top
       bit is clear. A false alarm only sends the bytes to the loop below. */
    const uint64_t ones = 0x0101010101010101ULL, tops = 0x8080808080808080ULL;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x);
        if (hit & tops) break;
    }
    while (i < n && !JW_ESCAPED[(unsigned char)s[i]]) i++;
    return i;
}

/* A string as orjson writes it: UTF-8 as it is, escaping only the quote,
   the backslash and control characters (\b \t \n \f \r, else \u00XX). */
static int
jw_str(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    if (n > (SIZE_MAX - 2) / 6 || buf_room(b, 6 * n + 2) < 0) return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    for (size_t i = 0;;) {
        size_t run = jw_plain(s + i, n - i);
        memcpy(o, s + i, run);
        o += run;
        i += run;
        if (i == n) break;
        unsigned char c = (unsigned char)s[i++];
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\t': *o++ = 't'; break;
        case '\n': *o++ = 'n'; break;
        case '\f': *o++ = 'f'; break;
        case '\r': *o++ = 'r'; break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* An interned string, or null for NONE_U32 (as lstr gives None). */
static int
jw_id(Scanner *self, buf_t *b, uint32_t id)
{
    if (id == NONE_U32) return jw_put(b, "null", 4);
    if (id >= self->store.strings.n_items) {
        PyErr_SetString(PyExc_SystemError, "a link string outside the intern table");
        return -1;
    }
    ltext_t t = ltext(self, id);
    return jw_str(b, t.s, t.n);
}

/* v's last `width` decimal digits at o; the position after them. */
static char *
jw_digits(char *o, unsigned v, int width)
{
    for (int k = width - 1; k >= 0; k--) {
        o[k] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

/* An instant as utc_datetime's datetime is written: "YYYY-MM-DDTHH:MM:SSZ",
   with ".ffffff" before the Z when the microseconds are not 0. */
static int
jw_instant(buf_t *b, int64_t us)
{
    int y, m, d, sod, micro;
    split_instant(us, &y, &m, &d, &sod, &micro);
    if (y < 1 || y > 9999) { /* the scan keeps times within 0001-9999 (UTC) */
        PyErr_SetString(PyExc_SystemError, "a link time outside the datetime range");
        return -1;
    }
    if (buf_room(b, 30) < 0) return -1;
    char *o = b->data + b->len;
    *o++ = '"';
    o = jw_digits(o, (unsigned)y, 4);
    *o++ = '-';
    o = jw_digits(o, (unsigned)m, 2);
    *o++ = '-';
    o = jw_digits(o, (unsigned)d, 2);
    *o++ = 'T';
    o = jw_digits(o, (unsigned)(sod / 3600), 2);
    *o++ = ':';
    o = jw_digits(o, (unsigned)(sod / 60 % 60), 2);
    *o++ = ':';
    o = jw_digits(o, (unsigned)(sod % 60), 2);
    if (micro) {
        *o++ = '.';
        o = jw_digits(o, (unsigned)micro, 6);
    }
    *o++ = 'Z';
    *o++ = '"';
    b->len = (size_t)(o - b->data);
    return 0;
}

/* One key of a link's data: its text, the field it comes from (-1: the
   event_id), and what goes before its value (its head: the comma after
   the value before, its line's indent, the key, ": "), at head_off in the
   links' heads buffer. */
typedef struct {
    const char *s;
    Py_ssize_t n;
    int field;
    size_t head_off, head_n;
} jkey_t;

/* The keys of event type t's link data in sorted order (as OPT_SORT_KEYS
   sorts str keys: UTF-8 byte order is code point order), each with its
   head for keys indented by `indent` written to heads: the same bytes for
   every link of the type, made once. */
static int
jw_keys(Scanner *self, int t, jkey_t *keys, int *n_keys, buf_t *heads, int indent)
{
    const etype_t *et = &self->spec.types[t];
    int n = 0;
    keys[n].s = PyUnicode_AsUTF8AndSize(self->link_event_id, &keys[n].n);
    if (!keys[n].s) return -1;
    keys[n++].field = -1;
    for (int i = 0; i < et->n_fields; i++) {
        if (!et->fields[i].role_obj) continue;
        keys[n].s = PyUnicode_AsUTF8AndSize(et->fields[i].role_obj, &keys[n].n);
        if (!keys[n].s) return -1;
        keys[n++].field = i;
    }
    for (int i = 1; i < n; i++) { /* a dozen keys, once per event type */
        jkey_t k = keys[i];
        int j = i;
        while (j > 0 && bytes_order(k.s, (uint32_t)k.n, keys[j - 1].s, (uint32_t)keys[j - 1].n) < 0) {
            keys[j] = keys[j - 1];
            j--;
        }
        keys[j] = k;
    }
    for (int k = 0; k < n; k++) {
        keys[k].head_off = heads->len;
        if (jw_item(heads, !k, indent) < 0 ||
            jw_str(heads, keys[k].s, (size_t)keys[k].n) < 0 || jw_put(heads, ": ", 2) < 0)
            return -1;
        keys[k].head_n = heads->len - keys[k].head_off;
    }
    *n_keys = n;
    return 0;
}

/* One winner's data as a JSON object (link_data's dict). */
static int
jw_link(Scanner *self, buf_t *b, const lwin_t *w, const jkey_t *keys, int n_keys,
        const buf_t *heads, int indent)
{
    const rec_t *r = &self->store.recs[w->rec];
    const etype_t *et = &self->spec.types[r->etype];
    const uint32_t *ids = link_ids(self, r);
    if (jw_put(b, "{", 1) < 0) return -1;
    for (int k = 0; k < n_keys; k++) { /* keys indented by indent + 2 (jw_keys) */
        if (jw_put(b, heads->data + keys[k].head_off, keys[k].head_n) < 0) return -1;
        int i = keys[k].field, rc;
        if (i < 0) rc = jw_str(b, r->eid, r->eid_len);
        else if (i == et->link_field[L_RECORDED_AT]) rc = jw_instant(b, r->u.l.recorded_at);
        else rc = jw_id(self, b, ids[i]);
        if (rc < 0) return -1;
    }
    return jw_line(b, indent) < 0 || jw_put(b, "}", 1) < 0 ? -1 : 0;
}

/* A key as a JSON array of its 3 strings. */
static int
jw_key(Scanner *self, buf_t *b, const uint32_t key[3], int indent)
{
    if (jw_put(b, "[", 1) < 0) return -1;
    for (int k = 0; k < 3; k++)
        if (jw_item(b, !k, indent + 2) < 0 || jw_id(self, b, key[k]) < 0)
            return -1;
    return jw_line(b, indent) < 0 || jw_put(b, "]", 1) < 0 ? -1 : 0;
}

/* Text: written bytes handed to Python as they lie, read-only through the
   buffer protocol (memoryview, file.write, bytes()): the text of a million
   links is a hundred MB, and a bytes object of it would be a copy. */
typedef struct {
    PyObject_HEAD
    char *data;
    Py_ssize_t len;
} Text;

static int
Text_getbuffer(Text *self, Py_buffer *view, int flags)
{
    /* The view holds the Text, so the bytes live as long as any view. */
    return PyBuffer_FillInfo(view, (PyObject *)self, self->data, self->len, 1, flags);
}

static void
Text_dealloc(Text *self)
{
    free(self->data);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyBufferProcs Text_as_buffer = {(getbufferproc)Text_getbuffer, NULL};

PyTypeObject TextType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "connector_sync_contracts._engine.native._native.Text",
    .tp_basicsize = sizeof(Text),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Bytes the core wrote (a link index's JSON), read through the buffer protocol.",
    .tp_dealloc = (destructor)Text_dealloc,
    .tp_as_buffer = &Text_as_buffer,
};

/* A buffer's bytes as a Text, which takes them over (b is left empty, and
   the next text starts small). */
static PyObject *
jw_text(buf_t *b)
{
    if (b->len > (size_t)PY_SSIZE_T_MAX) return PyErr_NoMemory();
    Text *text = PyObject_New(Text, &TextType);
    if (!text) return NULL;
    text->data = b->data;
    text->len = (Py_ssize_t)b->len;
    if (!text->data && !(text->data = malloc(1))) {
        Py_DECREF(text);
        return PyErr_NoMemory();
    }
    memset(b, 0, sizeof(*b));
    return (PyObject *)text;
}

/* (links, reverse index) as links_part makes them, each as the text of
   its JSON value (a Text). */
static PyObject *
links_json(Scanner *self, links_t *L, int indent)
{
    size_t n = L->n;
    lsort_t *key_room = sort_room(n, sizeof(lsort_t));
    lsort_t *agg_room = sort_room(n, sizeof(lsort_t));
    lsort_t *keys = key_room, *aggs = agg_room;
    int n_types = self->spec.n_types;
    jkey_t *type_keys = calloc((size_t)(n_types > 0 ? n_types : 1) * (MAX_FIELDS + 1),
                               sizeof(jkey_t));
    int *n_type_keys = calloc((size_t)(n_types > 0 ? n_types : 1), sizeof(int));
    buf_t b = {0}, heads = {0};
    PyObject *links = NULL, *reverse = NULL, *result = NULL;
    if (!keys || !aggs || !type_keys || !n_type_keys) {
        PyErr_NoMemory();
        goto done;
    }
    keys = lkeys_sorted(self, L, keys);
    if (jw_put(&b, "[", 1) < 0) goto done;
    for (size_t k = 0; k < n; k++) {
        prefetch_winners(self, L, keys, k, n);
        const lwin_t *w = &L->wins[keys[k].at];
        int t = self->store.recs[w->rec].etype;
        jkey_t *tk = type_keys + (size_t)t * (MAX_FIELDS + 1);
        if (!n_type_keys[t] && jw_keys(self, t, tk, &n_type_keys[t], &heads, indent + 4) < 0)
            goto done;
        if (jw_item(&b, !k, indent + 2) < 0 ||
            jw_link(self, &b, w, tk, n_type_keys[t], &heads, indent + 2) < 0)
            goto done;
        aggs[k] = lagg_of(self, w, k);
    }
    if ((n ? jw_line(&b, indent) : 0) < 0 || jw_put(&b, "]", 1) < 0 || !(links = jw_text(&b)))
        goto done;
    aggs = sort_laggs(aggs, aggs + n, n);
    if (jw_put(&b, "[", 1) < 0) goto done;
    for (size_t k = 0; k < n;) {
        const lwin_t *first = lagg_win(L, keys, aggs, k);
        size_t end = lagg_run_end(L, keys, aggs, k, n);
        int in = indent + 4; /* the entry's keys */
        if (jw_item(&b, !k, indent + 2) < 0 || jw_put(&b, "{", 1) < 0 || jw_line(&b, in) < 0 ||
            jw_put(&b, "\"external_refs\": [", 18) < 0)
            goto done;
        for (size_t q = k; q < end; q++)
            if (jw_item(&b, q == k, in + 2) < 0 ||
                jw_key(self, &b, lagg_win(L, keys, aggs, q)->key, in + 2) < 0)
                goto done;
        if (jw_line(&b, in) < 0 || jw_put(&b, "],", 2) < 0 || jw_line(&b, in) < 0 ||
            jw_put(&b, "\"internal_aggregate_id\": ", 25) < 0 || jw_id(self, &b, first->agg[1]) < 0 ||
            jw_item(&b, 0, in) < 0 || jw_put(&b, "\"internal_aggregate_type\": ", 27) < 0 ||
            jw_id(self, &b, first->agg[0]) < 0 || jw_line(&b, indent + 2) < 0 ||
            jw_put(&b, "}", 1) < 0)
            goto done;
        k = end;
    }
    if ((n ? jw_line(&b, indent) : 0) < 0 || jw_put(&b, "]", 1) < 0 || !(reverse = jw_text(&b)))
        goto done;
    result = PyTuple_Pack(2, links, reverse);
done:
    free(b.data);
    free(heads.data);
    free(type_keys);
    free(n_type_keys);
    free(key_room);
    free(agg_room);
    Py_XDECREF(links);
    Py_XDECREF(reverse);
    return result;
}

/* The stream-level group in replay order, as reducing/fold.py's Engine.fold
   routes it: ("stream", ignored, stream anomalies, links) where links is
   (link data in key order, reverse index, link anomalies), or None when
   the link family is not folded. With link_indent >= 0, the link data and
   the reverse index are each the text of its JSON (links_json: a Text). */
static PyObject *
fold_stream(Scanner *self, const uint32_t *idx, size_t n, int families, int link_indent)
{
    int on = (families >> F_LINK) & 1;
    Py_ssize_t ignored = 0;
    links_t L;
    memset(&L, 0, sizeof(L));
    PyObject *stream = PyList_New(0), *found = PyList_New(0), *part = NULL, *result = NULL;
    if (!stream || !found) goto done;
    if (on) {
        L.n_strs = self->store.strings.n_items;
        L.owner = calloc(L.n_strs ? L.n_strs : 1, sizeof(uint32_t));
        L.strs = calloc(L.n_strs ? L.n_strs : 1, sizeof(PyObject *));
        L.n_shapes = self->spec.n_types;
        L.shapes = calloc(L.n_shapes > 0 ? (size_t)L.n_shapes : 1, sizeof(PyObject *));
        if (!L.owner || !L.strs || !L.shapes) {
            PyErr_NoMemory();
            goto done;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const rec_t *r = &self->store.recs[idx[i]];
        int rc = 0;
        if (on) prefetch_link_steps(self, &L, idx, i, n);
        if (r->kind == RK_MALFORMED) {
            if (!((families >> r->family) & 1)) ignored++;
            else rc = malformed_anomaly(self, r->health ? found : stream, r);
        } else if (r->kind == RK_LINK && on) {
            rc = link_step(self, &L, found, r, idx[i]);
        } else {
            ignored++; /* an event of no family, or a link not folded */
        }
        if (rc < 0) goto done;
    }
    if (on) {
        PyObject *index = link_indent >= 0 ? links_json(self, &L, link_indent)
                                           : links_part(self, &L);
        if (!index) goto done;
        part = Py_BuildValue("(OOO)", PyTuple_GET_ITEM(index, 0), PyTuple_GET_ITEM(index, 1),
                             found);
        Py_DECREF(index);
        if (!part) goto done;
    } else {
        part = Py_NewRef(Py_None);
    }
    result = Py_BuildValue("(snOO)", "stream", ignored, stream, part);
done:
    links_free(&L);
    Py_XDECREF(stream);
    Py_XDECREF(found);
    Py_XDECREF(part);
    return result;
}

/* ------------------------------------------------------------------ groups */

/* The next group: the stream-level group (see fold_stream), or
   ("partition", id, connector_part, sync_part, ignored); None at the end.
   delivery_model: a class to make the sync part's deliveries as (a tuple
   of its models), or None for dicts. */
PyObject *
fold_next(Scanner *self, int keep_logs, long long max_cycles, int families,
          PyObject *delivery_model, int link_indent)
{
    if (!self->folding) {
        PyErr_SetString(PyExc_RuntimeError, "start_fold() first");
        return NULL;
    }
    if (max_cycles < 0) {
        PyErr_SetString(PyExc_ValueError, "max_cycles must be >= 0");
        return NULL;
    }
    const maker_t *m = NULL;
    if (delivery_model != Py_None) {
        if (!PyType_Check(delivery_model)) {
            PyErr_SetString(PyExc_TypeError, "delivery_model must be a class or None");
            return NULL;
        }
        if ((PyObject *)self->deliveries.cls != delivery_model &&
            maker_init(&self->deliveries, (PyTypeObject *)delivery_model) < 0)
            return NULL;
        m = &self->deliveries;
    }
    if (self->next_group >= self->n_groups) Py_RETURN_NONE;
    size_t g = self->next_group++;
    uint32_t conn = self->group_conn[g];
    uint32_t *idx = self->order + self->group_start[g];
    size_t n = self->group_start[g + 1] - self->group_start[g];
    if (sort_group(self, idx, n) < 0) return NULL;
    if (conn == NONE_U32) return fold_stream(self, idx, n, families, link_indent);
    cacc_t ca;
    memset(&ca, 0, sizeof(ca));
    ca.state = -1;
    ca.health = -1;
    sacc_t sa;
    memset(&sa, 0, sizeof(sa));
    int has_conn = 0, has_sync = 0;
    Py_ssize_t ignored = 0;
    PyObject *result = NULL, *cpart = NULL, *spart = NULL;
    ca.anomalies = PyList_New(0);
    sa.anomalies = PyList_New(0);
    if (!ca.anomalies || !sa.anomalies) goto done;
    if (keep_logs && (!(ca.log = PyList_New(0)) || !(sa.log = PyList_New(0)))) goto done;
    for (size_t i = 0; i < n; i++) {
        const rec_t *r = &self->store.recs[idx[i]];
        if (i + FOLD_AHEAD < n) prefetch_key(self, &self->store.recs[idx[i + FOLD_AHEAD]]);
        int family = r->kind == RK_MALFORMED ? r->family : self->spec.types[r->etype].family;
        if (!(families & (1 << family))) {
            ignored++;
            continue;
        }
        int rc;
        if (family == F_CONNECTOR) {
            has_conn = 1;
            rc = fold_connector(self, &ca, r, max_cycles);
        } else {
            has_sync = 1;
            rc = fold_sync(self, &sa, idx[i]);
        }
        if (rc < 0) goto done;
    }
    cpart = has_conn ? connector_part(self, &ca) : Py_NewRef(Py_None);
    spart = has_sync ? sync_part(self, &sa, keep_logs, m) : Py_NewRef(Py_None);
    if (!cpart || !spart) goto done;
    PyObject *cid = intern_str(&self->store.strings, conn);
    if (!cid) goto done;
    result = Py_BuildValue("(sNOOn)", "partition", cid, cpart, spart, ignored);
done:
    Py_XDECREF(cpart);
    Py_XDECREF(spart);
    Py_XDECREF(ca.anomalies);
    Py_XDECREF(ca.log);
    Py_XDECREF(sa.anomalies);
    Py_XDECREF(sa.log);
    for (size_t k = 0; k < sa.cap; k++) {
        Py_XDECREF(sa.slots[k].did);
        Py_XDECREF(sa.slots[k].last_eid);
    }
    free(sa.slots);
    return result;
}

void
fold_free(Scanner *self)
{
    free(self->order);
    free(self->group_start);
    free(self->group_conn);
    free(self->ents);
    self->order = NULL;
    self->group_start = NULL;
    self->group_conn = NULL;
    self->ents = NULL;
    self->ents_cap = 0;
    self->n_groups = self->next_group = 0;
}
