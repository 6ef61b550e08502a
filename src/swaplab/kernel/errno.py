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


#: No argument given (the message has fewer placeholders): the default of the fixed
#: message arguments of BUG_ON(), VM_BUG_ON() and sync.trace().
NOARG = object()


def message(what: str, a: object = NOARG, b: object = NOARG, c: object = NOARG,
            d: object = NOARG) -> str:
    """``what`` formatted with the arguments given (up to four; :data:`NOARG` is none)."""
    args = [arg for arg in (a, b, c, d) if arg is not NOARG]
    return what.format(*args) if args else what


def BUG_ON(condition: bool, what: str, arg: object = NOARG, arg2: object = NOARG) -> None:
    """include/asm-generic/bug.h: BUG_ON(): raise :class:`KernelBug` when ``condition``.
    The message is ``what``, formatted with the arguments given (up to two): built only
    when it fires (the checks run on every fault). Fixed arguments rather than ``*args``,
    which compiled code would pack into a tuple at every call."""
    if condition:
        raise KernelBug(message(what, arg, arg2))


def VM_BUG_ON(condition: bool, what: str, arg: object = NOARG, arg2: object = NOARG) -> None:
    """include/linux/mmdebug.h: VM_BUG_ON(): BUG_ON() (CONFIG_DEBUG_VM, as the model
    checks every assertion)."""
    if condition:
        raise KernelBug(message(what, arg, arg2))


def BUG(what: str) -> NoReturn:
    """include/asm-generic/bug.h: BUG()."""
    raise KernelBug(what)
