"""Canonical encoding of a run's whole state: the shared objects and every thread's frames.

What state caching compares (:mod:`swaplab.explore.stateful`). Unlike a model's own
``Instance.fingerprint`` (a summary it chooses), this encoding is meant to be complete:
two runs get the same bytes only if they are in the same state up to object identity.

- **The heap** is walked from fixed roots (the model's state, then each thread in id
  order) and every mutable object is numbered when first reached (the heap
  canonicalization of Java PathFinder): a second reference is ``@n``, so two states that
  differ only in which Python objects hold the values, or in ``id()``, encode alike, while
  sharing (two pointers to one page) and every field value are kept. Immutable values
  (numbers, strings, tuples, frozensets, enum members, classes) are encoded by value.
- **Containers** keep their order: a list or a dict is encoded in its iteration order
  (code may depend on it). A set has no order code may use: its elements are sorted by
  encoding (only elements that are values or have a ``stable_key``).
- **Threads**: done or not, the pending operation, the context, and every frame of the
  coroutine chain (``cr_await``) down to the trap: the code, the instruction it is
  suspended at (``f_lasti``) and its locals. A suspended frame may also hold values on
  its evaluation stack (a ``for`` loop's iterator, the left operand of ``a + await f()``,
  a ``with`` block's exit): the stack depth at the suspension point is computed from the
  bytecode (:func:`_stack_depths`) and the values are read from the coroutine's
  garbage-collector referents, whose tail is the frame's stack (CPython 3.11/3.12).
  Iterators over lists, tuples and ranges are encoded by their position.
- **Soundness first**: anything without a canonical encoding (an object with neither
  ``__slots__`` nor ``__dict__``, an unknown iterator, a frame whose stack cannot be read)
  raises :class:`Opaque`, and the caller treats the state as unique (never merged).

A model adapts the walk with :class:`Rules`: fields to leave out (statistics, caches that
never decide behaviour) and dicts whose order no code uses (encoded sorted by key).
Engine objects have fixed encodings: a :class:`~swaplab.explore.ops.Lock` by name, holder
and owner (not its serial, a process-wide counter), an ``Execution`` not at all (its
threads are roots), a ``Thread`` by its id.
"""

from __future__ import annotations

import bisect
import dis
import enum
import gc
import operator
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from greenlet import getcurrent, greenlet

from swaplab.explore.execution import Execution, Thread
from swaplab.explore.ops import Lock, Op, StepRecord


class Opaque(Exception):
    """A value with no canonical encoding: the state must count as unique."""


@dataclass(frozen=True)
class Rules:
    """How a model's own classes are walked: ``skip`` maps a class to fields left out (they
    never decide what a thread does next: statistics); ``unordered`` maps a class to its
    dict fields whose order no code depends on (encoded sorted by key)."""

    skip: dict[type, frozenset[str]] = field(default_factory=dict)
    unordered: dict[type, frozenset[str]] = field(default_factory=dict)


NO_RULES = Rules()

_VALUES = (type(None), bool, int, float, str, bytes, complex)
_ITERATORS: tuple[type, ...] = (type(iter([])), type(iter(())), type(iter(range(0))),
              type(iter(range(1 << 70))))
#: Python versions whose coroutine referents end with the frame's evaluation stack.
_STACK_LAYOUT = ((3, 11), (3, 12))


def _code_name(code: types.CodeType) -> str:
    """``file:line:name`` of ``code`` (cached by identity: equal code objects of two
    files compare equal)."""
    known = _CODE_NAMES.get(id(code))
    if known is None or known[0] is not code:  # the entry keeps its code (and id) alive
        name = f"{code.co_filename}:{code.co_firstlineno}:{code.co_name}"
        known = _CODE_NAMES[id(code)] = (code, name)
    return known[1]


_CODE_NAMES: dict[int, tuple[types.CodeType, str]] = {}


