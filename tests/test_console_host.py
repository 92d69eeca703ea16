"""The kernel's discovery and console on the host (kernel/build/host/slm-run --console): the same
C code as the kernel over a device tree QEMU dumped, a simulated hardware file
(docs/console.md, "The host build") and the real kb blob.

The device tree's contents are read with dtc, so nothing here is a hand-written device list:
whatever QEMU's machine holds must show up in `devices`. Bad input (garbage, truncated, looping
or huge device trees and PCI spaces, hostile console lines) must give a one-line error or a
truncated inventory, never a crash.
"""

from __future__ import annotations

import random
import re
import struct
import subprocess
from pathlib import Path

import pytest

from tools.kernel_console import console_text

QEMU_DTB = {
    "riscv64": [
        "qemu-system-riscv64",
        "-machine",
        "virt",
        "-device",
        "virtio-net-pci",
        "-device",
        "virtio-rng-device",
    ],
    "aarch64": [
        "qemu-system-aarch64",
        "-machine",
        "virt",
        "-cpu",
        "cortex-a72",
        "-device",
        "e1000",
        "-device",
        "virtio-rng-device",
    ],
}
VIRTIO_MAGIC = 0x74726976
END = re.compile(r"^auton: end command=(\S+) rc=(\d)$", re.M)


def dumped_dtb(arch: str, out: Path) -> Path:
    dtb = out / f"{arch}.dtb"
    if not dtb.exists():
        cmd = QEMU_DTB[arch][:1] + ["-nodefaults", "-display", "none", "-m", "256M"] + QEMU_DTB[arch][1:]
        cmd[cmd.index("virt")] = f"virt,dumpdtb={dtb}"
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return dtb


def dt_nodes(dtb: Path) -> dict[tuple[str, ...], dict[str, list[str]]]:
    """node path (root first) -> {"compatible": [...], "device_type": [...], ...}, read by dtc."""
    dts = subprocess.run(
        ["dtc", "-q", "-I", "dtb", "-O", "dts", str(dtb)], check=True, capture_output=True, text=True
    )
    nodes: dict[tuple[str, ...], dict[str, list[str]]] = {}
    path: list[str] = []
    for line in dts.stdout.splitlines():
        line = line.strip()
        if line.endswith("{"):
            path.append(line[:-1].strip().split(":")[-1].strip())
            nodes[tuple(path)] = {}
        elif line == "};":
            path.pop()
        elif m := re.match(r"(compatible|device_type|riscv,isa) = (.*);$", line):
            strings = re.findall(r'"([^"]*)"', m.group(2))  # dtc may also write a list as "a\0b"
            nodes[tuple(path)][m.group(1)] = [part for s in strings for part in s.split("\\0")]
    return nodes


def record(kind: str, bus: int, dev: int, fn: int, data: bytes, base: int = 0) -> bytes:
    return struct.pack("<cBBBIQ", kind.encode(), bus, dev, fn, len(data), base) + data


def config_space(
    vendor: int, device: int, class_code: int, header: int = 0, secondary: int = 0, subsystem: int = 0x1100
) -> bytes:
    cfg = bytearray(256)
    struct.pack_into("<HH", cfg, 0, vendor, device)
    struct.pack_into("<I", cfg, 8, class_code << 8)
    cfg[0x0E] = header
    if header & 0x7F == 1:
        cfg[0x19] = secondary
    else:
        struct.pack_into("<HH", cfg, 0x2C, 0x1AF4, subsystem)
    return bytes(cfg)


def virtio_slot(base: int, device_id: int) -> bytes:
    return record("M", 0, 0, 0, struct.pack("<IIII", VIRTIO_MAGIC, 2, device_id, 0x554D4551), base)


def run_console(host_runtime: Path, gguf: Path, lines: bytes | str, *args: str, check: bool = True):
    data = lines.encode() if isinstance(lines, str) else lines
    r = subprocess.run(
        [str(host_runtime), str(gguf), "--console", "-n", "2", *args],
        input=data,
        capture_output=True,
        timeout=120,
    )
    assert r.returncode >= 0, f"slm-run died of signal {-r.returncode}: {r.stderr[-500:]!r}"
    if check:
        assert r.returncode == 0, r.stderr.decode(errors="replace")
    return r, console_text(r.stdout)


