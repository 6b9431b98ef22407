/* Transverse Mercator (Gauss-Krüger) forward projection, one point at a time, in C.
 *
 * The series of Krüger (1912) in the third flattening n to order n^6, in the form of
 * Karney, "Transverse Mercator with an accuracy of a few nanometers", J. Geodesy 85
 * (2011), the method PROJ uses for +proj=tmerc (Poder/Engsager): geodetic to conformal
 * latitude by a trigonometric series, the spherical transverse Mercator, then the
 * complex series to the ellipsoid, summed by Clenshaw's method. Accurate to well under a
 * micrometre within a few thousand kilometres of the central meridian; the tests hold it
 * to pyproj within 1 mm over whole Gauss-Krüger zones.
 *
 * Included by urbangrid/spatial/index/_pip.pyx (a GCJ-02, BD-09 or WGS84/CGCS2000 point
 * projected inside the compiled locate call of a Gauss-Krüger index) and by
 * urbangrid/spatial/crs/_kernels.pyx (arrays, for the tests and the set-up check), so
 * both give the same numbers. Input longitude/latitude in degrees; output easting and
 * northing in metres, false easting and northing included.
 */
#ifndef URBANGRID_TMERC_H
#define URBANGRID_TMERC_H

#include <math.h>

#include "_sincos.h"

#define UG_TM_ORDER 6

typedef struct {
    double lon0_deg; /* central meridian, degrees */
    double scale;    /* k0 times the rectifying radius A, metres */
    double x0, y0;   /* false easting and northing, metres */
    double conf[UG_TM_ORDER];  /* geodetic -> conformal latitude: sin(2j phi) terms */
    double kruger[UG_TM_ORDER]; /* sphere -> ellipsoid: sin(2j zeta) terms (alpha_j) */
    int ready;
} ug_tmerc;

/* Set up the projection of the ellipsoid (semi-major axis a metres, flattening f) with
 * central meridian lon0_deg, scale k0 on it and false easting/northing x0, y0 metres; the
 * latitude of origin is the equator (as in every Gauss-Krüger and UTM zone). */
static void ug_tmerc_init(ug_tmerc *t, double a, double f, double lon0_deg, double k0,
                          double x0, double y0) {
    /* Coefficients of n^j, n^(j+1), ... of the j-th term (Karney 2011, eqs. 11 and 35). */
    static const double conf_c[UG_TM_ORDER][UG_TM_ORDER] = {
        {-2.0, 2.0 / 3.0, 4.0 / 3.0, -82.0 / 45.0, 32.0 / 45.0, 4642.0 / 4725.0},
        {5.0 / 3.0, -16.0 / 15.0, -13.0 / 9.0, 904.0 / 315.0, -1522.0 / 945.0},
        {-26.0 / 15.0, 34.0 / 21.0, 8.0 / 5.0, -12686.0 / 2835.0},
        {1237.0 / 630.0, -12.0 / 5.0, -24832.0 / 14175.0},
        {-734.0 / 315.0, 109598.0 / 31185.0},
        {444337.0 / 155925.0},
    };
    static const double alpha_c[UG_TM_ORDER][UG_TM_ORDER] = {
        {1.0 / 2.0, -2.0 / 3.0, 5.0 / 16.0, 41.0 / 180.0, -127.0 / 288.0, 7891.0 / 37800.0},
        {13.0 / 48.0, -3.0 / 5.0, 557.0 / 1440.0, 281.0 / 630.0, -1983433.0 / 1935360.0},
        {61.0 / 240.0, -103.0 / 140.0, 15061.0 / 26880.0, 167603.0 / 181440.0},
        {49561.0 / 161280.0, -179.0 / 168.0, 6601661.0 / 7257600.0},
        {34729.0 / 80640.0, -3418889.0 / 1995840.0},
        {212378941.0 / 319334400.0},
    };
    double n = f / (2.0 - f), n2 = n * n, nj = n;
    for (int j = 0; j < UG_TM_ORDER; j++) {
        t->conf[j] = nj * ug_horner(conf_c[j], UG_TM_ORDER - j, n);
        t->kruger[j] = nj * ug_horner(alpha_c[j], UG_TM_ORDER - j, n);
        nj *= n;
    }
    t->scale = k0 * a / (1.0 + n) * (1.0 + n2 * (1.0 / 4.0 + n2 * (1.0 / 64.0 + n2 / 256.0)));
    t->lon0_deg = lon0_deg;
    t->x0 = x0;
    t->y0 = y0;
    t->ready = 1;
}

/* Easting and northing (metres) of a longitude/latitude in degrees. Points more than 80
 * degrees of longitude from the central meridian, and NaN, give NaN (no caller wants a
 * Gauss-Krüger coordinate there; PROJ gives up at about 90). */
static inline void ug_tmerc_fwd(const ug_tmerc *t, double lon, double lat, double *ox,
                                double *oy) {
    const double deg = 3.141592653589793 / 180.0;
    double dlon = lon - t->lon0_deg;
    if (!(fabs(dlon) <= 80.0 && fabs(lat) <= 90.0)) {
        *ox = NAN;
        *oy = NAN;
        return;
    }
    /* Conformal latitude chi = phi + sum c_j sin(2 j phi), Clenshaw from sin/cos(phi). */
    double phi = lat * deg, sp, cp;
    ug_sincos(phi, &sp, &cp);
    double s2 = 2.0 * sp * cp, c2 = (cp - sp) * (cp + sp), m = 2.0 * c2;
    double b1 = 0.0, b2 = 0.0;
    for (int j = UG_TM_ORDER - 1; j >= 0; j--) {
        double b0 = t->conf[j] + m * b1 - b2;
        b2 = b1;
        b1 = b0;
    }
    double chi = phi + b1 * s2;
    double lam = dlon * deg;
    double sc, cc, sl, cl;
    ug_sincos(chi, &sc, &cc);
    ug_sincos(lam, &sl, &cl);
    /* The sphere: xi' = atan2(sin chi, cos chi cos lam), eta' = asinh(tau) with
     * tau = sin lam cos chi / D, D = hypot(sin chi, cos chi cos lam); since
     * 1 + tau^2 = 1 / D^2, the doubled angles need no further library call. */
    double q = cc * cl, inv_d = 1.0 / sqrt(sc * sc + q * q), tau = sl * cc * inv_d;
    double xi = atan2(sc, q);
    double eta = copysign(log(fabs(tau) + inv_d), tau);
    double inv_d2 = inv_d * inv_d;
    double sin2xi = 2.0 * sc * q * inv_d2, cos2xi = 2.0 * q * q * inv_d2 - 1.0;
    double sinh2eta = 2.0 * tau * inv_d, cosh2eta = 2.0 * inv_d2 - 1.0;
    /* sum alpha_j sin(2 j zeta), zeta = xi' + i eta', by complex Clenshaw. */
    double wr = 2.0 * cos2xi * cosh2eta, wi = -2.0 * sin2xi * sinh2eta;
    double hr = 0.0, hi = 0.0, hr1 = 0.0, hi1 = 0.0;
    for (int j = UG_TM_ORDER - 1; j >= 0; j--) {
        double nr = t->kruger[j] + wr * hr - wi * hi - hr1;
        double ni = wi * hr + wr * hi - hi1;
        hr1 = hr;
        hi1 = hi;
        hr = nr;
        hi = ni;
    }
    double zr = sin2xi * cosh2eta, zi = cos2xi * sinh2eta;
    xi += zr * hr - zi * hi;
    eta += zr * hi + zi * hr;
    *ox = t->x0 + t->scale * eta;
    *oy = t->y0 + t->scale * xi;
}

#endif
