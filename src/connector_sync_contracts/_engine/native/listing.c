/*
 * The command line's list of located anomalies, made in one call.
 *
 * located_lines(groups, places, sources, ranks, reported, root_causes[, chunk])
 * returns what cli/render.py's located_lines returns for
 * ReplayData.placed_anomalies(): one "FILE:LINE: anomaly KIND [connector
 * ID]: MESSAGE" str per anomaly placed on a line, in file then line order.
 * With chunk > 0 it returns the same lines joined by "\n", chunk lines a
 * str (no str is made per line), or None when a line holds a newline of
 * its own (then only the list of lines tells the lines apart).
 * A log can have an anomaly on every other line; the Python listing makes a
 * tuple, a place and a sort key object per anomaly, and costs more than
 * the fold that found them. render.replay_located_lines calls this, and
 * tests/cli/test_anomaly_listing.py holds it equal to the Python listing.
 *
 * groups      [(connector_id or None, [anomaly dict, ...]), ...] in report
 *             order (ReplayData.anomaly_groups)
 * places      {event_id or id(anomaly): (source index, line)} (ReplayData.place)
 * sources     [str]: the inputs' names, by source index
 * ranks       [int]: each source's rank in the files' order (sort key)
 * reported    {(source, line)}: lines already reported as problems, left out
 * root_causes (kind, ...): kinds left out
 *
 * Anomalies of one line keep their report order: the sort's last key is
 * the anomaly's position. Nothing here reads the log; every value comes
 * from the replay's own data, and is type-checked all the same.
 */
#include "csc.h"


static PyObject *key_kind, *key_event_id, *key_message;

int
listing_init(void)
{
    key_kind = PyUnicode_InternFromString("kind");
    key_event_id = PyUnicode_InternFromString("event_id");
    key_message = PyUnicode_InternFromString("message");
    return key_kind && key_event_id && key_message ? 0 : -1;
}

/* One listed anomaly: its sort key and the parts of its text (held). */
typedef struct {
    uint64_t rank, line;
    PyObject *source, *kind, *connector, *message; /* connector NULL: no subject */
} lentry_t;

static inline int
lentry_before(const lentry_t *a, const lentry_t *b)
{
    return a->rank != b->rank ? a->rank < b->rank : a->line < b->line;
}

/* Anomalies of one line keep their report order. */
CSC_STABLE_SORT(sort_lentries, lentry_t, lentry_before)

/* 0 when s is a str whose length and characters can be read, else -1 with
   an error set (before 3.12 a str can still need PyUnicode_READY). */
static int
ready_str(PyObject *s, const char *what)
{
    if (!PyUnicode_Check(s)) {
        PyErr_Format(PyExc_TypeError, "%s must be a str", what);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) return -1;
#endif
    return 0;
}

/* A value an anomaly dict must have (borrowed), or NULL with an error set. */
static PyObject *
field(PyObject *item, PyObject *key)
{
    PyObject *v = PyDict_GetItemWithError(item, key);
    if (!v && !PyErr_Occurred()) PyErr_SetObject(PyExc_KeyError, key);
    return v;
}

/* A str value of an anomaly dict, or NULL with an error set. */
static PyObject *
str_field(PyObject *item, PyObject *key)
{
    PyObject *v = field(item, key);
    if (!v) return NULL;
    return ready_str(v, "an anomaly's kind and message") < 0 ? NULL : v;
}

/* n += add, or -1 when it would pass PY_SSIZE_T_MAX. */
static int
grow_len(Py_ssize_t *n, Py_ssize_t add)
{
    if (add < 0 || *n > PY_SSIZE_T_MAX - add) {
        PyErr_NoMemory();
        return -1;
    }
    *n += add;
    return 0;
}

typedef struct {
    PyObject *out;
    int kind;
    void *data;
    Py_ssize_t at;
} writer_t;

static int
put_str(writer_t *w, PyObject *s)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    if (kind == w->kind) {
        /* Same width: the code units as they are (the output has room: its
           length was summed from these). */
        memcpy((char *)w->data + w->at * kind, PyUnicode_DATA(s), (size_t)n * (size_t)kind);
    } else if (n && PyUnicode_CopyCharacters(w->out, w->at, s, 0, n) < 0) {
        return -1;
    }
    w->at += n;
    return 0;
}

static void
put_ascii(writer_t *w, const char *s, size_t n)
{
    if (w->kind == PyUnicode_1BYTE_KIND) {
        memcpy((char *)w->data + w->at, s, n);
        w->at += (Py_ssize_t)n;
        return;
    }
    for (size_t k = 0; k < n; k++)
        PyUnicode_WRITE(w->kind, w->data, w->at++, (Py_UCS4)(unsigned char)s[k]);
}

