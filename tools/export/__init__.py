"""Export of trained or quantized models to GGUF (llama.cpp, the AUTON kernel) and ONNX (issue 5).

``tools.export.export.export`` is the stage entry point; ``gguf`` writes GGUF files, ``vocab``
turns a ``tokenizer.json`` into GGUF tokenizer metadata, ``onnx`` exports ONNX, ``validate``
checks what was written against PyTorch, ``deploy`` writes deploy.json.
"""
