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

static inline void ug_sincos(double a, double *s, double *c) {
    if (!(fabs(a) <= UG_SINCOS_SERIES_MAX)) {
        *s = sin(a);
        *c = cos(a);
        return;
    }
    double z = a * a;
    /* (-1)^k / (2k+1)!, k = 10 .. 1 */
    double ps = 1.9572941063391263e-20;
    ps = -8.22063524662433e-18 + z * ps;
    ps = 2.8114572543455206e-15 + z * ps;
    ps = -7.647163731819816e-13 + z * ps;
    ps = 1.6059043836821613e-10 + z * ps;
    ps = -2.505210838544172e-08 + z * ps;
    ps = 2.7557319223985893e-06 + z * ps;
    ps = -0.0001984126984126984 + z * ps;
    ps = 0.008333333333333333 + z * ps;
    ps = -0.16666666666666666 + z * ps;
    /* (-1)^k / (2k)!, k = 11 .. 1 */
    double pc = -8.896791392450574e-22;
    pc = 4.110317623312165e-19 + z * pc;
    pc = -1.5619206968586225e-16 + z * pc;
    pc = 4.779477332387385e-14 + z * pc;
    pc = -1.1470745597729725e-11 + z * pc;
    pc = 2.08767569878681e-09 + z * pc;
    pc = -2.755731922398589e-07 + z * pc;
    pc = 2.48015873015873e-05 + z * pc;
    pc = -0.001388888888888889 + z * pc;
    pc = 0.041666666666666664 + z * pc;
    pc = -0.5 + z * pc;
    *s = a + (a * z) * ps;
    *c = 1.0 + z * pc;
}

#endif
