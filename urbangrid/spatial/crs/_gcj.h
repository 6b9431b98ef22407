/* The GCJ-02 and BD-09 formulas, one point at a time, in C.
 *
 * Included by urbangrid/spatial/crs/_kernels.pyx (the array and one-point functions of
 * urbangrid.spatial.crs.transform) and by urbangrid/spatial/index/_pip.pyx (phone
 * coordinates converted inside the compiled locate call), so both give the same numbers
 * bit for bit. Written as published, operation for operation and in the same order as
 * the Python reference in the tests; compiled without floating-point contraction
 * (-ffp-contract=off, see setup.py) so that no multiply-add changes a rounding.
 * All values are longitude/latitude in degrees.
 */
#ifndef URBANGRID_GCJ_H
#define URBANGRID_GCJ_H

#include <math.h>

#include "_sincos.h"

/* Krasovsky 1940 ellipsoid, as in the published GCJ-02 algorithm. */
#define UG_GCJ_A 6378245.0
#define UG_GCJ_EE 0.00669342162296594323
#define UG_PI 3.141592653589793
/* math.pi * 3000.0 / 180.0, evaluated left to right as in Python */
#define UG_BD_XPI (UG_PI * 3000.0 / 180.0)

/* The rectangle of the published GCJ-02 shift (urbangrid.spatial.crs.transform). */
#define UG_CHINA_LON_MIN 72.004
#define UG_CHINA_LON_MAX 137.8347
#define UG_CHINA_LAT_MIN 0.8293
#define UG_CHINA_LAT_MAX 55.8271

/* The fixed-point iterations (ug_solve_inverse: BD-09, and GCJ-02 where its Newton steps
 * do not apply) stop once a correction is below this. Each round shrinks the error
 * about a thousandfold (the shifts' Jacobian is ~1e-3), so the answer is then within
 * ~1e-11 degrees. A tighter step (1e-11 before issue 21) costs one more evaluation of
 * the shift on half the points for digits no coordinate carries. Measured on 2,000,000
 * random points across the rectangle (a quarter of them within 0.1 degree of 105 E),
 * the forward image of a GCJ-02 inverse is within 8e-11 degrees of the input (the
 * documented bound is 1e-9). */
#define UG_INVERSE_STEP_DEG 1e-8
#define UG_INVERSE_MAX_ITER 30

static inline int ug_in_gcj02_area(double lon, double lat) {
    /* NaN fails every comparison: outside. */
    return UG_CHINA_LON_MIN <= lon && lon <= UG_CHINA_LON_MAX && UG_CHINA_LAT_MIN <= lat
           && lat <= UG_CHINA_LAT_MAX;
}

/* sin and cos of a multiple of an angle from those of smaller ones (angle sums). */
static inline void ug_twice(double s, double c, double *s2, double *c2) {
    *s2 = 2.0 * s * c;
    *c2 = (c - s) * (c + s);
}

static inline void ug_thrice(double s, double c, double *s3, double *c3) {
    *s3 = s * (3.0 - 4.0 * s * s);
    *c3 = c * (4.0 * c * c - 3.0);
}

/* The sines (out) and cosines (cos_out) of x*pi/30, x*pi/12, x*pi/3, x*pi, 2*x*pi and
 * 6*x*pi (the multiples 2, 5, 20, 60, 120 and 360 of a = x*pi/60) from one sin/cos pair
 * (ug_sincos, _sincos.h) and angle sums, instead of one library sine each. Each step adds a few units in the
 * last place, times the multiple: the sines are within ~1e-13 of the library's, which
 * moves the shift by ~1e-18 degrees. The cosines only feed the derivatives of the
 * inverse (ug_gcj_shift); where nobody reads them the compiler drops them. */
static inline void ug_sines_x(double x, double *out, double *cos_out) {
    double a = x * UG_PI / 60.0;
    double s1, c1, s2, c2, s4, c4, s5, c5, s10, c10, s20, c20, s60, c60;
    ug_sincos(a, &s1, &c1);
    ug_twice(s1, c1, &s2, &c2);
    ug_twice(s2, c2, &s4, &c4);
    s5 = s4 * c1 + c4 * s1;
    c5 = c4 * c1 - s4 * s1;
    ug_twice(s5, c5, &s10, &c10);
    ug_twice(s10, c10, &s20, &c20);
    ug_thrice(s20, c20, &s60, &c60);
    double s120 = 2.0 * s60 * c60;
    double c120 = (c60 - s60) * (c60 + s60);
    out[0] = s2;
    out[1] = s5;
    out[2] = s20;
    out[3] = s60;
    out[4] = s120;
    out[5] = s120 * (3.0 - 4.0 * s120 * s120);
    cos_out[0] = c2;
    cos_out[1] = c5;
    cos_out[2] = c20;
    cos_out[3] = c60;
    cos_out[4] = c120;
    cos_out[5] = c120 * (4.0 * c120 * c120 - 3.0);
}