static Py_UCS4
max_char(Py_UCS4 a, PyObject *s)
{
    Py_UCS4 b = PyUnicode_MAX_CHAR_VALUE(s);
    return a > b ? a : b;
}

static const char sep_line[] = ":", sep_kind[] = ": anomaly ", sep_open[] = " [connector ",
                  sep_close[] = "]", sep_message[] = ": ";

/* line's decimal digits, at the end of buf[24]; their count. */
static Py_ssize_t
line_digits(uint64_t line, char buf[24], char **start)
{
    char *end = buf + 24, *digits = end;
    do {
        *--digits = (char)('0' + line % 10);
        line /= 10;
    } while (line);
    *start = digits;
    return end - digits;
}

/* The length of e's text, added to *n, and its largest character, raised
   in *top; -1 (an error set) past PY_SSIZE_T_MAX. */
static int
entry_size(const lentry_t *e, Py_ssize_t *n, Py_UCS4 *top)
{
    char buf[24], *digits;
    Py_ssize_t nd = line_digits(e->line, buf, &digits);
    if (grow_len(n, PyUnicode_GET_LENGTH(e->source)) < 0 ||
        grow_len(n, (Py_ssize_t)(sizeof(sep_line) - 1) + nd + (Py_ssize_t)(sizeof(sep_kind) - 1)) <
            0 ||
        grow_len(n, PyUnicode_GET_LENGTH(e->kind)) < 0 ||
        grow_len(n, (Py_ssize_t)(sizeof(sep_message) - 1)) < 0 ||
        grow_len(n, PyUnicode_GET_LENGTH(e->message)) < 0)
        return -1;
    if (e->connector &&
        (grow_len(n, (Py_ssize_t)(sizeof(sep_open) - 1 + sizeof(sep_close) - 1)) < 0 ||
         grow_len(n, PyUnicode_GET_LENGTH(e->connector)) < 0))
        return -1;
    *top = max_char(max_char(max_char(*top, e->source), e->kind), e->message);
    if (e->connector) *top = max_char(*top, e->connector);
    return 0;
}

/* "SOURCE:LINE: anomaly KIND [connector CONNECTOR]: MESSAGE" (no subject when
   connector is NULL), as render.located_lines writes it. */
static int
entry_write(writer_t *w, const lentry_t *e)
{
    char buf[24], *digits;
    Py_ssize_t nd = line_digits(e->line, buf, &digits);
    if (put_str(w, e->source) < 0) return -1;
    put_ascii(w, sep_line, sizeof(sep_line) - 1);
    put_ascii(w, digits, (size_t)nd);
    put_ascii(w, sep_kind, sizeof(sep_kind) - 1);
    if (put_str(w, e->kind) < 0) return -1;
    if (e->connector) {
        put_ascii(w, sep_open, sizeof(sep_open) - 1);
        if (put_str(w, e->connector) < 0) return -1;
        put_ascii(w, sep_close, sizeof(sep_close) - 1);
    }
    put_ascii(w, sep_message, sizeof(sep_message) - 1);
    return put_str(w, e->message);
}

/* The text of entries [0, n), joined by "\n": one str. */
static PyObject *
entries_text(const lentry_t *e, size_t n)
{
    Py_ssize_t len = 0;
    Py_UCS4 top = 127;
    for (size_t k = 0; k < n; k++)
        if ((k && grow_len(&len, 1) < 0) || entry_size(&e[k], &len, &top) < 0) return NULL;
    writer_t w = {.out = PyUnicode_New(len, top)};
    if (!w.out) return NULL;
    w.kind = PyUnicode_KIND(w.out);
    w.data = PyUnicode_DATA(w.out);
    for (size_t k = 0; k < n; k++) {
        if (k) put_ascii(&w, "\n", 1);
        if (entry_write(&w, &e[k]) < 0) goto fail;
    }
    if (w.at != len) {
        PyErr_SetString(PyExc_SystemError, "an anomaly listing of the wrong length");
        goto fail;
    }
    return w.out;
fail:
    Py_DECREF(w.out);
    return NULL;
}

typedef struct {
    lentry_t *items;
    size_t n, cap;
} lentries_t;

static void
lentries_free(lentries_t *e)
{
    for (size_t k = 0; k < e->n; k++) {
        lentry_t *item = &e->items[k];
        Py_DECREF(item->source);
        Py_DECREF(item->kind);
        Py_XDECREF(item->connector);
        Py_DECREF(item->message);
    }
    free(e->items);
    memset(e, 0, sizeof(*e));
}

