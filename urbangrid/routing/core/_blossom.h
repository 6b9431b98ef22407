// Minimum-cost perfect matching with its dual: Edmonds' primal-dual blossom method.
//
// A C++ port of the array form of Galil's O(n^3) formulation (J. van Rantwijk's
// mwmatching.py, the algorithm behind networkx.max_weight_matching), run as a
// maximum-cardinality matching of weight w = -c on a sparse graph, with integer
// costs so every dual is an exact integer. Additions: greedy initial duals and
// matching (each vertex raised to its least slack, matched when the tight edge
// goes to a free vertex), reusable scratch arrays, and the final dual returned.
//
// Duals (van Rantwijk's units): dualvar[v] = 2 u_v for a vertex, dualvar[b] = z_b
// for a blossom; an edge (i, j) is feasible when
//     dualvar[i] + dualvar[j] + 2 c_ij + 2 sum_{b holding i and j} z_b >= 0.
// All vertex duals start even and costs enter doubled, so every slack between two
// S-vertices is even and delta3 = slack / 2 stays an integer.
#pragma once
#include <cstdint>
#include <vector>
#include <algorithm>

namespace ugb {

typedef long long i64;

struct Matcher {
    int nv, ne;
    std::vector<int> ei, ej;
    std::vector<i64> c;
    std::vector<int> nb_ptr, nb_end;  // CSR of remote endpoints per vertex
    std::vector<int> mate, label, labelend, inblossom, blossomparent, blossombase;
    std::vector<std::vector<int>> childs, endps, bbest;
    std::vector<char> has_bbest;
    std::vector<int> bestedge, unused, queue, bestedgeto, leaves_buf;
    std::vector<i64> dualvar;
    std::vector<char> allowedge;
    // what the current stage touched, so a stage costs what it touches, not O(n)
    std::vector<int> stage_v, stage_b, best_v, allowed;
    std::vector<char> in_v, in_b, in_best;
    long long stages = 0, substages = 0;

    inline void touch_v(int v) { if (!in_v[v]) { in_v[v] = 1; stage_v.push_back(v); } }
    inline void touch_b(int b) { if (!in_b[b]) { in_b[b] = 1; stage_b.push_back(b); } }
    inline void allow(int k) { if (!allowedge[k]) { allowedge[k] = 1; allowed.push_back(k); } }
    inline void set_best_v(int v, int k) {
        bestedge[v] = k;
        if (!in_best[v]) { in_best[v] = 1; best_v.push_back(v); }
    }

    Matcher(int n, int m, const int* a, const int* b, const i64* cost)
        : nv(n), ne(m), ei(a, a + m), ej(b, b + m), c(cost, cost + m) {
        nb_ptr.assign(n + 1, 0);
        for (int k = 0; k < m; ++k) { nb_ptr[ei[k] + 1]++; nb_ptr[ej[k] + 1]++; }
        for (int v = 0; v < n; ++v) nb_ptr[v + 1] += nb_ptr[v];
        nb_end.assign(2 * m, 0);
        std::vector<int> fill(nb_ptr.begin(), nb_ptr.end() - 1);
        for (int k = 0; k < m; ++k) {
            nb_end[fill[ei[k]]++] = 2 * k + 1;
            nb_end[fill[ej[k]]++] = 2 * k;
        }
        mate.assign(n, -1);
        label.assign(2 * n, 0);
        labelend.assign(2 * n, -1);
        inblossom.resize(n);
        for (int v = 0; v < n; ++v) inblossom[v] = v;
        blossomparent.assign(2 * n, -1);
        blossombase.assign(2 * n, -1);
        for (int v = 0; v < n; ++v) blossombase[v] = v;
        childs.resize(2 * n);
        endps.resize(2 * n);
        bbest.resize(2 * n);
        has_bbest.assign(2 * n, 0);
        bestedge.assign(2 * n, -1);
        for (int b = 2 * n - 1; b >= n; --b) unused.push_back(b);
        dualvar.assign(2 * n, 0);
        allowedge.assign(m, 0);
        bestedgeto.assign(2 * n, -1);
        in_v.assign(n, 0);
        in_b.assign(2 * n, 0);
        in_best.assign(n, 0);
    }

