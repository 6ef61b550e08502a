"""The model of the Linux 2.6.30/2.6.31 swap subsystem and memory controller (see README.md)."""
