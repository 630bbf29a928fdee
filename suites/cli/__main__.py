"""``python -m dmlbench.suites.cli``: the ``dmlbench`` command, unsupervised (the console
script, :mod:`~dmlbench.suites.cli.console`, also supervises ``dmlbench run``)."""

import sys

from dmlbench.suites.cli.commands import main

if __name__ == "__main__":
    sys.exit(main())