class Encoder:
    """One state's encoding under way: the output and the objects numbered so far.

    :meth:`value` dispatches on the object's class: how a class is encoded is decided
    once (:func:`_kind`) and kept in :data:`_SCALARS` (values) and :data:`_KINDS`."""

    __slots__ = ("numbers", "out", "rules")

    def __init__(self, rules: Rules = NO_RULES) -> None:
        self.rules = rules
        self.out: list[str] = []
        self.numbers: dict[int, int] = {}  # id() of a walked object -> its number (this walk)

    def result(self) -> bytes:
        return "\x1f".join(self.out).encode()

    def value(self, obj: Any) -> None:
        """Append the encoding of ``obj``: a value by value, a mutable object by its
        number when met before, else numbered and walked."""
        cls = type(obj)
        prefix = _SCALARS.get(cls)
        if prefix is not None:
            self.out.append(prefix + repr(obj))
            return
        shared, encode = _KINDS.get(cls) or _kind(obj)
        if shared:
            numbers = self.numbers
            number = numbers.get(id(obj))
            if number is not None:
                self.out.append(f"@{number}")
                return
            numbers[id(obj)] = len(numbers)
        encode(self, obj)

    def sequence(self, tag: str, items: Iterable[Any]) -> None:
        out = self.out
        out.append(tag + "(")
        value, scalars = self.value, _SCALARS
        for item in items:
            prefix = scalars.get(type(item))  # value()'s first case, without a call
            if prefix is None:
                value(item)
            else:
                out.append(prefix + repr(item))
        out.append(")")

    def unordered_set(self, tag: str, items: Iterable[Any]) -> None:
        keys = []
        for item in items:
            if isinstance(item, (*_VALUES, enum.Enum)):
                keys.append(f"{type(item).__name__}:{item!r}")
                continue
            key = getattr(item, "stable_key", None)
            if key is None:
                raise Opaque(f"a set of {type(item).__name__} (no order)")
            keys.append(f"{type(item).__name__}#{key!r}")
        self.out.append(f"{tag}{{{','.join(sorted(keys))}}}")

    def mapping(self, items: Iterable[tuple[Any, Any]], ordered: bool = True) -> None:
        """A dict's items in order, or (not ``ordered``) sorted by key when every key is a
        number, a string or a tuple of them (other keys keep the dict's order)."""
        if not ordered:
            pairs = list(items)
            if all(_plain_key(key) for key, _ in pairs):
                pairs.sort(key=lambda kv: repr(kv[0]))
            items = pairs
        out = self.out
        out.append("d(")
        value, scalars = self.value, _SCALARS
        for key, val in items:
            prefix = scalars.get(type(key))  # value()'s first case, without a call
            if prefix is None:
                value(key)
            else:
                out.append(prefix + repr(key))
            prefix = scalars.get(type(val))
            if prefix is None:
                value(val)
            else:
                out.append(prefix + repr(val))
        out.append(")")

    def instance(self, obj: Any) -> None:
        """An object of a class: its fields in a fixed order (slots over the class's
        bases, then ``__dict__`` sorted by name)."""
        cls = type(obj)
        plan = _PLANS.get(cls) or _plan(cls)
        rules = self.rules
        skip = rules.skip.get(cls, _NONE)
        unordered = rules.unordered.get(cls, _NONE)
        attrs = getattr(obj, "__dict__", None)
        if not plan.python:
            raise Opaque(f"{cls.__module__}.{cls.__qualname__} has no fields to encode")
        out = self.out
        out.append(plan.header)
        if isinstance(obj, (list, dict)):  # a subclass of a container: its items too
            self.sequence("items", obj) if isinstance(obj, list) else self.mapping(obj.items())
        if skip or unordered:
            self._fields(obj, [*plan.slots, *sorted(attrs or ())], skip, unordered)
        else:
            self._slots(obj, plan)
            if attrs:
                self._fields(obj, sorted(attrs), _NONE, _NONE)
        out.append(")")

    def _slots(self, obj: Any, plan: _Plan) -> None:
        """The slot fields of ``obj`` (no rules for its class), read all at once."""
        if not plan.slots:
            return
        try:
            values = plan.read(obj)
        except AttributeError:  # a slot is unset: field by field
            self._fields(obj, plan.slots, _NONE, _NONE)
            return
        out = self.out
        value, scalars = self.value, _SCALARS
        for label, val in zip(plan.labels, values, strict=True):
            out.append(label)
            prefix = scalars.get(type(val))  # value()'s first case, without a call
            if prefix is None:
                value(val)
            else:
                out.append(prefix + repr(val))

    def _fields(self, obj: Any, names: Iterable[str], skip: frozenset[str],
                unordered: frozenset[str]) -> None:
        """Fields of ``obj`` by name: ``name=`` and the value (``name=unset`` when it has
        none), except ``skip``; ``unordered`` dicts sorted by key."""
        out = self.out
        for name in names:
            if name in skip:
                continue
            try:
                val = getattr(obj, name)
            except AttributeError:
                out.append(f"{name}=unset")
                continue
            out.append(f"{name}=")
            if name in unordered and isinstance(val, dict):
                self.mapping(val.items(), ordered=False)
            else:
                self.value(val)


