/*
 * The Scanner type: what Python calls (see _engine/native/__init__.py).
 *
 *   Scanner(spec, key, link_fact, make_anomaly, shared_kinds, weak_bits=0)
 *       spec: the spec dict, or load_spec(dict)'s result (copied, not parsed)
 *   scan(block, keep, limit, strict, source, first_line, offset=-1, reports=False)
 *       -> (lines, [(index, start, end) of each deferred line]
 *           [, with reports: [(index, start, end, code) of each line kept and reported]])
 *   reread_from(source, fd) -> whether lines can be read again; rereads()
 *   scan_objects(items, event_type, keep, source, first_line, start, stop)
 *       -> (items, [index of each deferred item])
 *   probe(line, strict, reports=False) -> what offer() takes for a line, or None
 *   probe_object(item, event_type, reports=True) -> the same for one mapping or Event
 *   ident(line) -> the keyed hash identical copies share
 *   offer(event_id, lamport, instant_us, ident, source, line, dedup, kind, values)
 *   reserve(events), settle() -> (event ids with differing copies, copies dropped)
 *   start_fold(place=False) -> records kept; next_group(keep_logs, max_cycles, families)
 *   fold_places() -> ({event_id: (source, line)} of the anomalies folded, all placed)
 *   copy_places() -> {event_id: ((source, line, offset, length), ...)} after settle()
 *   locate(event_ids) -> {event_id: (source, line)}
 */
#include "csc.h"

/* A spec loaded once (load_spec), that scanners copy instead of parsing it. */
static const char SPEC_CAPSULE[] = "connector_sync_contracts._engine.native._native.spec";

static void
spec_capsule_free(PyObject *capsule)
{
    spec_t *spec = PyCapsule_GetPointer(capsule, SPEC_CAPSULE);
    if (!spec) {
        PyErr_Clear();
        return;
    }
    spec_free(spec);
    free(spec);
}

/* load_spec(spec) -> the spec loaded, for Scanner(): a new scanner copies it
   (a few microseconds) instead of parsing the dict (~40 µs). */
static PyObject *
load_spec(PyObject *module, PyObject *dict)
{
    (void)module;
    if (!PyDict_Check(dict)) {
        PyErr_SetString(PyExc_TypeError, "load_spec() takes the spec dict");
        return NULL;
    }
    spec_t *spec = calloc(1, sizeof(spec_t));
    if (!spec) return PyErr_NoMemory();
    if (spec_load(spec, dict) < 0) {
        spec_free(spec);
        free(spec);
        return NULL;
    }
    PyObject *capsule = PyCapsule_New(spec, SPEC_CAPSULE, spec_capsule_free);
    if (!capsule) {
        spec_free(spec);
        free(spec);
    }
    return capsule;
}

static int
Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"spec",         "key",          "link_fact", "make_anomaly",
                             "shared_kinds", "weak_bits", NULL};
    PyObject *spec, *link_fact, *make_anomaly, *shared_kinds;
    Py_buffer key;
    int weak_bits = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Oy*OOO!|i", kwlist, &spec, &key, &link_fact,
                                     &make_anomaly, &PyFrozenSet_Type, &shared_kinds, &weak_bits))
        return -1;
    if (!PyDict_Check(spec) && !PyCapsule_IsValid(spec, SPEC_CAPSULE)) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_TypeError, "spec must be the spec dict or load_spec()'s result");
        return -1;
    }
    if (self->loaded) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_RuntimeError, "Scanner is initialised once");
        return -1;
    }
    if (key.len != 16) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_ValueError, "key must be 16 bytes");
        return -1;
    }
    memcpy(&self->key.k0, key.buf, 8);
    memcpy(&self->key.k1, (const char *)key.buf + 8, 8);
    PyBuffer_Release(&key);
#ifdef CSC_WEAK_HASH
    if (!weak_bits) weak_bits = 4;
#endif
    if (weak_bits < 0 || weak_bits > 63) {
        PyErr_SetString(PyExc_ValueError, "weak_bits must be 0..63");
        return -1;
    }
    self->key.weak_bits = weak_bits;
    int loaded = PyDict_Check(spec)
                     ? spec_load(&self->spec, spec)
                     : spec_clone(&self->spec, PyCapsule_GetPointer(spec, SPEC_CAPSULE));
    if (loaded < 0) {
        spec_free(&self->spec);
        return -1;
    }
    self->json.key = &self->key;
    self->json.scratch = &self->scratch;
    self->json.max_depth = self->spec.max_depth;
    self->link_fact = Py_NewRef(link_fact);
    self->link_event_id = PyUnicode_InternFromString("event_id");
    if (!self->link_event_id) return -1;
    self->make_anomaly = Py_NewRef(make_anomaly);
    self->shared_kinds = Py_NewRef(shared_kinds);
    self->messages = PyDict_New();
    if (!self->messages) return -1;
    static const char *const anomaly_keys[3] = {"kind", "event_id", "message"};
    for (int k = 0; k < 3; k++)
        if (!(self->anomaly_key[k] = PyUnicode_InternFromString(anomaly_keys[k]))) return -1;
    self->loaded = 1;
    return 0;
}

