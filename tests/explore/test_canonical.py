"""The canonical state encoding: identity does not split states, any real difference does,
and what cannot be encoded is refused (the state then counts as unique)."""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import greenlet
import pytest

from swaplab.explore.canonical import Encoder, Opaque, Rules, encode_run, frames
from swaplab.explore.execution import Execution
from swaplab.explore.ops import Lock, Op, OpKind, trap


@dataclass(eq=False)
class Cell:
    value: int = 0
    lock: Lock = field(default_factory=lambda: Lock("cell"))


def encoding(value: object, rules: Rules | None = None) -> bytes:
    enc = Encoder(rules or Rules())
    enc.value(value)
    return enc.result()


def test_object_identity_and_insertion_history_do_not_split_states() -> None:
    a, b = Cell(1), Cell(2)
    c, d = Cell(1), Cell(2)
    assert encoding([a, b, a]) == encoding([c, d, c])
    assert encoding({"y": a, "z": [b]}) == encoding({"y": c, "z": [d]})
    assert encoding({"y": a, "z": [b]}) != encoding({"y": c, "z": [c]})


def test_sharing_and_values_are_kept() -> None:
    a, b = Cell(1), Cell(1)
    assert encoding([a, a]) != encoding([a, b])  # one cell twice, or two equal cells
    assert encoding([Cell(1)]) != encoding([Cell(2)])
    held = Cell(1)
    held.lock.take(3)
    assert encoding([held]) != encoding([Cell(1)])


def test_unordered_dicts_sort_only_when_the_model_says_so() -> None:
    @dataclass(eq=False)
    class Table:
        by_key: dict[int, int] = field(default_factory=dict)

    one, two = Table({1: 10, 2: 20}), Table({2: 20, 1: 10})
    assert encoding(one) != encoding(two)  # code may walk a dict in order
    rules = Rules(unordered={Table: frozenset({"by_key"})})
    assert encoding(one, rules) == encoding(two, rules)
    assert encoding(one, rules) != encoding(Table({1: 10, 2: 21}), rules)


def test_skipped_fields_are_left_out() -> None:
    rules = Rules(skip={Cell: frozenset({"value"})})
    assert encoding(Cell(1), rules) == encoding(Cell(2), rules)


def test_sets_are_sorted_and_sets_of_anonymous_objects_are_opaque() -> None:
    assert encoding({3, 1, 2}) == encoding({2, 3, 1})
    with pytest.raises(Opaque):
        encoding({Cell()})


def test_objects_without_python_fields_are_opaque() -> None:
    with pytest.raises(Opaque):
        encoding(open("/dev/null"))  # noqa: SIM115 (closed by the garbage collector)


async def _loop_body(cell: Cell, items: list[int]) -> None:
    for item in items:
        await trap(Op(OpKind.WRITE, cell, "write"))
        cell.value += item


async def _operand(cell: Cell) -> None:
    cell.value = 5 + await trap(Op(OpKind.READ, cell, "read"))


def _stepped(body: types.CoroutineType, sends: list[object]) -> bytes:
    for value in sends:
        body.send(value)
    enc = Encoder()
    frames(enc, body)
    out = enc.result()
    body.close()
    return out


def test_a_for_loops_position_is_part_of_the_state() -> None:
    # items [1, 1]: after one send the loop is at item 0, after two at item 1; same locals
    first = _stepped(_loop_body(Cell(), [1, 1]), [None])
    second = _stepped(_loop_body(Cell(), [1, 1]), [None, None])
    assert first != second
    assert first == _stepped(_loop_body(Cell(), [1, 1]), [None])


def test_values_on_the_stack_across_an_await_are_part_of_the_state() -> None:
    body = _operand(Cell())
    body.send(None)
    enc = Encoder()
    frames(enc, body)
    body.close()
    assert b"stack(\x1fint:5" in enc.result()


def test_threads_encode_pending_operations_and_locals() -> None:
    def run(items: list[int], steps: int) -> bytes:
        execution = Execution()
        cell = Cell()
        execution.spawn("t", _loop_body(cell, items))
        for _ in range(steps):
            execution.step(execution.threads[0])
        out = encode_run(cell, execution.threads)
        execution.close()
        return out

    assert run([1, 2], 1) == run([1, 2], 1)
    assert run([1, 2], 1) != run([1, 3], 1)  # a local (the list) differs
    assert run([1, 2], 2) != run([1, 2], 1)


# -- greenlets: the call stacks of race operations (swaplab.race.call) -----------------------
def _enter(value: object) -> object:
    parent = greenlet.getcurrent().parent
    assert parent is not None
    return parent.switch(value)


def _straight(cell: Cell) -> object:
    got = _enter(cell.value)
    return got


def _looping(cells: list[Cell]) -> int:
    total = 0
    for cell in cells:
        total = total + int(str(_enter(cell.value)))
    return total


def _started(fn: object, *args: object) -> greenlet.greenlet:
    gr = greenlet.greenlet(fn)
    gr.switch(*args)
    return gr


def test_a_greenlet_is_encoded_by_its_frames_and_locals() -> None:
    new = greenlet.greenlet(_straight)
    assert encoding(new) == encoding(greenlet.greenlet(_straight))
    one, same, other = _started(_straight, Cell(1)), _started(_straight, Cell(1)), \
        _started(_straight, Cell(2))
    assert encoding(one) == encoding(same)  # two greenlets at one point with equal locals
    assert encoding(one) != encoding(other)
    assert encoding(one) != encoding(new)
    one.switch("done")
    assert one.dead and encoding(one) != encoding(same)


def test_a_greenlet_with_values_below_its_call_is_opaque() -> None:
    gr = _started(_looping, [Cell(1), Cell(2)])  # the loop's iterator and `total`
    with pytest.raises(Opaque, match="below the call"):
        encoding(gr)
    gr.throw(greenlet.GreenletExit)


def test_a_closure_cell_met_as_a_value_is_its_contents() -> None:
    one, same, other = types.CellType(Cell(1)), types.CellType(Cell(1)), types.CellType(Cell(2))
    assert encoding([one]) == encoding([same]) != encoding([other])
    assert encoding([one, one]) != encoding([one, same])  # one cell twice, or two cells
