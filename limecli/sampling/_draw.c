/* The inner loop of limecli.sampling.discretize.BinTable.draw, compiled.
 *
 * The numpy path (BinTable._inverse_cdf) makes some 25 passes over each chunk of
 * uniforms; this makes one. It does the same floating-point operations in the same
 * order, rounded the same way (built without floating-point contraction: no fused
 * multiply-add), so both give the same bits, which tests/test_compiled_draw.py
 * checks. It is optional: where it was not built, the numpy path runs.
 *
 * fill_bins_and_values(values, bins, edges, lower, stretch, cells,
 *                      n_columns, width, points, tails) -> count
 *
 *   values     float64[n * n_columns], in: the uniforms; out: each value, or for a
 *              value in a bin's first or last cell (a tail) where in the bin it lies
 *              (p in [0, 1]), for the caller's exact inverse CDF
 *   bins       int8[n * n_columns], out: each value's bin
 *   edges      float64[(width - 1) * n_columns]: row b the cumulative frequency
 *              at the top of bin b, per column
 *   lower, stretch   float64[n_columns * width]: where each bin starts on [0, 1)
 *              and the factor to [0, points]
 *   cells      float64[2 * n_columns * width * (points + 1)]: the tabulated quantile
 *              function and each cell's rise, side by side (one cache line for both)
 *   tails      intp[n * n_columns], out: the flat positions of the tails, in order
 *   count      how many tails were written
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)0)
#endif

typedef struct {
    Py_buffer view;
    int held;
} Buffer;

static int get_buffer(PyObject *obj, Buffer *b, const char *format, Py_ssize_t itemsize,
                      int writable, Py_ssize_t need, const char *name) {
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, &b->view, flags) < 0) {
        return -1;
    }
    b->held = 1;
    const char *got = b->view.format ? b->view.format : "B";
    if (got[0] == '<' || got[0] == '=' || got[0] == '@') {
        got++;
    }
    if (b->view.itemsize != itemsize || strchr(format, got[0]) == NULL || got[1] != '\0') {
        PyErr_Format(PyExc_TypeError, "%s: wrong item type '%s'", name, b->view.format);
        return -1;
    }
    if (b->view.len / itemsize < need) {
        PyErr_Format(PyExc_ValueError, "%s: %zd items, %zd needed", name,
                     b->view.len / itemsize, need);
        return -1;
    }
    return 0;
}

static void release(Buffer *buffers, int count) {
    for (int i = 0; i < count; i++) {
        if (buffers[i].held) {
            PyBuffer_Release(&buffers[i].view);
        }
    }
}

/* The loop, for bins of one width: `width` a constant in each copy (see fill below), so
 * that the comparisons with the bin edges are unrolled (a loop of unknown length
 * over two to ten edges cost a third of the time). */
static inline __attribute__((always_inline)) Py_ssize_t fill_width(
    double *values, signed char *bins, const double *edges, const double *lower,
    const double *stretch, const double *cells, Py_ssize_t *tails, Py_ssize_t total,
    Py_ssize_t n_columns, const Py_ssize_t width, Py_ssize_t points) {
    /* In blocks: first each value's bin and cell (the small tables, in cache), asking for
     * its quantile table entry ahead (prefetch), then the reads of the quantile table in
     * a tight loop of their own, so that the processor has many in flight: they miss the
     * cache (the table is about 1 MB, and the model's call in between evicts it). Each
     * measured: the tight loop 2.1 -> 1.8 ms a draw, the prefetch 3.0 -> 2.4 ms in an
     * explanation (breast cancer, 5000 x 30). */
    enum { BLOCK = 256 };
    Py_ssize_t at[BLOCK];
    double inside[BLOCK];
    const Py_ssize_t last = points - 1;
    Py_ssize_t count = 0;
    Py_ssize_t column = 0;
    for (Py_ssize_t start = 0; start < total; start += BLOCK) {
        const Py_ssize_t stop = start + BLOCK < total ? start + BLOCK : total;
        for (Py_ssize_t i = start; i < stop; i++) {
            const double u = values[i];
            Py_ssize_t bin = 0;
            for (Py_ssize_t e = 0; e < width - 1; e++) {
                bin += u >= edges[e * n_columns + column];
            }
            bins[i] = (signed char)bin;
            const Py_ssize_t flat = column * width + bin;
            /* numpy: position = (u - lower[flat]) * stretch[flat]; cell = int(position) */
            double position = u - lower[flat];
            position = position * stretch[flat];
            Py_ssize_t cell = (Py_ssize_t)position;
            if (cell == 0 || cell >= last) {
                /* A tail: the bin's first or last cell; where in the bin, for the caller. */
                if (cell > last) {
                    cell = last;
                }
                double within = position - (double)cell;
                if (within > 1.0) {
                    within = 1.0;
                }
                values[i] = ((double)cell + within) / (double)points;
                tails[count++] = i;
                at[i - start] = -1;
            } else {
                at[i - start] = flat * (points + 1) + cell;
                inside[i - start] = position - (double)cell;
                PREFETCH(cells + 2 * at[i - start]);
            }
            if (++column == n_columns) {
                column = 0;
            }
        }
        for (Py_ssize_t i = start; i < stop; i++) {
            const Py_ssize_t a = at[i - start];
            if (a >= 0) {
                /* numpy: values = quantiles[a]; step = rises[a] * inside; values += step */
                const double step = cells[2 * a + 1] * inside[i - start];
                values[i] = cells[2 * a] + step;
            }
        }
    }
    return count;
}

