/* Freestanding math for the runtime: no libm. Each float function evaluates in double and
 * rounds once, so results are within one ulp of the true value (almost always the correctly
 * rounded one, as glibc gives), on every arch alike. */
#ifndef AUTON_FMATH_H
#define AUTON_FMATH_H

float fm_expf(float x);
float fm_sqrtf(float x);
float fm_sinf(float x);
float fm_cosf(float x);
void fm_sincosf(float x, float *s, float *c);
/* x ** y for x > 0 (what RoPE's frequency base needs); NaN for x <= 0. */
float fm_powf(float x, float y);

#endif
