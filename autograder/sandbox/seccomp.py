"""The system calls a rootless kernel is refused (bubblewrap's --seccomp), a
classic BPF program built here, as flatpak refuses the same:

- the kernel keyring (keyctl, add_key, request_key): keys belong to a user id,
  which a rootless kernel shares with the instructor, and user namespaces do
  not separate them (Kerberos tickets, for one, may be kept there);
- memory that no process maps (memfd_create, SysV shmget): where no cgroup
  counts a sandbox's memory, nothing else would see it.

Each fails with EPERM, as a call the system does not allow, so that a library
that tries one can do without it. Calls of another architecture's ABI (32-bit
programs) are refused whole. On an architecture not listed here there is no
filter, and `program()` says so with None.
"""

from __future__ import annotations

import errno
import platform
import struct

# machine -> (AUDIT_ARCH_*, {name: number}), from the kernel's syscall tables
SYSCALLS = {
    "x86_64": (0xC000003E, {"add_key": 248, "request_key": 249, "keyctl": 250, "memfd_create": 319, "shmget": 29}),
    "aarch64": (0xC00000B7, {"add_key": 217, "request_key": 218, "keyctl": 219, "memfd_create": 279,
                             "shmget": 194}),
}
X32_BIT = 0x40000000  # x86_64's x32 ABI: the same calls, numbered from here
_LOAD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JGE|K, BPF_RET|K
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_NR, _ARCH = 0, 4  # offsets in struct seccomp_data


def program(machine: str | None = None) -> bytes | None:
    """The filter for this machine, as bwrap reads it (struct sock_filter, one after another)."""
    found = SYSCALLS.get(machine or platform.machine())
    if found is None:
        return None
    arch, numbers = found
    # (code, jump if true, jump if false, k); a jump of None goes to the refusal at the end
    steps = [(_LOAD, 0, 0, _ARCH), (_JEQ, 0, None, arch), (_LOAD, 0, 0, _NR)]
    if arch == SYSCALLS["x86_64"][0]:
        steps.append((_JGE, None, 0, X32_BIT))
    steps += [(_JEQ, None, 0, number) for number in sorted(numbers.values())]
    steps += [(_RET, 0, 0, _ALLOW), (_RET, 0, 0, _ERRNO | errno.EPERM)]
    refuse = len(steps) - 1
    return b"".join(struct.pack("=HBBI", code, refuse - i - 1 if jt is None else jt,
                                refuse - i - 1 if jf is None else jf, k)
                    for i, (code, jt, jf, k) in enumerate(steps))