_NONE: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Plan:
    """How the fields of a class's objects are walked (:data:`_PLANS`): whether it keeps
    its state in Python fields, the header, its slots with their ``name=`` labels and a
    reader of all of them."""

    python: bool
    header: str
    slots: tuple[str, ...]
    labels: tuple[str, ...]
    read: Callable[[Any], tuple[Any, ...]]


_PLANS: dict[type, _Plan] = {}


def _plan(cls: type) -> _Plan:
    slots = slot_names(cls)
    if len(slots) == 1:
        get_one = operator.attrgetter(slots[0])
        read: Callable[[Any], tuple[Any, ...]] = lambda obj: (get_one(obj),)  # noqa: E731
    else:
        read = operator.attrgetter(*slots) if slots else tuple
    plan = _PLANS[cls] = _Plan(_python_class(cls), f"o:{cls.__module__}.{cls.__qualname__}(",
                               slots, tuple(f"{name}=" for name in slots), read)
    return plan


#: Py_TPFLAGS_HEAPTYPE: set on classes defined in Python (a C type keeps its state hidden)
_HEAPTYPE = 1 << 9
_TRANSPARENT = (object, list, dict)


def _plain_key(key: Any) -> bool:
    if isinstance(key, tuple):
        return all(_plain_key(part) for part in key)
    return isinstance(key, (int, str))


_PYTHON: dict[type, bool] = {}
_FIELDS: dict[type, tuple[str, ...]] = {}


def _python_class(cls: type) -> bool:
    """Whether every class of ``cls``'s MRO keeps its state in Python fields."""
    known = _PYTHON.get(cls)
    if known is None:
        known = _PYTHON[cls] = all(klass in _TRANSPARENT or klass.__flags__ & _HEAPTYPE
                                   for klass in cls.__mro__)
    return known


def slot_names(cls: type) -> tuple[str, ...]:
    """The ``__slots__`` fields of ``cls`` and its bases, base classes first (cached)."""
    known = _FIELDS.get(cls)
    if known is None:
        known = _FIELDS[cls] = _slots(cls)
    return known


def _slots(cls: type) -> tuple[str, ...]:
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name not in ("__dict__", "__weakref__") and name not in names:
                names.append(name)
    return tuple(names)


def _callable(enc: Encoder, obj: Any) -> None:
    out = enc.out
    if isinstance(obj, types.MethodType):
        out.append("m(")
        enc.value(obj.__self__)
        enc.value(obj.__func__)
        out.append(")")
    elif isinstance(obj, types.FunctionType):
        out.append(f"f:{_code_name(obj.__code__)}(")
        enc.value(obj.__defaults__)
        enc.value(obj.__kwdefaults__)
        enc.sequence("cells", (_cell(c) for c in obj.__closure__ or ()))
        out.append(")")
    elif isinstance(obj, types.ModuleType):
        out.append(f"mod:{obj.__name__}")
    else:
        owner = getattr(obj, "__self__", None)
        if owner is not None and not isinstance(owner, types.ModuleType):
            raise Opaque(f"a bound builtin {obj!r}")
        out.append(f"b:{getattr(obj, '__module__', '')}.{obj.__qualname__}")


def _cell(cell: types.CellType) -> Any:
    try:
        return cell.cell_contents
    except ValueError:
        return _Unset.UNSET


class _Unset(enum.Enum):
    UNSET = 0


def _lock(enc: Encoder, lock: Lock) -> None:
    name = _LOCK_NAMES.get(lock.name)
    if name is None:
        name = _LOCK_NAMES[lock.name] = f"lock:{lock.name!r}:"
    holder = lock._holder  # the field behind Lock.holder, read without the property's call
    out = enc.out
    out.append(name + ("None(" if holder is None else f"{holder!r}("))
    enc.value(lock.owner)
    out.append(")")


#: ``lock:'name':`` of every lock name met (a model's fixed locks and one per page frame).
_LOCK_NAMES: dict[str, str] = {}


def _thread(enc: Encoder, thread: Thread) -> None:
    enc.out.append(f"thread:{thread.tid}")


