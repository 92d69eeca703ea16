"""Simulated machines: random inventories drawn from real hardware data, arch-aware.

riscv64 and aarch64 machines look like QEMU ``virt``: device-tree nodes (UART, RTC, interrupt
controller, the PCIe host), virtio-mmio slots and a few PCIe devices behind the ECAM host
bridge. x86_64 machines look like QEMU ``pc`` or ``q35``: PCI only. Beyond the devices QEMU
emulates, each machine gets extra PCI devices drawn from pci.ids (a device's class follows
from its name: "Ethernet" is network, "SATA" storage, ...), so a model trained on them has to
read the inventory it is shown rather than remember one machine. The extra-device pool is cut
by a stable hash into train and held-out parts (:func:`pool_split`).
"""

from __future__ import annotations

import hashlib
import random
import re
from functools import lru_cache

from pydantic import BaseModel

from tools.task.hardware import (
    match_alias,
    of_modalias,
    pci_kind,
    pci_modalias,
    pci_tables,
    virtio_modalias,
)
from tools.tiers import Arch

VIRTIO_VENDOR = "1af4"
VIRTIO_DEVICES = {  # virtio device id -> (name, CLASS)
    1: ("Virtio network device", "network"),
    2: ("Virtio block device", "storage"),
    3: ("Virtio console", "serial"),
    4: ("Virtio RNG", "rng"),
    5: ("Virtio memory balloon", "other"),
    8: ("Virtio SCSI", "storage"),
    16: ("Virtio GPU", "display"),
    18: ("Virtio input", "input"),
}
# QEMU devices a user adds with -device, by arch family: (vendor:device, class code)
QEMU_PCI = {
    "virt": [
        ("1af4:1041", "020000"), ("1af4:1042", "010000"), ("1af4:1044", "00ff00"), ("8086:10d3", "020000"),
        ("1b36:0010", "010802"), ("1b36:000d", "0c0330"), ("1234:1111", "030000"), ("1af4:1050", "038000"),
        ("10ec:8139", "020000"), ("1b36:0002", "070002"),
    ],
    "pc": [
        ("8086:100e", "020000"), ("1af4:1000", "020000"), ("1af4:1001", "010000"), ("1af4:1005", "00ff00"),
        ("10ec:8139", "020000"), ("1022:2000", "020000"), ("1b36:0010", "010802"), ("1b36:000d", "0c0330"),
        ("8086:25ab", "088000"), ("1000:0012", "010000"), ("1b36:0100", "030000"), ("8086:293e", "040300"),
    ],
}  # fmt: skip
# extra devices from pci.ids: a name pattern gives the class code
NAME_CLASSES = (
    (re.compile(r"Ethernet|Gigabit|10GbE|Network Connection"), "020000"),
    (re.compile(r"Wireless|Wi-?Fi|802\.11"), "028000"),
    (re.compile(r"NVMe|NVM Express"), "010802"),
    (re.compile(r"SATA|AHCI"), "010601"),
    (re.compile(r"RAID|SAS "), "010400"),
    (re.compile(r"xHCI|XHCI|USB 3"), "0c0330"),
    (re.compile(r"EHCI|USB2"), "0c0320"),
    (re.compile(r"VGA|Graphics|GeForce|Radeon"), "030000"),
    (re.compile(r"Serial Port|UART|16550"), "070002"),
    (re.compile(r"PCI Express Root Port|PCIe Root Port"), "060400"),
    (re.compile(r"HD Audio|High Definition Audio"), "040300"),
)
RISCV_ISAS = (
    "rv64imafdch_zicbom_zicboz_zicsr_zifencei_zihintpause_zawrs_zfa_zca_zcd_zba_zbb_zbc_zbs_sstc",
    "rv64imafdc_zicsr_zifencei",
    "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc",
)
ARM_CPUS = (("ARM", "Cortex-A53"), ("ARM", "Cortex-A57"), ("ARM", "Cortex-A72"), ("ARM", "Neoverse-N1"))
X86_CPUS = (
    ("GenuineIntel", "QEMU Virtual CPU version 2.5+"),
    ("AuthenticAMD", "AMD EPYC 7763 64-Core Processor"),
    ("GenuineIntel", "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"),
    ("GenuineIntel", "Intel(R) Core(TM) i7-10700 CPU @ 2.90GHz"),
)
MODEL_QUANTS = ("Q8_0", "Q4_0", "F16", "F32")
MIB = 1 << 20


