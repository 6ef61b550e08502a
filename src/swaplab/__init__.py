"""swaplab: an executable model of Linux 2.6.30/2.6.31 swap and memory-cgroup accounting."""

__version__ = "0.1.0"
