"""Workloads, the runner and the ``dmlbench`` command line."""