static void
Scanner_dealloc(Scanner *self)
{
    store_free(&self->store);
    fold_free(self);
    jctx_free(&self->json);
    buf_free(&self->scratch);
    buf_free(&self->objtext);
    Py_CLEAR(self->items);
    Py_CLEAR(self->items_type);
    maker_clear(&self->deliveries);
    Py_CLEAR(self->placed);
    for (size_t k = 0; k < self->n_rereads; k++) Py_CLEAR(self->rereads[k].read);
    free(self->rereads);
    buf_free(&self->reread_buf);
    buf_free(&self->ident_buf);
    buf_free(&self->mapped);
    spec_free(&self->spec);
    Py_CLEAR(self->link_fact);
    Py_CLEAR(self->make_anomaly);
    Py_CLEAR(self->shared_kinds);
    Py_CLEAR(self->messages);
    for (int k = 0; k < 3; k++) Py_CLEAR(self->anomaly_key[k]);
    Py_CLEAR(self->link_event_id);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
usable(Scanner *self, const char *what)
{
    if (!self->loaded) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner was not initialised");
        return 0;
    }
    if (self->folding) {
        PyErr_Format(PyExc_RuntimeError, "%s() after the fold started", what);
        return 0;
    }
    if (self->rereading) {
        PyErr_Format(PyExc_RuntimeError, "%s() while a line is read again", what);
        return 0;
    }
    return 1;
}


/* Where an unknown event type's name is in its line, for its report: its
   offset << 16 | its length << 40 when the name is written there as it reads
   (no escape), fits those bits and is not empty; else 0 (Python reads the
   line for it). */
static long long
type_name_span(const jstr_t *name, const char *line, const char *line_end)
{
    if (name->s < line || name->s >= line_end || name->n <= 0 || name->n > line_end - name->s)
        return 0;
    Py_ssize_t at = name->s - line;
    if (at >= (Py_ssize_t)1 << 24 || name->n >= (Py_ssize_t)1 << 23 ||
        memchr(name->s, '\\', (size_t)name->n))
        return 0;
    return (long long)at << 16 | (long long)name->n << 40;
}

static PyObject *
Scanner_scan(Scanner *self, PyObject *args)
{
    Py_buffer buf;
    int keep, strict;
    Py_ssize_t limit;
    unsigned int source;
    unsigned long long first_line;
    long long offset = -1;
    int reports = 0;
    if (!PyArg_ParseTuple(args, "y*pnpIK|Lp", &buf, &keep, &limit, &strict, &source, &first_line,
                          &offset, &reports))
        return NULL;
    if (!usable(self, "scan") || limit < 0 || source > 0xFFFF || offset < -1) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "limit, source or offset out of range");
        PyBuffer_Release(&buf);
        return NULL;
    }
    /* Kept lines whose source can be read again get their identity only if
       a copy of their event_id arrives (store.c's line_ident). */
    int lazy = keep && offset >= 0 && source < self->n_rereads &&
               (self->rereads[source].fd >= 0 || self->rereads[source].read);
    PyObject *deferred = PyList_New(0), *reported = reports ? PyList_New(0) : NULL;
    if (!deferred || (reports && !reported)) {
        Py_XDECREF(deferred);
        Py_XDECREF(reported);
        PyBuffer_Release(&buf);
        return NULL;
    }
    const char *data = buf.buf, *end = data + buf.len, *p = data;
    Py_ssize_t index = 0;
    parsed_t pl;
    pending_t later = {.full = 0};
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if (line_end > p && line_end[-1] == '\r') line_end--; /* CRLF, or a last line's CR */
        Py_ssize_t n = line_end - p;
        int ok = 0;
        if (n <= limit) {
            ok = scan_line(self, p, line_end, &pl, strict, reports);
            if (ok < 0) goto error;
        }
        if (ok && pl.report != REPORT_NONE) {
            /* Kept (below) and reported: (index, start, end, code), code = the
               REPORT_* kind | event type index << 8 | broken rules << 16, or for
               an unknown event type, where its name is in the line << 16. */
            long long code = (long long)pl.report | (long long)(pl.etype < 0 ? 0xFF : pl.etype) << 8 |
                             (long long)(pl.broken & 0xFFFF) << 16;
            if (pl.report == REPORT_UNKNOWN_TYPE)
                code |= type_name_span(&pl.env[self->spec.env_role[R_EVENT_TYPE]].str, p, line_end);
            PyObject *t = Py_BuildValue("(nnnL)", index, (Py_ssize_t)(p - data),
                                        (Py_ssize_t)(line_end - data), code);
            if (!t || PyList_Append(reported, t) < 0) {
                Py_XDECREF(t);
                goto error;
            }
            Py_DECREF(t);
        }
        if (ok && keep) {
            rec_t tmp;
            uint64_t at = (uint64_t)(p - data);
            int place = lazy && (uint64_t)offset < LINE_OFF_LIMIT &&
                        at < LINE_OFF_LIMIT - (uint64_t)offset && (uint64_t)n < LINE_LEN_LIMIT;
            uint64_t ident;
            if (place)
                ident = ((uint64_t)offset + at) << LINE_LEN_BITS | (uint64_t)n;
            else if (line_identity(self, p, (size_t)n, &ident) < 0)
                goto error;
            if (record_from_line(self, &pl, ident, WHERE(source, first_line + (uint64_t)index), &tmp) < 0)
                goto error;
            if (place) tmp.lazy = LAZY_LINE;
            if (store_put_later(self, &later, &tmp, eid_tag(&self->key, pl.eid, (size_t)pl.eid_len),
                                place ? p : NULL) < 0)
                goto error;
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
    if (store_put_later(self, &later, NULL, 0, NULL) < 0 || store_flush_links(self) < 0)
        goto error;
    PyBuffer_Release(&buf);
    if (reports) return Py_BuildValue("(nNN)", index, deferred, reported);
    return Py_BuildValue("(nN)", index, deferred);
error:
    store_drop_pending(&later);
    PyBuffer_Release(&buf);
    Py_DECREF(deferred);
    Py_XDECREF(reported);
    return NULL;
}

