"""The knowledge blob (tools.kb) built from real data: pci.ids, Debian's kernel packages, the
target's Debian archive (through a private apt) and the man pages' whatis data.

The first session on a machine downloads the archive indexes and a kernel package per arch
(about 60 MB each) into the Debian cache; later sessions reuse them.
"""

from __future__ import annotations

import json
import shutil

import pytest

from tests.cli_run import run_cli
from tools.artifacts import read_manifest
from tools.errors import InputError
from tools.kb.apt import TARGETS, PrivateApt
from tools.kb.blob import MAGIC, UNSORTED, encode, read_blob, sort_rows
from tools.kb.build import RAM_SHARE, is_current, tier_kb
from tools.kb.modalias import first_match, of_modalias, pci_modalias, virtio_modalias
from tools.task.requests import phrasing_words
from tools.tiers import MB, TIERS, Arch, TierName

ARCHES = [a.value for a in Arch]


def _lookup(rows: list[str], key: str) -> list[str]:
    return [r.split("\t", 1)[1] for r in rows if r.split("\t", 1)[0] == key]


@pytest.mark.parametrize("arch", ARCHES)
def test_tables_answer_what_users_ask(arch, kb_blob):
    built = kb_blob(arch)
    kb = read_blob(built.blob)
    # neither is installed on the build machine: the answers come from the target's archive
    assert _lookup(kb["cmd"], "dig") == ["bind9-dnsutils"]
    (nginx,) = _lookup(kb["pkg"], "nginx")
    assert "web" in nginx and "server" in nginx
    assert "nginx" in _lookup(kb["cmd"], "nginx")[0].split(",")
    assert _lookup(kb["whatis"], "gzip") == ["1\tcompress or expand files"]
    assert _lookup(kb["pci_vendor"], "8086") == ["Intel Corporation"]
    assert _lookup(kb["pci_device"], "8086100e") == ["82540EM Gigabit Ethernet Controller"]
    assert _lookup(kb["pci_class"], "0200") == ["Ethernet controller"]
    assert _lookup(kb["pci_class"], "0c0330") == ["XHCI"]
    # the word index points at the pkg lines holding the word
    (lines,) = _lookup(kb["word"], "nginx")
    named = [kb["pkg"][int(i)].split("\t")[0] for i in lines.split(",")]
    assert "nginx" in named and all("nginx" in kb["pkg"][int(i)].lower() for i in lines.split(","))
    for name, rows in kb.items():
        assert name in UNSORTED or rows == sort_rows(rows), name
        fields = 1 if name == "phrase" else 2  # phrase: one word a line, "name" after a well-known one
        assert all(r.count("\n") == 0 and r.count("\t") >= fields - 1 and r.split("\t")[0] for r in rows), name
    assert {"the", "please", "show"} <= set(kb["phrase"]) and "nginx" not in kb["phrase"]
    assert {"find\tname", "free\tname", "apt\tname"} <= set(kb["phrase"])  # findutils, procps, apt: required or important


@pytest.mark.parametrize("arch", ARCHES)
def test_aliases_match_as_modprobe_matches(arch, kb_blob):
    aliases = read_blob(kb_blob(arch).blob)["alias"]
    e1000 = pci_modalias(0x8086, 0x100E, 0x1AF4, 0x1100, 0x020000)
    assert e1000 == "pci:v00008086d0000100Esv00001AF4sd00001100bc02sc00i00"
    assert first_match(aliases, e1000) == ("pci:v00008086d0000100Esv*sd*bc*sc*i*", "e1000")
    assert first_match(aliases, virtio_modalias(1))[1] == "virtio_net"
    assert first_match(aliases, virtio_modalias(4))[1] == "virtio_rng"
    # a class alias: any vendor's xHCI controller (QEMU's qemu-xhci is 1b36:000d)
    xhci = first_match(aliases, pci_modalias(0x1B36, 0x000D, 0x1AF4, 0x1100, 0x0C0330))
    assert xhci is not None and xhci[1] == "xhci_pci" and "bc0Csc03i30" in xhci[0]
    assert first_match(aliases, pci_modalias(0xFFFF, 0xFFFF, 0, 0, 0xFF0000)) is None
    fw_cfg = first_match(aliases, of_modalias("fw-cfg", ["qemu,fw-cfg-mmio"]))
    if arch == "x86_64":  # no device tree on pc: no of: aliases kept
        assert not any(r.startswith("of:") for r in aliases) and fw_cfg is None
    else:
        assert fw_cfg is not None and fw_cfg[1] == "qemu_fw_cfg"
    assert {r.split(":", 1)[0] for r in aliases} <= {"pci", "virtio", "of"}