    inline int endpoint(int p) const { return (p & 1) ? ej[p >> 1] : ei[p >> 1]; }
    inline i64 slack(int k) const { return dualvar[ei[k]] + dualvar[ej[k]] + 2 * c[k]; }
    static inline int wrap(int j, int len) { return j < 0 ? j + len : j; }

    void leaves(int b, std::vector<int>& out) const {
        if (b < nv) { out.push_back(b); return; }
        std::vector<int> st(1, b);
        while (!st.empty()) {
            int x = st.back(); st.pop_back();
            const std::vector<int>& ch = childs[x];
            for (int i = (int)ch.size() - 1; i >= 0; --i) {
                if (ch[i] < nv) out.push_back(ch[i]); else st.push_back(ch[i]);
            }
        }
    }

    void greedy_init() {
        // vertex dual -min cost (even), then raise each free vertex to its least slack
        for (int v = 0; v < nv; ++v) {
            i64 mn = -1;
            for (int q = nb_ptr[v]; q < nb_ptr[v + 1]; ++q) {
                i64 cc = c[nb_end[q] >> 1];
                if (mn < 0 || cc < mn) mn = cc;
            }
            dualvar[v] = mn < 0 ? 0 : -2 * (mn / 2);
        }
        for (int v = 0; v < nv; ++v) {
            if (mate[v] != -1) continue;
            i64 best = -1; int bp = -1;
            for (int q = nb_ptr[v]; q < nb_ptr[v + 1]; ++q) {
                int p = nb_end[q];
                i64 s = slack(p >> 1);
                int w = endpoint(p);
                if (best < 0 || s < best || (s == best && mate[w] == -1 && (bp < 0 || mate[endpoint(bp)] != -1))) {
                    best = s; bp = p;
                }
            }
            if (bp < 0) continue;
            dualvar[v] -= best;  // slack is even: dual stays even
            int w = endpoint(bp);
            if (mate[w] == -1) {
                // tight edge to a free vertex: match
                mate[v] = bp;
                mate[w] = bp ^ 1;
            }
        }
    }

    void assign_label(int w, int t, int p) {
        for (;;) {
            int b = inblossom[w];
            label[w] = label[b] = t;
            labelend[w] = labelend[b] = p;
            bestedge[w] = bestedge[b] = -1;
            if (b >= nv) touch_b(b);
            if (t == 1) {
                size_t from = queue.size();
                leaves(b, queue);
                for (size_t q = from; q < queue.size(); ++q) touch_v(queue[q]);
                return;
            }
            if (b < nv) {
                touch_v(b);
            } else {
                leaves_buf.clear();
                leaves(b, leaves_buf);
                for (int x : leaves_buf) touch_v(x);
            }
            int base = blossombase[b];
            int mp = mate[base];
            w = endpoint(mp);
            t = 1;
            p = mp ^ 1;
        }
    }

    int scan_blossom(int v, int w) {
        std::vector<int> path;
        int base = -1;
        while (v != -1 || w != -1) {
            int b = inblossom[v];
            if (label[b] & 4) { base = blossombase[b]; break; }
            path.push_back(b);
            label[b] = 5;
            if (labelend[b] == -1) {
                v = -1;
            } else {
                v = endpoint(labelend[b]);
                b = inblossom[v];
                v = endpoint(labelend[b]);
            }
            if (w != -1) std::swap(v, w);
        }
        for (int b : path) label[b] = 1;
        return base;
    }