/* map_cloudevents(block, limit, plan) -> (lines, mapped, declined): each line
   of a block of whole lines (as scan() splits them) that is a structured
   CloudEvent the plan maps, as its envelope line; declined lists (index,
   start, end, at) of the others: the line's place in the block, and where
   its envelope line would go in mapped. */
static PyObject *
Scanner_map_cloudevents(Scanner *self, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t limit;
    PyObject *plan_tuple;
    if (!PyArg_ParseTuple(args, "y*nO!", &buf, &limit, &PyTuple_Type, &plan_tuple)) return NULL;
    ce_plan_t plan;
    PyObject *declined = NULL;
    if (!usable(self, "map_cloudevents")) goto error;
    if (limit < 0) {
        PyErr_SetString(PyExc_ValueError, "limit out of range");
        goto error;
    }
    if (ce_plan_read(plan_tuple, &plan) < 0) goto error;
    declined = PyList_New(0);
    if (!declined) goto error;
    self->mapped.len = 0;
    const char *data = buf.buf, *end = data + buf.len, *p = data;
    Py_ssize_t index = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if (line_end > p && line_end[-1] == '\r') line_end--; /* CRLF, or a last line's CR */
        int ok = 0;
        if (line_end - p <= limit) {
            ok = ce_map_line(self, &plan, p, line_end, &self->mapped);
            if (ok < 0) goto error;
        }
        if (!ok) {
            PyObject *t = Py_BuildValue("(nnnn)", index, (Py_ssize_t)(p - data),
                                        (Py_ssize_t)(line_end - data),
                                        (Py_ssize_t)self->mapped.len);
            if (!t || PyList_Append(declined, t) < 0) {
                Py_XDECREF(t);
                goto error;
            }
            Py_DECREF(t);
        }
        index++;
        p = nl ? nl + 1 : end;
    }
    PyBuffer_Release(&buf);
    PyObject *mapped = PyBytes_FromStringAndSize(self->mapped.data ? self->mapped.data : "",
                                                 (Py_ssize_t)self->mapped.len);
    self->mapped.len = 0;
    if (!mapped) {
        Py_DECREF(declined);
        return NULL;
    }
    return Py_BuildValue("(nNN)", index, mapped, declined);
error:
    self->mapped.len = 0;
    PyBuffer_Release(&buf);
    Py_XDECREF(declined);
    return NULL;
}

/* scan_objects(items, event_type, keep, source, first_line, start, stop):
   each of items[start:stop] (a mapping, or an instance of event_type) is
   read and checked like a line (objects.c); where = (source, first_line +
   its index). Kept records get their identity only if a copy of their
   event_id arrives (object_ident), so the scanner holds items, one list,
   until settle(). Returns (stop, the deferred indexes). */
static PyObject *
Scanner_scan_objects(Scanner *self, PyObject *args)
{
    PyObject *items, *event_type;
    int keep;
    unsigned int source;
    unsigned long long first_line;
    Py_ssize_t index, stop;
    if (!PyArg_ParseTuple(args, "O!OpIKnn", &PyList_Type, &items, &event_type, &keep, &source,
                          &first_line, &index, &stop))
        return NULL;
    if (!usable(self, "scan_objects")) return NULL;
    if (source > 0xFFFF || first_line > 0xFFFFFFFFFFFFULL || index < 0 ||
        (uint64_t)stop > 0xFFFFFFFFFFFFULL - first_line ||
        stop < index || (event_type != Py_None && !PyType_Check(event_type))) {
        PyErr_SetString(PyExc_ValueError, "source, lines or event_type out of range");
        return NULL;
    }
    if (keep) {
        uint64_t where = WHERE(source, first_line);
        if (!self->items) {
            self->items = Py_NewRef(items);
            self->items_type = Py_NewRef(event_type);
            self->items_where = where;
        } else if (self->items != items || self->items_type != event_type ||
                   self->items_where != where) {
            PyErr_SetString(PyExc_ValueError,
                            "scan_objects() keeps records from one list per scanner: their "
                            "copies are compared with its items");
            return NULL;
        }
    }
    PyObject *deferred = PyList_New(0);
    if (!deferred) return NULL;
    parsed_t pl;
    pending_t later = {.full = 0};
    ahead_t ahead = {0};
    /* The list may change while Python code runs (a pattern check, which may
       switch threads): read its length each time and hold each item. */
    for (; index < stop && index < PyList_GET_SIZE(items); index++) {
        ahead_step(&ahead, items, event_type, index, stop);
        PyObject *item = Py_NewRef(PyList_GET_ITEM(items, index));
        PyObject *held;
        int ok = scan_object(self, item, event_type, 1, &pl, NULL, &held);
        if (ok < 0) {
            Py_XDECREF(held);
            Py_DECREF(item);
            goto error;
        }
        if (ok && keep) {
            rec_t tmp;
            uint64_t where = WHERE(source, first_line + (uint64_t)index);
            int put = record_from_line(self, &pl, 0, where, &tmp);
            tmp.lazy = LAZY_ITEM;
            if (put == 0)
                put = store_put_later(self, &later, &tmp,
                                      eid_tag(&self->key, pl.eid, (size_t)pl.eid_len), NULL);
            if (put < 0) {
                Py_XDECREF(held);
                Py_DECREF(item);
                goto error;
            }
        }
        /* The item and the copies read held until its record is made: its strings
           were read in place. */
        Py_XDECREF(held);
        Py_DECREF(item);
        if (!ok) {
            PyObject *at = PyLong_FromSsize_t(index);
            if (!at || PyList_Append(deferred, at) < 0) {
                Py_XDECREF(at);
                goto error;
            }
            Py_DECREF(at);
        }
    }
    ahead_clear(&ahead);
    if (store_put_later(self, &later, NULL, 0, NULL) < 0 || store_flush_links(self) < 0)
        goto error;
    return Py_BuildValue("(nN)", index, deferred);
error:
    ahead_clear(&ahead);
    store_drop_pending(&later);
    Py_DECREF(deferred);
    return NULL;
}

