/* Compiled inner loops of HashLens' Hamming search, called through ctypes (hashcore/kernels.py).
 *
 * Why C: NumPy's scan needs three passes over memory per query (XOR, popcount, compare) and a
 * multi-index probe costs dozens of NumPy calls; one fused loop does each in a single pass.
 * Every function here takes plain pointers and sizes and touches no Python object, so ctypes
 * releases the GIL around it and the callers can run two ranges on two cores. The module is an
 * optional build: without a C compiler, hashcore falls back to its NumPy code (same answers; the
 * tests hold both to the pure-Python reference).
 *
 * Conventions: codes are row-major uint64 words (n rows of w words); a distance is int32.
 */
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* one build for every x86-64 laptop: the popcnt clone is picked at load time where the CPU has it */
#define HL_FAST __attribute__((target_clones("popcnt", "default")))
#else
#define HL_FAST
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HL_INLINE static inline __attribute__((always_inline))
#define popcount64(x) __builtin_popcountll(x)
#else
#define HL_INLINE static __inline
static int popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}
#endif

#if defined(_WIN32)
#define HL_EXPORT __declspec(dllexport)
#else
#define HL_EXPORT __attribute__((visibility("default")))
#endif

HL_INLINE int32_t hamming(const uint64_t *a, const uint64_t *b, int w) {
    int32_t d = 0;
    for (int j = 0; j < w; j++) d += (int32_t)popcount64(a[j] ^ b[j]);
    return d;
}

/* Bits [off, off + width) of a packed code (width <= 32). */
HL_INLINE uint32_t substring(const uint64_t *code, int off, int width) {
    int word = off >> 6, shift = off & 63;
    uint64_t v = code[word] >> shift;
    if (shift + width > 64) v |= code[word + 1] << (64 - shift);
    return (uint32_t)(v & ((1ULL << width) - 1));
}

/* Keep the k best of m candidates (rows ascending, so ties keep the earliest rows) and return the
 * distance every later row must beat. hist has maxd + 2 zeroed slots and is left zeroed. */
static int64_t keep_best(int64_t *rows, int32_t *dist, int64_t m, int64_t k, int64_t *hist,
                         int32_t maxd, int32_t *bound) {
    for (int64_t i = 0; i < m; i++) hist[dist[i]]++;
    int64_t below = 0;
    int32_t t = 0;
    while (below + hist[t] < k) below += hist[t++];
    int64_t ties = k - below, out = 0;
    for (int64_t i = 0; i < m; i++) {
        if (dist[i] < t || (dist[i] == t && ties-- > 0)) {
            rows[out] = rows[i];
            dist[out++] = dist[i];
        }
    }
    memset(hist, 0, sizeof(int64_t) * (size_t)(maxd + 2));
    *bound = t; /* the buffer now holds k rows at distance <= t; a later row needs d < t */
    return out;
}

/* Top-k scan of rows [0, n): writes at most k (row0 + row, distance) pairs, unsorted, and
 * returns how many. buf_rows/buf_dist are scratch of `cap` entries (cap > k). */
