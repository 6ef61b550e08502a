#!/usr/bin/env -S swaplab sh
# Some cases of LTP's 2009 memcg_function_test.sh, on the modelled 2.6.31.
# Run it with:  swaplab sh examples/ltp-basic.sh
# With --kernel 2.6.30 the two "-1" expectations fail, as case 25 did before 2.6.31.
# Every "expect" line checks a value; a failed one makes the exit status 1.
# The 2009 harness started memcg_process in the root and moved it into the group
# before it allocated; "spawn P /" + "P move /1" does the same.

## Cases 1-3: one page of anon, shared /dev/zero (shmem) and SysV shm in a fresh group.
mkdir /1
spawn P /
P move /1
P mmap anon anon 4K
P touch anon
expect /1/memory.stat rss 4096
expect /1/memory.stat cache 0
P mmap file shared 4K
P touch file
P shm shm 3 4K
P touch shm
expect /1/memory.stat rss 4096            # case 4: anon + file + shm
expect /1/memory.stat cache 8192
cat /1/memory.usage_in_bytes

## Cases 6-9: freeing uncharges (munmap; shmdt + IPC_RMID for shm).
P munmap anon
P munmap file
P shmdt shm
P shmrm shm
expect /1/memory.stat rss 0
expect /1/memory.stat cache 0

## Case 5: MAP_LOCKED fills the pages in at mmap time: rss and unevictable.
P mmap locked anon 4K locked
expect /1/memory.stat rss 4096
expect /1/memory.stat unevictable 4096
P exit
expect /1/memory.usage_in_bytes 0
rmdir /1

## Cases 22-28: limit_in_bytes rounds up to a page; "-1" is unlimited from 2.6.31;
## junk is refused with EINVAL (the error line below is expected).
mkdir /1
echo 4095 > /1/memory.limit_in_bytes
expect /1/memory.limit_in_bytes 4096
echo 4097 > /1/memory.limit_in_bytes
expect /1/memory.limit_in_bytes 8192
echo -1 > /1/memory.limit_in_bytes
expect /1/memory.limit_in_bytes 9223372036854775807
echo 1xx > /1/memory.limit_in_bytes
expect /1/memory.limit_in_bytes 9223372036854775807

## Cases 16 and 19: with no swap, anon pages cannot be reclaimed: over the limit
## the memcg OOM killer kills the process; one episode adds 6 to failcnt.
swapoff
echo 4096 > /1/memory.limit_in_bytes
spawn Q /1
Q mmap m anon 8K
Q touch m
expect Q killed
expect /1/memory.failcnt 6
expect /1/memory.usage_in_bytes 0
echo 0 > /1/memory.failcnt
expect /1/memory.failcnt 0

## Cases 29-30: force_empty is EBUSY while the group has a task (the error line
## below is expected); once the task has moved out it succeeds and the charge that
## could not be freed (anon, no swap) moves to the parent.
echo -1 > /1/memory.limit_in_bytes
spawn R /1
R mmap m anon 4K
R touch m
echo 1 > /1/memory.force_empty
R move /
echo 1 > /1/memory.force_empty
expect /1/memory.usage_in_bytes 0
expect /memory.stat rss 4096
cat /1/memory.stat

## Case 36: moving a task never moves its charges.
mkdir /1/subgroup
R move /1/subgroup
expect /1/subgroup/memory.usage_in_bytes 0
R exit
expect /memory.usage_in_bytes 0
rmdir /1/subgroup
rmdir /1

cat /proc/meminfo
sysrq m
check