/* Holds the entry's parts. */
static int
lentries_add(lentries_t *e, lentry_t item)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 1024;
        size_t bytes = e->cap <= SIZE_MAX / 2 ? array_size(cap, sizeof(lentry_t)) : 0;
        lentry_t *items = bytes ? realloc(e->items, bytes) : NULL;
        if (!items) {
            PyErr_NoMemory();
            return -1;
        }
        e->items = items;
        e->cap = cap;
    }
    Py_INCREF(item.source);
    Py_INCREF(item.kind);
    Py_XINCREF(item.connector);
    Py_INCREF(item.message);
    e->items[e->n++] = item;
    return 0;
}

/* The place of an anomaly (ReplayData.place): a borrowed (index, line) tuple,
   NULL when it has none, or NULL with an error set. */
static PyObject *
place_of(PyObject *places, PyObject *item)
{
    PyObject *event_id = field(item, key_event_id);
    if (!event_id) return NULL;
    int named = PyObject_IsTrue(event_id);
    if (named < 0) return NULL;
    if (named) {
        PyObject *place = PyDict_GetItemWithError(places, event_id);
        if (place || PyErr_Occurred()) return place;
    }
    PyObject *identity = PyLong_FromVoidPtr(item);
    if (!identity) return NULL;
    PyObject *place = PyDict_GetItemWithError(places, identity);
    Py_DECREF(identity);
    return place;
}

/* One anomaly: added to e, or left out (0), or -1 with an error set. */
typedef struct {
    PyObject *places, *sources, *reported, *roots;
    const uint64_t *ranks;
    PyObject *plain; /* the last kind found not to be a root cause (held; compared by identity) */
} lctx_t;

static int
list_one(lentries_t *e, lctx_t *c, PyObject *item, PyObject *connector)
{
    PyObject *places = c->places, *sources = c->sources, *reported = c->reported;
    if (!PyDict_Check(item)) {
        PyErr_SetString(PyExc_TypeError, "an anomaly must be a dict");
        return -1;
    }
    PyObject *kind = str_field(item, key_kind);
    if (!kind) return -1;
    if (kind != c->plain) {
        for (Py_ssize_t r = 0; r < PyTuple_GET_SIZE(c->roots); r++) {
            int root = PyObject_RichCompareBool(kind, PyTuple_GET_ITEM(c->roots, r), Py_EQ);
            if (root) return root < 0 ? -1 : 0;
        }
        Py_XSETREF(c->plain, Py_NewRef(kind));
    }
    PyObject *place = place_of(places, item);
    if (!place) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_Check(place) || PyTuple_GET_SIZE(place) != 2) {
        PyErr_SetString(PyExc_TypeError, "a place must be a (source index, line) tuple");
        return -1;
    }
    Py_ssize_t index = PyLong_AsSsize_t(PyTuple_GET_ITEM(place, 0));
    if (index == -1 && PyErr_Occurred()) return -1;
    if (index < 0 || index >= PyList_GET_SIZE(sources)) {
        PyErr_SetString(PyExc_ValueError, "a place names a source that is not in sources");
        return -1;
    }
    PyObject *line_obj = PyTuple_GET_ITEM(place, 1);
    unsigned long long line = PyLong_AsUnsignedLongLong(line_obj);
    if (line == (unsigned long long)-1 && PyErr_Occurred()) return -1;
    PyObject *source = PyList_GET_ITEM(sources, index);
    if (ready_str(source, "a source name") < 0) return -1;
    if (PySet_GET_SIZE(reported)) {
        PyObject *at = PyTuple_Pack(2, source, line_obj);
        if (!at) return -1;
        int seen = PySet_Contains(reported, at);
        Py_DECREF(at);
        if (seen) return seen < 0 ? -1 : 0;
    }
    PyObject *message = str_field(item, key_message);
    if (!message) return -1;
    return lentries_add(e, (lentry_t){c->ranks[index], line, source, kind, connector, message});
}

/* 1 when s holds a newline, else 0; the last str found without one is
   remembered (*plain, held), as messages are often one shared str. */
static int
has_newline(PyObject *s, PyObject **plain)
{
    if (s == *plain) return 0;
    Py_ssize_t at = PyUnicode_FindChar(s, '\n', 0, PyUnicode_GET_LENGTH(s), 1);
    if (at == -2) return -1;
    if (at >= 0) return 1;
    Py_XSETREF(*plain, Py_NewRef(s));
    return 0;
}

/* The lines of e joined by "\n", `chunk` a str; None when a line holds a
   newline. */
