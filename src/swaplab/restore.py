"""Restore points: put a graph of Python objects back as it was, in place.

A :class:`RestorePoint` records, for every mutable object reachable from its roots, what the
object holds (a list's items, a dict's items in order, an instance's attributes and slots);
:meth:`RestorePoint.restore` writes all of it back. Objects keep their identity, so whoever
holds one (a user's ``Task`` handle, a ``Mapping``, a bound method such as ``task.exit``)
sees the restored state; objects created after the restore point are simply no longer
reachable from the restored ones.

This is how the race API starts every execution from the state a user prepared: one walk
when the point is taken, one pass of writes per restore, no rebuild and no deep copy.

Limits: only state reachable from the roots comes back (module globals do not), and
functions are values: what a closure or a ``functools.partial`` refers to is not walked. A
live coroutine or generator, whose frame cannot be put back, refuses the restore point
(:class:`RestoreError`), as does an object of a kind it does not know how to save.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import types
from collections import deque
from collections.abc import Iterable
from typing import Any

from swaplab.explore.canonical import slot_names

#: Values with nothing inside to save or to walk.
_ATOMIC: tuple[type, ...] = (
    type(None), bool, int, float, complex, str, bytes, range, type, enum.Enum,
    types.FunctionType, types.BuiltinFunctionType, types.ModuleType, types.CodeType,
    types.MethodWrapperType, types.WrapperDescriptorType,
)
_RUNNING: tuple[type, ...] = (types.CoroutineType, types.GeneratorType,
                              types.AsyncGeneratorType)
_MISSING = object()  # an unset slot


class RestoreError(TypeError):
    """An object the restore point cannot save (named in the message)."""


def _frozen(cls: type) -> bool:
    params = getattr(cls, "__dataclass_params__", None)
    return dataclasses.is_dataclass(cls) and params is not None and bool(params.frozen)


class RestorePoint:
    """The state of everything reachable from ``roots``, to be restored in place."""

    __slots__ = ("_saved", "objects")

    def __init__(self, *roots: object) -> None:
        self._saved: list[tuple[Any, Any]] = []
        self.objects = 0  # how many objects were walked
        seen: set[int] = set()
        stack: list[Any] = list(reversed(roots))
        while stack:
            obj = stack.pop()
            if isinstance(obj, _ATOMIC) or id(obj) in seen:
                continue
            seen.add(id(obj))
            self.objects += 1
            stack.extend(self._save(obj))

    def _save(self, obj: Any) -> Iterable[Any]:
        """Record ``obj``'s contents; return what it refers to."""
        if isinstance(obj, tuple | frozenset):
            return obj
        if isinstance(obj, list | deque):
            self._saved.append((obj, list(obj)))
            return obj
        if isinstance(obj, dict):
            self._saved.append((obj, dict(obj)))
            return [*obj.keys(), *obj.values()]
        if isinstance(obj, set):
            self._saved.append((obj, set(obj)))
            return obj
        if isinstance(obj, bytearray):
            self._saved.append((obj, bytes(obj)))
            return ()
        if isinstance(obj, random.Random):
            self._saved.append((obj, obj.getstate()))
            return ()
        if isinstance(obj, types.MethodType):
            return (obj.__self__,)
        if isinstance(obj, _RUNNING):
            raise RestoreError(f"cannot save a running {type(obj).__name__} "
                               f"({getattr(obj, '__qualname__', '?')})")
        return self._save_instance(obj)

    def _save_instance(self, obj: Any) -> list[Any]:
        cls = type(obj)
        attrs = getattr(obj, "__dict__", None)
        slots = slot_names(cls)
        if attrs is None and not slots:
            if any("__slots__" in klass.__dict__ for klass in cls.__mro__[:-1]):
                return []  # a Python class with no state (``__slots__ = ()``)
            raise RestoreError(f"cannot save an object of type {cls.__qualname__}")
        values = tuple(getattr(obj, name, _MISSING) for name in slots)
        if not _frozen(cls):
            self._saved.append((obj, (None if attrs is None else dict(attrs), slots, values)))
        refs = [v for v in values if v is not _MISSING]
        return refs if attrs is None else [*refs, *attrs.values()]

    def restore(self) -> None:
        """Put every saved object back as it was when the point was taken."""
        for obj, content in self._saved:
            if isinstance(obj, list):
                obj[:] = content
            elif isinstance(obj, dict | set):
                obj.clear()
                obj.update(content)
            elif isinstance(obj, deque):
                obj.clear()
                obj.extend(content)
            elif isinstance(obj, bytearray):
                obj[:] = content
            elif isinstance(obj, random.Random):
                obj.setstate(content)
            else:
                _restore_instance(obj, content)


def _restore_instance(obj: Any, content: tuple[dict[str, Any] | None, tuple[str, ...],
                                               tuple[Any, ...]]) -> None:
    attrs, slots, values = content
    if attrs is not None:
        current = obj.__dict__
        current.clear()
        current.update(attrs)
    for name, value in zip(slots, values, strict=True):
        if value is _MISSING:
            if hasattr(obj, name):
                object.__delattr__(obj, name)
        else:
            object.__setattr__(obj, name, value)
