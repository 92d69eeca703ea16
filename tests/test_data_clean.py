"""Markup to prose, normalisation, the quality filter and duplicate detection."""

from __future__ import annotations

import random

from tools.data.clean import clean, decode, normalize, quality
from tools.data.dedup import Deduplicator
from tools.data.markup import (
    c_header_to_text,
    format_of,
    html_to_text,
    man_name_line,
    markdown_to_text,
    roff_to_text,
    rst_to_text,
    yaml_to_text,
)


def test_format_of_names() -> None:
    assert [format_of(n) for n in ("a.rst", "b.yaml", "ls.1", "ssl.1ssl", "x.html", "r.md", "csr.h", "n.txt", "Kconfig")] == [
        "rst", "yaml", "roff", "roff", "html", "markdown", "c", "text", "text",
    ]  # fmt: skip


def test_rst_keeps_prose_and_drops_markup() -> None:
    src = """.. SPDX-License-Identifier: GPL-2.0

=====================
Virtual Memory Layout
=====================

:Author: Alex

This uses :c:func:`sbi_ecall` and ``CSR_SATP``, see `the spec <https://riscv.org>`_.

.. toctree::
   :maxdepth: 2

   hidden-entry

.. note::

   Keep the **hart** mask.

Example::

    li a7, 0x10
"""
    out = rst_to_text(src)
    assert "Virtual Memory Layout" in out and "=====" not in out
    assert "This uses sbi_ecall and CSR_SATP, see the spec." in out
    assert "Author: Alex" in out
    assert "SPDX" not in out and "hidden-entry" not in out and "toctree" not in out
    assert "Keep the hart mask." in out
    assert "Example:" in out and "li a7, 0x10" in out


def test_devicetree_yaml_becomes_prose() -> None:
    src = """%YAML 1.2
---
$id: http://devicetree.org/schemas/timer/sifive,clint.yaml#
title: SiFive Core Local Interruptor
description: The CLINT provides M-mode timer interrupts.
properties:
  compatible:
    items:
      - enum:
          - sifive,fu540-c000-clint
          - canaan,k210-clint
      - const: sifive,clint0
  reg:
    maxItems: 1
  interrupts-extended:
    description: One entry per
      HART.
required: [compatible, reg]
examples:
  - |
    timer@2000000 {
      compatible = "sifive,clint0";
    };
"""
    out = yaml_to_text(src)
    assert out.startswith("SiFive Core Local Interruptor\n\nThe CLINT provides M-mode timer interrupts.")
    assert "Compatible strings: sifive,fu540-c000-clint, canaan,k210-clint, sifive,clint0." in out
    assert "interrupts-extended: One entry per HART." in out
    assert "Required properties: compatible, reg." in out
    assert 'compatible = "sifive,clint0";' in out
    assert "$id" not in out and "maxItems" not in out


def test_roff_man_page() -> None:
    src = r""".\" a comment
.de INDENT
. RS \\$1
..
.TH LS 1 "2022" "coreutils"
.SH NAME
ls \- list directory contents
.SH DESCRIPTION
.INDENT 3.5
List \fBfiles\fR in \fIDIR\fP\(em sorted.
.TP
\fB\-a\fR, \fB\-\-all\fR
do not ignore entries starting with .
.IP \(bu 2
first item
.BI \-p \ PACKAGE
.
"""
    out = roff_to_text(src)
    assert "comment" not in out and "3.5" not in out and "RS" not in out
    assert "NAME\n\nls - list directory contents" in out
    assert "List files in DIR\u2014 sorted." in out
    assert "-a, --all\ndo not ignore entries starting with ." in out
    assert "\u2022\nfirst item" in out
    assert "-p PACKAGE" in out
    assert man_name_line(src) == "ls - list directory contents"


def test_mdoc_name_line() -> None:
    src = ".Dd 2022\n.Dt SSH 1\n.Os\n.Sh NAME\n.Nm ssh\n.Nd OpenSSH remote login client\n.Sh SYNOPSIS\n.Nm\n"
    assert man_name_line(src) == "ssh - OpenSSH remote login client"


def test_html_main_text_only() -> None:
    src = """<html><head><title>t</title><script>var x=1;</script></head><body>
<div class="sphinxsidebar">Navigation junk</div>
<h1>RISC-V virt<a class="headerlink" href="#">¶</a></h1>
<p>The <code>virt</code> board   supports:</p>
<ul><li><p>CLINT</p></li><li>PLIC</li></ul>
<pre>qemu-system-riscv64 -M virt
    -nographic</pre>
</body></html>"""
    out = html_to_text(src)
    assert "var x" not in out and "Navigation" not in out and "¶" not in out
    assert "RISC-V virt" in out and "The virt board supports:" in out
    assert "- CLINT" in out and "- PLIC" in out
    assert "qemu-system-riscv64 -M virt\n    -nographic" in out


def test_markdown_keeps_identifiers() -> None:
    out = markdown_to_text("OpenSBI\n=======\n\n* **struct sbi_domain** see [docs](http://x) and `fw_jump`\n")
    assert out.splitlines()[0] == "OpenSBI" and "=" not in out
    assert "* struct sbi_domain see docs and fw_jump" in out


def test_c_header_drops_licence_and_guards() -> None:
    src = (
        "/* SPDX-License-Identifier: GPL-2.0-only */\n/*\n * Copyright (C) 2015 Regents\n */\n"
        "#ifndef _ASM_RISCV_CSR_H\n#define _ASM_RISCV_CSR_H\n/* Status register flags */\n"
        "#define SR_SIE _AC(0x00000002, UL)\n#endif /* _ASM_RISCV_CSR_H */\n"
    )
    out = c_header_to_text(src)
    assert "SPDX" not in out and "Copyright" not in out and "_ASM_RISCV_CSR_H" not in out
    assert "/* Status register flags */" in out and "#define SR_SIE _AC(0x00000002, UL)" in out


def test_normalize() -> None:
    raw = "Cafe\u0301\r\n\tx\u200b  \n\n\n\n<s> and <|q|> stay literal\x07\n"
    out = normalize(raw)
    assert out == "Caf\u00e9\n    x\n\n< s> and < |q|> stay literal"


def test_quality_and_decode() -> None:
    assert quality("short", 200) == "too_short"
    assert quality("1234 5678 |||| " * 40, 200) == "garbage"
    assert quality("A" * 400, 200) == "garbage"  # one 400-letter "word": a blob
    assert quality("The hart boots the kernel. " * 20, 200) is None
    assert decode(b"\x00\x01binary") == (None, "binary")
    assert decode("caf\xe9".encode("latin-1")) == (None, "non_utf8")
    assert decode("café".encode()) == ("café", None)
    text, why = clean("tiny", "text", 200)
    assert (text, why) == ("tiny", "too_short")


def _doc(rng: random.Random, n: int = 400) -> str:
    words = [f"w{rng.randrange(5000)}" for _ in range(n)]
    return " ".join(words)


def test_dedup_exact_and_near() -> None:
    rng = random.Random(1)
    d = Deduplicator(threshold=0.8, seed=0)
    base = _doc(rng)
    assert d.check(base) is None
    assert d.check(base) == "exact_duplicate"
    words = base.split()
    words[200] = "changed"
    assert d.check(" ".join(words)) == "near_duplicate"
    assert d.check(_doc(rng)) is None  # an unrelated document is kept
    half = base.split()[:200] + _doc(rng, 200).split()
    assert d.check(" ".join(half)) is None  # ~1/3 shingle overlap is not a near duplicate