def _cell_object(enc: Encoder, cell: types.CellType) -> None:
    """A closure cell met as a value (on a frame's stack, as LOAD_CLOSURE left it for a
    function being made): a box of one value."""
    enc.out.append("cell(")
    enc.value(_cell(cell))
    enc.out.append(")")


def _nothing(enc: Encoder, obj: object) -> None:
    enc.out.append(f"-{type(obj).__name__}")


def _iterator(enc: Encoder, it: Any) -> None:
    reduced = it.__reduce__()  # (iter, (sequence,), position) or (iter, ((),)) when spent
    enc.out.append(f"it:{type(it).__name__}(")
    enc.value(reduced[1])
    enc.value(reduced[2] if len(reduced) > 2 else "spent")
    enc.out.append(")")


_SPECIAL: dict[type, Callable[[Encoder, Any], None]] = {
    Lock: _lock,
    Thread: _thread,
    Execution: _nothing,  # its threads are roots of their own
    StepRecord: _nothing,  # what the last step did: the explorer's bookkeeping
    types.CellType: _cell_object,
    **{t: _iterator for t in _ITERATORS},
}


# -- dispatch on the class ---------------------------------------------------------------------
Encode = Callable[[Encoder, Any], None]

#: The classes encoded as ``name:repr`` (values): class -> ``name:``.
_SCALARS: dict[type, str] = {}
#: The other classes met: class -> (whether its objects are numbered, the encoder).
_KINDS: dict[type, tuple[bool, Encode]] = {}


def _kind(obj: Any) -> tuple[bool, Encode]:
    """How ``obj`` is encoded: (whether it is numbered, the encoder), decided as the
    class's first object says; kept for the class when :func:`_plain` (then every
    ``isinstance`` test below depends on the class only)."""
    cls = type(obj)
    if isinstance(obj, _VALUES):
        if _plain(cls):
            _SCALARS[cls] = f"{cls.__name__}:"
        return False, _scalar
    kind = _by_value(obj) or (True, _object(obj))
    if _plain(cls):
        _KINDS[cls] = kind
    return kind


def _by_value(obj: Any) -> tuple[bool, Encode] | None:
    """The immutable objects encoded by value (not numbered)."""
    if isinstance(obj, enum.Enum):
        return False, _enum
    if isinstance(obj, type):
        return False, _class
    if isinstance(obj, range):
        return False, _range
    if isinstance(obj, tuple):
        return False, _tuple
    if isinstance(obj, frozenset):
        return False, _frozenset
    return None


def _object(obj: Any) -> Encode:
    """The encoder of a mutable object (numbered when first met)."""
    kind = type(obj)
    encode = _SPECIAL.get(kind)
    if encode is not None:
        return encode
    if kind is list:
        return _list
    if kind is dict:
        return _dict
    if kind is set:
        return _set
    if isinstance(obj, (types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                        types.ModuleType)):
        return _callable
    if isinstance(obj, (types.CoroutineType, types.GeneratorType)):
        return _coroutine
    if isinstance(obj, greenlet):
        return _greenlet
    # an object of a class (a subclass of list or dict too: items and fields)
    return Encoder.instance


def _plain(cls: type) -> bool:
    """Whether ``isinstance`` tests on objects of ``cls`` depend on ``cls`` only: no
    class of its MRO can make ``__class__`` say otherwise (a Python class redefining
    ``__class__`` or ``__getattribute__``, a C type not known to be plain, as a proxy)."""
    for klass in cls.__mro__:
        if klass.__flags__ & _HEAPTYPE:
            if "__class__" in vars(klass) or "__getattribute__" in vars(klass):
                return False
        elif klass not in _PLAIN_C:
            return False
    return True


_PLAIN_C = frozenset({object, type, *_VALUES, tuple, frozenset, range, list, dict, set,
                      types.FunctionType, types.MethodType, types.BuiltinFunctionType,
                      types.ModuleType, types.CoroutineType, types.GeneratorType,
                      types.CellType, greenlet, *_ITERATORS})


def _scalar(enc: Encoder, obj: Any) -> None:
    enc.out.append(f"{type(obj).__name__}:{obj!r}")


def _enum(enc: Encoder, obj: enum.Enum) -> None:
    enc.out.append(f"E:{type(obj).__qualname__}.{obj.name}")


def _class(enc: Encoder, obj: type) -> None:
    enc.out.append(f"T:{obj.__module__}.{obj.__qualname__}")


