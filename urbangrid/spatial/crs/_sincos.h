/* sin and cos of one angle for the compiled coordinate formulas (_gcj.h, _tmerc.h).
 *
 * Their angles are small: the GCJ-02 shift's within 1.73 radians, latitudes within pi/2,
 * a Gauss-Krüger zone's longitudes within 80 degrees of its meridian. There the Taylor
 * series to the 21st/22nd power (truncation below 3e-17) in Horner form is within a few
 * units in the last place of the library's sincos, in a quarter of the time (no range
 * reduction, no call); larger angles, and NaN, go to the library.
 */
#ifndef URBANGRID_SINCOS_H
#define URBANGRID_SINCOS_H

#include <math.h>

#define UG_SINCOS_SERIES_MAX 1.8

/* c[0] + z (c[1] + z (... + z c[len - 1])): a polynomial by Horner's rule. */
static inline double ug_horner(const double *c, int len, double z) {
    double v = c[len - 1];
    for (int i = len - 2; i >= 0; i--) v = c[i] + z * v;
    return v;
}

/* (-1)^k / (2k+1)!, k = 1 .. 10, and (-1)^k / (2k)!, k = 1 .. 11. */
static const double ug_sin_series[10] = {
    -0.16666666666666666, 0.008333333333333333, -0.0001984126984126984,
    2.7557319223985893e-06, -2.505210838544172e-08, 1.6059043836821613e-10,
    -7.647163731819816e-13, 2.8114572543455206e-15, -8.22063524662433e-18,
    1.9572941063391263e-20};
static const double ug_cos_series[11] = {
    -0.5, 0.041666666666666664, -0.001388888888888889, 2.48015873015873e-05,
    -2.755731922398589e-07, 2.08767569878681e-09, -1.1470745597729725e-11,
    4.779477332387385e-14, -1.5619206968586225e-16, 4.110317623312165e-19,
    -8.896791392450574e-22};

static inline void ug_sincos(double a, double *s, double *c) {
    if (!(fabs(a) <= UG_SINCOS_SERIES_MAX)) {
        *s = sin(a);
        *c = cos(a);
        return;
    }
    double z = a * a;
    *s = a + (a * z) * ug_horner(ug_sin_series, 10, z);
    *c = 1.0 + z * ug_horner(ug_cos_series, 11, z);
}

#endif