class Device(BaseModel):
    addr: str
    bus: str  # pci | virtio | dt
    id: str  # vvvv:dddd, or "-" for a plain device-tree node
    kind: str  # the CLASS column
    name: str  # the NAME column
    class_code: str = "-"  # CCSSPP for PCI
    vendor_name: str = ""
    device_name: str = ""
    subsystem: str = ""
    compatible: tuple[str, ...] = ()
    reg: str = ""  # "mem 0xfebc0000 size 0x20000"
    modalias: str = ""
    driver: str = "-"
    alias: str = ""


class Cpu(BaseModel):
    count: int
    isa: str
    model: str
    vendor: str
    timer_hz: int


class Memory(BaseModel):
    """Bytes: RAM, the kernel image, the model, the knowledge tables, the runtime's arena (carved
    from RAM) and what of the arena is in use."""

    total: int
    kernel: int
    model: int
    kb: int
    arena: int
    used: int

    @property
    def free(self) -> int:
        return self.total - self.kernel - self.model - self.kb - self.arena


class ModelInfo(BaseModel):
    name: str
    params: int
    quant: str
    layers: int
    d_model: int
    context: int
    vocab: int


class Machine(BaseModel):
    id: str
    arch: Arch
    split: str
    devices: list[Device]
    cpu: Cpu
    memory: Memory
    uptime_us: int
    model: ModelInfo

    def device(self, addr: str) -> Device | None:
        return next((d for d in self.devices if d.addr == addr), None)

    def of_kind(self, kind: str) -> list[Device]:
        return [d for d in self.devices if kind == "all" or d.kind == kind]

    @property
    def kinds(self) -> list[str]:
        return sorted({d.kind for d in self.devices})


def pool_split(key: str) -> str:
    """train, val or test for a slot value (a device id, a package name), stable across runs."""
    h = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % 10
    return "test" if h == 0 else "val" if h == 1 else "train"


@lru_cache(maxsize=1)
def extra_pool() -> dict[str, list[tuple[str, str]]]:
    """split -> [(vendor:device, class code)] of pci.ids devices whose name gives their class."""
    out: dict[str, list[tuple[str, str]]] = {"train": [], "val": [], "test": []}
    for key, name in sorted(pci_tables().devices.items()):
        if key.startswith(VIRTIO_VENDOR) or len(name) > 60:
            continue
        for pattern, cc in NAME_CLASSES:
            if pattern.search(name):
                out[pool_split(key)].append((key, cc))
                break
    return out


def pci_device(addr: str, key: str, class_code: str, bar: int, rng: random.Random) -> Device:
    t = pci_tables()
    vendor, dev = key.split(":")
    vname, dname = t.vendors.get(vendor, ""), t.devices.get(key, "")
    name = f"{vname} {dname}" if vname and dname else f"Device {key}"  # lspci's name for an unknown id
    subsystem = "1af4:1100" if vendor in ("1af4", "1b36", "8086", "1234") and rng.random() < 0.7 else key
    modalias = pci_modalias(vendor, dev, subsystem, class_code)
    kind = pci_kind(class_code)
    if vendor == VIRTIO_VENDOR and dev in ("1005", "1044"):
        kind = "rng"
    hit = match_alias(modalias)
    size = rng.choice((0x1000, 0x4000, 0x20000, 0x100000))
    return Device(
        addr=addr,
        bus="pci",
        id=key,
        kind=kind,
        name=name,
        class_code=class_code,
        vendor_name=vname,
        device_name=dname,
        subsystem=subsystem,
        reg=f"mem {bar:#x} size {size:#x}",
        modalias=modalias,
        driver=hit[0] if hit else "-",
        alias=hit[1] if hit else "",
    )


