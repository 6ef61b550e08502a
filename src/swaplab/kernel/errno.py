"""The errno values the model returns, negated as in the kernel (``return -EBUSY``)."""

import errno
from typing import NoReturn

EPERM = errno.EPERM
ENOENT = errno.ENOENT
EINTR = errno.EINTR
ENOMEM = errno.ENOMEM
EBUSY = errno.EBUSY
EEXIST = errno.EEXIST
EINVAL = errno.EINVAL
ENOSPC = errno.ENOSPC
ENODEV = errno.ENODEV
ESRCH = errno.ESRCH
EIO = errno.EIO
EAGAIN = errno.EAGAIN
EFAULT = errno.EFAULT
E2BIG = errno.E2BIG
#: include/linux/errno.h: ERESTARTSYS (kernel-internal, not in user space's errno)
ERESTARTSYS = 512


class KernelBug(Exception):
    """A BUG_ON()/VM_BUG_ON() fired: the model reached a state the kernel asserts away."""


def BUG_ON(condition: bool, what: str, *args: object) -> None:
    """include/asm-generic/bug.h: BUG_ON(): raise :class:`KernelBug` when ``condition``.
    The message is ``what``, or ``what.format(*args)`` with arguments: built only when
    it fires (the checks run on every fault)."""
    if condition:
        raise KernelBug(what.format(*args) if args else what)


def BUG(what: str) -> NoReturn:
    """include/asm-generic/bug.h: BUG()."""
    raise KernelBug(what)


VM_BUG_ON = BUG_ON