def device_rows(out: str) -> dict[str, list[str]]:
    """ADDRESS -> [BUS, ID, CLASS, DRIVER, NAME] of the first device table in out."""
    table = out.split("ADDRESS           BUS", 1)[1].split("\nauton: end", 1)[0]
    return {
        r[0]: r[1:] for r in (re.split(r"\s{2,}", row, maxsplit=5) for row in table.splitlines()[1:]) if r
    }


@pytest.fixture(scope="module")
def gguf(parity_gguf):
    return parity_gguf["Q8_0"]


@pytest.fixture(scope="module")
def kb_file(kb_blob):
    return kb_blob("riscv64").blob


@pytest.mark.parametrize("arch", sorted(QEMU_DTB))
def test_devices_list_what_the_device_tree_holds(arch, host_runtime, gguf, kb_file, tmp_path):
    dtb = dumped_dtb(arch, tmp_path)
    nodes = dt_nodes(dtb)
    slots = sorted(
        int(p[-1].rsplit("@", 1)[1], 16) for p, n in nodes.items() if n.get("compatible") == ["virtio,mmio"]
    )
    ecam = any(n.get("compatible") == ["pci-host-ecam-generic"] for n in nodes.values())
    assert slots and ecam
    hw = virtio_slot(slots[-1], 4) + record("P", 0, 0, 0, config_space(0x1B36, 0x0008, 0x060000))
    hw += record("P", 0, 2, 0, config_space(0x8086, 0x100E, 0x020000))
    (tmp_path / "hw.bin").write_bytes(hw)
    _, out = run_console(
        host_runtime, gguf, "devices\ncpu\nmemory\ndriver network\ndevices rng\n",
        "--dtb", str(dtb), "--pci", str(tmp_path / "hw.bin"), "--kb", str(kb_file),
    )  # fmt: skip
    rows = device_rows(out)
    expect = {
        path[-1]: n["compatible"][0]
        for path, n in nodes.items()
        if n.get("compatible")
        and len(path) > 1
        and path[1] != "cpus"
        and "simple-bus" not in n["compatible"]
        and n["compatible"] != ["virtio,mmio"]
        and not path[-1].startswith("memory")
    }
    for name, compatible in expect.items():
        assert name in rows and rows[name][0] == "dt" and rows[name][4] == compatible, (name, rows.get(name))
    virtio = f"virtio@{slots[-1]:x}"
    assert rows[virtio][:4] == ["virtio", "1af4:0004", "rng", "virtio_rng"]
    assert [a for a in rows if a.startswith("virtio@")] == [virtio]  # the empty slots are not devices
    assert rows["00:02.0"][:4] == ["pci", "8086:100e", "network", "e1000"]
    assert rows["00:02.0"][4] == "Intel Corporation 82540EM Gigabit Ethernet Controller"
    assert rows["00:00.0"][2] == "bridge" and "QEMU PCIe Host bridge" in rows["00:00.0"][4]
    assert len(rows) == len(expect) + 3 and f"auton: inventory devices={len(rows)} truncated=0" in out
    cpus = [n for p, n in nodes.items() if n.get("device_type") == ["cpu"]]
    assert f"auton: cpu count={len(cpus)} isa=" in out
    if arch == "riscv64":
        assert f'isa="{cpus[0]["riscv,isa"][0]}"' in out
    assert re.search(r"^auton: memory total=268435456 kernel=0 ", out, re.M)
    assert "\n00:02.0           e1000       pci:v00008086d0000100Esv*sd*bc*sc*i*\n" in out
    assert "auton: devices class=rng count=1\n" in out
    assert [m[0] for m in END.findall(out)] == ["devices", "cpu", "memory", "driver", "devices"]