def virtio_device(base: int, device_id: int) -> Device:
    name, kind = VIRTIO_DEVICES[device_id]
    modalias = virtio_modalias(device_id)
    hit = match_alias(modalias)
    return Device(
        addr=f"virtio@{base:x}",
        bus="virtio",
        id=f"{VIRTIO_VENDOR}:{device_id:04x}",
        kind=kind,
        name=name,
        vendor_name="Virtio",
        device_name=name,
        compatible=("virtio,mmio",),
        reg=f"mem {base:#x} size 0x1000",
        modalias=modalias,
        driver=hit[0] if hit else "-",
        alias=hit[1] if hit else "",
    )


def dt_device(node: str, compatible: tuple[str, ...], kind: str) -> Device:
    modalias = of_modalias(node, compatible)
    hit = match_alias(modalias)
    base = int(node.split("@")[1], 16)
    return Device(
        addr=node,
        bus="dt",
        id="-",
        kind=kind,
        name=compatible[0],
        compatible=compatible,
        reg=f"mem {base:#x} size 0x1000",
        modalias=modalias,
        driver=hit[0] if hit else "-",
        alias=hit[1] if hit else "",
    )


DT_NODES = {
    "riscv64": [
        ("serial@10000000", ("ns16550a",), "serial"),
        ("rtc@101000", ("google,goldfish-rtc",), "other"),
        ("test@100000", ("sifive,test1", "sifive,test0", "syscon"), "other"),
        ("plic@c000000", ("sifive,plic-1.0.0", "riscv,plic0"), "other"),
        ("clint@2000000", ("sifive,clint0", "riscv,clint0"), "other"),
        ("pci@30000000", ("pci-host-ecam-generic",), "bridge"),
    ],
    "aarch64": [
        ("pl011@9000000", ("arm,pl011", "arm,primecell"), "serial"),
        ("pl031@9010000", ("arm,pl031", "arm,primecell"), "other"),
        ("pl061@9030000", ("arm,pl061", "arm,primecell"), "other"),
        ("intc@8000000", ("arm,cortex-a15-gic",), "other"),
        ("pcie@10000000", ("pci-host-ecam-generic",), "bridge"),
    ],
}
VIRTIO_BASE = {"riscv64": (0x10001000, 0x1000), "aarch64": (0xA000000, 0x200)}
PC_BASE = {
    "pc": [("00:00.0", "8086:1237", "060000"), ("00:01.0", "8086:7000", "060100"),
           ("00:01.1", "8086:7010", "010180"), ("00:01.3", "8086:7113", "068000"),
           ("00:02.0", "1234:1111", "030000")],
    "q35": [("00:00.0", "8086:29c0", "060000"), ("00:01.0", "1234:1111", "030000"),
            ("00:1f.0", "8086:2918", "060100"), ("00:1f.2", "8086:2922", "010601"),
            ("00:1f.3", "8086:2930", "0c0500")],
}  # fmt: skip


def _extras(rng: random.Random, split: str, n: int) -> list[tuple[str, str]]:
    pool = extra_pool()[split]
    return [rng.choice(pool) for _ in range(n)]


def _virt_devices(arch: str, rng: random.Random, split: str) -> list[Device]:
    devices = [dt_device(*n) for n in DT_NODES[arch] if not n[0].startswith(("test@", "clint@")) or rng.random() < 0.5]
    base, step = VIRTIO_BASE[arch]
    slots = sorted(rng.sample(range(8), rng.randint(1, 4)))
    ids = [1, 2, 4] + [rng.choice(list(VIRTIO_DEVICES)) for _ in range(4)]
    devices += [virtio_device(base + step * s, ids[i]) for i, s in enumerate(slots)]
    devices.append(pci_device("00:00.0", "1b36:0008", "060000", 0x40000000, rng))
    pci = rng.sample(QEMU_PCI["virt"], rng.randint(0, 3)) + _extras(rng, split, rng.randint(0, 2))
    for i, (key, cc) in enumerate(pci, start=1):
        devices.append(pci_device(f"00:{i:02x}.0", key, cc, 0x40000000 + 0x100000 * i, rng))
    return devices


