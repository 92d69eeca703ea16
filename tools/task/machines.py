"""Simulated machines: random inventories drawn from real hardware data, arch-aware.

riscv64 and aarch64 machines look like QEMU ``virt``: device-tree nodes (UART, RTC, interrupt
controller, the PCIe host), virtio-mmio slots and a few PCIe devices behind the ECAM host
bridge. x86_64 machines look like QEMU ``pc`` or ``q35``: PCI only. Beyond the devices QEMU
emulates, each machine gets extra PCI devices drawn from pci.ids (a device's class follows
from its name: "Ethernet" is network, "SATA" storage, ...), so a model trained on them has to
read the inventory it is shown rather than remember one machine. The extra-device pool is cut
by a stable hash into train and held-out parts (:func:`pool_split`).

The CPU, memory and model facts are drawn in the shapes the booted kernel prints them: the
CPU lines end with the kernel's count of the CPUs it started (``harts: 2 online of 2 (sbi
hsm)``), and a model is named as export names it (``run-20261202-150906-0833-8efc805943``), so
the outputs the tuned model reads on a real boot are of the kind it was tuned on.
"""

from __future__ import annotations

import hashlib
import random
import re
from functools import lru_cache

from pydantic import BaseModel

from tools.kb.modalias import of_modalias, pci_modalias, virtio_modalias
from tools.kernel_console import ModelFacts
from tools.task.hardware import HardwareTables, pci_kind
from tools.tiers import Arch