#define WIDTH_CASE(w)                                                                  \
    case w:                                                                            \
        return fill_width(values, bins, edges, lower, stretch, cells, tails, total,    \
                          n_columns, w, points);

static Py_ssize_t fill(double *values, signed char *bins, const double *edges,
                       const double *lower, const double *stretch, const double *cells,
                       Py_ssize_t *tails, Py_ssize_t total, Py_ssize_t n_columns,
                       Py_ssize_t width, Py_ssize_t points) {
    switch (width) {
        WIDTH_CASE(1) WIDTH_CASE(2) WIDTH_CASE(3) WIDTH_CASE(4) WIDTH_CASE(5) WIDTH_CASE(6)
        WIDTH_CASE(7) WIDTH_CASE(8) WIDTH_CASE(9) WIDTH_CASE(10) WIDTH_CASE(11) WIDTH_CASE(12)
        WIDTH_CASE(13) WIDTH_CASE(14) WIDTH_CASE(15) WIDTH_CASE(16)
    default:
        return fill_width(values, bins, edges, lower, stretch, cells, tails, total,
                          n_columns, width, points);
    }
}

static PyObject *fill_bins_and_values(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *objs[7];
    Py_ssize_t n_columns, width, points;
    if (!PyArg_ParseTuple(args, "OOOOOOnnnO", &objs[0], &objs[1], &objs[2], &objs[3],
                          &objs[4], &objs[5], &n_columns, &width, &points, &objs[6])) {
        return NULL;
    }
    if (n_columns < 1 || width < 1 || width > 127 || points < 2) {
        PyErr_SetString(PyExc_ValueError, "bad table shape");
        return NULL;
    }
    Buffer b[7];
    memset(b, 0, sizeof b);
    const Py_ssize_t per_bin = n_columns * width;
    Py_ssize_t total;
    /* values first: its length sets the number of values */
    if (get_buffer(objs[0], &b[0], "d", 8, 1, 0, "values") < 0) goto fail;
    total = b[0].view.len / 8;
    if (total % n_columns != 0) {
        PyErr_SetString(PyExc_ValueError, "values: not whole rows");
        goto fail;
    }
    if (get_buffer(objs[1], &b[1], "bB", 1, 1, total, "bins") < 0) goto fail;
    if (get_buffer(objs[2], &b[2], "d", 8, 0, (width - 1) * n_columns, "edges") < 0) goto fail;
    if (get_buffer(objs[3], &b[3], "d", 8, 0, per_bin, "lower") < 0) goto fail;
    if (get_buffer(objs[4], &b[4], "d", 8, 0, per_bin, "stretch") < 0) goto fail;
    if (get_buffer(objs[5], &b[5], "d", 8, 0, 2 * per_bin * (points + 1), "cells") < 0) goto fail;
    if (get_buffer(objs[6], &b[6], "lqn", (Py_ssize_t)sizeof(Py_ssize_t), 1, total, "tails") < 0)
        goto fail;
    Py_ssize_t count;
    Py_BEGIN_ALLOW_THREADS
    count = fill((double *)b[0].view.buf, (signed char *)b[1].view.buf,
                 (const double *)b[2].view.buf, (const double *)b[3].view.buf,
                 (const double *)b[4].view.buf, (const double *)b[5].view.buf,
                 (Py_ssize_t *)b[6].view.buf, total, n_columns, width, points);
    Py_END_ALLOW_THREADS
    release(b, 7);
    return PyLong_FromSsize_t(count);
fail:
    release(b, 7);
    return NULL;
}

static PyMethodDef methods[] = {
    {"fill_bins_and_values", fill_bins_and_values, METH_VARARGS,
     "Bins and values of a BinTable draw, in place (see the source's header)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "limecli.sampling._draw", NULL, -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__draw(void) { return PyModule_Create(&module); }