/* The link fact of a link record, from Python's factory: its values in
   field order (strings, None, the time in microseconds). */
static PyObject *
link_fact(Scanner *self, const rec_t *r)
{
    etype_t *et = &self->spec.types[r->etype];
    const uint32_t *ids = self->store.link_vals + r->u.l.vals;
    PyObject *values = PyTuple_New(et->n_fields);
    if (!values) return NULL;
    for (int i = 0; i < et->n_fields; i++) {
        PyObject *item;
        if (i == et->link_field[L_RECORDED_AT]) item = PyLong_FromLongLong(r->u.l.recorded_at);
        else if (ids[i] == NONE_U32) item = Py_NewRef(Py_None);
        else item = intern_str(&self->store.strings, ids[i]);
        if (!item) {
            Py_DECREF(values);
            return NULL;
        }
        PyTuple_SET_ITEM(values, i, item);
    }
    return PyObject_CallFunction(self->link_fact, "s#ON", r->eid, (Py_ssize_t)r->eid_len,
                                 et->name_obj, values);
}

/* What offer() takes to rebuild this record: (kind, values), as record_values gives it. */
static PyObject *
record_values(Scanner *self, const rec_t *r)
{
    intern_t *t = &self->store.strings;
    if (r->kind == RK_LINK)
        return Py_BuildValue("(s(NL))", "link", link_fact(self, r), (long long)r->u.l.recorded_at);
    if (r->kind != RK_EVENT) return Py_BuildValue("(sO)", "other", Py_None);
    etype_t *et = &self->spec.types[r->etype];
    if (et->family == F_CONNECTOR) {
        PyObject *latency = r->health ? PyFloat_FromDouble(r->u.c.latency) : Py_NewRef(Py_None);
        return Py_BuildValue("(s(ONNNNLiNii))", "connector", et->name_obj, intern_str(t, r->conn),
                             intern_str(t, r->u.c.ctype), intern_str(t, r->u.c.provider),
                             intern_str(t, r->u.c.mission), (long long)r->u.c.recorded_at,
                             (int)r->health - 1, latency, (int)r->prev - 1, (int)r->broken);
    }
    const char *blob = self->store.blob.data;
    return Py_BuildValue("(s(ONNNLLLi))", "sync", et->name_obj, intern_str(t, r->conn),
                         PyUnicode_DecodeUTF8(blob + r->u.s.off, r->u.s.dlen, "surrogatepass"),
                         PyUnicode_DecodeUTF8(blob + r->u.s.off + r->u.s.dlen, r->u.s.flen,
                                              "surrogatepass"),
                         (long long)r->u.s.retry, (long long)r->u.s.max_retries,
                         (long long)r->u.s.count, (int)r->broken);
}

/* What probe() and probe_object() return for an item the core took:
   (event_id, lamport, instant_us, kind, values). The record is not kept:
   the store's space it took is given back (its interned strings stay). */
static PyObject *
probed(Scanner *self, parsed_t *pl)
{
    rec_t r;
    size_t link_vals = self->store.n_link_vals, blob = self->store.blob.len;
    PyObject *values = NULL;
    if (record_from_line(self, pl, 0, 0, &r) >= 0 && store_flush_links(self) >= 0)
        values = record_values(self, &r);
    self->store.n_link_vals = link_vals;
    self->store.blob.len = blob;
    if (!values) return NULL;
    PyObject *res = Py_BuildValue("(s#KLOO)", pl->eid, (Py_ssize_t)pl->eid_len,
                                  (unsigned long long)pl->lamport, (long long)pl->instant,
                                  PyTuple_GET_ITEM(values, 0), PyTuple_GET_ITEM(values, 1));
    Py_DECREF(values);
    return res;
}

/* probe(line, strict, reports=False) -> None when deferred, else (event_id, lamport,
   instant_us, kind, values). With reports, a line of an unknown event type or
   one that breaks a semantic rule is taken, as scan(..., reports=True) takes it. */
static PyObject *
Scanner_probe(Scanner *self, PyObject *args)
{
    Py_buffer buf;
    int strict, reports = 0;
    if (!PyArg_ParseTuple(args, "y*p|p", &buf, &strict, &reports)) return NULL;
    if (!usable(self, "probe")) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    parsed_t pl;
    const char *p = buf.buf;
    int ok = scan_line(self, p, p + buf.len, &pl, strict, reports);
    PyObject *res = ok < 0 ? NULL : ok ? probed(self, &pl) : Py_NewRef(Py_None);
    PyBuffer_Release(&buf);
    return res;
}

/* probe_object(item, event_type, reports=True) -> None when deferred, else what
   probe() returns for a line: one mapping or Event read as scan_objects() reads
   it (objects.c). With reports (as scan_objects() keeps them), an item of an
   unknown event type or one that breaks a semantic rule is taken. A call made while another reads its item
   (from a tzinfo's utcoffset, or another thread) defers. */