VIRTIO_VENDOR = 0x1AF4
QEMU_VIRTIO_VENDOR = 0x554D4551  # "QEMU", what virtio-mmio's vendor register reads
VIRTIO_TYPES = {  # virtio id -> (name, CLASS, PCI-equivalent class code), as kernel/hw/inventory.c has them
    1: ("Virtio network device", "network", 0x020000),
    2: ("Virtio block device", "storage", 0x010000),
    3: ("Virtio console", "serial", 0x078000),
    4: ("Virtio RNG", "rng", 0x00FF00),
    5: ("Virtio memory balloon", "other", 0x00FF00),
    8: ("Virtio SCSI", "storage", 0x010000),
    16: ("Virtio GPU", "display", 0x038000),
    18: ("Virtio input", "input", 0x098000),
}
# QEMU devices a user adds with -device, by arch family: (vendor:device, class code)
QEMU_PCI = {
    "virt": [
        ("1af4:1041", 0x020000), ("1af4:1042", 0x010000), ("1af4:1044", 0x00FF00), ("8086:10d3", 0x020000),
        ("1b36:0010", 0x010802), ("1b36:000d", 0x0C0330), ("1234:1111", 0x030000), ("1af4:1050", 0x038000),
        ("10ec:8139", 0x020000), ("1b36:0002", 0x070002),
    ],
    "pc": [
        ("8086:100e", 0x020000), ("1af4:1000", 0x020000), ("1af4:1001", 0x010000), ("1af4:1005", 0x00FF00),
        ("10ec:8139", 0x020000), ("1022:2000", 0x020000), ("1b36:0010", 0x010802), ("1b36:000d", 0x0C0330),
        ("8086:25ab", 0x088000), ("1000:0012", 0x010000), ("1b36:0100", 0x030000), ("8086:293e", 0x040300),
    ],
}  # fmt: skip
# extra devices from pci.ids: a name pattern gives the class code
NAME_CLASSES = (
    (re.compile(r"Ethernet|Gigabit|10GbE|Network Connection"), 0x020000),
    (re.compile(r"Wireless|Wi-?Fi|802\.11"), 0x028000),
    (re.compile(r"NVMe|NVM Express"), 0x010802),
    (re.compile(r"SATA|AHCI"), 0x010601),
    (re.compile(r"RAID|SAS "), 0x010400),
    (re.compile(r"xHCI|XHCI|USB 3"), 0x0C0330),
    (re.compile(r"EHCI|USB2"), 0x0C0320),
    (re.compile(r"VGA|Graphics|GeForce|Radeon"), 0x030000),
    (re.compile(r"Serial Port|UART|16550"), 0x070002),
    (re.compile(r"PCI Express Root Port|PCIe Root Port"), 0x060400),
    (re.compile(r"HD Audio|High Definition Audio"), 0x040300),
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


class Bar(BaseModel):
    io: bool = False
    base: int
    size: int
    is64: bool = False
    prefetch: bool = False


class Device(BaseModel):
    """One inventory entry, with the fields the kernel's console prints (kernel/hw/hw.h)."""

    addr: str
    bus: str  # pci | virtio | dt
    kind: str  # the CLASS column
    vendor: int = 0
    device: int = 0
    subvendor: int = 0
    subdevice: int = 0
    class_code: int = 0
    header_type: int = 0
    bars: list[Bar] = []
    virtio_id: int = 0
    virtio_version: int = 0
    virtio_vendor: int = 0
    compatible: tuple[str, ...] = ()
    dt_type: str = ""  # the node's device_type ("pci" for a PCIe host)
    base: int = 0
    size: int = 0
    vendor_name: str | None = None  # from the tables; None when they lack it
    device_name: str | None = None
    class_name: str | None = None
    modalias: str = ""
    driver: str | None = None
    alias: str | None = None
    label: str | None = None  # the NAME a booted kernel printed (tools.task.live); None: from the tables

    @property
    def id(self) -> str:
        return "-" if self.bus == "dt" else f"{self.vendor:04x}:{self.device:04x}"

    @property
    def name(self) -> str:
        """The NAME column (kernel/console/names.c names_device_name)."""
        if self.label is not None:
            return self.label
        if self.bus == "virtio":
            return VIRTIO_TYPES[self.virtio_id][0]
        if self.bus == "dt":
            return self.compatible[0]
        if self.vendor_name is not None:
            if self.device_name is not None:
                return f"{self.vendor_name} {self.device_name}"
            if self.class_name is not None:
                return f"{self.vendor_name} {self.class_name}"
            return f"{self.vendor_name} device {self.device:04x}"
        return self.class_name or f"PCI device {self.vendor:04x}:{self.device:04x}"


class Cpu(BaseModel):
    count: int
    isa: str
    model: str
    vendor: str
    timer_hz: int
    extra: str = ""  # the arch's own last line (riscv ids, MIDR, CPUID family)


class Memory(BaseModel):
    """Bytes: RAM, the kernel image (code and data, the model and the knowledge tables apart),
    the model, the knowledge tables, the runtime's arena and what of it is in use."""

    total: int
    kernel: int
    model: int
    kb: int
    arena: int
    used: int
    banks: list[tuple[int, int]]  # (base, size)

    @property
    def free(self) -> int:
        return max(0, self.total - self.kernel - self.model - self.kb - self.used)


class ModelInfo(ModelFacts):
    """The boot line's model facts (what ``model`` prints in its header) and the KV cache size."""

    kv_bytes: int


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


@lru_cache(maxsize=4)
def extra_pool(tables: HardwareTables) -> dict[str, list[tuple[str, int]]]:
    """split -> [(vendor:device, class code)] of the tables' devices whose name gives their class."""
    out: dict[str, list[tuple[str, int]]] = {"train": [], "val": [], "test": []}
    for key, name in sorted(tables.devices.items()):
        if key.startswith("1af4") or len(name) > 60:
            continue
        for pattern, cc in NAME_CLASSES:
            if pattern.search(name):
                out[pool_split(key)].append((f"{key[:4]}:{key[4:]}", cc))
                break
    return out


def _bind(d: Device, tables: HardwareTables) -> Device:
    """Modalias and driver, as kernel/console/names.c resolves them: a virtio device over PCI
    tries its virtio modalias first, then its PCI one."""
    if d.bus == "dt":
        d.modalias = of_modalias(d.addr.split("@")[0], list(d.compatible), d.dt_type or None)
    elif d.virtio_id:
        d.modalias = virtio_modalias(d.virtio_id, d.virtio_vendor)
    else:
        d.modalias = pci_modalias(d.vendor, d.device, d.subvendor, d.subdevice, d.class_code)
    hit = tables.driver(d.modalias)
    if hit is None and d.bus == "pci" and d.virtio_id:
        hit = tables.driver(pci_modalias(d.vendor, d.device, d.subvendor, d.subdevice, d.class_code))
    d.driver, d.alias = hit if hit else (None, None)
    return d


def pci_device(
    addr: str, key: str, class_code: int, bar: int, rng: random.Random, tables: HardwareTables
) -> Device:
    vendor, dev = (int(x, 16) for x in key.split(":"))
    virtio = vendor == VIRTIO_VENDOR and 0x1000 <= dev <= 0x107F
    transitional = virtio and dev < 0x1040
    if transitional:
        sub = (VIRTIO_VENDOR, {0x1000: 1, 0x1001: 2, 0x1002: 5, 0x1003: 3, 0x1004: 8, 0x1005: 4}.get(dev, 1))
    elif vendor in (0x1AF4, 0x1B36, 0x8086, 0x1234) and rng.random() < 0.7:
        sub = (0x1AF4, 0x1100)  # QEMU's subsystem id
    else:
        sub = (vendor, dev)
    virtio_id = (dev - 0x1040 if dev >= 0x1040 else sub[1]) if virtio else 0
    kind = VIRTIO_TYPES[virtio_id][1] if virtio_id in VIRTIO_TYPES else pci_kind(class_code)
    size = rng.choice((0x1000, 0x4000, 0x20000, 0x100000))
    d = Device(
        addr=addr,
        bus="pci",
        kind=kind,
        vendor=vendor,
        device=dev,
        subvendor=sub[0],
        subdevice=sub[1],
        class_code=class_code,
        bars=[Bar(base=bar, size=size)]
        + ([Bar(base=bar + 0x4000000, size=0x4000, is64=True, prefetch=True)] if virtio else []),
        virtio_id=virtio_id,
        virtio_vendor=sub[0] if virtio else 0,
        vendor_name=tables.vendors.get(f"{vendor:04x}"),
        device_name=tables.devices.get(f"{vendor:04x}{dev:04x}"),
        class_name=tables.class_name(class_code),
    )
    return _bind(d, tables)


def virtio_device(base: int, virtio_id: int, tables: HardwareTables, size: int = 0x1000) -> Device:
    _, kind, class_code = VIRTIO_TYPES[virtio_id]
    d = Device(
        addr=f"virtio@{base:x}",
        bus="virtio",
        kind=kind,
        vendor=VIRTIO_VENDOR,
        device=virtio_id,
        class_code=class_code,
        virtio_id=virtio_id,
        virtio_version=1,
        virtio_vendor=QEMU_VIRTIO_VENDOR,
        compatible=("virtio,mmio",),
        base=base,
        size=size,
    )
    return _bind(d, tables)


def dt_device(
    node: str, compatible: tuple[str, ...], kind: str, tables: HardwareTables, reg: tuple[int, int] | None = None,
    dt_type: str = "",
) -> Device:  # fmt: skip
    base, size = reg or (int(node.split("@")[1], 16), 0x1000)
    d = Device(addr=node, bus="dt", kind=kind, compatible=compatible, base=base, size=size, dt_type=dt_type)
    return _bind(d, tables)


DT_NODES = {  # node, compatible, CLASS (kernel/hw/dt.c maps UARTs and PCIe hosts; the rest is other), reg
    "riscv64": [
        ("serial@10000000", ("ns16550a",), "serial", (0x10000000, 0x100)),
        ("rtc@101000", ("google,goldfish-rtc",), "other", (0x101000, 0x1000)),
        ("test@100000", ("sifive,test1", "sifive,test0", "syscon"), "other", (0x100000, 0x1000)),
        ("plic@c000000", ("sifive,plic-1.0.0", "riscv,plic0"), "other", (0xC000000, 0x600000)),
        ("clint@2000000", ("sifive,clint0", "riscv,clint0"), "other", (0x2000000, 0x10000)),
        ("pci@30000000", ("pci-host-ecam-generic",), "bridge", (0x30000000, 0x10000000)),
    ],
    "aarch64": [
        ("pl011@9000000", ("arm,pl011", "arm,primecell"), "serial", (0x9000000, 0x1000)),
        ("pl031@9010000", ("arm,pl031", "arm,primecell"), "other", (0x9010000, 0x1000)),
        ("pl061@9030000", ("arm,pl061", "arm,primecell"), "other", (0x9030000, 0x1000)),
        ("intc@8000000", ("arm,cortex-a15-gic",), "other", (0x8000000, 0x10000)),
        ("pcie@10000000", ("pci-host-ecam-generic",), "bridge", (0x4010000000, 0x10000000)),
    ],
}
VIRTIO_BASE = {"riscv64": (0x10001000, 0x1000), "aarch64": (0xA000000, 0x200)}
RAM_BASE = {"riscv64": 0x80000000, "aarch64": 0x40000000, "x86_64": 0x100000}
PC_BASE = {
    "pc": [("00:00.0", "8086:1237", 0x060000), ("00:01.0", "8086:7000", 0x060100),
           ("00:01.1", "8086:7010", 0x010180), ("00:01.3", "8086:7113", 0x068000),
           ("00:02.0", "1234:1111", 0x030000)],
    "q35": [("00:00.0", "8086:29c0", 0x060000), ("00:01.0", "1234:1111", 0x030000),
            ("00:1f.0", "8086:2918", 0x060100), ("00:1f.2", "8086:2922", 0x010601),
            ("00:1f.3", "8086:2930", 0x0C0500)],
}  # fmt: skip


class _Draw:
    """One machine's random draws over the tables."""

    def __init__(self, rng: random.Random, split: str, tables: HardwareTables):
        self.rng, self.split, self.tables = rng, split, tables
        self.pool = extra_pool(tables)[split]

    def extras(self, n: int) -> list[tuple[str, int]]:
        return [self.rng.choice(self.pool) for _ in range(n)] if self.pool else []

    def pci(self, addr: str, key: str, class_code: int, bar: int) -> Device:
        return pci_device(addr, key, class_code, bar, self.rng, self.tables)

    def virt_devices(self, arch: str) -> list[Device]:
        rng = self.rng
        devices = [
            dt_device(node, compat, kind, self.tables, reg, "pci" if kind == "bridge" else "")
            for node, compat, kind, reg in DT_NODES[arch]
            if not node.startswith(("test@", "clint@")) or rng.random() < 0.5
        ]
        base, step = VIRTIO_BASE[arch]
        slots = sorted(rng.sample(range(8), rng.randint(1, 4)))
        ids = [1, 2, 4] + [rng.choice(list(VIRTIO_TYPES)) for _ in range(4)]
        devices += [virtio_device(base + step * s, ids[i], self.tables, step) for i, s in enumerate(slots)]
        devices.append(self.pci("00:00.0", "1b36:0008", 0x060000, 0x40000000))
        pci = rng.sample(QEMU_PCI["virt"], rng.randint(0, 3)) + self.extras(rng.randint(0, 2))
        for i, (key, cc) in enumerate(pci, start=1):
            devices.append(self.pci(f"00:{i:02x}.0", key, cc, 0x40000000 + 0x100000 * i))
        return devices

    def pc_devices(self) -> list[Device]:
        rng = self.rng
        base = PC_BASE[rng.choice(("pc", "q35"))]
        devices = [self.pci(a, k, c, 0xFE000000 + 0x100000 * i) for i, (a, k, c) in enumerate(base)]
        used = {d.addr for d in devices}
        slot = 2
        for key, cc in rng.sample(QEMU_PCI["pc"], rng.randint(1, 3)) + self.extras(rng.randint(0, 2)):
            while f"00:{slot:02x}.0" in used:
                slot += 1
            used.add(f"00:{slot:02x}.0")
            devices.append(self.pci(f"00:{slot:02x}.0", key, cc, 0xFEB00000 + 0x40000 * slot))
        return multifunction(sorted(devices, key=lambda d: d.addr))


def multifunction(devices: list[Device]) -> list[Device]:
    """Mark function 0 of a slot with more functions as multi-function (header type bit 7):
    enumeration looks past function 0 only then."""
    slots = {d.addr[:5] for d in devices if d.bus == "pci" and not d.addr.endswith(".0")}
    for d in devices:
        if d.bus == "pci" and d.addr.endswith(".0") and d.addr[:5] in slots:
            d.header_type |= 0x80
    return devices


def _online(label: str, count: int, how: str) -> str:
    """The line the kernel adds once it has started the other CPUs (kernel/hw/inventory.c)."""
    return f"{label:<11}{count} online of {count} ({how})"


def _cpu(arch: Arch, rng: random.Random) -> Cpu:
    count = rng.choice((1, 2, 4, 8))
    if arch == Arch.riscv64:
        arch_id = rng.choice(("0x0", "0x70216"))  # QEMU's own ids, or none
        extra = (
            f"mmu:       riscv,{rng.choice(('sv39', 'sv48', 'sv57'))}\n"
            f"ids:       mvendorid 0x0 marchid {arch_id} mimpid {arch_id}\n{_online('harts:', count, 'sbi hsm')}"
        )
        return Cpu(
            count=count,
            isa=rng.choice(RISCV_ISAS),
            model="riscv",
            vendor="",
            timer_hz=10_000_000,
            extra=extra,
        )
    if arch == Arch.aarch64:
        vendor, model = rng.choice(ARM_CPUS)
        isa = "armv8-a fp asimd" + rng.choice(
            ("", " aes pmull sha1 sha2 crc32", " aes pmull sha1 sha2 crc32 atomics")
        )
        part = {"Cortex-A53": 0xD03, "Cortex-A57": 0xD07, "Cortex-A72": 0xD08, "Neoverse-N1": 0xD0C}[model]
        extra = (
            f"midr:      0x{0x410F0000 | part << 4:08x} (implementer 0x41 part 0x{part:03x} r0p0)\n"
            + _online("cpus:", count, "psci")
        )
        return Cpu(count=count, isa=isa, model=model, vendor=vendor, timer_hz=62_500_000, extra=extra)
    vendor, model = rng.choice(X86_CPUS)
    isa = "x86-64 sse sse2" + rng.choice(
        ("", " sse3 ssse3 sse4.1 sse4.2 popcnt", " sse3 ssse3 sse4.1 sse4.2 popcnt avx avx2")
    )
    extra = (
        f"family:    {rng.choice((6, 23, 25))} model {rng.randrange(1, 200)} stepping {rng.randrange(0, 10)}\n"
        + _online("cpus:", count, "sipi")
    )
    hz = rng.randrange(1_800, 3_600) * 1_000_000
    return Cpu(count=count, isa=isa, model=model, vendor=vendor, timer_hz=hz, extra=extra)


def _memory(arch: Arch, rng: random.Random) -> Memory:
    total = rng.choice((128, 256, 512, 1024, 2048)) * MIB
    model = rng.choice((10, 15, 25, 48)) * MIB + rng.randrange(MIB)
    kb = rng.randrange(1, 6) * MIB + rng.randrange(MIB)
    kernel = rng.randrange(1, 3) * MIB + rng.randrange(MIB)
    arena = rng.choice((8, 16, 32)) * MIB
    used = rng.randrange(arena // 8, arena)
    return Memory(
        total=total,
        kernel=kernel,
        model=model,
        kb=kb,
        arena=arena,
        used=used,
        banks=[(RAM_BASE[arch.value], total)],
    )


def _model_name(rng: random.Random) -> str:
    """A GGUF's general.name as export writes it, the export directory's name: a pipeline run's
    (``run-20261202-150906-0833-8efc805943``) or one a user chose (``tiny-riscv64-Q4_0``)."""
    if rng.random() < 0.6:
        day, t = f"2026{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}", rng.randrange(86_400)
        stamp = f"{day}-{t // 3600:02d}{t // 60 % 60:02d}{t % 60:02d}"
        return f"run-{stamp}-{rng.randbytes(2).hex()}-{rng.randbytes(5).hex()}"
    tier = rng.choice(("micro", "tiny", "small", "medium"))
    arch = rng.choice(("riscv64", "aarch64", "x86_64"))
    return f"{tier}-{arch}" + rng.choice(("", "-task", "-Q8_0", "-Q4_0", "-task-Q8_0"))


def _model(rng: random.Random) -> ModelInfo:
    layers, d, heads = rng.choice(((6, 384, 6), (8, 512, 8), (4, 256, 4), (12, 768, 12)))
    vocab = rng.choice((4096, 8192, 16384))
    context = rng.choice((256, 512, 1024))
    params = 12 * layers * d * d + vocab * d
    quant = rng.choice(MODEL_QUANTS)
    size = params * {"Q8_0": 34, "Q4_0": 18, "F16": 64, "F32": 128}[quant] // 32
    return ModelInfo(
        name=_model_name(rng),
        params=params,
        quant=quant,
        tokenizer="gpt2",
        layers=layers,
        d_model=d,
        heads=heads,
        kv_heads=heads // 2,
        d_ff=d * 8 // 3 // 64 * 64,
        context=context,
        vocab=vocab,
        bytes=size,
        kv_bytes=2 * layers * context * (d // 2) * 4,
        sha256=rng.randbytes(32).hex(),
    )


def random_machine(arch: Arch, split: str, index: int, seed: int, tables: HardwareTables) -> Machine:
    """Machine ``index`` of ``split`` for ``arch``: a pure function of its arguments."""
    arch = Arch(arch)
    rng = random.Random(f"{seed}/{arch.value}/{split}/{index}")
    draw = _Draw(rng, split, tables)
    devices = draw.pc_devices() if arch == Arch.x86_64 else draw.virt_devices(arch.value)
    return Machine(
        id=f"{arch.value}-{split}-{index}",
        arch=arch,
        split=split,
        devices=devices,
        cpu=_cpu(arch, rng),
        memory=_memory(arch, rng),
        uptime_us=rng.randrange(2_000_000, 90 * 86_400_000_000),
        model=_model(rng),
    )