/* sin(35 degrees), cos(35 degrees): lat = y + 35. */
#define UG_SIN35 0.573576436351046096108
#define UG_COS35 0.819152044288991789684

/* The sines (out) of y*pi/30, y*pi/12, y*pi/3 and y*pi (multiples 6, 15, 60, 180 of
 * a = y*pi/180), then sin and cos of the latitude (a plus 35 degrees), from one sin/cos
 * pair, as ug_sines_x; cos_out: the cosines of the four multiples. */
static inline void ug_sines_y(double y, double *out, double *cos_out) {
    double a = y * UG_PI / 180.0;
    double s1, c1, s3, c3, s5, c5, s6, c6, s15, c15, s30, c30, s60, c60;
    ug_sincos(a, &s1, &c1);
    double s2, c2, s180, c180;
    ug_twice(s1, c1, &s2, &c2);
    ug_thrice(s1, c1, &s3, &c3);
    s5 = s3 * c2 + c3 * s2;
    c5 = c3 * c2 - s3 * s2;
    ug_twice(s3, c3, &s6, &c6);
    ug_thrice(s5, c5, &s15, &c15);
    ug_twice(s15, c15, &s30, &c30);
    ug_twice(s30, c30, &s60, &c60);
    ug_thrice(s60, c60, &s180, &c180);
    out[0] = s6;
    out[1] = s15;
    out[2] = s60;
    out[3] = s180;
    out[4] = s1 * UG_COS35 + c1 * UG_SIN35;
    out[5] = c1 * UG_COS35 - s1 * UG_SIN35;
    cos_out[0] = c6;
    cos_out[1] = c15;
    cos_out[2] = c60;
    cos_out[3] = c180;
}

/* The published GCJ-02 shift (degrees) at a WGS84 point, zero outside the rectangle,
 * and, when jac is not NULL, its derivatives in degrees per degree (d dlon/d lon,
 * d dlon/d lat, d dlat/d lon, d dlat/d lat; zero outside), for the Newton steps of
 * ug_gcj02_to_wgs84. The published formula term for term (the sums in its order); only
 * its twelve sines and cosines come from two sin/cos pairs (ug_sines_x, ug_sines_y): a
 * third of the instructions, within 1e-14 degrees of the published formula with the
 * sines taken one by one (the tests hold it to 1e-12). The derivatives do not change a
 * bit of the shift. */