static PyObject *
Scanner_probe_object(Scanner *self, PyObject *args)
{
    PyObject *item, *event_type;
    int reports = 1;
    if (!PyArg_ParseTuple(args, "OO|p", &item, &event_type, &reports)) return NULL;
    if (!usable(self, "probe_object")) return NULL;
    if (event_type != Py_None && !PyType_Check(event_type)) {
        PyErr_SetString(PyExc_TypeError, "event_type must be a type or None");
        return NULL;
    }
    /* Reading a datetime's offset runs Python code (a tzinfo's), which may call
       here again or switch threads: that call would overwrite this one's
       scratch space, so its item is deferred (the models decide it). */
    if (self->probing) return Py_NewRef(Py_None);
    self->probing = 1;
    parsed_t pl;
    PyObject *held;
    Py_INCREF(item); /* held while read, and while its strings are */
    int ok = scan_object(self, item, event_type, reports, &pl, NULL, &held);
    PyObject *res = ok < 0 ? NULL : ok ? probed(self, &pl) : Py_NewRef(Py_None);
    Py_XDECREF(held);
    Py_DECREF(item);
    self->probing = 0;
    return res;
}

static PyObject *
Scanner_ident(Scanner *self, PyObject *arg)
{
    Py_buffer buf;
    if (PyObject_GetBuffer(arg, &buf, PyBUF_SIMPLE) < 0) return NULL;
    uint64_t h;
    int rc = line_identity(self, buf.buf, (size_t)buf.len, &h);
    PyBuffer_Release(&buf);
    return rc < 0 ? NULL : PyLong_FromUnsignedLongLong(h);
}

/* A string argument as UTF-8 (surrogates passed through), interned. */
static uint32_t
intern_arg(Scanner *self, PyObject *s)
{
    if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return NONE_U32;
    }
    PyObject *utf8 = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
    if (!utf8) return NONE_U32;
    uint32_t id = intern_add(&self->store.strings, &self->key, PyBytes_AS_STRING(utf8),
                             (size_t)PyBytes_GET_SIZE(utf8), 1);
    Py_DECREF(utf8);
    return id;
}

static int
blob_arg(Scanner *self, PyObject *s, uint32_t *len)
{
    if (!PyUnicode_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return -1;
    }
    PyObject *utf8 = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
    if (!utf8) return -1;
    Py_ssize_t n = PyBytes_GET_SIZE(utf8);
    buf_t *blob = &self->store.blob;
    if ((size_t)n > UINT32_MAX || buf_reserve(blob, (size_t)n) < 0) {
        Py_DECREF(utf8);
        if (!PyErr_Occurred()) PyErr_NoMemory();
        return -1;
    }
    if (n) memcpy(blob->data + blob->len, PyBytes_AS_STRING(utf8), (size_t)n);
    blob->len += (size_t)n;
    *len = (uint32_t)n;
    Py_DECREF(utf8);
    return 0;
}

static int
type_of(Scanner *self, PyObject *name, int family)
{
    if (!PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "event type must be a str");
        return -1;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(name, &n);
    if (!s) return -1;
    int t = spec_type_index(&self->spec, s, n);
    if (t < 0 || self->spec.types[t].family != family) {
        PyErr_Format(PyExc_ValueError, "not an event type of that family: %U", name);
        return -1;
    }
    return t;
}

/* A link fact Python decided, (fact, recorded_at in microseconds), as a
   record of the first link type: its attributes read by the roles' names. */
static int
offer_link(Scanner *self, PyObject *values, rec_t *r)
{
    PyObject *fact;
    long long recorded;
    if (!PyArg_ParseTuple(values, "OL", &fact, &recorded)) return -1;
    if (self->spec.link_type < 0) {
        PyErr_SetString(PyExc_ValueError, "the spec has no link event type");
        return -1;
    }
    etype_t *et = &self->spec.types[self->spec.link_type];
    uint64_t at;
    if (link_vals_add(&self->store, et->n_fields, &at) < 0) return -1;
    for (int i = 0; i < et->n_fields; i++) {
        field_t *f = &et->fields[i];
        uint32_t id = NONE_U32;
        if (f->role_obj && f->kind == K_STR) {
            PyObject *v = PyObject_GetAttr(fact, f->role_obj);
            if (!v) return -1;
            int none = v == Py_None;
            if (!none) id = intern_arg(self, v);
            Py_DECREF(v);
            if (!none && id == NONE_U32) return -1;
            if (none && !f->nullable && !f->optional) {
                PyErr_SetString(PyExc_ValueError, "a link fact without a required attribute");
                return -1;
            }
        }
        self->store.link_vals[at + (uint64_t)i] = id;
    }
    r->kind = RK_LINK;
    r->etype = (uint8_t)self->spec.link_type;
    r->u.l.vals = at;
    r->u.l.recorded_at = recorded;
    return 0;
}

/* A record built by Python (a line it decided): kind is "connector" or
   "sync" (values: see _engine/native/__init__.py's record_values), "link"
   or "malformed" (values: the fact, kept), or "other" (values: None). */
