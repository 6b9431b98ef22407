# distutils: language = c++
# cython: boundscheck=False, wraparound=False
"""Minimum-cost perfect matching with its exact dual (compiled, see ``_blossom.h``).

Costs are integers (the caller scales and floors its float costs), so the primal-dual
method runs in exact integer arithmetic and the dual it returns is exactly feasible
and exactly as large as the matching's cost.
"""

import numpy as np

from libcpp.vector cimport vector

ctypedef long long i64


cdef extern from "_blossom.h" namespace "ugb":
    cdef cppclass Matcher:
        int nv
        vector[int] mate, blossomparent, blossombase
        vector[vector[int]] childs
        vector[i64] dualvar
        long long stages, substages
        Matcher(int n, int m, const int* a, const int* b, const i64* cost) except +
        int solve(bint greedy) except +
        int endpoint(int p)

    cdef cppclass Csr:
        int n
        const i64* indptr
        const i64* nbr
        const double* w
        const i64* eid

    cdef cppclass Lift:
        vector[i64] parent, ci, cj
        vector[double] value, cd

    void knn_pairs(const Csr& g, int nt, const i64* tnodes, const i64* tpos, int k,
                   vector[i64]& pi, vector[i64]& pj, vector[double]& pc) except +
    int flip_paths(const Csr& g, int npairs, const i64* src, const i64* dst,
                   unsigned char* used) except +
    void lift_all(const Csr& g, int nt, const i64* tnodes, const i64* tpos, int nk,
                  const i64* kparent, const double* kval,
                  i64* node_set, i64* owner, double* ell, Lift& out) except +


def min_cost_perfect_matching(int n, object a, object b, object cost):
    """Minimum-cost maximum-cardinality matching of a simple graph, and its dual.

    Parameters
    ----------
    n : int
        Vertices ``0 .. n-1``.
    a, b : numpy.ndarray of int
        Edge ends (no loops, at most one edge per pair).
    cost : numpy.ndarray of int64
        Edge costs, integers >= 0 (at most 2**52 so the duals fit in 64 bits).

    Returns
    -------
    tuple
        ``(mate, y2, parent, z2, inner, stats)``: the partner of every vertex
        (-1: unmatched); twice the vertex duals ``y``; the blossoms with a dual,
        children first (``parent[i]`` the index of the next larger blossom, -1
        for none) and twice their duals ``z``; ``inner[v]`` the smallest blossom
        holding ``v`` (-1: none); and ``(stages, substages)``. Every edge has
        ``y_i + y_j + Σ_{B: one end in B} z_B <= cost_ij`` exactly, with equality
        on the matched edges; when the matching is perfect ``Σ y + Σ z`` equals
        its cost.
    """
    cdef int[::1] aa = np.ascontiguousarray(a, dtype=np.intc)
    cdef int[::1] bb = np.ascontiguousarray(b, dtype=np.intc)
    cdef i64[::1] cc = np.ascontiguousarray(cost, dtype=np.int64)
    cdef int m = aa.shape[0]
    if bb.shape[0] != m or cc.shape[0] != m:
        raise ValueError("edge arrays differ in length")
    if n == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e, e, e, (0, 0)
    cdef Matcher* M = new Matcher(n, m, &aa[0] if m else NULL, &bb[0] if m else NULL,
                                  &cc[0] if m else NULL)
    cdef int v, k, x, top
    mate_a = np.full(n, -1, dtype=np.int64)
    y2_a = np.zeros(n, dtype=np.int64)
    inner_a = np.full(n, -1, dtype=np.int64)
    cdef i64[::1] mate = mate_a
    cdef i64[::1] y2 = y2_a
    cdef i64[::1] inner = inner_a
    try:
        M.solve(True)
        for v in range(n):
            if M.mate[v] >= 0:
                mate[v] = M.endpoint(M.mate[v])
            y2[v] = -M.dualvar[v]
        # blossoms in use, children first (post-order from the top ones)
        order = []
        for top in range(n, 2 * n):
            if M.blossombase[top] < 0 or M.blossomparent[top] != -1:
                continue
            stack = [(top, False)]
            while stack:
                x, done = stack.pop()
                if done:
                    order.append(x)
                    continue
                stack.append((x, True))
                for k in range(<int>M.childs[x].size()):
                    if M.childs[x][k] >= n:
                        stack.append((M.childs[x][k], False))
        pos = {x: i for i, x in enumerate(order)}
        nb = len(order)
        parent = np.full(nb, -1, dtype=np.int64)
        z2 = np.zeros(nb, dtype=np.int64)
        for i, x in enumerate(order):
            z2[i] = M.dualvar[x]
            if M.blossomparent[x] >= 0:
                parent[i] = pos[M.blossomparent[x]]
        # y_v = -u_v/2 - Σ_{B ∋ v} z_B/2 and Z_B = z_B/2, doubled: y2 = -dualvar[v] - Σ z
        for v in range(n):
            x = M.blossomparent[v]
            if x >= 0:
                inner[v] = pos[x]
            while x >= 0:
                y2[v] -= M.dualvar[x]
                x = M.blossomparent[x]
        stats = (int(M.stages), int(M.substages))
    finally:
        del M
    return mate_a, y2_a, parent, z2, inner_a, stats


