"""What a suite is, how it runs, what it is compared with, side benchmarks, and the
``dmlbench`` command line, each in a room of its own: ``define``, ``run``, ``natives``,
``bench``, ``cli``."""