static PyObject *
Scanner_offer(Scanner *self, PyObject *args)
{
    const char *eid, *kind;
    Py_ssize_t eid_len;
    unsigned long long lamport, ident, line;
    long long instant;
    unsigned int source;
    int dedup;
    PyObject *values;
    if (!PyArg_ParseTuple(args, "s#KLKIKpsO", &eid, &eid_len, &lamport, &instant, &ident, &source,
                          &line, &dedup, &kind, &values))
        return NULL;
    if (!usable(self, "offer")) return NULL;
    if (eid_len < 1 || eid_len > EID_MAX || source > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "event_id or source out of range");
        return NULL;
    }
    rec_t r;
    memset(&r, 0, sizeof(r));
    r.lamport = lamport;
    r.instant = instant;
    r.ident = ident;
    r.where = WHERE(source, line);
    r.eid_len = (uint8_t)eid_len;
    memcpy(r.eid, eid, (size_t)eid_len);
    r.conn = NONE_U32;
    if (strcmp(kind, "other") == 0) {
        r.kind = RK_OTHER;
    } else if (strcmp(kind, "malformed") == 0) {
        /* (fact, family index, connector_id or None): partitioned when it names one
           (a link's: folded with the links). */
        PyObject *fact, *cid;
        int family;
        if (!PyArg_ParseTuple(values, "OiO", &fact, &family, &cid)) return NULL;
        if (family < 0 || family > F_LINK) {
            PyErr_SetString(PyExc_ValueError, "family out of range");
            return NULL;
        }
        r.kind = RK_MALFORMED;
        r.family = (uint8_t)family;
        r.health = cid != Py_None;
        if (cid != Py_None && family != F_LINK) {
            r.conn = intern_arg(self, cid);
            if (r.conn == NONE_U32) return NULL;
        }
        r.u.py = Py_NewRef(fact);
    } else if (strcmp(kind, "link") == 0) {
        if (offer_link(self, values, &r) < 0) return NULL;
    } else if (strcmp(kind, "connector") == 0) {
        PyObject *type, *cid, *ctype, *provider, *mission, *latency;
        long long recorded;
        int health, prev, broken;
        if (!PyArg_ParseTuple(values, "OOOOOLiOii", &type, &cid, &ctype, &provider, &mission,
                              &recorded, &health, &latency, &prev, &broken))
            return NULL;
        int t = type_of(self, type, F_CONNECTOR);
        if (t < 0) return NULL;
        etype_t *et = &self->spec.types[t];
        int hf = et->role_field[R_HEALTH], pf = et->role_field[R_PREVIOUS];
        if ((hf >= 0) != (health >= 0) || (hf >= 0 && health >= et->fields[hf].n_enum) ||
            (pf >= 0) != (prev >= 0) || prev >= self->spec.n_states || broken < 0 ||
            broken >= (1 << et->n_rules)) {
            PyErr_SetString(PyExc_ValueError, "connector values out of range");
            return NULL;
        }
        r.kind = RK_EVENT;
        r.etype = (uint8_t)t;
        r.broken = (uint8_t)broken;
        r.health = (uint8_t)(health + 1);
        r.prev = (uint8_t)(prev + 1);
        r.u.c.recorded_at = recorded;
        if (latency != Py_None) {
            r.u.c.latency = PyFloat_AsDouble(latency) + 0.0;
            if (PyErr_Occurred()) return NULL;
        }
        if ((r.conn = intern_arg(self, cid)) == NONE_U32 ||
            (r.u.c.ctype = intern_arg(self, ctype)) == NONE_U32 ||
            (r.u.c.provider = intern_arg(self, provider)) == NONE_U32 ||
            (r.u.c.mission = intern_arg(self, mission)) == NONE_U32)
            return NULL;
    } else if (strcmp(kind, "sync") == 0) {
        PyObject *type, *cid, *dlv, *fp;
        long long retry, max_retries, count;
        int broken;
        if (!PyArg_ParseTuple(values, "OOOOLLLi", &type, &cid, &dlv, &fp, &retry, &max_retries,
                              &count, &broken))
            return NULL;
        int t = type_of(self, type, F_SYNC);
        if (t < 0) return NULL;
        if (count < 0 || broken < 0 || broken >= (1 << self->spec.types[t].n_rules)) {
            PyErr_SetString(PyExc_ValueError, "sync values out of range");
            return NULL;
        }
        r.kind = RK_EVENT;
        r.etype = (uint8_t)t;
        r.broken = (uint8_t)broken;
        r.u.s.retry = retry;
        r.u.s.max_retries = max_retries;
        r.u.s.count = count;
        r.u.s.off = self->store.blob.len;
        if ((r.conn = intern_arg(self, cid)) == NONE_U32 || blob_arg(self, dlv, &r.u.s.dlen) < 0 ||
            blob_arg(self, fp, &r.u.s.flen) < 0)
            return NULL;
    } else {
        PyErr_Format(PyExc_ValueError, "unknown record kind %s", kind);
        return NULL;
    }
    if (store_put(self, &r, dedup, eid_tag(&self->key, r.eid, r.eid_len)) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Scanner_reserve(Scanner *self, PyObject *arg)
{
    Py_ssize_t events = PyLong_AsSsize_t(arg);
    if (events < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "reserve() needs a count >= 0");
        return NULL;
    }
    if (!usable(self, "reserve")) return NULL;
    if (store_reserve(self, (size_t)events) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Scanner_settle(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    if (!usable(self, "settle")) return NULL;
    return store_settle(self);
}

static PyObject *
Scanner_copy_places(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    if (!usable(self, "copy_places")) return NULL;
    return store_copy_places(self);
}

/* reread_from(source, how): the lines scan() is given for this source with
   an offset can be read again: how is a file descriptor, held open by the
   caller until settle(), or a callable read(offset, length) -> bytes (None
   when it cannot), for lines held in memory; -1: they cannot. Returns
   whether lines are read again at all (False for a file where there is no
   pread: identities are then made as each line is read). */
static PyObject *
Scanner_reread_from(Scanner *self, PyObject *args)
{
    unsigned int source;
    PyObject *how;
    if (!PyArg_ParseTuple(args, "IO", &source, &how)) return NULL;
    if (!usable(self, "reread_from")) return NULL;
    int fd = -1;
    PyObject *read = NULL;
    if (PyCallable_Check(how)) {
        read = how;
    } else {
        long v = PyLong_AsLong(how);
        if (v == -1 && PyErr_Occurred()) return NULL;
        if (v < -1 || v > INT_MAX) {
            PyErr_SetString(PyExc_ValueError, "source or fd out of range");
            return NULL;
        }
        fd = (int)v;
    }
    if (source > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "source or fd out of range");
        return NULL;
    }
#ifdef _WIN32
    if (!read) Py_RETURN_FALSE;
#endif
    if (source >= self->n_rereads) {
        size_t n = (size_t)source + 1;
        struct reread *grown = realloc(self->rereads, array_size(n, sizeof(struct reread)));
        if (!grown) return PyErr_NoMemory();
        for (size_t k = self->n_rereads; k < n; k++) grown[k] = (struct reread){-1, 0, NULL};
        self->rereads = grown;
        self->n_rereads = n;
    }
    struct reread *at = &self->rereads[source];
    at->fd = fd;
    Py_XINCREF(read);
    Py_XSETREF(at->read, read);
    Py_RETURN_TRUE;
}

/* rereads() -> (lines read again, per source index). */
static PyObject *
Scanner_rereads(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyTuple_New((Py_ssize_t)self->n_rereads);
    for (size_t k = 0; out && k < self->n_rereads; k++) {
        PyObject *n = PyLong_FromUnsignedLongLong(self->rereads[k].count);
        if (!n) Py_CLEAR(out);
        else PyTuple_SET_ITEM(out, (Py_ssize_t)k, n);
    }
    return out;
}

static PyObject *
Scanner_start_fold(Scanner *self, PyObject *args)
{
    int place = 0;
    if (!PyArg_ParseTuple(args, "|p", &place)) return NULL;
    if (!self->loaded) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner was not initialised");
        return NULL;
    }
    PyObject *placed = place ? PyDict_New() : NULL;
    if (place && !placed) return NULL;
    PyObject *kept = fold_start(self);
    if (!kept) {
        Py_XDECREF(placed);
        return NULL;
    }
    Py_XSETREF(self->placed, placed);
    self->unplaced = 0;
    return kept;
}