cdef class Graph:
    """A street graph in CSR form (int64 ``indptr``, ``nbr``, edge ids; float weights)."""

    cdef i64[::1] indptr, nbr, eid
    cdef double[::1] w
    cdef Csr g

    def __init__(self, indptr, nbr, w, eid):
        self.indptr = np.ascontiguousarray(indptr, dtype=np.int64)
        self.nbr = np.ascontiguousarray(nbr, dtype=np.int64)
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        self.eid = np.ascontiguousarray(eid, dtype=np.int64)
        self.g.n = self.indptr.shape[0] - 1
        self.g.indptr = &self.indptr[0]
        self.g.nbr = &self.nbr[0] if self.nbr.shape[0] else NULL
        self.g.w = &self.w[0] if self.w.shape[0] else NULL
        self.g.eid = &self.eid[0] if self.eid.shape[0] else NULL

    def knn_pairs(self, tnodes, tpos, int k):
        """Each terminal's ``k`` nearest other terminals: (i, j, distance) arrays."""
        cdef i64[::1] tn = np.ascontiguousarray(tnodes, dtype=np.int64)
        cdef i64[::1] tp = np.ascontiguousarray(tpos, dtype=np.int64)
        cdef vector[i64] pi, pj
        cdef vector[double] pc
        if tn.shape[0]:
            knn_pairs(self.g, tn.shape[0], &tn[0], &tp[0], k, pi, pj, pc)
        return (np.asarray(<i64[:pi.size()]>pi.data()).copy() if pi.size() else np.zeros(0, np.int64),
                np.asarray(<i64[:pj.size()]>pj.data()).copy() if pj.size() else np.zeros(0, np.int64),
                np.asarray(<double[:pc.size()]>pc.data()).copy() if pc.size() else np.zeros(0))

    def flip_paths(self, src, dst, used):
        """XOR each shortest ``src[p] - dst[p]`` path into ``used`` (uint8 per edge id).

        Returns how many pairs had no path."""
        cdef i64[::1] s = np.ascontiguousarray(src, dtype=np.int64)
        cdef i64[::1] d = np.ascontiguousarray(dst, dtype=np.int64)
        cdef unsigned char[::1] u = used
        if s.shape[0] == 0:
            return 0
        return flip_paths(self.g, s.shape[0], &s[0], &d[0], &u[0])

    def lift_all(self, tnodes, tpos, kparent, kval, node_set, owner, ell):
        """Moats of the K-sets (see ``tjoin._lift_all``; terminals first, then larger
        sets, children first, given by ``kparent``); fills ``node_set``, ``owner``,
        ``ell`` in place and returns (parent, value, conflict i, j, distance)."""
        cdef i64[::1] tn = np.ascontiguousarray(tnodes, dtype=np.int64)
        cdef i64[::1] tp = np.ascontiguousarray(tpos, dtype=np.int64)
        cdef i64[::1] kp = np.ascontiguousarray(kparent, dtype=np.int64)
        cdef double[::1] kv = np.ascontiguousarray(kval, dtype=np.float64)
        cdef i64[::1] ns = node_set
        cdef i64[::1] ow = owner
        cdef double[::1] el = ell
        cdef Lift out
        cdef int nk = kp.shape[0]
        if nk == 0 or tn.shape[0] == 0:
            return np.zeros(0, np.int64), np.zeros(0), [], [], []
        lift_all(self.g, tn.shape[0], &tn[0], &tp[0], nk, &kp[0], &kv[0], &ns[0], &ow[0],
                 &el[0], out)
        parent = np.zeros(out.parent.size(), dtype=np.int64)
        value = np.zeros(out.value.size(), dtype=np.float64)
        cdef i64[::1] pv = parent
        cdef double[::1] vv = value
        cdef size_t i
        for i in range(out.parent.size()):
            pv[i] = out.parent[i]
            vv[i] = out.value[i]
        return parent, value, list(out.ci), list(out.cj), list(out.cd)
