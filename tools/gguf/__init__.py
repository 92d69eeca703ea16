"""GGUF, the file format llama.cpp and the AUTON kernel run: its block formats (``blocks``), the
per-tensor type plan (``plan``), the tokenizer vocabulary (``vocab``), the file writer and reader
(``file``) and the quantized-weights store (``store``). Quantize and export both build on it;
it imports neither."""
