"""Export of trained or quantized models to GGUF (llama.cpp, the AUTON kernel) and ONNX.

``tools.export.export.export`` is the stage entry point: it writes every file format (the GGUF
writer and vocabulary are in ``tools.gguf``); ``onnx`` exports ONNX, ``validate`` checks what was
written against PyTorch, ``deploy`` writes deploy.json, ``source`` resolves what is exported.
"""
