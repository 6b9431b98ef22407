# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""Compiled row interleaver of :mod:`urbangrid.store._copy_binary`.

Built with the package (``setup.py``), so no compiler runs when a store is first
written and a read-only install works. The columns arrive as one byte blob plus each
value's start and length per column (``(k, n)`` arrays, column-major); these loops lay
them out as binary ``COPY`` rows: an int16 field count, then per field a big-endian
int32 length (-1 for NULL) and the bytes. Two extras per column: ``prefix`` 1 puts
jsonb's version byte before each value, a non-zero ``srid`` turns plain WKB into EWKB
(the type word gains the SRID flag 0x20000000 and the SRID follows it, in the value's
own byte order). Both release the GIL.
"""

from libc.stdint cimport int64_t, uint8_t, uint32_t
from libc.string cimport memcpy


cdef inline void _put4(uint8_t *out, uint32_t v, bint little) noexcept nogil:
    if little:
        out[0] = v & 0xFF
        out[1] = (v >> 8) & 0xFF
        out[2] = (v >> 16) & 0xFF
        out[3] = (v >> 24) & 0xFF
    else:
        out[0] = (v >> 24) & 0xFF
        out[1] = (v >> 16) & 0xFF
        out[2] = (v >> 8) & 0xFF
        out[3] = v & 0xFF


def row_offsets(const int64_t[:, ::1] lengths, const int64_t[::1] prefix,
                const int64_t[::1] srid, int64_t[::1] offsets):
    """Fill `offsets` (n + 1 entries) with where each row starts; return the total size.

    A value of an SRID column grows by 4 bytes only when it is long enough to hold a
    WKB header (5 bytes); a shorter one is sent as it is (the server rejects it).
    """
    cdef Py_ssize_t k = lengths.shape[0], n = lengths.shape[1], r, c
    cdef int64_t p = 0, ln
    with nogil:
        for r in range(n):
            offsets[r] = p
            p += 2 + 4 * k
            for c in range(k):
                ln = lengths[c, r]
                if ln >= 0:
                    p += ln + prefix[c]
                    if srid[c] != 0 and ln >= 5:
                        p += 4
        offsets[n] = p
    return p


def interleave(const uint8_t[::1] blob, const int64_t[:, ::1] starts,
               const int64_t[:, ::1] lengths, const int64_t[::1] prefix,
               const int64_t[::1] srid, const int64_t[::1] offsets, uint8_t[::1] out):
    """Write the rows into `out`, sized by :func:`row_offsets`."""
    cdef Py_ssize_t k = lengths.shape[0], n = lengths.shape[1], r, c
    cdef int64_t p, ln, s
    cdef uint32_t t
    cdef bint little
    cdef const uint8_t *src
    cdef uint8_t *dst = &out[0] if out.shape[0] else NULL
    with nogil:
        for r in range(n):
            p = offsets[r]
            dst[p] = (k >> 8) & 0xFF
            dst[p + 1] = k & 0xFF
            p += 2
            for c in range(k):
                ln = lengths[c, r]
                if ln < 0:
                    _put4(dst + p, 0xFFFFFFFF, False)
                    p += 4
                    continue
                s = starts[c, r]
                src = &blob[0] + s if ln else NULL
                if srid[c] != 0 and ln >= 5:
                    _put4(dst + p, <uint32_t>(ln + 4), False)
                    p += 4
                    little = src[0] == 1
                    dst[p] = src[0]
                    if little:
                        t = src[1] | (<uint32_t>src[2] << 8) | (<uint32_t>src[3] << 16) | (<uint32_t>src[4] << 24)
                    else:
                        t = (<uint32_t>src[1] << 24) | (<uint32_t>src[2] << 16) | (<uint32_t>src[3] << 8) | src[4]
                    _put4(dst + p + 1, t | 0x20000000, little)
                    _put4(dst + p + 5, <uint32_t>srid[c], little)
                    p += 9
                    memcpy(dst + p, src + 5, ln - 5)
                    p += ln - 5
                    continue
                _put4(dst + p, <uint32_t>(ln + prefix[c]), False)
                p += 4
                if prefix[c]:
                    dst[p] = 1
                    p += 1
                if ln:
                    memcpy(dst + p, src, ln)
                    p += ln
