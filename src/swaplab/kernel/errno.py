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


#: No argument given (the message has fewer placeholders).
_NONE = object()


def BUG_ON(condition: bool, what: str, arg: object = _NONE, arg2: object = _NONE) -> None:
    """include/asm-generic/bug.h: BUG_ON(): raise :class:`KernelBug` when ``condition``.
    The message is ``what``, formatted with the arguments given (up to two): built only
    when it fires (the checks run on every fault). Fixed arguments rather than ``*args``,
    which compiled code would pack into a tuple at every call."""
    if condition:
        raise KernelBug(_message(what, arg, arg2))


def VM_BUG_ON(condition: bool, what: str, arg: object = _NONE, arg2: object = _NONE) -> None:
    """include/linux/mmdebug.h: VM_BUG_ON(): BUG_ON() (CONFIG_DEBUG_VM, as the model
    checks every assertion)."""
    if condition:
        raise KernelBug(_message(what, arg, arg2))


def _message(what: str, arg: object, arg2: object) -> str:
    args = [a for a in (arg, arg2) if a is not _NONE]
    return what.format(*args) if args else what


def BUG(what: str) -> NoReturn:
    """include/asm-generic/bug.h: BUG()."""
    raise KernelBug(what)