def test_package_and_device_commands(host_runtime, gguf, kb_file, tmp_path):
    hw = record("P", 0, 3, 0, config_space(0x1AF4, 0x1000, 0x020000, subsystem=1))  # transitional virtio-net
    (tmp_path / "hw.bin").write_bytes(hw)
    _, out = run_console(
        host_runtime, gguf,
        "provides dig\npkg show nginx\nwhatis gzip\npkg search web proxy\ndevice 00:03.0\ndevice 00:09.0\n"
        "provides no-such-command-here\n",
        "--pci", str(tmp_path / "hw.bin"), "--kb", str(kb_file),
    )  # fmt: skip
    assert "auton: provides command=dig count=1 packages=bind9-dnsutils\ndig: bind9-dnsutils\n" in out
    assert "auton: pkg show name=nginx found=1\nPackage: nginx\nDescription: " in out
    assert "\ngzip (1) - compress or expand files\n" in out
    search = out.split("auton: pkg search ")[1].split("auton: end")[0]
    assert "\nnginx - " in search and re.match(r'words="web proxy" count=(\d+) shown=\1\n', search)
    # a virtio-pci NIC gets the driver of the virtio device it carries
    assert (
        "auton: device addr=00:03.0 bus=pci id=1af4:1000 class=020000 kind=network driver=virtio_net" in out
    )
    assert 'auton: device addr="00:09.0" found=0' in out
    assert [m for m in END.findall(out)] == [
        ("provides", "0"), ("pkg", "0"), ("whatis", "0"), ("pkg", "0"), ("device", "0"), ("device", "1"),
        ("provides", "1"),
    ]  # fmt: skip


def test_commands_without_a_kb_say_the_table_is_missing(host_runtime, gguf):
    _, out = run_console(host_runtime, gguf, "provides dig\npkg search x\ndevices\n")
    assert "auton: kb bytes=0 " in out and "auton: inventory devices=0 truncated=0" in out
    assert "this kernel has no 'cmd' table" in out and "auton: end command=provides rc=1" in out
    assert "auton: devices class=all count=0" in out


def test_pci_loops_garbage_and_huge_topologies_are_bounded(host_runtime, gguf, tmp_path):
    # two bridges pointing at each other's buses, and one pointing at its own bus
    loop = record("P", 0, 0, 0, config_space(0x8086, 0x244E, 0x060400, header=1, secondary=1))
    loop += record("P", 1, 0, 0, config_space(0x8086, 0x244E, 0x060400, header=1, secondary=0))
    loop += record("P", 1, 1, 0, config_space(0x8086, 0x244E, 0x060400, header=1, secondary=1))
    (tmp_path / "loop.bin").write_bytes(loop)
    _, out = run_console(host_runtime, gguf, "devices bridge\n", "--pci", str(tmp_path / "loop.bin"))
    assert "auton: inventory devices=3 truncated=0" in out and "auton: devices class=bridge count=3" in out
    # every function of 64 buses answers with garbage, multi-function headers and bridges
    rng = random.Random(7)
    garbage = b"".join(
        record("P", bus, dev, fn, bytes(rng.getrandbits(8) for _ in range(256)))
        for bus in range(2) for dev in range(32) for fn in range(8)
    )  # fmt: skip
    (tmp_path / "garbage.bin").write_bytes(garbage)
    _, out = run_console(host_runtime, gguf, "devices\n", "--pci", str(tmp_path / "garbage.bin"))
    assert "auton: inventory devices=128 truncated=1" in out and "(the table is full" in out
    for bad, why in [
        (b"P\0\0\0" + struct.pack("<I", 300) + bytes(8 + 300), "bad record at byte 0"),
        (record("P", 0, 0, 0, bytes(256))[:100], "wants 256 bytes"),
        (b"Q" * 40, "bad record"),
        (b"P" * 7, "truncated record header"),
    ]:
        (tmp_path / "bad.bin").write_bytes(bad)
        r, _ = run_console(host_runtime, gguf, "", "--pci", str(tmp_path / "bad.bin"), check=False)
        assert r.returncode == 2 and why in r.stderr.decode() and len(r.stderr.splitlines()) == 1


def test_unconfigured_bridges_get_bus_numbers(host_runtime, gguf, tmp_path):
    # no firmware numbered these root ports (secondary bus 0): the kernel assigns 1 and 2 in order
    hw = record("P", 0, 1, 0, config_space(0x1B36, 0x000C, 0x060400, header=1))
    hw += record("P", 0, 2, 0, config_space(0x1B36, 0x000C, 0x060400, header=1))
    hw += record("P", 1, 0, 0, config_space(0x1AF4, 0x1041, 0x020000))
    hw += record("P", 2, 0, 0, config_space(0x8086, 0x10D3, 0x020000))
    (tmp_path / "hw.bin").write_bytes(hw)
    _, out = run_console(host_runtime, gguf, "devices\n", "--pci", str(tmp_path / "hw.bin"))
    assert list(device_rows(out)) == ["00:01.0", "01:00.0", "00:02.0", "02:00.0"]


