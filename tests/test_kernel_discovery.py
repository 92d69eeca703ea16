"""Hardware discovery in the AUTON kernel, checked against what QEMU itself reports.

Per arch and device set: one kernel boot answers ``devices``, ``driver all``, ``cpu``, ``memory``
and ``device ADDR`` for each device; the same QEMU command line, with a QMP socket and the
serial console in a file, is asked once the kernel is ready (firmware and kernel have
configured the PCI bridges by then) for its PCI devices (``query-pci``), virtio devices (``x-query-virtio``, their
device ids and buses, ``info qtree`` for the virtio-mmio bases), memory map (``info mtree``) and
CPUs; on the device-tree machines QEMU also dumps the device tree it hands the kernel. The
expected driver of every device is the first alias of the kernel's own table that matches the
modalias built from QEMU's ids (tools.kb.modalias). No expected device list is written here.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.kb.blob import read_blob
from tools.kb.modalias import first_match, of_modalias, pci_modalias, virtio_modalias
from tools.kernel import (
    DEFAULT_DEVICES,
    BootResult,
    KernelBootRequest,
    KernelBuildRequest,
    boot,
    boot_command,
    build,
)
from tools.kernel_console import CommandResult, DeviceRow
from tools.tiers import Arch

pytestmark = pytest.mark.slow

QEMU_VIRTIO_MMIO_VENDOR = 0x554D4551  # "QEMU": what QEMU's virtio-mmio transport reports
PCI_KINDS = {0x01: "storage", 0x02: "network", 0x03: "display", 0x06: "bridge", 0x07: "serial", 0x09: "input"}
VIRTIO_KINDS = {1: "network", 2: "storage", 3: "serial", 4: "rng", 16: "display", 18: "input"}


def _net(n: str) -> list[str]:
    return ["-netdev", f"user,id={n},restrict=on"]


# A second device set per arch (the first is DEFAULT_DEVICES): a USB controller (a class alias),
# an NVMe disk, more virtio kinds, and on x86 a device behind a PCI bridge. Every device has an
# id: QMP names the virtio backend of a PCI device by it.
OTHER_DEVICES = {
    "riscv64": [
        *_net("n1"),
        "-device",
        "e1000e,netdev=n1,id=nic1",
        "-device",
        "qemu-xhci,id=usb0",
        *_net("n2"),
        "-device",
        "virtio-net-device,netdev=n2,id=vnet0",
        "-device",
        "virtio-rng-device,id=vrng0",
        "-device",
        "virtio-keyboard-device,id=kbd0",
    ],
    "aarch64": [
        *_net("n1"),
        "-device",
        "virtio-net-pci,netdev=n1,id=nic1",
        "-device",
        "virtio-rng-pci,id=rng1",
        "-blockdev",
        "null-co,node-name=d1,size=67108864",
        "-device",
        "nvme,serial=auton0,drive=d1,id=nvme0",
        "-device",
        "virtio-keyboard-device,id=kbd0",
    ],
    "x86_64": [
        "-device",
        "pci-bridge,id=br1,chassis_nr=1",
        *_net("n1"),
        "-device",
        "rtl8139,netdev=n1,bus=br1,addr=1,id=nic1",
        "-device",
        "qemu-xhci,id=usb0",
        *_net("n2"),
        "-device",
        "virtio-net-pci,netdev=n2,id=nic2",
    ],
}
# A device behind a PCIe root port that no firmware configured (riscv64 and aarch64 virt boot
# the kernel directly): the kernel must give the bridge its bus numbers, as Linux does.
BEHIND_ROOT_PORT = [
    "-device", "pcie-root-port,id=rp1,chassis=1",
    *_net("n1"), "-device", "e1000e,netdev=n1,bus=rp1,id=nic1",
]  # fmt: skip


class Qmp:
    """A QMP connection to a QEMU started paused (-S): structured queries and HMP ``info``."""

    def __init__(self, sock: Path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.connect(str(sock))
        self.f = self.s.makefile("rw")
        self._reply()  # the greeting
        self("qmp_capabilities")

    def _reply(self) -> dict:
        while True:
            msg = json.loads(self.f.readline())
            if "event" not in msg:
                return msg

    def __call__(self, command: str, **args):
        self.f.write(json.dumps({"execute": command, "arguments": args}) + "\n")
        self.f.flush()
        reply = self._reply()
        assert "return" in reply, reply
        return reply["return"]

    def hmp(self, line: str) -> str:
        return self("human-monitor-command", **{"command-line": line})


@contextlib.contextmanager
def qemu_monitor(cmd: list[str], tmp: Path) -> Iterator[Qmp]:
    """The boot's own QEMU command line with a QMP socket, once the kernel is at its prompt."""
    sock, serial = tmp / "qmp.sock", tmp / "serial.log"
    at = cmd.index("-serial") + 1
    cmd = [*cmd[:at], f"file:{serial}", *cmd[at + 1 :], "-qmp", f"unix:{sock},server=on,wait=off"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not (serial.exists() and b"auton: ready" in serial.read_bytes()):
            assert proc.poll() is None, proc.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the kernel did not reach its prompt"
            time.sleep(0.05)
        yield Qmp(sock)
    finally:
        proc.kill()
        proc.wait()


def dump_dtb(cmd: list[str], path: Path) -> dict[str, dict[str, list[str]]]:
    """The device tree QEMU gives this machine: node path -> {compatible, device_type} strings."""
    at = cmd.index("-machine") + 1
    subprocess.run([*cmd[:at], f"{cmd[at]},dumpdtb={path}", *cmd[at + 1 :]], capture_output=True, check=True)

    def get(node: str, prop: str) -> list[str]:
        r = subprocess.run(["fdtget", "-t", "s", str(path), node, prop], capture_output=True, text=True)
        return r.stdout.split() if r.returncode == 0 else []

    nodes, todo = {}, ["/"]
    while todo:
        node = todo.pop()
        kids = subprocess.run(["fdtget", "-l", str(path), node], capture_output=True, text=True, check=True)
        todo += [f"{node.rstrip('/')}/{k}" for k in kids.stdout.split()]
        nodes[node] = {p: get(node, p) for p in ("compatible", "device_type", "stdout-path", "riscv,isa")}
        nodes[node]["timebase-frequency"] = [
            str(int(x))
            for x in subprocess.run(
                ["fdtget", str(path), node, "timebase-frequency"], capture_output=True, text=True
            ).stdout.split()
        ]
    return nodes


def pci_functions(buses: list[dict]) -> Iterator[dict]:
    for bus in buses:
        for dev in bus["devices"]:
            yield dev
            if "pci_bridge" in dev:
                yield from pci_functions(
                    [dev["pci_bridge"]["bus"] | {"devices": dev["pci_bridge"].get("devices", [])}]
                )


def virtio_mmio_bases(qtree: str) -> dict[str, int]:
    """virtio-mmio bus name -> the transport's base address, from ``info qtree``."""
    bases, base = {}, None
    for line in qtree.splitlines():
        if "dev: virtio-mmio," in line:
            base = None
        elif (m := re.match(r"\s+mmio ([0-9a-f]+)/", line)) and base is None:
            base = int(m.group(1), 16)
        elif (m := re.match(r"\s+bus: (virtio-mmio-bus\.\d+)", line)) and base is not None:
            bases[m.group(1)] = base
    return bases


def ram_ranges(mtree: str) -> list[tuple[int, int]]:
    """(first, last) of every RAM region in QEMU's flat memory view."""
    return [
        (int(m.group(1), 16), int(m.group(2), 16))
        for m in re.finditer(r"^\s*([0-9a-f]+)-([0-9a-f]+) \(prio \d+, ram\): \S+", mtree, re.M)
    ]


class Machine:
    """What QEMU reports for one command line."""

    def __init__(self, cmd: list[str], arch: str, tmp: Path):
        with qemu_monitor(cmd, tmp) as q:
            self.pci = {
                f"{d['bus']:02x}:{d['slot']:02x}.{d['function']:x}": d for d in pci_functions(q("query-pci"))
            }
            bases = virtio_mmio_bases(q.hmp("info qtree"))
            self.virtio_mmio: dict[str, int] = {}  # virtio@<base> -> virtio device id
            self.virtio_pci: dict[str, int] = {}  # qdev id of the PCI device -> virtio device id
            self.virtio_mmio_paths: list[str] = []
            for v in q("x-query-virtio"):
                dev_id = q("x-query-virtio-status", path=v["path"])["device-id"]
                bus = q("qom-get", path=v["path"], property="parent_bus").rsplit("/", 1)[-1]
                if bus in bases:
                    self.virtio_mmio[f"virtio@{bases[bus]:x}"] = dev_id
                    self.virtio_mmio_paths.append(v["path"])
                else:
                    self.virtio_pci[v["path"].split("/")[-2]] = dev_id
            self.peripherals = {p["name"] for p in q("qom-list", path="/machine/peripheral")} - {"type"}
            self.ram = ram_ranges(q.hmp("info mtree -f"))
            cpus = q("query-cpus-fast")
            self.cpu_count = len(cpus)
            props = {"x86_64": ("model-id", "vendor"), "aarch64": ("midr",), "riscv64": ()}[arch]
            self.cpu = {p: q("qom-get", path=cpus[0]["qom-path"], property=p) for p in props}
        self.dt = dump_dtb(cmd, tmp / "qemu.dtb") if arch != "x86_64" else {}


def _command(result: BootResult, prompt: str) -> CommandResult:
    (c,) = [c for c in result.commands if c.prompt == prompt]
    assert c.rc == 0 and c.result is not None, (prompt, c.error, c.text)
    return c


def expected_driver(row: DeviceRow, m: Machine, detail: dict, aliases: list[str]) -> tuple[str, str] | None:
    """The first alias matching the modalias Linux builds from what QEMU reports for ``row``."""
    if row.bus == "pci":
        d = m.pci[row.address]
        ids = d["id"]
        if d["qdev_id"] in m.virtio_pci:  # Linux binds the virtio driver to the virtio device
            return first_match(aliases, virtio_modalias(m.virtio_pci[d["qdev_id"]], ids["subsystem-vendor"]))
        prog_if = int(detail["class"].split()[0], 16) & 0xFF  # query-pci gives class and subclass only
        modalias = pci_modalias(
            ids["vendor"],
            ids["device"],
            ids.get("subsystem-vendor", 0),  # a bridge header has no subsystem ids
            ids.get("subsystem", 0),
            d["class_info"]["class"] << 8 | prog_if,
        )
        return first_match(aliases, modalias)
    if row.bus == "virtio":
        return first_match(aliases, virtio_modalias(m.virtio_mmio[row.address], QEMU_VIRTIO_MMIO_VENDOR))
    (path,) = [p for p in m.dt if p.rsplit("/", 1)[-1] == row.address]
    node = m.dt[path]
    name = row.address.split("@")[0]
    return first_match(aliases, of_modalias(name, node["compatible"], (node["device_type"] or [None])[0]))


def check_machine(arch: str, devices: list[str], image: Path, blob: Path, tmp: Path) -> BootResult:
    req = KernelBootRequest(arch=arch, image=image, devices=devices, max_tokens=4)
    cmd, _, _ = boot_command(req)
    m = Machine(cmd, arch, tmp)
    kb = read_blob(blob)
    aliases = kb["alias"]
    addresses = [*m.pci, *m.virtio_mmio]
    prompts = ["devices", "driver all", "cpu", "memory", *(f"device {a}" for a in addresses)]
    result = boot(req.model_copy(update={"prompts": prompts}))
    assert result.ok, f"{result.error} (log {result.log})"
    rows = _command(result, "devices").result.rows
    by_addr = {r.address: r for r in rows}
    assert result.inventory.devices == len(rows) and not result.inventory.truncated

    # devices: every PCI function and every virtio-mmio device QEMU has, and no other; every
    # device of the command line is one of them (none is lost behind an unconfigured bridge)
    mmio_ids = {p.rsplit("/", 1)[-1] for p in m.virtio_mmio_paths}
    assert m.peripherals == {d["qdev_id"] for d in m.pci.values()} - {""} | mmio_ids
    assert {r.address for r in rows if r.bus == "pci"} == set(m.pci)
    assert {r.address for r in rows if r.bus == "virtio"} == set(m.virtio_mmio)
    for addr, d in m.pci.items():
        row, ids = by_addr[addr], d["id"]
        assert (row.vendor, row.device) == (ids["vendor"], ids["device"]), addr
        cls = d["class_info"]["class"]
        virtio = m.virtio_pci.get(d["qdev_id"])
        kind = VIRTIO_KINDS.get(virtio) if virtio else "usb" if cls == 0x0C03 else PCI_KINDS.get(cls >> 8)
        assert row.kind == (kind or "other"), (addr, cls)
        vendor = [r.split("\t")[1] for r in kb["pci_vendor"] if r.startswith(f"{ids['vendor']:04x}\t")]
        device = [
            r.split("\t")[1]
            for r in kb["pci_device"]
            if r.startswith(f"{ids['vendor']:04x}{ids['device']:04x}\t")
        ]
        if vendor and device:
            assert row.name == f"{vendor[0]} {device[0]}", addr
        detail = _command(result, f"device {addr}").result
        assert int(detail.details["class"].split()[0], 16) >> 8 == cls
        if "subsystem" in detail.details:
            assert detail.details["subsystem"] == f"{ids['subsystem-vendor']:04x}:{ids['subsystem']:04x}"
    for addr, dev_id in m.virtio_mmio.items():
        assert (by_addr[addr].vendor, by_addr[addr].device) == (0x1AF4, dev_id), addr
        assert by_addr[addr].kind == VIRTIO_KINDS.get(dev_id, "other")
    if m.dt:  # device-tree nodes: named as in QEMU's tree, NAME its first compatible
        names = {p.rsplit("/", 1)[-1]: n for p, n in m.dt.items()}
        for r in rows:
            if r.bus == "dt":
                assert r.address in names and r.name == names[r.address]["compatible"][0], r
        console = m.dt["/chosen"]["stdout-path"][0].rsplit("/", 1)[-1]
        assert by_addr[console].kind == "serial" and by_addr[console].bus == "dt"

    # driver: the alias Linux's modalias matching picks, for every device
    drivers = {r.address: r for r in _command(result, "driver all").result.rows}
    assert set(drivers) == set(by_addr)
    for row in rows:
        detail = _command(result, f"device {row.address}").result.details if row.address in addresses else {}
        want = expected_driver(row, m, detail, aliases)
        got = drivers[row.address]
        assert (got.alias, got.driver) == (want or (None, None)), row
        assert row.driver == got.driver

    # cpu and memory
    cpu = _command(result, "cpu").result
    assert cpu.count == m.cpu_count
    if arch == "riscv64":
        cpu0 = next(n for p, n in m.dt.items() if p.startswith("/cpus/cpu@"))
        assert cpu.isa == cpu0["riscv,isa"][0] and cpu.timer_hz == int(m.dt["/cpus"]["timebase-frequency"][0])
    elif arch == "aarch64":
        assert cpu.details["midr"].split()[0] == f"{m.cpu['midr']:#x}"
    else:
        assert (cpu.model, cpu.vendor) == (m.cpu["model-id"], m.cpu["vendor"])
    mem = _command(result, "memory").result
    assert mem.banks and all(any(lo <= a and b <= hi for lo, hi in m.ram) for a, b in mem.banks), (
        mem.banks,
        m.ram,
    )
    assert mem.total == sum(b - a + 1 for a, b in mem.banks)
    ram = max(hi - lo + 1 for lo, hi in m.ram)
    assert mem.total <= result.ram_mb << 20 and mem.total >= ram - (1 << 20)
    assert mem.kb == blob.stat().st_size and mem.model > 0 and mem.free < mem.total
    return result


@pytest.fixture(scope="module")
def discovery_images(parity_gguf, kb_blob, tmp_path_factory):
    root = tmp_path_factory.mktemp("discovery")

    def make(arch: str):
        blob = kb_blob(arch).blob
        built = build(KernelBuildRequest(arch=arch, model=parity_gguf["Q8_0"], kb=blob, out=root / arch))
        return built, blob

    return make


@pytest.mark.parametrize("arch", [a.value for a in Arch])
def test_discovery_agrees_with_qemu(arch, discovery_images, tmp_path):
    built, blob = discovery_images(arch)
    assert built.kb is not None and built.kb.bytes == blob.stat().st_size
    for i, devices in enumerate([DEFAULT_DEVICES[Arch(arch)], OTHER_DEVICES[arch]]):
        (tmp_path / str(i)).mkdir()
        result = check_machine(arch, devices, built.image, blob, tmp_path / str(i))
        rows = _command(result, "devices").result.rows
        if arch == "x86_64" and i == 0:
            e1000 = [r for r in rows if (r.vendor, r.device) == (0x8086, 0x100E)]
            assert [(r.name, r.driver) for r in e1000] == [
                ("Intel Corporation 82540EM Gigabit Ethernet Controller", "e1000")
            ]
        if arch == "riscv64" and i == 0:  # virtio-net-pci and virtio-rng-device
            assert {(r.bus, r.kind, r.driver) for r in rows} >= {
                ("pci", "network", "virtio_net"),
                ("virtio", "rng", "virtio_rng"),
            }


@pytest.mark.parametrize("arch", ["riscv64", "aarch64"])
def test_devices_behind_an_unconfigured_root_port(arch, discovery_images, tmp_path):
    built, blob = discovery_images(arch)
    check_machine(arch, BEHIND_ROOT_PORT, built.image, blob, tmp_path)