    void add_blossom(int base, int k) {
        int v = ei[k], w = ej[k];
        int bb = inblossom[base], bv = inblossom[v], bw = inblossom[w];
        int b = unused.back(); unused.pop_back();
        blossombase[b] = base;
        blossomparent[b] = -1;
        blossomparent[bb] = b;
        std::vector<int>& path = childs[b];
        std::vector<int>& ep = endps[b];
        path.clear(); ep.clear();
        while (bv != bb) {
            blossomparent[bv] = b;
            path.push_back(bv);
            ep.push_back(labelend[bv]);
            v = endpoint(labelend[bv]);
            bv = inblossom[v];
        }
        path.push_back(bb);
        std::reverse(path.begin(), path.end());
        std::reverse(ep.begin(), ep.end());
        ep.push_back(2 * k);
        while (bw != bb) {
            blossomparent[bw] = b;
            path.push_back(bw);
            ep.push_back(labelend[bw] ^ 1);
            w = endpoint(labelend[bw]);
            bw = inblossom[w];
        }
        label[b] = 1;
        labelend[b] = labelend[bb];
        dualvar[b] = 0;
        touch_b(b);
        leaves_buf.clear();
        leaves(b, leaves_buf);
        for (int x : leaves_buf) {
            if (label[inblossom[x]] == 2) queue.push_back(x);
            inblossom[x] = b;
        }
        std::vector<int> touched;
        std::vector<int> lv;
        for (int sb : path) {
            auto consider = [&](int kk) {
                int i = ei[kk], j = ej[kk];
                if (inblossom[j] == b) std::swap(i, j);
                int bj = inblossom[j];
                if (bj != b && label[bj] == 1) {
                    if (bestedgeto[bj] == -1) { touched.push_back(bj); bestedgeto[bj] = kk; }
                    else if (slack(kk) < slack(bestedgeto[bj])) bestedgeto[bj] = kk;
                }
            };
            if (!has_bbest[sb]) {
                lv.clear();
                leaves(sb, lv);
                for (int x : lv)
                    for (int q = nb_ptr[x]; q < nb_ptr[x + 1]; ++q) consider(nb_end[q] >> 1);
            } else {
                for (int kk : bbest[sb]) consider(kk);
            }
            has_bbest[sb] = 0;
            bbest[sb].clear();
            bestedge[sb] = -1;
        }
        bbest[b].clear();
        for (int bj : touched) { bbest[b].push_back(bestedgeto[bj]); bestedgeto[bj] = -1; }
        has_bbest[b] = 1;
        bestedge[b] = -1;
        for (int kk : bbest[b])
            if (bestedge[b] == -1 || slack(kk) < slack(bestedge[b])) bestedge[b] = kk;
    }

    int index_of(int b, int t) const {
        const std::vector<int>& ch = childs[b];
        for (int i = 0; i < (int)ch.size(); ++i) if (ch[i] == t) return i;
        return -1;
    }

    void expand_blossom(int b, bool endstage) {
        std::vector<int> lv;
        std::vector<int> ch = childs[b];
        for (int s : ch) {
            blossomparent[s] = -1;
            if (s < nv) {
                inblossom[s] = s;
            } else if (endstage && dualvar[s] == 0) {
                expand_blossom(s, endstage);
            } else {
                lv.clear();
                leaves(s, lv);
                for (int x : lv) inblossom[x] = s;
            }
        }
        if (!endstage && label[b] == 2) {
            int len = (int)ch.size();
            const std::vector<int>& ep = endps[b];
            int entrychild = inblossom[endpoint(labelend[b] ^ 1)];
            int j = index_of(b, entrychild);
            int jstep, endptrick;
            if (j & 1) { j -= len; jstep = 1; endptrick = 0; }
            else { jstep = -1; endptrick = 1; }
            int p = labelend[b];
            while (j != 0) {
                label[endpoint(p ^ 1)] = 0;
                label[endpoint(ep[wrap(j - endptrick, len)] ^ endptrick ^ 1)] = 0;
                assign_label(endpoint(p ^ 1), 2, p);
                allow(ep[wrap(j - endptrick, len)] >> 1);
                j += jstep;
                p = ep[wrap(j - endptrick, len)] ^ endptrick;
                allow(p >> 1);
                j += jstep;
            }
            int bv = ch[wrap(j, len)];
            label[endpoint(p ^ 1)] = label[bv] = 2;
            labelend[endpoint(p ^ 1)] = labelend[bv] = p;
            bestedge[bv] = -1;
            if (bv >= nv) touch_b(bv);
            j += jstep;
            while (ch[wrap(j, len)] != entrychild) {
                bv = ch[wrap(j, len)];
                if (label[bv] == 1) { j += jstep; continue; }
                lv.clear();
                leaves(bv, lv);
                int v = -1;
                for (int x : lv) { v = x; if (label[x] != 0) break; }
                if (v >= 0 && label[v] != 0) {
                    label[v] = 0;
                    label[endpoint(mate[blossombase[bv]])] = 0;
                    assign_label(v, 2, labelend[v]);
                }
                j += jstep;
            }
        }
        label[b] = labelend[b] = -1;
        childs[b].clear();
        endps[b].clear();
        blossombase[b] = -1;
        bbest[b].clear();
        has_bbest[b] = 0;
        bestedge[b] = -1;
        unused.push_back(b);
    }