def _range(enc: Encoder, obj: range) -> None:
    enc.out.append(f"r:{obj.start}:{obj.stop}:{obj.step}")


def _tuple(enc: Encoder, obj: tuple[Any, ...]) -> None:
    enc.sequence("t", obj)


def _frozenset(enc: Encoder, obj: frozenset[Any]) -> None:
    enc.unordered_set("fs", obj)


def _list(enc: Encoder, obj: list[Any]) -> None:
    enc.sequence("l", obj)


def _dict(enc: Encoder, obj: dict[Any, Any]) -> None:
    enc.mapping(obj.items())


def _set(enc: Encoder, obj: set[Any]) -> None:
    enc.unordered_set("s", obj)


def _coroutine(enc: Encoder, obj: Any) -> None:
    enc.out.append("co(")
    frames(enc, obj)
    enc.out.append(")")


def _greenlet(enc: Encoder, obj: greenlet) -> None:
    enc.out.append("gr(")
    greenlet_frames(enc, obj)
    enc.out.append(")")


# -- frames -----------------------------------------------------------------------------------
def frames(enc: Encoder, body: Any) -> None:
    """Every frame of a coroutine chain: code, suspension point, locals, stack values."""
    link = body
    while link is not None:
        if isinstance(link, types.CoroutineType):
            frame, below = link.cr_frame, link.cr_await
        elif isinstance(link, types.GeneratorType):
            frame, below = link.gi_frame, link.gi_yieldfrom
        else:
            raise Opaque(f"a thread awaits a {type(link).__name__}")
        if frame is None:  # finished (or not a frame any more)
            enc.out.append("finished")
            return
        _frame(enc, link, frame, below)
        link = below


def _frame(enc: Encoder, link: Any, frame: types.FrameType, below: Any) -> None:
    code = frame.f_code
    lasti = frame.f_lasti
    out = enc.out
    out.append(f"frame:{_code_name(code)}@{lasti}(")
    for name, val in frame.f_locals.items():
        out.append(f"{name}=")
        enc.value(val)
    extra = _extra_stack(code, lasti, below is not None)
    if extra:
        enc.sequence("stack", _stack_values(link, extra, below))
    out.append(")")


def greenlet_frames(enc: Encoder, gr: greenlet) -> None:
    """A greenlet (the call stack of a race operation, swaplab.race.call): finished,
    running (the explorer's), not started, or each frame from the one that switched away down to the
    greenlet's first, by code, suspension point and locals. A frame of a greenlet keeps
    its evaluation stack out of reach (no referents), so a frame suspended with values
    below the call it is in (a ``for`` loop's iterator, the left operand of ``a + f()``)
    makes the state opaque; only CPython 3.11's call layout is known."""
    if gr.dead:
        enc.out.append("dead")
        return
    if gr is getcurrent():  # the explorer's own (an operation's parent): it is running
        enc.out.append("running")
        return
    frame = gr.gr_frame
    if frame is None:
        enc.out.append("new")
        return
    if sys.version_info[:2] != (3, 11):
        raise Opaque("greenlet frames are read on CPython 3.11 only")
    while frame is not None:
        code = frame.f_code
        call = _call_at(code, frame.f_lasti)
        if _stack_depths(code).get(call, -1) != 2:  # more than the callable and its self
            raise Opaque(f"{code.co_name}: values on its stack below the call at {call}")
        enc.out.append(f"gframe:{_code_name(code)}@{call}(")
        for name, val in frame.f_locals.items():
            enc.out.append(f"{name}=")
            enc.value(val)
        enc.out.append(")")
        frame = frame.f_back


@lru_cache(maxsize=4096)
def _calls(code: types.CodeType) -> tuple[int, ...]:
    return tuple(ins.offset for ins in dis.get_instructions(code) if ins.opname == "CALL")


def _call_at(code: types.CodeType, lasti: int) -> int:
    """The CALL a frame is suspended in: at ``lasti`` (a C callee) or the last CALL before
    it (a Python callee: ``f_lasti`` then points at the CALL's last inline cache entry)."""
    calls = _calls(code)
    i = bisect.bisect_right(calls, lasti) - 1
    if i < 0 or lasti - calls[i] > 2 * _CALL_CACHES:
        raise Opaque(f"{code.co_name}: suspended at {lasti}, not in a call")
    return calls[i]


