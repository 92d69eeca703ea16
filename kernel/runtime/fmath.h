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
/* e^x on four floats at once, for SiLU and softmax: float arithmetic only (range reduction by
 * ln 2 in two parts, a degree-7 polynomial, the power of two in two exact steps), written with
 * generic vectors so every arch computes the same bits; within 1 ulp of the true value, 0 below
 * -104 (subnormals kept above), inf above 88.73, NaN stays NaN. */
typedef float fm_v4f __attribute__((vector_size(16)));
fm_v4f fm_expf4(fm_v4f x);

/* x ** y for x > 0 (what RoPE's frequency base needs); NaN for x <= 0. */
float fm_powf(float x, float y);

#endif