    void augment_blossom(int b, int v) {
        int t = v;
        while (blossomparent[t] != b) t = blossomparent[t];
        if (t >= nv) augment_blossom(t, v);
        std::vector<int>& ch = childs[b];
        std::vector<int>& ep = endps[b];
        int len = (int)ch.size();
        int i = index_of(b, t), j = i;
        int jstep, endptrick;
        if (i & 1) { j -= len; jstep = 1; endptrick = 0; }
        else { jstep = -1; endptrick = 1; }
        while (j != 0) {
            j += jstep;
            t = ch[wrap(j, len)];
            int p = ep[wrap(j - endptrick, len)] ^ endptrick;
            if (t >= nv) augment_blossom(t, endpoint(p));
            j += jstep;
            t = ch[wrap(j, len)];
            if (t >= nv) augment_blossom(t, endpoint(p ^ 1));
            mate[endpoint(p)] = p ^ 1;
            mate[endpoint(p ^ 1)] = p;
        }
        std::rotate(ch.begin(), ch.begin() + i, ch.end());
        std::rotate(ep.begin(), ep.begin() + i, ep.end());
        blossombase[b] = blossombase[ch[0]];
    }

    void augment_matching(int k) {
        int v = ei[k], w = ej[k];
        int ss[2] = {v, w};
        int pp[2] = {2 * k + 1, 2 * k};
        for (int side = 0; side < 2; ++side) {
            int s = ss[side], p = pp[side];
            for (;;) {
                int bs = inblossom[s];
                if (bs >= nv) augment_blossom(bs, s);
                mate[s] = p;
                if (labelend[bs] == -1) break;
                int t = endpoint(labelend[bs]);
                int bt = inblossom[t];
                s = endpoint(labelend[bt]);
                int j = endpoint(labelend[bt] ^ 1);
                if (bt >= nv) augment_blossom(bt, j);
                mate[j] = labelend[bt];
                p = labelend[bt] ^ 1;
            }
        }
    }

    void reset_stage() {
        for (int v : stage_v) { label[v] = 0; labelend[v] = -1; bestedge[v] = -1; in_v[v] = 0; }
        for (int v : best_v) { bestedge[v] = -1; in_best[v] = 0; }
        for (int b : stage_b) {
            if (blossombase[b] >= 0) { label[b] = 0; }
            bestedge[b] = -1;
            bbest[b].clear();
            has_bbest[b] = 0;
            in_b[b] = 0;
        }
        for (int k : allowed) allowedge[k] = 0;
        stage_v.clear(); stage_b.clear(); best_v.clear(); allowed.clear();
        queue.clear();
    }

    // the least delta and its kind (2: S to free, 3: S to S, 4: T-blossom dual to zero)
    int find_delta(i64& delta, int& deltaedge, int& deltablossom) {
        int deltatype = -1;
        for (int v : best_v) {
            if (label[inblossom[v]] == 0 && bestedge[v] != -1) {
                i64 d = slack(bestedge[v]);
                if (deltatype == -1 || d < delta) { delta = d; deltatype = 2; deltaedge = bestedge[v]; }
            }
        }
        for (int v : stage_v) {
            if (inblossom[v] == v && label[v] == 1 && bestedge[v] != -1) {
                i64 d = slack(bestedge[v]) / 2;
                if (deltatype == -1 || d < delta) { delta = d; deltatype = 3; deltaedge = bestedge[v]; }
            }
        }
        for (int b : stage_b) {
            if (blossombase[b] < 0 || blossomparent[b] != -1) continue;
            if (label[b] == 1 && bestedge[b] != -1) {
                i64 d = slack(bestedge[b]) / 2;
                if (deltatype == -1 || d < delta) { delta = d; deltatype = 3; deltaedge = bestedge[b]; }
            }
        }
        for (int b : stage_b) {
            if (blossombase[b] < 0 || blossomparent[b] != -1) continue;
            if (label[b] == 2 && (deltatype == -1 || dualvar[b] < delta)) {
                delta = dualvar[b]; deltatype = 4; deltablossom = b;
            }
        }
        return deltatype;
    }

