"""A seccomp filter for the sandbox: the system calls that hold memory outside the address-space limit.

``RLIMIT_AS`` (``--memory-mb``) bounds the memory a process *maps*.  Some
kernel objects hold memory that no process has to map, and so escape it:

* ``memfd_create`` makes anonymous files: write into many of them (each under
  ``--file-mb``) and gigabytes stay in RAM with none of it in the address
  space (the audit held 1.4 GB under a 1 GB limit);
* ``memfd_secret`` does the same (Linux 5.14 and later);
* ``shmget`` makes System V shared memory segments, which outlive their
  ``shmdt`` until the sandbox's IPC namespace ends;
* ``msgget`` makes System V message queues (up to ``msgmni`` x ``msgmnb``
  bytes: 32000 x 16 KB in a fresh IPC namespace).

The sandbox refuses them: the call fails with ``EPERM`` (Python raises
``PermissionError``), which no honest notebook of the course ever meets.  (The
other ways to hold memory outside the address space are bounded elsewhere:
``/tmp`` is a tmpfs of ``--tmp-mb``, ``/dev`` is read-only, pipes and sockets
are bounded by ``--open-files`` and the kernel's per-user pipe quota.)

The filter is a classic BPF program (``struct sock_filter``: a 16-bit code,
two 8-bit jump offsets and a 32-bit constant, in native byte order), which
bubblewrap loads with ``--seccomp FD`` just before it starts the command, so it
holds for every process of the sandbox.  A system call is identified by its
*architecture* and its *number*, and the numbers differ between
architectures, so the program first checks the architecture and kills the
process on any other one (a 64-bit x86 process may still make 32-bit ``int
0x80`` calls, whose numbers mean other calls), then refuses the listed
numbers and allows everything else.  The numbers, from the kernel's
``arch/x86/entry/syscalls/syscall_64.tbl`` and ``include/uapi/asm-generic/unistd.h``
(installed as ``/usr/include/x86_64-linux-gnu/asm/unistd_64.h`` and
``/usr/include/asm-generic/unistd.h``):

==================  ==========  =========================
system call         x86_64      aarch64 (asm-generic)
==================  ==========  =========================
``shmget``          29          194
``msgget``          68          186
``memfd_create``    319         279
``memfd_secret``    447         447
audit architecture  0xC000003E  0xC00000B7
==================  ==========  =========================

On x86_64 the x32 ABI uses the same architecture value with bit 30 set in the
number (``__X32_SYSCALL_BIT``); the program kills those calls too.  On any
other architecture :func:`program` returns ``None``: the sandbox then runs
without the filter, and ``python -m grader check-sandbox`` says so.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import struct

# classic BPF opcodes (linux/bpf_common.h)
_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS: load the 32-bit word at offset k of struct seccomp_data
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K: jump jt if A == k, else jf
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K: jump jt if A >= k, else jf
_RET_K = 0x06  # BPF_RET | BPF_K: return k

# struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
_OFFSET_NR, _OFFSET_ARCH = 0, 4

# linux/seccomp.h
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
RET_ALLOW = 0x7FFF0000

REFUSED = ("memfd_create", "memfd_secret", "shmget", "msgget")


@dataclasses.dataclass(frozen=True)
class Architecture:
    """What the filter needs to know of one architecture."""

    audit: int  # AUDIT_ARCH_* (linux/audit.h): EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE
    numbers: dict  # system call name -> number
    first_foreign: int | None = None  # numbers from here on belong to another ABI (x32)


ARCHITECTURES = {
    "x86_64": Architecture(
        audit=0xC000003E,
        numbers={"shmget": 29, "msgget": 68, "memfd_create": 319, "memfd_secret": 447},
        first_foreign=0x40000000,
    ),
    "aarch64": Architecture(
        audit=0xC00000B7,
        numbers={"shmget": 194, "msgget": 186, "memfd_create": 279, "memfd_secret": 447},
    ),
}


def _instruction(code, k, jt=0, jf=0):
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine=None, refused=REFUSED, error=errno.EPERM):
    """The filter for ``machine`` (default: this one, ``os.uname().machine``) as bytes, or None if unknown.

    Parameters
    ----------
    machine : str, optional
        ``x86_64`` or ``aarch64``.
    refused : sequence of str
        System calls that fail with ``error``.
    error : int
        The errno of a refused call.

    Returns
    -------
    bytes or None
        ``8 * n`` bytes: the ``n`` instructions of ``struct sock_filter``, for ``bwrap --seccomp``.
    """
    arch = ARCHITECTURES.get(machine or os.uname().machine)
    if arch is None:
        return None
    numbers = [arch.numbers[name] for name in refused]
    # Layout (jumps are relative to the next instruction):
    #   0        A = arch;  if A != audit goto kill
    #   2        A = nr;    [if A >= first_foreign goto kill]
    #   ...      if A == number_i goto refuse          (one per refused call)
    #   allow    return ALLOW
    #   refuse   return ERRNO | error
    #   kill     return KILL_PROCESS
    checks = len(numbers) + (1 if arch.first_foreign is not None else 0)
    allow = 3 + checks  # index of the "return ALLOW" instruction
    refuse, kill = allow + 1, allow + 2
    code = [_instruction(_LD_W_ABS, _OFFSET_ARCH), _instruction(_JEQ_K, arch.audit, jt=0, jf=kill - 2)]
    code.append(_instruction(_LD_W_ABS, _OFFSET_NR))
    if arch.first_foreign is not None:
        here = len(code)
        code.append(_instruction(_JGE_K, arch.first_foreign, jt=kill - here - 1, jf=0))
    for number in numbers:
        here = len(code)
        code.append(_instruction(_JEQ_K, number, jt=refuse - here - 1, jf=0))
    code += [
        _instruction(_RET_K, RET_ALLOW),
        _instruction(_RET_K, RET_ERRNO | (error & 0xFFFF)),
        _instruction(_RET_K, RET_KILL_PROCESS),
    ]
    assert len(code) == kill + 1
    return b"".join(code)


def disassemble(data):
    """``[(code, jt, jf, k)]`` of a program made by :func:`program` (for tests and for reading)."""
    return [struct.unpack("=HBBI", data[i : i + 8]) for i in range(0, len(data), 8)]