static inline void ug_gcj_shift(double lon, double lat, double *dlon_out, double *dlat_out,
                                double *jac) {
    if (!ug_in_gcj02_area(lon, lat)) {
        *dlon_out = 0.0;
        *dlat_out = 0.0;
        if (jac) jac[0] = jac[1] = jac[2] = jac[3] = 0.0;
        return;
    }
    const double pi = UG_PI;
    double x = lon - 105.0;
    double y = lat - 35.0;
    double sx[6], sy[6], cx[6], cy[4];
    ug_sines_x(x, sx, cx);
    ug_sines_y(y, sy, cy);
    double common = (20.0 * sx[5] + 20.0 * sx[4]) * 2.0 / 3.0;
    double rx = sqrt(fabs(x));
    double dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * rx;
    dlat += common;
    dlat += (20.0 * sy[3] + 40.0 * sy[2]) * 2.0 / 3.0;
    dlat += (160.0 * sy[1] + 320.0 * sy[0]) * 2.0 / 3.0;
    double dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * rx;
    dlon += common;
    dlon += (20.0 * sx[3] + 40.0 * sx[2]) * 2.0 / 3.0;
    dlon += (150.0 * sx[1] + 300.0 * sx[0]) * 2.0 / 3.0;
    double magic = sy[4]; /* sin(lat / 180 * pi) */
    magic = 1.0 - UG_GCJ_EE * magic * magic;
    double sqrtmagic = sqrt(magic);
    double to_lat = (UG_GCJ_A * (1.0 - UG_GCJ_EE)) / (magic * sqrtmagic) * pi;
    double to_lon = UG_GCJ_A / sqrtmagic * sy[5] * pi;
    *dlat_out = (dlat * 180.0) / to_lat;
    *dlon_out = (dlon * 180.0) / to_lon;
    if (!jac) return;
    /* d/dx of the sums above (x, y in degrees); the sqrt(|x|) terms' slope is taken as
     * 0 at x = 0, where it has none (the inverse does not take Newton steps there). */
    double dr = rx > 0.0 ? (x > 0.0 ? 0.5 : -0.5) / rx : 0.0;
    double ccommon = (2.0 / 3.0) * (pi / 60.0) * (7200.0 * cx[5] + 2400.0 * cx[4]);
    double dlon_dx = 1.0 + 0.2 * x + 0.1 * y + 0.1 * dr + ccommon
                     + (2.0 / 3.0) * (pi / 60.0)
                           * (1200.0 * cx[3] + 800.0 * cx[2] + 750.0 * cx[1] + 600.0 * cx[0]);
    double dlon_dy = 2.0 + 0.1 * x;
    double dlat_dx = 2.0 + 0.1 * y + 0.2 * dr + ccommon;
    double dlat_dy = 3.0 + 0.4 * y + 0.1 * x
                     + (2.0 / 3.0) * (pi / 180.0)
                           * (3600.0 * cy[3] + 2400.0 * cy[2] + 2400.0 * cy[1] + 1920.0 * cy[0]);
    /* The scales 180/to_lon and 180/to_lat depend on the latitude through
     * cos(lat) and magic = 1 - ee sin^2(lat): their logarithmic derivatives. */
    double s = sy[4], c = sy[5], r = pi / 180.0;
    double lon_scale = 180.0 / to_lon, lat_scale = 180.0 / to_lat;
    double dlog_lon = r * s * (1.0 / c - UG_GCJ_EE * c / magic);
    double dlog_lat = -3.0 * r * UG_GCJ_EE * s * c / magic;
    jac[0] = dlon_dx * lon_scale;
    jac[1] = dlon_dy * lon_scale + *dlon_out * dlog_lon;
    jac[2] = dlat_dx * lat_scale;
    jac[3] = dlat_dy * lat_scale + *dlat_out * dlog_lat;
}

static inline void ug_gcj_offset(double lon, double lat, double *dlon_out, double *dlat_out) {
    ug_gcj_shift(lon, lat, dlon_out, dlat_out, NULL);
}

/* WGS84 to GCJ-02; unchanged outside the rectangle, NaN stays NaN. */
static inline void ug_wgs84_to_gcj02(double lon, double lat, double *ox, double *oy) {
    double dlon, dlat;
    ug_gcj_offset(lon, lat, &dlon, &dlat);
    *ox = lon + dlon;
    *oy = lat + dlat;
}

/* GCJ-02 to Baidu BD-09 with the published formula (applied everywhere). */
static inline void ug_gcj02_to_bd09(double lon, double lat, double *ox, double *oy) {
    double z = sqrt(lon * lon + lat * lat) + 0.00002 * sin(lat * UG_BD_XPI);
    double theta = atan2(lat, lon) + 0.000003 * cos(lon * UG_BD_XPI);
    *ox = z * cos(theta) + 0.0065;
    *oy = z * sin(theta) + 0.006;
}

typedef void (*ug_point_fn)(double, double, double *, double *);

/* Fixed-point iteration x <- x - (forward(x) - target) from the guess (x, y); stops once
 * a correction is below UG_INVERSE_STEP_DEG. A target that is not finite returns the
 * guess. */
static inline void ug_solve_inverse(ug_point_fn forward, double tx, double ty, double x,
                                    double y, double *ox, double *oy) {
    if (isfinite(tx) && isfinite(ty)) {
        for (int i = 0; i < UG_INVERSE_MAX_ITER; i++) {
            double fx, fy;
            forward(x, y, &fx, &fy);
            double ex = fx - tx;
            double ey = fy - ty;
            x -= ex;
            y -= ey;
            if (fmax(fabs(ex), fabs(ey)) <= UG_INVERSE_STEP_DEG) break;
        }
    }
    *ox = x;
    *oy = y;
}