    void apply_delta(i64 delta) {
        for (int v : stage_v) {
            int l = label[inblossom[v]];
            if (l == 1) dualvar[v] -= delta;
            else if (l == 2) dualvar[v] += delta;
        }
        for (int b : stage_b) {
            if (blossombase[b] < 0 || blossomparent[b] != -1) continue;
            if (label[b] == 1) dualvar[b] += delta;
            else if (label[b] == 2) dualvar[b] -= delta;
        }
    }

    // scan the queue; returns true on an augmentation
    bool scan_queue() {
        while (!queue.empty()) {
            int v = queue.back(); queue.pop_back();
            for (int q = nb_ptr[v]; q < nb_ptr[v + 1]; ++q) {
                int p = nb_end[q];
                int k = p >> 1;
                int w = endpoint(p);
                if (inblossom[v] == inblossom[w]) continue;
                i64 kslack = 0;
                if (!allowedge[k]) {
                    kslack = slack(k);
                    if (kslack <= 0) allow(k);
                }
                if (allowedge[k]) {
                    int lw = label[inblossom[w]];
                    if (lw == 0 && mate[blossombase[inblossom[w]]] == -1) {
                        // a free vertex (or blossom) outside the tree: augmenting path
                        assign_label(w, 1, -1);
                        augment_matching(k);
                        return true;
                    } else if (lw == 0) {
                        assign_label(w, 2, p ^ 1);
                    } else if (lw == 1) {
                        int base = scan_blossom(v, w);
                        if (base >= 0) {
                            add_blossom(base, k);
                        } else {
                            augment_matching(k);
                            return true;
                        }
                    } else if (label[w] == 0) {
                        label[w] = 2;
                        labelend[w] = p ^ 1;
                    }
                } else if (label[inblossom[w]] == 1) {
                    int b = inblossom[v];
                    if (bestedge[b] == -1 || kslack < slack(bestedge[b])) bestedge[b] = k;
                } else if (label[w] == 0) {
                    if (bestedge[w] == -1 || kslack < slack(bestedge[w])) set_best_v(w, k);
                }
            }
        }
        return false;
    }

    // returns the number of matched vertices. One alternating tree per stage (not a
    // forest from every free vertex): a stage then costs the size of its own tree,
    // and it ends by reaching another free vertex (augmenting) or by proving its root
    // cannot be matched (the graph has no perfect matching).
    int solve(bool greedy) {
        if (greedy) greedy_init();
        std::fill(label.begin(), label.end(), 0);
        std::vector<char> dead(nv, 0);
        int root = 0;
        for (;;) {
            ++stages;
            reset_stage();
            while (root < nv && (mate[root] != -1 || dead[root])) ++root;
            if (root == nv) break;
            assign_label(root, 1, -1);
            bool augmented = false;
            for (;;) {
                ++substages;
                if (scan_queue()) { augmented = true; break; }
                int deltaedge = -1, deltablossom = -1;
                i64 delta = 0;
                int deltatype = find_delta(delta, deltaedge, deltablossom);
                if (deltatype == -1) break;  // no augmenting path from this root
                apply_delta(delta);
                if (deltatype == 2) {
                    allow(deltaedge);
                    int i = ei[deltaedge], j = ej[deltaedge];
                    if (label[inblossom[i]] == 0) std::swap(i, j);
                    queue.push_back(i);
                } else if (deltatype == 3) {
                    allow(deltaedge);
                    queue.push_back(ei[deltaedge]);
                } else {
                    expand_blossom(deltablossom, false);
                }
            }
            if (!augmented) { dead[root] = 1; continue; }
            std::vector<int> done(stage_b);
            for (int b : done) {
                if (blossomparent[b] == -1 && blossombase[b] >= 0 && label[b] == 1 && dualvar[b] == 0)
                    expand_blossom(b, true);
            }
        }
        int matched = 0;
        for (int v = 0; v < nv; ++v) if (mate[v] != -1) ++matched;
        return matched;
    }
};

}  // namespace ugb

// ---------------------------------------------------------------------------
// Street-graph searches of the certified T-join (CSR graph: indptr, nbr, nbr_w).

