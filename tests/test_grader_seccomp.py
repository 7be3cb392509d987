"""The seccomp filter of the sandbox: the right numbers per architecture, the right verdicts, and it really filters.

Three kinds of evidence: the numbers against the kernel's own headers (where installed), the program run by a
small BPF interpreter written here (every architecture, every verdict), and the program loaded by the kernel
in a child process on this machine (the calls fail with EPERM; a call of the x32 ABI kills the process).
"""

from __future__ import annotations

import errno
import os
import re
import signal
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from grader import seccomp

HEADERS = {
    "x86_64": Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
    "aarch64": Path("/usr/include/asm-generic/unistd.h"),  # aarch64 uses the generic table
}
AUDIT_ARCH_I386 = 0x40000003


@pytest.mark.parametrize("machine", list(seccomp.ARCHITECTURES))
def test_the_numbers_are_the_kernels(machine):
    header = HEADERS[machine]
    if not header.exists():
        pytest.skip(f"{header} is not installed (Debian: linux-libc-dev)")
    text = header.read_text()
    for name, number in seccomp.ARCHITECTURES[machine].numbers.items():
        found = re.search(rf"#define __NR_{name}\s+(\d+)", text)
        assert found and int(found.group(1)) == number, (machine, name)


def test_the_audit_architectures_are_the_kernels():
    """AUDIT_ARCH_* = EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE (linux/audit.h, linux/elf-em.h)."""
    em = {"x86_64": 62, "aarch64": 183}
    for machine, arch in seccomp.ARCHITECTURES.items():
        assert arch.audit == em[machine] | 0x80000000 | 0x40000000


def run_filter(program, nr, arch):
    """The verdict of a classic BPF seccomp program on one system call (the subset of BPF it uses)."""
    data = struct.pack("=iI", nr, arch) + bytes(8 + 48)  # struct seccomp_data
    code, pc, accumulator = seccomp.disassemble(program), 0, 0
    for _ in range(len(code) + 1):
        op, jt, jf, k = code[pc]
        if op == 0x20:  # ld [k]
            accumulator = struct.unpack_from("=I", data, k)[0]
            pc += 1
        elif op in (0x15, 0x35):  # jeq / jge #k
            taken = accumulator == k if op == 0x15 else accumulator >= k
            pc += 1 + (jt if taken else jf)
        elif op == 0x06:  # ret #k
            return k
        else:
            raise AssertionError(f"unexpected instruction {op:#x}")
    raise AssertionError("the program does not end")


@pytest.mark.parametrize("machine", list(seccomp.ARCHITECTURES))
def test_the_program_refuses_the_listed_calls_and_allows_the_rest(machine):
    arch = seccomp.ARCHITECTURES[machine]
    program = seccomp.program(machine)
    assert len(program) % 8 == 0
    refused = set(arch.numbers.values())
    for name in seccomp.REFUSED:
        assert run_filter(program, arch.numbers[name], arch.audit) == seccomp.RET_ERRNO | errno.EPERM
    for nr in range(0, 600):
        if nr not in refused:
            assert run_filter(program, nr, arch.audit) == seccomp.RET_ALLOW, nr
    # another ABI of the same machine (i386's int 0x80 on x86_64, say): its numbers mean other calls
    assert run_filter(program, arch.numbers["memfd_create"], AUDIT_ARCH_I386) == seccomp.RET_KILL_PROCESS
    assert run_filter(program, 0, AUDIT_ARCH_I386) == seccomp.RET_KILL_PROCESS
    if arch.first_foreign is not None:  # x32: same architecture value, bit 30 set in the number
        assert run_filter(program, arch.first_foreign | 319, arch.audit) == seccomp.RET_KILL_PROCESS


def test_an_unknown_architecture_gets_no_filter():
    assert seccomp.program("riscv64") is None


CHILD = """
import ctypes, errno, os
from grader import seccomp

program = seccomp.program()
libc = ctypes.CDLL(None, use_errno=True)


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


buffer = ctypes.create_string_buffer(program, len(program))
fprog = SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_char_p))
assert libc.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
assert libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
try:
    os.memfd_create("x")
    print("memfd allowed")
except OSError as exc:
    print("memfd", errno.errorcode[exc.errno])
print("shmget", libc.shmget(0, 4096, 0o1000 | 0o600), errno.errorcode[ctypes.get_errno()])
print("pid", os.getpid() > 0, flush=True)
if os.uname().machine == "x86_64":
    libc.syscall(0x40000000 | 39)  # getpid of the x32 ABI: the process is killed
"""


@pytest.mark.skipif(seccomp.program() is None, reason=f"no filter for {os.uname().machine}")
def test_the_kernel_applies_the_program_in_a_child_process():
    """Loaded with prctl as bubblewrap loads it: memfd_create and shmget fail with EPERM, the rest works."""
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["memfd EPERM", "shmget -1 EPERM", "pid True"], done.stderr
    if os.uname().machine == "x86_64":
        assert done.returncode == -signal.SIGSYS
    else:
        assert done.returncode == 0