def test_tiers_share_ram_and_manifest_names_the_sources(kb_blob):
    tiny, small = kb_blob("aarch64", "tiny"), kb_blob("aarch64", "small")
    for built in (tiny, small):
        assert built.bytes == built.blob.stat().st_size <= built.budget_bytes
        assert built.budget_bytes == TIERS[built.tier].ram_max_mb * MB // RAM_SHARE
    assert tiny.budget_bytes == 8 * MB and tiny.bytes < small.bytes
    t, s = ({x.name: x for x in b.tables} for b in (tiny, small))
    assert t["pci_device"].lines < s["pci_device"].lines and t["pkg"].lines < s["pkg"].lines
    assert t["alias"].lines == s["alias"].lines and t["cmd"].lines == s["cmd"].lines
    assert not tier_kb(TierName.tiny).all_pci_devices and tier_kb(TierName.large).packages == "all"

    manifest = read_manifest(tiny.blob.parent)
    assert manifest.kind == "kb" and manifest.metrics["bytes"] == tiny.bytes
    kb = read_blob(tiny.blob)
    for name, rows in kb.items():
        entry = manifest.metrics["tables"][name]
        assert entry["lines"] == len(rows) and entry["bytes"] == sum(len(r.encode()) + 1 for r in rows)
        assert entry["source"] and entry["version"] not in ("", "?", "unknown"), name
    tables = manifest.metrics["tables"]
    assert tables["alias"]["source"].startswith("linux-image-") and tables["alias"]["source"].endswith(
        "-arm64"
    )
    assert tables["pkg"]["source"] == "Debian bookworm main arm64 Packages"
    assert tables["pci_device"]["source"] == "pci.ids"
    assert {f.path.rsplit("/", 1)[-1] for f in manifest.inputs} >= {"pci.ids"}


def test_riscv64_records_where_its_tables_come_from(kb_blob):
    built = kb_blob("riscv64")
    target = TARGETS[Arch.riscv64]
    params = read_manifest(built.blob.parent).parameters
    if built.debian == f"{target.suite} {target.arch}":  # trixie's riscv64 archive and kernel
        assert built.note == "" and built.tables[3].source.endswith("-riscv64")
    else:  # the fallback, with the reason recorded; the kernel is riscv64's when trixie has it
        assert target.fallback and built.debian == f"{target.fallback.suite} {target.fallback.arch}"
        assert "trixie" in built.note and "used instead" in built.note
        own_kernel = built.note.endswith("the kernel package from Debian trixie main riscv64")
        assert built.tables[3].source.endswith("-riscv64" if own_kernel else "-arm64")
    assert params["debian"] == built.debian and params["note"] == built.note


def test_a_kb_missing_a_section_or_its_form_is_not_current(kb_blob, tmp_path):
    built = kb_blob("riscv64")
    phrasing = phrasing_words()
    assert is_current(built.blob.parent, phrasing) and not is_current(tmp_path, phrasing)
    assert not is_current(built.blob.parent, [*phrasing, "newword"])  # built from other phrasings
    manifest = read_manifest(built.blob.parent)
    manifest.metrics["tables"]["phrase"]["source"] = "auton-slm request phrasings (train split)"
    (tmp_path / "manifest.json").write_text(manifest.model_dump_json())
    assert not is_current(tmp_path, phrasing)  # before the phrase table marked its well-known names
    del manifest.metrics["tables"]["phrase"]  # a kb built before the phrase table existed
    (tmp_path / "manifest.json").write_text(manifest.model_dump_json())
    assert not is_current(tmp_path, phrasing)


def test_private_apt_leaves_the_system_alone(kb_blob):
    kb_blob("x86_64")
    apt = PrivateApt(TARGETS[Arch.x86_64])
    conf = apt.conf.read_text()
    assert str(apt.root) in conf and '"/etc/apt' not in conf and '"/var/lib/apt' not in conf
    assert 'APT::Architectures { "amd64"; };' in conf
    lists = {ident for ident, _ in apt.indextargets()}
    assert {"Packages", "Contents-deb"} <= lists
    assert all(str(p).startswith(str(apt.root)) for p in apt.indextargets().values())
    assert shutil.which("apt-get")


def test_blob_framing_round_trips_and_rejects_damage(tmp_path):
    sections = {"pkg": sort_rows(["b\tsecond", "a\tfirst"]), "alias": ["z*\tmod", "a*\tmod"]}
    data = encode(sections)
    assert data.startswith(MAGIC) and data.endswith(b"@end\n")
    assert b"@section pkg 2 17\na\tfirst\nb\tsecond\n" in data
    path = tmp_path / "kb.txt"
    path.write_bytes(data)
    assert read_blob(path) == sections
    path.write_bytes(data.replace(b"pkg 2 17", b"pkg 3 17"))
    with pytest.raises(InputError, match="is not 3 lines"):
        read_blob(path)
    path.write_bytes(b"not a blob")
    with pytest.raises(InputError, match="not a knowledge blob"):
        read_blob(path)


def test_cli_builds_with_json_and_refuses_bad_input(capsys, tmp_path, debian_downloads):
    r = run_cli(capsys, "kb", "build", "--arch", "x86_64", "--out", str(tmp_path / "kb"), "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["tier"] == "tiny" and out["bytes"] == (tmp_path / "kb" / "kb.txt").stat().st_size
    assert {t["name"] for t in out["tables"]} == {
        "pci_vendor", "pci_device", "pci_class", "alias", "pkg", "cmd", "whatis", "word", "phrase"
    }  # fmt: skip
    r = run_cli(capsys, "kb", "build", "--arch", "x86_64", "--out", str(tmp_path / "h"))
    assert r.code == 0 and "pkg" in r.out and "bytes of 8,388,608" in r.out
    r = run_cli(capsys, "kb", "build", "--arch", "sparc", "--out", str(tmp_path / "x"))
    assert (
        r.code == 2 and r.err.strip() == "error: --arch must be one of x86_64, aarch64, riscv64, not 'sparc'"
    )
    r = run_cli(capsys, "kb", "build", "--arch", "x86_64", "--tier", "huge", "--out", str(tmp_path / "x"))
    assert r.code == 2 and "--tier must be one of tiny, small, medium, large" in r.err
