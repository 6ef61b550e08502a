"""The cftype tables: kernel/cgroup.c files[] and mm/memcontrol.c mem_cgroup_files[] /
memsw_cgroup_files[] of 2.6.30 and 2.6.31, and the file layer's number parsing
(cgroup_write_X64(), cgroup_write_string())."""

from __future__ import annotations

import pytest
from kernel_helpers import make_kernel

from swaplab.kernel import cgroup
from swaplab.kernel import memcontrol as mc
from swaplab.kernel.errno import E2BIG, EINVAL, ENODEV
from swaplab.kernel.res_counter import RES_FAILCNT, RES_LIMIT, RES_MAX_USAGE, RES_USAGE

MEMORY = ["memory.usage_in_bytes", "memory.max_usage_in_bytes", "memory.limit_in_bytes",
          "memory.failcnt", "memory.stat", "memory.force_empty", "memory.use_hierarchy",
          "memory.swappiness"]
MEMSW = ["memory.memsw.usage_in_bytes", "memory.memsw.max_usage_in_bytes",
         "memory.memsw.limit_in_bytes", "memory.memsw.failcnt"]


@pytest.mark.parametrize("version", ["2.6.30", "2.6.31"])
@pytest.mark.parametrize("swap_account", [True, False])
def test_a_directory_has_the_files_the_kernel_registers(version: str,
                                                         swap_account: bool) -> None:
    """Both versions register the same files: tasks (notify_on_release and release_agent
    are not modelled), mem_cgroup_files[], and memsw_cgroup_files[] only with swap
    accounting; nothing of later kernels (cgroup.procs, soft_limit_in_bytes,
    move_charge_at_immigrate, oom_control)."""
    k = make_kernel(version, do_swap_account=swap_account)
    child = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(child, cgroup.Cgroup)
    expected = ["tasks", *MEMORY, *(MEMSW if swap_account else [])]
    for cgrp in (k.cgroup_root, child):
        assert [name for name, _ in cgroup.cgroup_populate_dir(k, cgrp)] == expected


def test_methods_and_private_of_each_file() -> None:
    """Which methods each cftype sets, and MEMFILE_PRIVATE() of the res_counter files."""
    methods = ("open", "read_u64", "read_map", "write_u64", "write_string", "trigger")
    table = {cft.name: cft for cft in (*cgroup.files, *mc.mem_cgroup_files,
                                       *mc.memsw_cgroup_files)}
    got = {name: tuple(m for m in methods if getattr(cft, m) is not None)
           for name, cft in table.items()}
    counter = {"usage_in_bytes": ("read_u64",),
               "max_usage_in_bytes": ("read_u64", "trigger"),
               "limit_in_bytes": ("read_u64", "write_string"),
               "failcnt": ("read_u64", "trigger")}
    assert got == {
        "tasks": ("open", "write_u64"),
        **counter,
        "stat": ("read_map",),
        "force_empty": ("trigger",),
        "use_hierarchy": ("read_u64", "write_u64"),
        "swappiness": ("read_u64", "write_u64"),
        **{f"memsw.{name}": value for name, value in counter.items()},
    }
    members = {"usage_in_bytes": RES_USAGE, "max_usage_in_bytes": RES_MAX_USAGE,
               "limit_in_bytes": RES_LIMIT, "failcnt": RES_FAILCNT}
    for name, member in members.items():
        assert table[name].private == mc.MEMFILE_PRIVATE(mc._MEM, member)
        assert table[f"memsw.{name}"].private == mc.MEMFILE_PRIVATE(mc._MEMSWAP, member)
    for name in ("tasks", "stat", "force_empty", "use_hierarchy", "swappiness"):
        assert table[name].private is None


def test_write_parsing_and_buffer_sizes() -> None:
    """cgroup_write_X64(): empty -EINVAL, 64 bytes -E2BIG, trailing text -EINVAL, base 0;
    cgroup_write_string(): 63 bytes -E2BIG, the method gets the stripped text; a file
    without a write method -EINVAL; a removed group -ENODEV."""
    k = make_kernel("2.6.31")
    g = cgroup.cgroup_mkdir(k, k.cgroup_root, "G")
    assert isinstance(g, cgroup.Cgroup) and g.memcg is not None
    files = dict(cgroup.cgroup_populate_dir(k, g))
    swappiness = files["memory.swappiness"]
    assert cgroup.cgroup_file_write(k, g, swappiness, "") == -EINVAL
    assert cgroup.cgroup_file_write(k, g, swappiness, "0" * 64) == -E2BIG
    assert cgroup.cgroup_file_write(k, g, swappiness, "7x") == -EINVAL
    assert cgroup.cgroup_file_write(k, g, swappiness, " 0x10\n") == 0
    assert g.memcg.swappiness == 16
    assert cgroup.cgroup_file_write(k, g, files["memory.limit_in_bytes"], "1" * 63) == -E2BIG
    assert cgroup.cgroup_file_write(k, g, files["memory.usage_in_bytes"], "0") == -EINVAL
    assert cgroup.cgroup_file_read(k, g, files["memory.force_empty"]) == -EINVAL
    assert cgroup.cgroup_file_read(k, g, files["memory.swappiness"]) == "16\n"
    g.removed = True
    assert cgroup.cgroup_file_write(k, g, swappiness, "1") == -ENODEV
