"""The task data's outputs are the kernel's, byte for byte: commands are typed on the host build
of the kernel console (slm-run --console --kb [--pci]) and its output compared with
tools/task/render.py's: every package command of a task dataset built on a knowledge blob, and
the device commands of simulated machines: PCI functions as the host's simulated configuration
space (x86_64), and for riscv64/aarch64 also a device tree compiled with dtc and virtio-mmio
slots. The host's PCI simulation does not size BARs, so the machines' BARs are left out."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import pytest

from tests.fixtures_kernel import random_gguf
from tools.kernel_console import console_text
from tools.task import TaskData, TaskRequest, build_task
from tools.task.grammar import parse_command
from tools.task.hardware import hardware_tables
from tools.task.index import KnowledgeIndex
from tools.task.machines import Device, Machine, random_machine
from tools.task.render import render

PACKAGE_INTENTS = ["provides", "whatis", "pkg_show", "pkg_search"]


def console(host_runtime: Path, gguf: Path, commands: list[str], *args: str) -> list[tuple[str, str]]:
    """(typed line, its output through the end line) for each command."""
    typed = "".join(f"{c}\n" for c in commands) + "poweroff\n"
    argv = [str(host_runtime), str(gguf), "--console", "-n", "1", *args]
    r = subprocess.run(argv, input=typed.encode(), capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr[-500:]
    return re.findall(
        r"^> ([^\n]*)\n(.*?auton: end command=\S+ rc=\d\n)", console_text(r.stdout), re.S | re.M
    )


def pci_records(machine: Machine) -> bytes:
    """The machine's PCI functions as slm-run's simulated hardware records (kernel/host/hwsim.c)."""

    def config(d: Device) -> bytes:
        c = bytearray(256)
        struct.pack_into("<HH", c, 0, d.vendor, d.device)
        struct.pack_into("<I", c, 8, d.class_code << 8)
        c[0x0E] = d.header_type
        struct.pack_into("<HH", c, 0x2C, d.subvendor, d.subdevice)
        return bytes(c)

    out = b""
    for d in machine.devices:
        bus, rest = d.addr.split(":")
        dev, fn = rest.split(".")
        data = config(d)
        out += struct.pack("<cBBBIQ", b"P", int(bus, 16), int(dev, 16), int(fn), len(data), 0) + data
    return out


def _cells(v: int) -> str:
    return f"0x{v >> 32:x} 0x{v & 0xFFFFFFFF:x}"


def device_tree(machine: Machine) -> str:
    """The machine's cpus, memory, device-tree nodes and virtio-mmio slots as DTS source."""
    c = machine.cpu
    cpus = "".join(
        f'cpu@{i} {{ device_type = "cpu"; reg = <{i}>; compatible = "{c.model}"; riscv,isa = "{c.isa}"; '
        f"timebase-frequency = <{c.timer_hz}>; }};\n"
        for i in range(c.count)
    )
    nodes = ""
    for d in machine.devices:
        if d.bus != "pci":
            name = d.addr if d.bus == "dt" else f"virtio_mmio@{d.base:x}"
            compat = ", ".join(f'"{x}"' for x in d.compatible)
            dtype = f'device_type = "{d.dt_type}"; ' if d.dt_type else ""
            nodes += (
                f"{name} {{ compatible = {compat}; reg = <{_cells(d.base)} {_cells(d.size)}>; {dtype}}};\n"
            )
    base, size = machine.memory.banks[0]
    return (
        "/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>;\n"
        f"cpus {{ #address-cells = <1>; #size-cells = <0>;\n{cpus}}};\n"
        f'memory@{base:x} {{ device_type = "memory"; reg = <{_cells(base)} {_cells(size)}>; }};\n'
        f'soc {{ #address-cells = <2>; #size-cells = <2>; compatible = "simple-bus"; ranges;\n{nodes}}};\n}};\n'
    )


def virtio_records(machine: Machine) -> bytes:
    out = b""
    for d in machine.devices:
        if d.bus == "virtio":
            regs = struct.pack("<IIII", 0x74726976, d.virtio_version, d.virtio_id, d.virtio_vendor)
            out += struct.pack("<cBBBIQ", b"M", 0, 0, 0, len(regs), d.base) + regs
    return out


@pytest.mark.parametrize("arch", ["x86_64", "riscv64", "aarch64"])
def test_device_outputs_match_the_kernel_console(
    arch, kb_blob, host_runtime, micro_config, micro_dataset, tmp_path
):
    blob = kb_blob(arch).blob
    tables = hardware_tables(blob)
    gguf = random_gguf(tmp_path, micro_dataset / "tokenizer.json", micro_config.model, "Q8_0")
    nothing = KnowledgeIndex(packages={}, commands={}, whatis={})
    compared = 0
    for i in range(4):
        m = random_machine(arch, "test", i, 0, tables)
        m = m.model_copy(update={"devices": [d.model_copy(update={"bars": []}) for d in m.devices]})
        pci = m.model_copy(update={"devices": [d for d in m.devices if d.bus == "pci"]})
        (tmp_path / "hw.bin").write_bytes(pci_records(pci) + virtio_records(m))
        args = ["--pci", str(tmp_path / "hw.bin"), "--kb", str(blob)]
        if arch != "x86_64":
            (tmp_path / "m.dts").write_text(device_tree(m))
            dtc = [
                "dtc",
                "-q",
                "-I",
                "dts",
                "-O",
                "dtb",
                "-o",
                str(tmp_path / "m.dtb"),
                str(tmp_path / "m.dts"),
            ]
            subprocess.run(dtc, check=True, capture_output=True, timeout=60)
            args += ["--dtb", str(tmp_path / "m.dtb")]
        commands = ["devices", "devices network", "driver all", "driver storage", "device 00:1e.0"]
        commands += [f"{c} {d.addr}" for d in m.devices for c in ("device", "driver")]
        printed = console(host_runtime, gguf, commands, *args)
        assert [c for c, _ in printed] == commands
        for command, text in printed:
            assert render(parse_command(command), m, nothing) == text, command
            compared += 1
    assert compared > 40


def test_package_outputs_match_the_kernel_console(
    kb_blob, host_runtime, micro_config, micro_dataset, tmp_path
):
    blob = kb_blob("riscv64").blob
    out = tmp_path / "task"
    counts = {"train": 1, "val": 1, "test": 80}
    build_task(TaskRequest(arch="riscv64", out=out, kb=blob, intents=PACKAGE_INTENTS, counts=counts))
    examples = TaskData(out).examples("test")
    gguf = random_gguf(tmp_path, micro_dataset / "tokenizer.json", micro_config.model, "Q8_0")
    printed = console(host_runtime, gguf, [e.command for e in examples], "--kb", str(blob))
    assert [cmd for cmd, _ in printed] == [e.command for e in examples]
    for e, (_, text) in zip(examples, printed, strict=True):
        assert text == e.output, e.command
    assert {e.intent for e in examples} == set(PACKAGE_INTENTS)