/* Newton steps on w + shift(w) = t stop once a step is below this: the error left is
 * then about (second derivative of the shift, < 0.1 per degree) x step^2 < 1e-13
 * degrees. A step of the one-step inverse's size (~1e-5) leaves ~1e-11. */
#define UG_NEWTON_STEP_DEG 1e-4
/* Near the longitude 105 E the shift has a sqrt(|lon - 105|) cusp, and near the edges
 * of the rectangle it stops: there the fixed-point iteration (ug_solve_inverse), which
 * needs no derivative, does the work. */
#define UG_NEWTON_MIN_DX 1e-2
#define UG_NEWTON_MAX_ITER 4

/* GCJ-02 to WGS84: the one-step inverse (w = t - shift(t)), then Newton steps with the
 * shift's derivatives (ug_gcj_shift): two evaluations of the shift for nearly every
 * point, where the fixed-point iteration takes four. Points outside the rectangle, and
 * NaN, are returned unchanged. */
static inline void ug_gcj02_to_wgs84(double lon, double lat, double *ox, double *oy) {
    if (!ug_in_gcj02_area(lon, lat)) {
        *ox = lon;
        *oy = lat;
        return;
    }
    double dlon, dlat, jac[4];
    ug_gcj_offset(lon, lat, &dlon, &dlat);
    double x = lon - dlon, y = lat - dlat;
    if (fabs(x - 105.0) < UG_NEWTON_MIN_DX
        || !ug_in_gcj02_area(x - UG_NEWTON_MIN_DX, y - UG_NEWTON_MIN_DX)
        || !ug_in_gcj02_area(x + UG_NEWTON_MIN_DX, y + UG_NEWTON_MIN_DX)) {
        ug_solve_inverse(ug_wgs84_to_gcj02, lon, lat, x, y, ox, oy);
        return;
    }
    for (int i = 0; i < UG_NEWTON_MAX_ITER; i++) {
        ug_gcj_shift(x, y, &dlon, &dlat, jac);
        double ex = (x + dlon) - lon;
        double ey = (y + dlat) - lat;
        double a = 1.0 + jac[0], b = jac[1], c = jac[2], d = 1.0 + jac[3];
        double det = a * d - b * c;
        double sx = (d * ex - b * ey) / det;
        double sy = (a * ey - c * ex) / det;
        x -= sx;
        y -= sy;
        if (fmax(fabs(sx), fabs(sy)) <= UG_NEWTON_STEP_DEG) break;
    }
    *ox = x;
    *oy = y;
}

/* BD-09 to GCJ-02: the closed-form inverse, then iterated on the forward formula. */
static inline void ug_bd09_to_gcj02(double lon, double lat, double *ox, double *oy) {
    double x = lon - 0.0065;
    double y = lat - 0.006;
    double z = sqrt(x * x + y * y) - 0.00002 * sin(y * UG_BD_XPI);
    double theta = atan2(y, x) - 0.000003 * cos(x * UG_BD_XPI);
    ug_solve_inverse(ug_gcj02_to_bd09, lon, lat, z * cos(theta), z * sin(theta), ox, oy);
}

static inline void ug_wgs84_to_bd09(double lon, double lat, double *ox, double *oy) {
    double gx, gy;
    ug_wgs84_to_gcj02(lon, lat, &gx, &gy);
    ug_gcj02_to_bd09(gx, gy, ox, oy);
}

static inline void ug_bd09_to_wgs84(double lon, double lat, double *ox, double *oy) {
    double gx, gy;
    ug_bd09_to_gcj02(lon, lat, &gx, &gy);
    ug_gcj02_to_wgs84(gx, gy, ox, oy);
}

/* No shift: WGS84/CGCS2000 degrees that are only to be projected (_tmerc.h). */
static inline void ug_no_shift(double lon, double lat, double *ox, double *oy) {
    *ox = lon;
    *oy = lat;
}

/* Operation codes of map_points, in the order of _kernels.pyx. */
static inline ug_point_fn ug_op(int op) {
    switch (op) {
        case 6: return ug_no_shift;
        case 0: return ug_wgs84_to_gcj02;
        case 1: return ug_gcj02_to_wgs84;
        case 2: return ug_gcj02_to_bd09;
        case 3: return ug_bd09_to_gcj02;
        case 4: return ug_wgs84_to_bd09;
        default: return ug_bd09_to_wgs84;
    }
}

#endif