def test_damaged_deep_and_huge_device_trees(host_runtime, gguf, tmp_path):
    dtb = dumped_dtb("riscv64", tmp_path).read_bytes()
    size = struct.unpack(">I", dtb[4:8])[0]
    rng = random.Random(11)
    for i in range(40):  # damaged copies of a real tree: an error or an inventory, never a crash
        blob = bytearray(dtb[:size])
        for _ in range(rng.choice((1, 4, 32))):
            blob[rng.randrange(len(blob))] = rng.getrandbits(8)
        (tmp_path / "bad.dtb").write_bytes(blob)
        r, out = run_console(host_runtime, gguf, "devices\n", "--dtb", str(tmp_path / "bad.dtb"), check=False)
        assert r.returncode in (0, 2), i
        assert r.returncode == 2 or "auton: end command=devices rc=0" in out
        if r.returncode == 0:  # whatever the tree names, the columns hold
            assert all(
                len(row) == 5 and row[0] in ("dt", "virtio", "pci") for row in device_rows(out).values()
            )
    for blob, _why in [(b"\xd0\x0d\xfe\xed" + bytes(60), "sizes"), (dtb[:100], "truncated"), (b"", "empty")]:
        (tmp_path / "bad.dtb").write_bytes(blob)
        r, _ = run_console(host_runtime, gguf, "", "--dtb", str(tmp_path / "bad.dtb"), check=False)
        assert r.returncode == 2 and b"not a valid device tree blob" in r.stderr
    many = "".join(
        f'dev@{i:x} {{ compatible = "acme,widget"; reg = <0x{i:x} 0x10>; }};\n' for i in range(3000)
    )
    deep = "".join(f'n{i} {{ compatible = "acme,deep"; ' for i in range(200)) + "};" * 200
    for dts, devices, truncated in [(many, 128, 1), (deep, 15, 0)]:
        src = f"/dts-v1/;\n/ {{ #address-cells = <1>; #size-cells = <1>;\n{dts}\n}};\n"
        (tmp_path / "t.dts").write_text(src)
        subprocess.run(
            ["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", str(tmp_path / "t.dtb"), str(tmp_path / "t.dts")],
            check=True,
        )
        _, out = run_console(host_runtime, gguf, "devices\n", "--dtb", str(tmp_path / "t.dtb"))
        assert f"auton: inventory devices={devices} truncated={truncated}" in out


def test_hostile_console_lines_never_crash(host_runtime, gguf, kb_file):
    lines = [
        b"",
        b"   \t  ",
        b"devices " + b"x" * 5000,
        b"pkg search " + b"a " * 600,
        b"help me \x01\x02\x1b[31m",
        b"device \xff\xfe\xc3",
        b"provides \xe2\x82",
        b"whatis " + "\u00e9\u4e2d".encode(),
        b"driver",
        b"driver a b",
        b"pkg show",
        b"pkg search " + b"z" * 900,
        b"cpu extra",
        b"devices usb",
        b"set max_tokens=0",
        b"devicxx\x7f\x7fes",
        b"\xff\xff\xff",
        b"help",
    ]
    r, out = run_console(host_runtime, gguf, b"\n".join(lines) + b"\npoweroff\n", "--kb", str(kb_file))
    assert out.rstrip().endswith("auton: exit code=0")
    ends = END.findall(out)
    assert (
        ("devices", "2") in ends and ("pkg", "2") in ends and ("cpu", "2") in ends and ("help", "0") in ends
    )
    assert ("devices", "0") in ends  # "devices" + two DELs + "ices" is the line editor's "devices"
    errors = re.findall(r"^auton: error: (.*)$", out, re.M)
    assert errors and all(
        e.endswith("(type 'help' for the commands)") or e.startswith("bad setting") for e in errors
    )
    assert "\ncommands: poweroff | set key=value" in out