def _pc_devices(rng: random.Random, split: str) -> list[Device]:
    flavour = rng.choice(("pc", "q35"))
    devices = [pci_device(a, k, c, 0xFE000000 + 0x100000 * i, rng) for i, (a, k, c) in enumerate(PC_BASE[flavour])]
    used = {d.addr for d in devices}
    extra = rng.sample(QEMU_PCI["pc"], rng.randint(1, 3)) + _extras(rng, split, rng.randint(0, 2))
    slot = 2
    for key, cc in extra:
        while f"00:{slot:02x}.0" in used:
            slot += 1
        addr = f"00:{slot:02x}.0"
        used.add(addr)
        devices.append(pci_device(addr, key, cc, 0xFEB00000 + 0x40000 * slot, rng))
    devices.sort(key=lambda d: d.addr)
    return devices


def _cpu(arch: Arch, rng: random.Random) -> Cpu:
    count = rng.choice((1, 2, 4, 8))
    if arch == Arch.riscv64:
        return Cpu(count=count, isa=rng.choice(RISCV_ISAS), model="riscv-virtio", vendor="-", timer_hz=10_000_000)
    if arch == Arch.aarch64:
        vendor, model = rng.choice(ARM_CPUS)
        return Cpu(count=count, isa="armv8-a", model=model, vendor=vendor, timer_hz=62_500_000)
    vendor, model = rng.choice(X86_CPUS)
    return Cpu(count=count, isa="x86_64", model=model, vendor=vendor, timer_hz=rng.randrange(1_800, 3_600) * 1_000_000)


def _memory(rng: random.Random) -> Memory:
    total = rng.choice((128, 256, 512, 1024, 2048)) * MIB
    model = rng.choice((10, 15, 25, 48)) * MIB + rng.randrange(MIB)
    kb = rng.randrange(1, 6) * MIB + rng.randrange(MIB)
    kernel = rng.randrange(1, 3) * MIB + rng.randrange(MIB)
    arena = rng.choice((8, 16, 32)) * MIB
    return Memory(total=total, kernel=kernel, model=model, kb=kb, arena=arena, used=rng.randrange(arena // 8, arena))


def _model(rng: random.Random) -> ModelInfo:
    layers, d = rng.choice(((6, 384), (8, 512), (4, 256), (12, 768)))
    vocab = rng.choice((4096, 8192, 16384))
    params = 12 * layers * d * d + vocab * d
    return ModelInfo(
        name=rng.choice(("tiny", "small", "micro", "medium")),
        params=params,
        quant=rng.choice(MODEL_QUANTS),
        layers=layers,
        d_model=d,
        context=rng.choice((256, 512, 1024)),
        vocab=vocab,
    )


def random_machine(arch: Arch, split: str, index: int, seed: int) -> Machine:
    """Machine ``index`` of ``split`` for ``arch``: a pure function of its arguments."""
    arch = Arch(arch)
    rng = random.Random(f"{seed}/{arch.value}/{split}/{index}")
    devices = _pc_devices(rng, split) if arch == Arch.x86_64 else _virt_devices(arch.value, rng, split)
    return Machine(
        id=f"{arch.value}-{split}-{index}",
        arch=arch,
        split=split,
        devices=devices,
        cpu=_cpu(arch, rng),
        memory=_memory(rng),
        uptime_us=rng.randrange(2_000_000, 90 * 86_400_000_000),
        model=_model(rng),
    )