/* fold_places() -> ({event_id: (source, line)}, every one placed): where
   the events of the anomalies folded so far are (start_fold(True)), and
   whether the fold placed each one's event; handed over once (then
   ({}, False): nothing is known). */
static PyObject *
Scanner_fold_places(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *placed = self->placed;
    int complete = placed && !self->unplaced;
    self->placed = NULL;
    if (!placed && !(placed = PyDict_New())) return NULL;
    return Py_BuildValue("(NO)", placed, complete ? Py_True : Py_False);
}

static PyObject *
Scanner_next_group(Scanner *self, PyObject *args)
{
    int keep_logs, families;
    long long max_cycles;
    PyObject *delivery_model = Py_None;
    int link_indent = -1;
    if (!PyArg_ParseTuple(args, "pLi|Oi", &keep_logs, &max_cycles, &families, &delivery_model,
                          &link_indent))
        return NULL;
    if (link_indent > 1024) {
        PyErr_SetString(PyExc_ValueError, "link_indent must be at most 1024");
        return NULL;
    }
    return fold_next(self, keep_logs, max_cycles, families, delivery_model, link_indent);
}

static PyObject *
Scanner_locate(Scanner *self, PyObject *eids)
{
    if (!self->loaded) {
        PyErr_SetString(PyExc_RuntimeError, "Scanner was not initialised");
        return NULL;
    }
    if (!PyList_Check(eids)) {
        PyErr_SetString(PyExc_TypeError, "locate() takes a list of event ids");
        return NULL;
    }
    return store_locate(self, eids);
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS,
     "scan(block, keep, limit, strict, source, first_line, offset=-1, reports=False) -> "
     "(lines, deferred[, reported]): "
     "check every line of a block of whole lines; keep the accepted ones as records when keep "
     "is true. deferred lists (index, start, end) of the lines Python must decide. offset: "
     "where the block starts in the file given to reread_from for source, or -1. reports: "
     "a valid envelope of an unknown event type, and a valid event that breaks semantic "
     "rules, are taken (kept) and listed in reported as (index, start, end, code), code = "
     "kind (1: unknown type, 2: rules) | event type index << 8 | broken rules << 16."},
    {"reread_from", (PyCFunction)Scanner_reread_from, METH_VARARGS,
     "reread_from(source, how) -> bool: read a kept line of source again, from the file "
     "descriptor how (open until settle()) or with how(offset, length) -> bytes | None, only "
     "when a copy of its event_id arrives; -1: never. False where that is not supported."},
    {"rereads", (PyCFunction)Scanner_rereads, METH_NOARGS,
     "rereads() -> tuple: how many lines of each source were read again."},
    {"map_cloudevents", (PyCFunction)Scanner_map_cloudevents, METH_VARARGS,
     "map_cloudevents(block, limit, plan) -> (lines, mapped, declined): the envelope line of "
     "each line of a block that is a structured CloudEvent the plan maps; declined lists "
     "(index, start, end, at) of the lines Python must map, at: their place in mapped."},
    {"scan_objects", (PyCFunction)Scanner_scan_objects, METH_VARARGS,
     "scan_objects(items, event_type, keep, source, first_line, start, stop) -> (stop, deferred): "
     "check every mapping or event_type instance of a list as the JSON text it stands for; "
     "deferred lists the indexes of the items Python must decide."},
    {"probe", (PyCFunction)Scanner_probe, METH_VARARGS,
     "probe(line, strict, reports=False) -> None when the line is deferred, else (event_id, "
     "lamport, instant_us, kind, values): what offer() would take for it. With reports, a "
     "line scan(..., reports=True) keeps and reports is taken too."},
    {"probe_object", (PyCFunction)Scanner_probe_object, METH_VARARGS,
     "probe_object(item, event_type, reports=True) -> None when the item (a mapping, or an "
     "instance of event_type) is deferred, else what probe(line, False, reports) returns for "
     "a line."},
    {"ident", (PyCFunction)Scanner_ident, METH_O,
     "ident(line) -> the keyed hash that identical copies of a line share (the members "
     "in any order, white space and the event_id's spelling left out)."},
    {"offer", (PyCFunction)Scanner_offer, METH_VARARGS,
     "offer(event_id, lamport, instant_us, ident, source, line, dedup, kind, values): keep a "
     "record Python built."},
    {"reserve", (PyCFunction)Scanner_reserve, METH_O,
     "reserve(events): size the dedup table for about this many records at once (bounded)."},
    {"settle", (PyCFunction)Scanner_settle, METH_NOARGS,
     "settle() -> (event ids with differing copies, identical copies dropped)."},
    {"copy_places", (PyCFunction)Scanner_copy_places, METH_NOARGS,
     "copy_places() -> {event_id: ((source, line, offset, length), ...)}: where the copies of "
     "each event id settle() returned were read (offset and length -1 when not known; once; "
     "None before settle())."},
    {"start_fold", (PyCFunction)Scanner_start_fold, METH_VARARGS,
     "start_fold(place=False) -> records kept: group them by partition; place: note where "
     "the event of each anomaly folded is (fold_places())."},
    {"fold_places", (PyCFunction)Scanner_fold_places, METH_NOARGS,
     "fold_places() -> ({event_id: (source, line)}, all placed): the events of the anomalies "
     "folded since start_fold(True), where known (the first line of the event_id), and "
     "whether each one's was; once."},
    {"locate", (PyCFunction)Scanner_locate, METH_O,
     "locate(event_ids) -> {event_id: (source, line)} for the kept records of those ids "
     "whose place is known."},
    {"next_group", (PyCFunction)Scanner_next_group, METH_VARARGS,
     "next_group(keep_logs, max_cycles, families, delivery_model=None, link_indent=-1) -> the "
     "next folded group, or None; deliveries as delivery_model instances when it is a class; "
     "with link_indent >= 0 the link index and its reverse index as canonical JSON bytes, "
     "indented for a value on a line indented so."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "connector_sync_contracts._engine.native._native.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The compiled core: line checks, record store and fold (see csc.h).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

PyObject *
url_check(PyObject *Py_UNUSED(module), PyObject *value)
{
    if (!PyUnicode_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "url_check() takes a str");
        return NULL;
    }
    PyObject *utf8 = PyUnicode_AsEncodedString(value, "utf-8", "surrogatepass");
    if (!utf8) return NULL;
    int ok = url_ok(PyBytes_AS_STRING(utf8), PyBytes_GET_SIZE(utf8));
    Py_DECREF(utf8);
    return Py_NewRef(ok ? value : Py_None);
}