#: CPython 3.11's inline cache entries after a CALL (code units of 2 bytes)
_CALL_CACHES = 4


def _extra_stack(code: types.CodeType, lasti: int, awaiting: bool) -> int:
    """How many values besides the awaited object the frame's stack may hold where it
    is suspended (an upper bound: some may be NULL)."""
    if lasti < 0:  # created, not started
        return 0
    depth = _stack_depths(code).get(lasti)
    if depth is None:
        raise Opaque(f"{code.co_name}: no stack depth known at {lasti}")
    # at a YIELD_VALUE the yielded value is on top; below it the awaited iterator
    return max(0, depth - 1 - (1 if awaiting else 0))


def _stack_values(link: Any, extra: int, below: Any) -> list[Any]:
    if sys.version_info[:2] not in _STACK_LAYOUT:
        raise Opaque("frame stacks are read on CPython 3.11 and 3.12 only")
    referents = gc.get_referents(link)
    if below is not None:
        if referents and referents[-1] is None:  # the handled-exception slot, after the
            referents.pop()  # stack (whose top, when awaiting, is the awaited object)
        if not referents or referents[-1] is not below:
            raise Opaque("the frame's stack does not end with the awaited object")
        referents = referents[:-1]
    else:  # a plain generator's handled-exception slot could not be told from its stack
        raise Opaque("a generator suspended with values on its stack")
    if len(referents) < extra:
        raise Opaque("the frame's stack is shorter than its code says")
    values = referents[len(referents) - extra:]
    if any(isinstance(v, (types.FrameType, types.CodeType)) for v in values):
        raise Opaque("the frame's stack values could not be told apart")
    return values


@lru_cache(maxsize=4096)
def _stack_depths(code: types.CodeType) -> dict[int, int]:
    """The evaluation-stack depth before each instruction reachable from the start
    without an exception (code in exception handlers is left out: unknown there)."""
    instructions = list(dis.get_instructions(code))
    index = {ins.offset: i for i, ins in enumerate(instructions)}
    depths: dict[int, int] = {}
    work = [(0, 0)]
    while work:
        offset, depth = work.pop()
        while offset in index and offset not in depths:
            depths[offset] = depth
            ins = instructions[index[offset]]
            arg = ins.arg if ins.opcode >= dis.HAVE_ARGUMENT else None
            if ins.opcode in dis.hasjrel or ins.opcode in dis.hasjabs:
                work.append((ins.argval, depth + dis.stack_effect(ins.opcode, arg, jump=True)))
                if ins.opname in _UNCONDITIONAL:
                    break
                depth += dis.stack_effect(ins.opcode, arg, jump=False)
            elif ins.opname in _ENDS:
                break
            elif ins.opname == "RETURN_GENERATOR":
                depth += 1  # a generator resumes with the value sent in on the stack
            else:
                depth += dis.stack_effect(ins.opcode, arg)
            following = index[offset] + 1
            if following >= len(instructions):
                break
            offset = instructions[following].offset
    return depths


_UNCONDITIONAL = frozenset({"JUMP_FORWARD", "JUMP_BACKWARD", "JUMP_BACKWARD_NO_INTERRUPT",
                            "JUMP_ABSOLUTE", "JUMP", "JUMP_NO_INTERRUPT"})
_ENDS = frozenset({"RETURN_VALUE", "RETURN_CONST", "RAISE_VARARGS", "RERAISE"})


def _op(enc: Encoder, op: Op) -> None:
    enc.out.append(f"op:{op.kind.name}:{op.site!r}:{op.n}(")
    enc.value(op.obj)
    enc.value(op.cond)
    enc.value(op.payload)
    enc.out.append(")")


_SPECIAL[Op] = _op


def encode_threads(enc: Encoder, threads: Iterable[Thread]) -> None:
    """Each thread: id, done, pending operation, context and frames."""
    for thread in threads:
        enc.out.append(f"T{thread.tid}:{thread.done}(")
        enc.value(thread.pending)
        enc.value(thread.ctx)
        if not thread.done:
            frames(enc, thread.body)
        enc.out.append(")")


def encode_run(state: Any, threads: Iterable[Thread], rules: Rules = NO_RULES) -> bytes:
    """The canonical bytes of a run's state and threads (raises :class:`Opaque`)."""
    enc = Encoder(rules)
    enc.value(state)
    encode_threads(enc, threads)
    return enc.result()