HL_EXPORT HL_FAST int64_t hl_scan_topk(const uint64_t *codes, int64_t n, int w, const uint64_t *q,
                                       int64_t k, int64_t row0, int64_t cap, int64_t *buf_rows,
                                       int32_t *buf_dist) {
    if (k <= 0 || n <= 0) return 0;
    int32_t maxd = 64 * w, bound = maxd + 1;
    int64_t *hist = calloc((size_t)maxd + 2, sizeof(int64_t));
    if (!hist) return -1;
    int64_t m = 0;
/* Eight rows at a time: their distances are computed without a branch, and only a group with a
 * row under the bound (rare once the bound is tight) takes the slow path that stores rows. */
#define HL_TOPK_LOOP(DIST)                                                       \
    int64_t i = 0;                                                               \
    for (; i + 8 <= n; i += 8) {                                                 \
        int32_t dd[8];                                                           \
        int any = 0;                                                             \
        for (int u = 0; u < 8; u++) {                                            \
            int64_t j = i + u;                                                   \
            dd[u] = (DIST(j));                                                   \
            any |= dd[u] < bound;                                                \
        }                                                                        \
        if (!any) continue;                                                      \
        for (int u = 0; u < 8; u++) {                                            \
            if (dd[u] < bound) {                                                 \
                buf_rows[m] = row0 + i + u;                                      \
                buf_dist[m++] = dd[u];                                           \
                if (m == cap) m = keep_best(buf_rows, buf_dist, m, k, hist, maxd, &bound); \
            }                                                                    \
        }                                                                        \
    }                                                                            \
    for (; i < n; i++) {                                                         \
        int32_t d = (DIST(i));                                                   \
        if (d < bound) {                                                         \
            buf_rows[m] = row0 + i;                                              \
            buf_dist[m++] = d;                                                   \
            if (m == cap) m = keep_best(buf_rows, buf_dist, m, k, hist, maxd, &bound); \
        }                                                                        \
    }
#define HL_D1(j) (int32_t)popcount64(codes[j] ^ q0)
#define HL_D2(j) (int32_t)(popcount64(codes[2 * (j)] ^ q0) + popcount64(codes[2 * (j) + 1] ^ q1))
#define HL_DW(j) hamming(codes + (j) * w, q, w)
    if (w == 1) {
        uint64_t q0 = q[0];
        HL_TOPK_LOOP(HL_D1)
    } else if (w == 2) {
        uint64_t q0 = q[0], q1 = q[1];
        HL_TOPK_LOOP(HL_D2)
    } else {
        HL_TOPK_LOOP(HL_DW)
    }
#undef HL_TOPK_LOOP
#undef HL_D1
#undef HL_D2
#undef HL_DW
    if (m > k) m = keep_best(buf_rows, buf_dist, m, k, hist, maxd, &bound);
    free(hist);
    return m;
}

/* Rows of [0, n) within distance r, in row order: the first `cap` are written, and the return
 * value is how many there are in all (the caller retries with a bigger buffer when it is > cap). */
HL_EXPORT HL_FAST int64_t hl_scan_radius(const uint64_t *codes, int64_t n, int w, const uint64_t *q,
                                         int32_t r, int64_t row0, int64_t cap, int64_t *out_rows,
                                         int32_t *out_dist) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t d = hamming(codes + i * w, q, w);
        if (d <= r) {
            if (m < cap) {
                out_rows[m] = row0 + i;
                out_dist[m] = d;
            }
            m++;
        }
    }
    return m;
}

/* Every row's distance to q. */
HL_EXPORT HL_FAST void hl_scan_distances(const uint64_t *codes, int64_t n, int w, const uint64_t *q,
                                         int32_t *out) {
    for (int64_t i = 0; i < n; i++) out[i] = hamming(codes + i * w, q, w);
}

/* Exact multi-index Hamming-ball search (Norouzi et al.) for a run of queries.
 *
 * Table t files every row under bits [off[t], off[t] + width[t]) of its code: the rows with key
 * x are rows[starts[base[t] + x] .. starts[base[t] + x + 1]). The plan lists the probes, table by
 * table: probe p flips mask[p] in the query's substring of table ptab[p]; table t is probed to
 * radius level[t]. A row met in table t is reported only if no earlier table's probes reach it
 * (its substring there is farther than level[t'] from the query's), so each hit comes out once.
 *
 * All arguments sit in one int64 array (slots below), so a call from Python costs one pointer:
 * the fixed ones are written once per index and radius, a query only rewrites a few slots.
 * With self_join, query i is row q0 + i of the same codes and only rows after it are reported.
 * Hits go to out_q/out_row/out_dist (at most cap); a query whose hits would not fit is left
 * whole for the next call. Slot DONE receives how many queries were finished, SORTED whether the
 * hits were already ordered by (distance, row) (a single query with few hits). Returns the count. */
enum {
    A_CODES, A_W, A_QUERIES, A_NQ, A_PARTS, A_OFF, A_WIDTH, A_BASE, A_LEVEL, A_ROWS, A_STARTS,
    A_NPROBE, A_PTAB, A_PMASK, A_R, A_SELF, A_Q0, A_OUT_Q, A_OUT_ROW, A_OUT_DIST, A_CAP,
    A_DONE, A_SORTED, A_NSLOTS
};