static PyMethodDef native_functions[] = {
    {"load_spec", load_spec, METH_O,
     "load_spec(spec) -> the spec loaded once, which Scanner(spec, ...) copies instead of "
     "parsing."},
    {"route_block", route_block, METH_VARARGS,
     "route_block(block, partitions, shift, max_line, names, types, slow, stage, fill, flush,"
     " routing, ids)"
     " -> (lines, line bytes): the partition of each line of a block (scale/routing.py)."},
    {"instances", instances, METH_VARARGS,
     "instances(cls, dicts) -> tuple: a model of class cls per dict, made without validation "
     "(the dict is its instance dictionary; models/results.py)."},
    {"url_check", url_check, METH_O,
     "url_check(value) -> value when it fully matches contract/patterns.py's URL_PATTERN, "
     "else None (the pattern only: the length is checked apart)."},
    {"located_lines", located_lines, METH_VARARGS,
     "located_lines(groups, places, sources, ranks, reported, root_causes[, chunk]) -> [str]: "
     "the command line's list of anomalies placed on lines, in file and line order "
     "(cli/render.py's replay_located_lines); with chunk > 0, the lines joined by newlines, "
     "chunk lines a str, or None when a line holds a newline."},
    {"key_ties", key_ties, METH_O,
     "key_ties(values) -> [[key, partition, ...], ...]: partitions sharing a check key (scale/plan.py)."},
    {"byte_positions", byte_positions, METH_VARARGS,
     "byte_positions(data, byte, counts) -> [index, ...]: for each count k (1-based, "
     "ascending), where the k-th occurrence of byte is in data; shorter when data has fewer "
     "(scale/plan.py)."},
    {"lines_keyed", lines_keyed, METH_VARARGS,
     "lines_keyed(block, names, types, wanted) -> (lines, [(index, start, line), ...]): each "
     "line of a block whose check key may be among wanted (packed 64-bit plan.Tie keys): one "
     "route_block reads with such a key, or leaves to Python (scale/routing.py)."},
    {"lines_naming", lines_naming, METH_VARARGS,
     "lines_naming(block, keys) -> (lines, [(index, line), ...]): each line of a block (split at "
     "\\n, a last one maybe without it) that may name an event id whose key is in the frozenset "
     "keys, as scale/_engine_calls.py's may_name tells; its 0-based index and bytes as in the "
     "block."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT, "connector_sync_contracts._engine.native._native",
    "The compiled core of validate and replay.", -1, native_functions, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&TextType) < 0 || objects_init() < 0 ||
        route_init() < 0 || listing_init() < 0)
        return NULL;
    PyObject *m = PyModule_Create(&native_module);
    if (!m) return NULL;
    if (PyModule_AddIntConstant(m, "SPEC_FORMAT", CSC_SPEC_FORMAT) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
