"""The ``dmlbench`` command line: the console script (``console``) and its commands
(``commands``)."""
