"""Post-training quantization into GGUF block formats: RTN, GPTQ and AWQ.

``tools.quant.quantize.quantize`` is the stage entry point; ``rtn``/``gptq``/``awq`` are the
methods, ``calibrate`` the calibration statistics, ``layout`` the quantized directory. The block
formats and the per-tensor type plan are in ``tools.gguf``, which export shares.
"""