namespace ugb {

struct Csr {
    int n;
    const long long* indptr;
    const long long* nbr;
    const double* w;
    const long long* eid;
};

typedef std::pair<double, std::pair<long long, long long>> HeapItem;  // key, (node, source)

struct MinHeap {
    std::vector<HeapItem> h;
    void push(double k, long long v, long long s) {
        h.push_back(HeapItem(k, std::make_pair(v, s)));
        std::push_heap(h.begin(), h.end(), std::greater<HeapItem>());
    }
    HeapItem pop() {
        std::pop_heap(h.begin(), h.end(), std::greater<HeapItem>());
        HeapItem x = h.back();
        h.pop_back();
        return x;
    }
    bool empty() const { return h.empty(); }
    void clear() { h.clear(); }
};

// Each terminal's k nearest other terminals (exact distances, one bounded search each).
inline void knn_pairs(const Csr& g, int nt, const long long* tnodes, const long long* tpos, int k,
                      std::vector<long long>& pi, std::vector<long long>& pj,
                      std::vector<double>& pc) {
    std::vector<int> stamp(g.n, -1);
    MinHeap heap;
    for (int i = 0; i < nt; ++i) {
        heap.clear();
        long long s = tnodes[i];
        heap.push(0.0, s, -1);
        int found = 0;
        while (!heap.empty() && found < k) {
            HeapItem it = heap.pop();
            long long v = it.second.first;
            if (stamp[v] == i) continue;
            stamp[v] = i;
            double d = it.first;
            if (v != s && tpos[v] >= 0) {
                ++found;
                pi.push_back(i);
                pj.push_back(tpos[v]);
                pc.push_back(d);
            }
            for (long long q = g.indptr[v]; q < g.indptr[v + 1]; ++q)
                if (stamp[g.nbr[q]] != i) heap.push(d + g.w[q], g.nbr[q], v);
        }
    }
}

// XOR of the shortest s-t paths into used[] (edge ids); returns the number not found.
inline int flip_paths(const Csr& g, int npairs, const long long* src, const long long* dst,
                      unsigned char* used) {
    std::vector<int> stamp(g.n, -1);
    std::vector<long long> pred_slot(g.n, -1);
    MinHeap heap;
    int missing = 0;
    for (int p = 0; p < npairs; ++p) {
        heap.clear();
        long long s = src[p], t = dst[p];
        heap.push(0.0, s, -1);
        bool ok = false;
        while (!heap.empty()) {
            HeapItem it = heap.pop();
            long long v = it.second.first;
            if (stamp[v] == p) continue;
            stamp[v] = p;
            pred_slot[v] = it.second.second;
            if (v == t) { ok = true; break; }
            for (long long q = g.indptr[v]; q < g.indptr[v + 1]; ++q)
                if (stamp[g.nbr[q]] != p) heap.push(it.first + g.w[q], g.nbr[q], q);
        }
        if (!ok) { ++missing; continue; }
        // walk back: pred_slot[v] is the CSR slot (x -> v) it was reached through
        long long v = t;
        while (v != s) {
            long long q = pred_slot[v];
            used[g.eid[q]] ^= 1;
            // the slot's owner row: search indptr (binary search)
            long long lo = 0, hi = g.n;
            while (hi - lo > 1) {
                long long mid = (lo + hi) / 2;
                if (g.indptr[mid] <= q) lo = mid; else hi = mid;
            }
            v = lo;
        }
    }
    return missing;
}

// Lift the K-sets' dual to nested node sets (moats); see tjoin._lift_all.
//
// K-sets are numbered children first (kparent[k] > k). A set's moat is grown by one
// offset Dijkstra seeded on the frontier of its children's moats (each node keyed by
// its distance from its owner terminal minus that terminal's radius so far), so a
// nested chain of blossoms costs its perimeters, not its area once per level. The
// radius R(t) (the sum of the values of the lifted sets holding t) is kept in a
// weighted union-find over the K-sets.
struct Lift {
    std::vector<long long> parent;
    std::vector<double> value;
    std::vector<long long> ci, cj;
    std::vector<double> cd;
};

struct KForest {
    std::vector<int> up;
    std::vector<double> w;  // R(t) = sum of w from t's K-set to its root
    explicit KForest(int nk) : up(nk), w(nk, 0.0) { for (int i = 0; i < nk; ++i) up[i] = i; }
    int find(int x) {
        // two passes: find the root, then compress with the summed offsets
        int r = x;
        double total = 0.0;
        while (up[r] != r) { total += w[r]; r = up[r]; }
        while (up[x] != x) {
            int nx = up[x];
            double wx = w[x];
            w[x] = total;
            up[x] = r;
            total -= wx;
            x = nx;
        }
        return r;
    }
    double radius(int x) { int r = find(x); return (x == r ? 0.0 : w[x]) + w[r]; }
};

inline void lift_all(const Csr& g, int nt, const long long* tnodes, const long long* tpos,
                     int nk, const long long* kparent, const double* kval,
                     long long* node_set, long long* owner, double* ell, Lift& out) {
    std::vector<long long> first(nk, -1), top(nk, -1);
    std::vector<int> stamp(g.n, -1), kset_of(g.n, -1);
    std::vector<std::vector<int>> kids(nk), frontier(nk);
    for (int k = 0; k < nk; ++k) if (kparent[k] >= 0) kids[kparent[k]].push_back(k);
    KForest F(nk);
    MinHeap heap;
    std::vector<int> shell;
    auto inside = [&](long long v, int k) {
        return kset_of[v] >= 0 && F.find(kset_of[v]) == k;
    };
    for (int k = 0; k < nk; ++k) {
        double yB = kval[k];
        bool blossom = k >= nt;
        if (!blossom && yB <= 0) continue;
        heap.clear();
        if (blossom) {
            for (int c : kids[k]) {
                if (c < nt && F.find(c) == c && first[c] < 0)
                    heap.push(-F.radius(c), tnodes[c], c);  // a terminal never lifted
                for (int v : frontier[c]) {
                    long long t = owner[v];
                    heap.push(ell[v] - F.radius((int)t), v, t);
                }
            }
            for (int c : kids[k]) F.up[c] = k;  // children's roots join k (w[k] is 0 yet)
        } else {
            heap.push(0.0, tnodes[k], k);
        }
        long long f = (long long)out.parent.size();
        double prev_key = 0.0;
        if (blossom) { out.parent.push_back(-1); out.value.push_back(0.0); }
        shell.clear();
        while (!heap.empty()) {
            HeapItem it = heap.pop();
            double key = it.first;
            long long v = it.second.first, s = it.second.second;
            if (stamp[v] == k) continue;
            stamp[v] = k;
            bool in_u = inside(v, k);
            for (long long q = g.indptr[v]; q < g.indptr[v + 1]; ++q) {
                long long u = g.nbr[q];
                double nkey = key + g.w[q];
                if (nkey < yB && stamp[u] != k && !inside(u, k)) heap.push(nkey, u, s);
            }
            if (in_u || key < 0) continue;
            if ((long long)out.parent.size() > f) {
                out.value.back() = key - prev_key;
                out.parent.back() = (long long)out.parent.size();
            }
            prev_key = key;
            long long sid = (long long)out.parent.size();
            out.parent.push_back(-1);
            out.value.push_back(0.0);
            double dist_v = key + F.radius((int)s);
            bool foreign_t = tpos[v] >= 0 && F.find((int)tpos[v]) != k;
            if (node_set[v] >= 0 || foreign_t) {
                long long other = node_set[v] >= 0 ? owner[v] : tpos[v];
                double extra = node_set[v] >= 0 ? ell[v] : 0.0;
                out.ci.push_back(s);
                out.cj.push_back(other);
                out.cd.push_back(dist_v + extra);
                continue;
            }
            node_set[v] = sid;
            owner[v] = s;
            ell[v] = dist_v;
            kset_of[v] = k;
            shell.push_back((int)v);
        }
        if ((long long)out.parent.size() > f) out.value.back() = yB - prev_key;
        first[k] = f;
        top[k] = (long long)out.parent.size() - 1;
        F.w[k] = yB;
        // the frontier: nodes of the region with a neighbour outside it
        std::vector<int>& fr = frontier[k];
        auto keep_if_edge = [&](int v) {
            for (long long q = g.indptr[v]; q < g.indptr[v + 1]; ++q)
                if (!inside(g.nbr[q], k)) { fr.push_back(v); return; }
        };
        for (int c : kids[k]) {
            for (int v : frontier[c]) keep_if_edge(v);
            std::vector<int>().swap(frontier[c]);
        }
        for (int v : shell) keep_if_edge(v);
    }
    for (int k = 0; k < nk; ++k)
        if (top[k] >= 0 && kparent[k] >= 0) out.parent[top[k]] = first[kparent[k]];
}

}  // namespace ugb
