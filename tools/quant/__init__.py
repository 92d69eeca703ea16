"""Post-training quantization into GGUF block formats: RTN, GPTQ and AWQ (issue 5).

``tools.quant.quantize.quantize`` is the stage entry point; ``blocks`` holds the GGUF block
formats, ``rtn``/``gptq``/``awq`` the methods, ``calibrate`` the calibration statistics.
"""
