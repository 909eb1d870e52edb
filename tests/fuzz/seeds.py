#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/TARGET/: a few well-formed
inputs per target in the format its fuzz_TARGET.c header describes, so that
fuzzing starts from working requests, rings, kernels and command lines.
The files are committed; this only remakes them after a format changes
(`seeds.py TARGET...` remakes only those targets' seeds)."""
import os
import shutil
import struct
import subprocess
import tempfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def u8(v): return struct.pack("<B", v & 0xff)
def u16(v): return struct.pack("<H", v & 0xffff)
def u32(v): return struct.pack("<I", v & 0xffffffff)
def u64(v): return struct.pack("<Q", v & 0xffffffffffffffff)


def write(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_vq: u8 size selector, u8 flags, operations ----
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
OP_DESC, OP_DESC_AT, OP_PUBLISH, OP_AVAIL_IDX, OP_POKE, OP_POP, OP_PUSH, OP_FILL, \
    OP_PUBLISH_USED, OP_UNPOP, OP_NOTIFY, OP_ENABLE, OP_RESET = range(13)


def desc(addr, length, flags, nxt):
    return u64(addr) + u32(length) + u16(flags) + u16(nxt)


def vq_seeds():
    # Queue of 8, EVENT_IDX and indirect: a two-segment chain, then an indirect one.
    s = u8(3) + u8(3)
    s += u8(OP_DESC) + u16(0) + desc(0x1000, 16, F_NEXT, 1)
    s += u8(OP_DESC) + u16(1) + desc(0x2000, 64, F_WRITE, 0)
    s += u8(OP_PUBLISH) + u16(0)
    s += u8(OP_DESC_AT) + u16(0x3000) + desc(0x4000, 32, F_NEXT, 1)
    s += u8(OP_DESC_AT) + u16(0x3010) + desc(0x100000000, 512, F_WRITE, 0)
    s += u8(OP_DESC) + u16(2) + desc(0x3000, 32, F_INDIRECT, 0)
    s += u8(OP_PUBLISH) + u16(2)
    s += u8(OP_POP) + u16(0) + u8(OP_POP) + u16(8) + u8(OP_PUSH) + u32(64)
    s += u8(OP_NOTIFY) + u8(OP_PUSH) + u32(512) + u8(OP_ENABLE)
    write("vq", "two-chains", s)
    # Queue of 256 without features: four one-descriptor chains, an unpop, a fill.
    s = u8(8) + u8(0)
    for i in range(4):
        s += u8(OP_DESC) + u16(i) + desc(0x5000 + 0x100 * i, 0x100, F_WRITE if i % 2 else 0, 0)
        s += u8(OP_PUBLISH) + u16(i)
    s += u8(OP_POP) + u16(0) + u8(OP_POP) + u16(0) + u8(OP_UNPOP) + u8(1)
    s += u8(OP_FILL) + u32(1) + u8(OP_PUBLISH_USED) + u8(OP_RESET)
    write("vq", "ring-256", s)
    # Rings placed by address, near the end of low RAM.
    s = u8(1) + u8(4) + u64(0x7000) + u64(0x7040) + u64(0x7080)
    s += u8(OP_DESC) + u16(0) + desc(0x7ff0, 16, F_WRITE, 0) + u8(OP_PUBLISH) + u16(0)
    write("vq", "rings-at", s)


# ---- fuzz_blk: u8 flags, u8 queue size, operations ----
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = range(6)  # indices into types[]
B_REQ, B_KICK, B_REQ_KICK, B_RESET = 0, 3, 6, 7


def blk_seeds():
    s = u8(0) + u8(4)  # writable image, queue of 16, indirect offered
    s += u8(B_REQ_KICK) + u8(1) + u8(T_OUT) + u8(3) + u16(1024) + u8(0)
    s += u8(B_REQ_KICK) + u8(2) + u8(T_IN) + u8(3) + u16(512) + u8(0) + u16(512) + u8(0)
    s += u8(B_REQ_KICK) + u8(0) + u8(T_FLUSH) + u8(0)
    s += u8(B_REQ_KICK) + u8(1) + u8(T_GET_ID) + u8(0) + u16(20) + u8(0)
    write("blk", "in-out-flush-id", s)
    write("blk", "uring-in-out-flush-id", u8(8) + s[1:])  # the same through io_uring
    s = u8(0) + u8(3)
    # DISCARD then WRITE_ZEROES (unmap), one 16-byte segment each.
    s += u8(B_REQ_KICK) + u8(1) + u8(T_DISCARD) + u8(0) + u16(16) + u8(0) + u8(8) + u8(8) + u8(0)
    s += u8(B_REQ_KICK) + u8(1) + u8(T_WRITE_ZEROES) + u8(0) + u16(16) + u8(0) + u8(16) + u8(4) + u8(1)
    write("blk", "discard-zeroes", s)
    s = u8(2 | 1) + u8(8)  # read-only image with a serial, EVENT_IDX, queue of 256
    # Indirect IN with a split header (second buffer in high RAM), GET_ID, an OUT refused,
    # then a reset.
    s += u8(B_REQ) + u8(0x18 | 2) + u8(T_IN) + u8(5) + u8(7) + u16(512) + u8(0) + u16(512) + u8(2)
    s += u8(B_REQ) + u8(1) + u8(T_GET_ID) + u8(0) + u16(64) + u8(0)
    s += u8(B_REQ) + u8(1) + u8(T_OUT) + u8(0) + u16(512) + u8(0)
    s += u8(B_KICK) + u8(B_RESET) + u8(2)
    write("blk", "ro-indirect-reset", s)


# ---- fuzz_net: u8 features, u8 queue sizes, operations ----
N_RX, N_TX, N_KICK_TX, N_DRAIN, N_RESET, N_SEND_KICK = 0, 2, 5, 7, 8, 9
MRG, GCSUM, TSO4 = 1, 2, 4


def net_chain(op, segs, hdr=False, indirect=False):
    shape = (len(segs) - 1) | (8 if hdr else 0) | (32 if indirect else 0)
    return u8(op) + u8(shape) + b"".join(u16(length) + u8(0) for length in segs)


def net_seeds():
    hdr = bytes(12)
    s = u8(0) + u8(0x88)  # no features, queues of 256
    s += net_chain(N_RX, [1526]) + net_chain(N_RX, [2048])
    s += u8(N_SEND_KICK) + u16(100) + hdr
    s += net_chain(N_TX, [64], hdr=True) + u8(N_KICK_TX) + u8(N_DRAIN)
    write("net", "plain", s)
    s = u8(MRG | GCSUM | TSO4 | 16) + u8(0x44)  # mergeable, TSO4, EVENT_IDX, queues of 16
    for _ in range(6):
        s += net_chain(N_RX, [4096, 8192], indirect=True)
    s += u8(N_SEND_KICK) + u16(60001) + u8(0) + hdr
    s += net_chain(N_TX, [12, 1500], indirect=True) + u8(N_KICK_TX)
    s += u8(N_RESET) + u8(MRG) + u8(0x33)
    s += net_chain(N_RX, [64, 64, 64]) + u8(N_SEND_KICK) + u16(150) + hdr
    write("net", "mergeable-tso", s)
    # EVENT_IDX; a receive chain of five overlapping 1 GiB segments (the sparse
    # region: sf 16), one ordinary buffer, a frame and the kick that takes it.
    s = u8(16) + u8(0x86)  # queues of 256: 1 << (0x86 % 9), 1 << (0x86 / 16 % 9)
    s += u8(N_RX) + u8(4) + b"".join(u16(0xffff) + u8(16) for _ in range(5))
    s += net_chain(N_RX, [2048]) + u8(N_SEND_KICK) + u16(100) + hdr
    write("net", "huge-chain", s)


# ---- fuzz_bzimage: u8 mode, then the file ----
def bzimage(setup_sects=1, payload=256, init_size=0x100000, pref=0x1000000, initrd_max=0x7fffffff):
    setup = (setup_sects + 1) * 512
    img = bytearray(setup + payload)
    def put(off, fmt, v):
        struct.pack_into("<" + fmt, img, off, v)
    put(0x1f1, "B", setup_sects)
    put(0x1f4, "I", payload // 16)      # syssize
    put(0x1fe, "H", 0xaa55)             # boot_flag
    img[0x200] = 0xeb
    img[0x201] = 0x66                   # header ends at 0x268
    put(0x202, "I", 0x53726448)         # "HdrS"
    put(0x206, "H", 0x020f)             # version
    put(0x211, "B", 0x01)               # loadflags: LOADED_HIGH
    put(0x22c, "I", initrd_max)         # initrd_addr_max
    put(0x230, "I", 0x200000)           # kernel_alignment
    put(0x234, "B", 1)                  # relocatable_kernel
    put(0x235, "B", 21)                 # min_alignment
    put(0x236, "H", 0x3)                # xloadflags: KERNEL_64, CAN_BE_LOADED_ABOVE_4G
    put(0x238, "I", 2047)               # cmdline_size
    put(0x258, "Q", pref)               # pref_address
    put(0x260, "I", init_size)          # init_size
    for i in range(payload):
        img[setup + i] = (i * 7 + 3) & 0xff
    return bytes(img)


def bzimage_seeds():
    write("bzimage", "kernel-24m", u8(0x02) + bzimage())
    write("bzimage", "kernel-72m-initrd", u8(0x0a) + bzimage(initrd_max=0x37ffffff))
    write("bzimage", "kernel-too-big", u8(0x00) + bzimage(init_size=0x2000000))
    # The last 16 bytes hold the reset vector: mov al, 5; mov dx, 0x501; out dx, al; hlt.
    reset = bytes([0xb0, 0x05, 0xba, 0x01, 0x05, 0xee, 0xf4, 0xeb, 0xfd]) + bytes(7)
    write("bzimage", "firmware-16", u8(0x0f) + reset)
    write("bzimage", "firmware-128k-plus", u8(0x4f) + u32(0x20000) + reset)


# ---- fuzz_cli: words separated by NUL ----
def cli_seeds():
    def words(*w):
        return b"\0".join(x.encode() for x in w)
    write("cli", "kernel-all", words(
        "run", "--kernel", "bzImage", "--initrd=initrd.gz", "--cmdline", "console=ttyS0 quiet",
        "--memory", "2GiB", "--cpus=4", "--serial", "file=/tmp/console.log", "-v", "--verbose"))
    write("cli", "devices", words(
        "run", "--kernel=k", "--disk", "path=a.img,readonly=on,id=serial-1,aio=sync",
        "--disk=b.img", "--net", "tap=tap0,mac=52:54:00:12:34:56", "--net=tap=t1"))
    write("cli", "firmware", words("run", "--firmware", "fw.bin", "--serial=none", "--memory=512K"))
    write("cli", "sizes", words("help", "17179869183G", "1t", "4096", "2kB", "99999999999999999999"))
    write("cli", "api", words("run", "--firmware", "f", "--api", "/run/vm.sock"))
    write("cli", "ctl", words("ctl", "/tmp/s", "status"))
    write("cli", "restore", words("run", "--restore", "/var/snap", "--api=/run/vm.sock", "-v"))
    write("cli", "ctl-snapshot", words("ctl", "/tmp/s", "snapshot", "snap", "--stop"))


# ---- fuzz_vconsole: u8 features, u8 queue size, operations ----
C_CHAIN, C_CTRL, C_WRITE, C_POST, C_KICK, C_IO, C_HOSTILE, C_HOST, C_RESET, C_HANDSHAKE, \
    C_CONFIG = 0, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13
H_WRITE0, H_WRITE1, H_DRAIN, H_EOF0, H_HANGUP1, H_CLOSE_READER0 = range(6)
MULTIPORT, ALL_QUEUES = 1, 8


def con_post(port, n, length):  # n receive buffers of length 16 * k + 1
    return u8(C_POST) + u8(port) + u8((n - 1) | ((length - 1) // 16) << 3)


def con_write(port, text):
    return u8(C_WRITE) + u8(port) + u8(len(text) - 1) + text


def vconsole_seeds():
    hs = u8(C_HANDSHAKE) + u8(0xf)  # every port ready and opened
    write("vconsole", "handshake", u8(MULTIPORT) + u8(7) + hs + u8(C_IO))
    # Data both ways on ports 0 (pipes) and 1 (a socket), the host draining.
    s = u8(MULTIPORT) + u8(7) + hs
    s += con_post(0, 4, 65) + con_post(1, 4, 65)
    s += u8(C_HOST) + u8(H_WRITE0) + u16(100) + u8(C_HOST) + u8(H_WRITE1) + u16(300)
    s += u8(C_IO) + u8(C_IO)
    s += con_write(0, b"echo hello\n") + con_write(1, b"exit 0\n")
    s += u8(C_HOST) + u8(H_DRAIN) + u8(C_IO)
    write("vconsole", "data-both-ways", s)
    # EOF on port 0, EPIPE on port 2, port 1's peer hanging up, then a reset and a new start.
    s = u8(MULTIPORT) + u8(6) + hs + con_post(0, 2, 33) + con_post(2, 2, 33)
    s += u8(C_HOST) + u8(H_EOF0) + u8(C_IO) + u8(C_IO) + con_write(2, b"lost")
    s += u8(C_HOST) + u8(H_HANGUP1) + u8(C_IO) + con_post(0x80, 4, 81) + u8(C_IO)
    s += u8(C_RESET) + u8(MULTIPORT | 2) + u8(5) + hs + u8(C_IO)
    write("vconsole", "eof-epipe-reset", s)
    # No MULTIPORT: port 0 as a console, data both ways; every queue set up, kicks of them all.
    s = u8(ALL_QUEUES) + u8(4) + con_post(0, 2, 49)
    s += u8(C_HOST) + u8(H_WRITE0) + u16(40) + u8(C_IO) + con_write(0, b"console")
    for q in range(10):
        s += u8(C_KICK) + u8(q)
    write("vconsole", "console", s)


# ---- fuzz_qcow2: the image itself; its last 64 bytes are also 8 operations ----
# Made with qemu-img and qemu-io (Debian: qemu-utils); skipped when they are missing. The last
# qemu-io write puts a cluster whose last 64 bytes are the operations at the end of the file.
Q_READ, Q_WRITE, Q_ZEROES, Q_DISCARD, Q_FLUSH, Q_GROW = 0, 2, 4, 5, 6, 7


def qop(kind, off, length):  # off in bytes (512-byte units and a low byte), length as stored
    return u8(kind) + u8(off % 512 % 256) + u16(length) + u32(off // 512)


QOPS = (qop(Q_READ, 0, 4095) + qop(Q_WRITE, 1000, 3000) + qop(Q_ZEROES, 4096, 2048)
        + qop(Q_WRITE, 70000, 600) + qop(Q_DISCARD, 0, 1024) + qop(Q_FLUSH, 0, 0)
        + qop(Q_GROW, 0, 8) + qop(Q_WRITE, 1 << 20, 5000))


def qcow2_seed(name, create, steps, cluster, ops_at, ops=QOPS):
    """qemu-img create -f qcow2 CREATE... img, then each step: a list of qemu-io commands or
    "snapshot" (qemu-img snapshot -c) or "ops", the operations' cluster written at OPS_AT (last
    when no step says where)."""
    if not shutil.which("qemu-img") or not shutil.which("qemu-io"):
        print("qcow2 seed %s skipped: no qemu-img or qemu-io (apt-get install qemu-utils)" % name)
        return
    with tempfile.TemporaryDirectory() as d:
        def run(*argv):
            subprocess.run(argv, check=True, cwd=d, stdout=subprocess.DEVNULL)

        with open(os.path.join(d, "ops"), "wb") as f:
            f.write(b"\xee" * (cluster - len(ops)) + ops)
        run("qemu-img", "create", "-q", "-f", "raw", "base.raw", "1M")
        run("qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", "b.qcow2")
        run("qemu-img", "create", "-q", "-f", "qcow2", *create[:-1], "img.qcow2", create[-1])
        if "ops" not in steps:
            steps = steps + ["ops"]
        for step in steps:
            if step == "ops":
                run("qemu-io", "-f", "qcow2", "-c", "write -s ops %d %d" % (ops_at, cluster),
                    "img.qcow2")
            elif step == "snapshot":
                run("qemu-img", "snapshot", "-c", "s1", "img.qcow2")
            else:
                run("qemu-io", "-f", "qcow2", *[a for c in step for a in ("-c", c)], "img.qcow2")
        with open(os.path.join(d, "img.qcow2"), "rb") as f:
            data = f.read()
    assert data.endswith(ops) and len(data) < 65536, (name, len(data))
    write("qcow2", name, data)


def qcow2_unknown_feature():
    """backing-4k with incompatible feature bit 5 set and a feature-name table that names it
    (qemu-img writes the table only for larger clusters): the extensions are rebuilt, the
    backing name moved after them."""
    path = os.path.join(OUT, "qcow2", "backing-4k")
    if not os.path.exists(path):
        return
    with open(path, "rb") as f:
        data = bytearray(f.read())
    boff, blen = struct.unpack(">QI", data[8:20])
    name = bytes(data[boff:boff + blen])
    names = b"".join(struct.pack(">BB46s", 0, bit, text) for bit, text in
                     ((4, b"extended L2 entries"), (5, b"a feature from the future")))
    ext = (struct.pack(">II", 0xe2792aca, 3) + b"raw\0\0\0\0\0"
           + struct.pack(">II", 0x6803f857, len(names)) + names + struct.pack(">II", 0, 0))
    data[112:112 + len(ext) + len(name)] = ext + name
    data[8:20] = struct.pack(">QI", 112 + len(ext), blen)
    data[79] |= 0x20
    write("qcow2", "unknown-feature-4k", bytes(data))


def qcow2_seeds():
    # version 3, 512-byte clusters: data, zero clusters, a second L2 table
    qcow2_seed("v3-512", ["-o", "cluster_size=512", "1M"],
               [["write -P 0xab 0 3k", "write -z 8k 4k", "write -P 0xcd 600k 1k"]], 512, 900 << 10)
    # the same padded to 9 MiB: writes past what the refcount table covers move it
    pad = qop(8 | Q_WRITE, 18432 * 512, 4095) + QOPS[8:]
    qcow2_seed("pad-512", ["-o", "cluster_size=512", "1M"], [["write -P 0xab 0 3k"]], 512,
               900 << 10, pad)
    # version 2, 4 KiB clusters, two L2 tables
    qcow2_seed("v2-4k", ["-o", "compat=0.10,cluster_size=4k", "4M"],
               [["write -P 0x11 0 8k", "write -P 0x22 2M 4k"]], 4096, 3 << 20)
    # compressed clusters (and one partly used), 4 KiB clusters
    qcow2_seed("compressed-4k", ["-o", "cluster_size=4k", "1M"],
               [["write -c -P 0x41 0 16k", "write -c -P 0x42 64k 4k", "write -P 0x43 66k 1k"]],
               4096, 512 << 10)
    # 8-bit refcounts: read-only for this engine
    qcow2_seed("refcount8-512", ["-o", "cluster_size=512,refcount_bits=8", "1M"],
               [["write -P 0x55 0 2k"]], 512, 4096)
    # an internal snapshot: clusters with refcount 2, L2 entries without the copied flag
    qcow2_seed("snapshot-512", ["-o", "cluster_size=512", "1M"],
               [["write -P 0x66 0 4k"], "snapshot", ["write -P 0x67 1k 1k"]], 512, 8192)
    # a backing file and its format extension (the target never opens it)
    qcow2_seed("backing-512", ["-o", "cluster_size=512", "-b", "base.raw", "-F", "raw", "1M"],
               [["write -P 0x77 700 100"]], 512, 4096)
    # the same with 4 KiB clusters: room for the feature-name table
    qcow2_seed("backing-4k", ["-o", "cluster_size=4k", "-b", "base.raw", "-F", "raw", "1M"],
               [["write -P 0x79 5000 3000"]], 4096, 64 << 10)
    # a qcow2 backing file (b.qcow2: the target's overlay of base.raw)
    qcow2_seed("backing-qcow2-512",
               ["-o", "cluster_size=512", "-b", "b.qcow2", "-F", "qcow2", "1M"],
               [["write -P 0x78 300 1000"]], 512, 4096)
    # freed clusters (refcount 0 between used ones) and zero clusters, 4 KiB clusters
    qcow2_seed("discard-4k", ["-o", "cluster_size=4k", "1M"],
               [["write -P 0x88 0 32k"], "ops", ["discard 8k 12k", "write -z -u 20k 4k"]], 4096,
               256 << 10)
    qcow2_unknown_feature()


# ---- fuzz_api: u8 VM behaviour, then ops (data, pass, drain, pause, hang up, shut, canned) ----
A_DATA, A_PASS, A_DRAIN, A_PAUSE, A_HANGUP, A_SHUT, A_CANNED = range(7)
PAUSE_DONE, PAUSE_WAIT, PAUSE_FAIL = range(3)


def api_data(client, text):
    return u8(A_DATA) + u8(client) + u16(len(text)) + text


def api_seeds():
    # Each request once on client 0, answered; the same split in two on client 1.
    s = u8(0)
    for cmd in (b"status", b"pause", b"resume", b"shutdown"):
        s += api_data(0, b'{"id":1,"cmd":"' + cmd + b'"}\n') + u8(A_PASS) + u8(A_DRAIN)
    req = b'{"id":"two\\u00e9","cmd":"status"}\n'
    s += api_data(1, req[:9]) + u8(A_PASS) + api_data(1, req[9:]) + u8(A_PASS) + u8(A_DRAIN)
    write("api", "requests", s)
    # A pause that completes only after a wake-up that is not yet the last vCPU;
    # meanwhile another client asks too, and a status waits behind it.
    s = u8(1)
    s += api_data(0, b'{"id":1,"cmd":"pause"}\n{"id":2,"cmd":"status"}\n') + u8(A_PASS)
    s += u8(A_PAUSE) + u8(PAUSE_WAIT) + u8(A_PASS)
    s += api_data(2, b'{"id":3,"cmd":"pause"}\n') + u8(A_PASS)
    s += u8(A_PAUSE) + u8(PAUSE_DONE) + u8(A_PASS) + u8(A_DRAIN)
    write("api", "pause-in-progress", s)
    # Malformed, oversized and cut-off lines; a hang-up mid-request; a half-closed client.
    s = u8(0)
    s += api_data(0, b'{"id":1,"cmd":\n') + api_data(0, b'{"id":[1],"cmd":"status"}\n')
    s += api_data(0, b'{"id":1,"cmd":"status","id":2}\n') + u8(A_PASS) + u8(A_DRAIN)
    s += api_data(1, b"x" * 5000) + u8(A_PASS) + api_data(1, b"\n") + u8(A_PASS) + u8(A_DRAIN)
    s += api_data(2, b'{"id":1,"cmd":"powe') + u8(A_PASS) + u8(A_HANGUP) + u8(2) + u8(A_PASS)
    s += api_data(0, b'{"id":9,"cmd":"status"}\n{"id":10') + u8(A_SHUT) + u8(0) + u8(A_PASS)
    s += u8(A_DRAIN)
    write("api", "hostile", s)
    # Canned requests, then poweroff.
    s = u8(4 | 16)
    for k in range(6):
        s += u8(A_CANNED) + u8(k) + u8(k % 3) + u8(A_PASS)
    s += u8(A_DRAIN)
    write("api", "canned", s)


# ---- fuzz_snapfile: u8 mode, then a state file (even) or writer records (odd) ----
SNAP_CONFIG, SNAP_PLATFORM, SNAP_PCI, SNAP_VIRTIO = 1, 13, 14, 15  # vmm/kvmstate.h


def snap_file(sections):
    """A state file as vmm/snapfile.c writes it (CRC-32s of zlib)."""
    import zlib
    body = b""
    for t, i, data in sections:
        h = u32(t) + u32(i) + u64(len(data))
        body += h + u32(zlib.crc32(data, zlib.crc32(h))) + u32(0)
        body += data + b"\0" * (-len(data) % 8)
    head = b"EMBERSNP" + u32(1) + u32(len(sections)) + u64(32 + len(body))
    return head + u32(zlib.crc32(head)) + u32(0) + body


def snap_sections():
    serial = bytes([0x01, 0x03, 0x0b, 0, 0xb0, 0x5a, 0x0c, 0, 0xc1, 1, 14, 3])
    serial += bytes(range(0x41, 0x51)) + b"\0" * 4
    platform = serial + u32(0x80001810) + u32(0)
    cfg = bytearray(256)
    cfg[0:4] = u16(0x1af4) + u16(0x1042)
    cfg[4:6] = u16(0x0407)
    cfg[0x10:0x14] = u32(0xe0001000)
    cfg[0x18:0x20] = u32(0xe0100004) + u32(1)
    cfg[0x20:0x24] = u32(0xc001)
    msix = u32(4) + u32(0) + u64(0x5)
    for v in range(64):
        msix += u32(0xfee00000) + u32(0) + u32(0x30 + v) + u32(v % 2)
    dev = u64(1 << 32 | 1 << 29 | 1) + u8(15) + u8(2) + u16(0) + u32(3)
    queues = [(16, 1, 7, 5, 1, 0x1000, 0x2000, 0x3000),
              (64, 2, 0, 0, 1, 0x4000, 0x8000, 0x9000),
              (256, 0xffff, 0, 0, 0, 0, 0, 0)]
    for k in range(16):
        size, vec, la, ui, en, d, a, u = queues[k] if k < 3 else (0, 0xffff, 0, 0, 0, 0, 0, 0)
        dev += u16(size) + u16(vec) + u16(la) + u16(ui) + u8(en) + b"\0" * 7
        dev += u64(d) + u64(a) + u64(u)
    vps = bytes(cfg) + msix + dev + u32(0) + u32(1) + u16(2) + u8(1) + u8(0) + u32(0)
    assert len(vps) == 1968 and len(msix) == 1040 and len(dev) == 656
    return [(SNAP_CONFIG, 0, u64(2 << 20) + u32(1) + u32(0) + u32(0) + u32(0)),
            (SNAP_PLATFORM, 0, platform), (SNAP_PCI, 0, bytes(cfg)), (SNAP_PCI, 1, b""),
            (SNAP_VIRTIO, 0, vps), (SNAP_VIRTIO, 16, vps[:1500] + b"\x07")]


def snapfile_seeds():
    secs = snap_sections()
    write("snapfile", "file", u8(0) + snap_file(secs))
    write("snapfile", "file-empty", u8(0) + snap_file([]))
    records = b"".join(u8(t) + u8(i) + u16(len(d)) + d for t, i, d in secs)
    write("snapfile", "records", u8(1) + records)
    write("snapfile", "records-flipped", u8(3) + records + u16(40) + u8(0x80))


# ---- fuzz_image: u8 mode, then the arm64 Image file (plain or gzip'd) ----
def arm64_image(size=4096, text_offset=0, image_size=4 << 20, flags=0xa):
    hdr = u32(0x91005a4d) + u32(0x14000000) + u64(text_offset) + u64(image_size) + u64(flags)
    hdr += u64(0) * 3 + u32(0x644d5241) + u32(0x40)
    return hdr + bytes((i * 13 + 5) & 0xff for i in range(size - len(hdr)))


def image_seeds():
    import gzip
    # Mode: bits 0-1 RAM (8, 40, 72 MiB), bit 2 at 1 GiB, bits 3-4 initrd, bit 5 a 2 MiB DTB.
    write("image", "plain-40m-high-initrd", u8(0x0d) + arm64_image())
    write("image", "old-kernel", u8(0x04) + arm64_image(text_offset=0x8000000000000, image_size=0))
    write("image", "gzip-72m-initrd-dtb2m",
          u8(0x36) + gzip.compress(arm64_image(size=12288, text_offset=0x80000), mtime=0))
    write("image", "too-big-for-8m", u8(0x00) + arm64_image(image_size=64 << 20))
    # Inflating past the first guess (1 MiB), past the target's 8 MiB cap, to something else.
    big = arm64_image(size=64)
    write("image", "gzip-3m", u8(0x05) + gzip.compress(big + bytes((3 << 20) - 64), mtime=0))
    write("image", "gzip-past-cap", u8(0x05) + gzip.compress(big + bytes(9 << 20), mtime=0))
    write("image", "gzip-not-image", u8(0x05) + gzip.compress(b"not a kernel" * 8, mtime=0))


TARGETS = {"vq": vq_seeds, "blk": blk_seeds, "net": net_seeds, "bzimage": bzimage_seeds,
           "cli": cli_seeds, "vconsole": vconsole_seeds, "qcow2": qcow2_seeds, "api": api_seeds,
           "snapfile": snapfile_seeds, "image": image_seeds}

if __name__ == "__main__":
    import sys
    # Every target's seeds, or only those named: seeds.py api
    for name in sys.argv[1:] or TARGETS:
        TARGETS[name]()