HL_EXPORT int hl_mih_slots(void) { return A_NSLOTS; }

/* Bumped whenever a signature above changes, so an old build is refused, not called wrongly. */
HL_EXPORT int hl_abi(void) { return 2; }

#define HL_ARG(T, slot) ((T)(intptr_t)a[slot])

HL_EXPORT HL_FAST int64_t hl_mih_radius(int64_t *a) {
    const uint64_t *codes = HL_ARG(const uint64_t *, A_CODES), *queries = HL_ARG(const uint64_t *, A_QUERIES);
    const int32_t *off = HL_ARG(const int32_t *, A_OFF), *width = HL_ARG(const int32_t *, A_WIDTH);
    const int32_t *level = HL_ARG(const int32_t *, A_LEVEL), *rows = HL_ARG(const int32_t *, A_ROWS);
    const int32_t *starts = HL_ARG(const int32_t *, A_STARTS), *ptab = HL_ARG(const int32_t *, A_PTAB);
    const int64_t *base = HL_ARG(const int64_t *, A_BASE);
    const uint32_t *pmask = HL_ARG(const uint32_t *, A_PMASK);
    int64_t *out_q = HL_ARG(int64_t *, A_OUT_Q), *out_row = HL_ARG(int64_t *, A_OUT_ROW);
    int32_t *out_dist = HL_ARG(int32_t *, A_OUT_DIST);
    int w = (int)a[A_W], parts = (int)a[A_PARTS], self_join = (int)a[A_SELF];
    int32_t r = (int32_t)a[A_R];
    int64_t nq = a[A_NQ], nprobe = a[A_NPROBE], q0 = a[A_Q0], cap = a[A_CAP], m = 0;
    uint32_t qsub[64];
    a[A_SORTED] = 0;
    if (parts > 64) return -1;
    for (int64_t qi = 0; qi < nq; qi++) {
        const uint64_t *q = queries + qi * w;
        int64_t mark = m, self = q0 + qi;
        for (int t = 0; t < parts; t++) qsub[t] = substring(q, off[t], width[t]);
        for (int64_t p = 0; p < nprobe; p++) {
            int t = ptab[p];
            const int32_t *span = starts + base[t] + (qsub[t] ^ pmask[p]);
            for (int32_t s = span[0]; s < span[1]; s++) {
                int64_t row = rows[s];
                if (self_join && row <= self) continue;
                const uint64_t *c = codes + row * w;
                int32_t d = hamming(c, q, w);
                if (d > r) continue;
                int seen = 0;
                for (int u = 0; u < t && !seen; u++)
                    seen = popcount64(substring(c, off[u], width[u]) ^ qsub[u]) <= level[u];
                if (seen) continue;
                if (m == cap) { /* no room: this query starts again in the next call */
                    a[A_DONE] = qi;
                    return mark;
                }
                out_q[m] = qi;
                out_row[m] = row;
                out_dist[m++] = d;
            }
        }
    }
    a[A_DONE] = nq;
    if (nq == 1 && m <= 64) { /* insertion sort by (distance, row): cheaper here than in NumPy */
        for (int64_t i = 1; i < m; i++) {
            int64_t row = out_row[i];
            int32_t d = out_dist[i];
            int64_t j = i;
            for (; j > 0 && (out_dist[j - 1] > d || (out_dist[j - 1] == d && out_row[j - 1] > row)); j--) {
                out_row[j] = out_row[j - 1];
                out_dist[j] = out_dist[j - 1];
            }
            out_row[j] = row;
            out_dist[j] = d;
        }
        a[A_SORTED] = 1;
    }
    return m;
}
#undef HL_ARG

/* A real (empty) extension module, so the build tools name and place the library like any other;
 * the functions above are reached through ctypes, not through this module object. */
static struct PyModuleDef hl_module = {PyModuleDef_HEAD_INIT, "_kernels",
                                       "HashLens compiled search loops (used through ctypes)", -1,
                                       NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&hl_module); }