static PyObject *
chunked(const lentries_t *e, size_t chunk)
{
    PyObject *plain[4] = {NULL, NULL, NULL, NULL}, *out = NULL;
    int found = 0;
    for (size_t k = 0; !found && k < e->n; k++) {
        const lentry_t *item = &e->items[k];
        PyObject *parts[4] = {item->source, item->kind, item->message, item->connector};
        for (int p = 0; !found && p < 4; p++)
            if (parts[p]) found = has_newline(parts[p], &plain[p]);
    }
    for (int p = 0; p < 4; p++) Py_XDECREF(plain[p]);
    if (found) return found < 0 ? NULL : Py_NewRef(Py_None);
    size_t n_chunks = e->n / chunk + (e->n % chunk != 0);
    if ((size_t)PY_SSIZE_T_MAX < n_chunks || !(out = PyList_New((Py_ssize_t)n_chunks)))
        return out ? NULL : PyErr_NoMemory();
    for (size_t c = 0; c < n_chunks; c++) {
        size_t start = c * chunk, n = e->n - start < chunk ? e->n - start : chunk;
        PyObject *text = entries_text(e->items + start, n);
        if (!text) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)c, text);
    }
    return out;
}

PyObject *
located_lines(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *groups, *places, *sources, *ranks_list, *reported, *roots;
    Py_ssize_t chunk = 0;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!O!|n", &PyList_Type, &groups, &PyDict_Type, &places,
                          &PyList_Type, &sources, &PyList_Type, &ranks_list, &PySet_Type,
                          &reported, &PyTuple_Type, &roots, &chunk))
        return NULL;
    if (chunk < 0) {
        PyErr_SetString(PyExc_ValueError, "chunk must be >= 0");
        return NULL;
    }
    Py_ssize_t n_sources = PyList_GET_SIZE(sources);
    if (PyList_GET_SIZE(ranks_list) != n_sources) {
        PyErr_SetString(PyExc_ValueError, "ranks must have one rank per source");
        return NULL;
    }
    lentries_t e = {0};
    PyObject *out = NULL;
    uint64_t *ranks = malloc(array_size(n_sources ? (size_t)n_sources : 1, sizeof(uint64_t)));
    if (!ranks) return PyErr_NoMemory();
    lctx_t ctx = {places, sources, reported, roots, ranks, NULL};
    for (Py_ssize_t k = 0; k < n_sources; k++) {
        unsigned long long rank = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(ranks_list, k));
        if (rank == (unsigned long long)-1 && PyErr_Occurred()) goto done;
        ranks[k] = rank;
    }
    /* The groups list is ours for the call; an anomaly list is held while read. */
    for (Py_ssize_t g = 0; g < PyList_GET_SIZE(groups); g++) {
        PyObject *group = PyList_GET_ITEM(groups, g);
        if (!PyTuple_Check(group) || PyTuple_GET_SIZE(group) != 2) {
            PyErr_SetString(PyExc_TypeError, "a group must be a (connector, anomalies) tuple");
            goto done;
        }
        PyObject *connector = PyTuple_GET_ITEM(group, 0);
        if (connector == Py_None) {
            connector = NULL;
        } else if (ready_str(connector, "a group's connector (or None)") < 0) {
            goto done;
        } else if (PyUnicode_GET_LENGTH(connector) == 0) {
            connector = NULL; /* as the Python listing: no subject for "" */
        }
        PyObject *items = PySequence_Fast(PyTuple_GET_ITEM(group, 1), "anomalies must be a sequence");
        if (!items) goto done;
        int rc = 0;
        for (Py_ssize_t i = 0; rc == 0 && i < PySequence_Fast_GET_SIZE(items); i++)
            rc = list_one(&e, &ctx, PySequence_Fast_GET_ITEM(items, i), connector);
        Py_DECREF(items);
        if (rc < 0) goto done;
    }
    if (e.n > 1) {
        lentry_t *tmp = malloc(array_size(e.n, sizeof(lentry_t)));
        if (!tmp) {
            PyErr_NoMemory();
            goto done;
        }
        const lentry_t *sorted = sort_lentries(e.items, tmp, e.n);
        if (sorted != e.items) memcpy(e.items, sorted, array_size(e.n, sizeof(lentry_t)));
        free(tmp);
    }
    if (chunk) {
        out = chunked(&e, (size_t)chunk);
        goto done;
    }
    if ((size_t)PY_SSIZE_T_MAX < e.n) {
        PyErr_NoMemory();
        goto done;
    }
    out = PyList_New((Py_ssize_t)e.n);
    for (size_t k = 0; out && k < e.n; k++) {
        PyObject *text = entries_text(&e.items[k], 1);
        if (!text) Py_CLEAR(out);
        else PyList_SET_ITEM(out, (Py_ssize_t)k, text);
    }
done:
    Py_XDECREF(ctx.plain);
    lentries_free(&e);
    free(ranks);
    return out;
}
