"""Sources: the real built-in ones on this machine, synthetic ids/JSONL files, and --source specs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.data.debian import command_fact, long_description, parse_stanzas, parse_summaries
from tools.data.headers import ArchHeaders, linux_headers_root
from tools.data.hwids import IdsSource
from tools.data.mix import WeightedSource, default_mix, resolve_sources
from tools.data.sources import JsonlSource, RawDoc, Skipped, UserFiles
from tools.errors import InputError

PCI_IDS = """# comment
8086  Intel Corporation
\t1533  I210 Gigabit Network Connection
\t\t103c 0003  Ethernet I210-T1 GbE NIC
\t10d3  82574L Gigabit Network Connection
1af4  Red Hat, Inc.
\t1000  Virtio network device
C 02  Network controller
\t00  Ethernet controller
C 03  Display controller
"""


def _facts(source, seed: int = 0) -> dict[tuple[str, str], str]:
    return {
        (f.kind, "/".join(f.fields.values())): f.answer
        for item in source.items(seed)
        if isinstance(item, RawDoc)
        for f in item.facts
    }


def test_ids_source_renders_statements_and_facts(tmp_path: Path) -> None:
    path = tmp_path / "pci.ids"
    path.write_text(PCI_IDS)
    src = IdsSource("pci-ids", "PCI", path)
    docs = [i for i in src.items(0) if isinstance(i, RawDoc)]
    text = "\n".join(d.text for d in docs)
    assert "PCI device 8086:1533: I210 Gigabit Network Connection (from Intel Corporation)" in text
    assert "subsystem 103c:0003: Ethernet I210-T1 GbE NIC" in text
    assert "PCI device class 0200: Ethernet controller" in text
    facts = _facts(src)
    assert facts[("pci_device", "8086:1533")] == "I210 Gigabit Network Connection"
    assert facts[("pci_vendor", "1af4")] == "Red Hat, Inc."
    assert facts[("pci_class", "03")] == "Display controller"
    assert sum(len(d.files) for d in docs) == 1  # the file is recorded once, with its sha256


def test_real_ids_and_headers_facts() -> None:
    pci = _facts(next(w.source for w in default_mix("x86_64") if w.source.name == "pci-ids"))
    assert pci[("pci_device", "8086:1533")].startswith("I210")
    root = linux_headers_root()
    assert root is not None
    riscv = _facts(ArchHeaders("riscv64", root))
    assert riscv[("constant", "CSR_SSTATUS/arch/riscv/include/asm/csr.h")] == "0x100"
    assert riscv[("constant", "SBI_EXT_TIME/arch/riscv/include/asm/sbi.h")] == "0x54494D45"
    assert riscv[("constant", "SR_SIE/arch/riscv/include/asm/csr.h")] == "0x00000002"
    arm = _facts(ArchHeaders("aarch64", root))
    assert arm[("constant", "SYS_MIDR_EL1/arch/arm64/include/asm/sysreg.h")] == "sys_reg(3, 0, 0, 0, 0)"
    x86 = _facts(ArchHeaders("x86_64", root))
    assert x86[("constant", "MSR_EFER/arch/x86/include/asm/msr-index.h")] == "0xc0000080"


def test_key_headers_come_first() -> None:
    first = next(i for i in ArchHeaders("riscv64", linux_headers_root()).items(7) if isinstance(i, RawDoc))
    assert first.origin.endswith(("asm/csr.h", "asm/sbi.h"))


@pytest.mark.parametrize("arch", ["riscv64", "aarch64", "x86_64"])
def test_default_mix_is_arch_aware_and_available(arch: str) -> None:
    mix = default_mix(arch)
    names = [w.source.name for w in mix]
    focus = [w.source.name for w in mix if w.arch_specific]
    karch = {"riscv64": "riscv", "aarch64": "arm64", "x86_64": "x86"}[arch]
    assert {f"linux-doc/{karch}", f"devicetree/{karch}", f"arch-headers/{karch}", f"qemu-doc/{karch}"} <= set(
        focus
    )
    assert ("opensbi-doc" in focus) == (arch == "riscv64")
    assert {"linux-doc", "man-pages", "debian-packages", "pci-ids", "usb-ids"} <= set(names)
    weights = {w.source.name: w.weight for w in mix}
    assert (weights["pci-ids"] > weights["usb-ids"]) == (arch == "x86_64")
    assert (weights["devicetree"] > weights["man-pages"]) == (arch == "aarch64")
    for w in mix:
        if w.arch_specific:
            w.source.check()  # installed here (the Makefile's apt packages); general ones: below


@pytest.fixture(scope="module")
def riscv_mix() -> list[WeightedSource]:
    return default_mix("riscv64")


def test_general_sources_available(riscv_mix: list[WeightedSource]) -> None:
    for w in riscv_mix:
        w.source.check()


def test_man_pages_only_from_debian_archive_packages(riscv_mix: list[WeightedSource]) -> None:
    man = next(w.source for w in riscv_mix if w.source.name == "man-pages")
    paths = {p.name for p in man.paths()}
    assert "ls.1.gz" in paths and "apt-get.8.gz" in paths
    assert not any(p.startswith("gcloud") for p in paths)  # google-cloud-cli is not a Debian package


def test_debian_parsers_and_command_fact(tmp_path: Path) -> None:
    dump = "Package: a\nSection: admin\nDescription: tool A\n\nPackage: b\nDescription: tool B\nHomepage: x\n"
    assert parse_summaries(dump) == {"a": ("admin", "tool A"), "b": ("misc", "tool B")}
    status = "Package: a\nStatus: install ok installed\nDescription: tool A\n Long text.\n .\n More.\n"
    [stanza] = list(parse_stanzas(status))
    assert long_description(stanza["Description"]) == "Long text.\n\nMore."
    page = tmp_path / "gzip.1"
    fact = command_fact(page, ".SH NAME\ngzip, gunzip, zcat \\- compress or expand files\n.SH SYNOPSIS\n")
    assert fact is not None and (fact.fields, fact.answer) == (
        {"command": "gzip"},
        "compress or expand files",
    )
    assert command_fact(tmp_path / "other.1", ".SH NAME\ngzip \\- compress\n") is None


def test_user_sources_and_specs(fixture_corpus: Path, tmp_path: Path) -> None:
    items = list(UserFiles(str(fixture_corpus)).items(0))
    skipped = sorted(i.reason for i in items if isinstance(i, Skipped))
    assert skipped == ["binary", "non_utf8"]
    glob_src = UserFiles(str(fixture_corpus / "*.md"))
    assert len(glob_src.paths()) == 30
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(
        json.dumps({"text": "first doc"}) + "\n" + json.dumps("second doc") + "\n{bad\n" + "[1]\n"
    )
    got = list(JsonlSource(jsonl).items(0))
    assert sorted(i.text for i in got if isinstance(i, RawDoc)) == ["first doc", "second doc"]
    assert [i.reason for i in got if isinstance(i, Skipped)] == ["bad_record", "bad_record"]
    specs = resolve_sources(
        "riscv64", ["opensbi-doc", f"dir:{fixture_corpus}", f"jsonl:{jsonl}", f"{fixture_corpus}/*.md"]
    )
    assert [w.source.name for w in specs][0] == "opensbi-doc" and len(specs) == 4
    assert len(resolve_sources("riscv64", ["default", str(jsonl)])) == len(default_mix("riscv64")) + 1
    with pytest.raises(InputError, match="no such file"):
        resolve_sources("riscv64", [f"jsonl:{tmp_path}/none.jsonl"])[0].source.check()


def test_bad_specs_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown source 'nosuch'"):
        resolve_sources("riscv64", ["nosuch"])
    with pytest.raises(InputError, match="unknown source 'opensbi-doc'"):
        resolve_sources("x86_64", ["opensbi-doc"])  # OpenSBI is in the riscv64 mix only
    with pytest.raises(InputError, match="unknown arch"):
        default_mix("mips")
    with pytest.raises(InputError, match="no such file"):
        UserFiles(str(tmp_path / "missing")).check()
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no such file"):
        UserFiles(str(tmp_path / "empty")).check()
    with pytest.raises(InputError, match="not found"):
        IdsSource("pci-ids", "PCI", tmp_path / "pci.ids").check()
