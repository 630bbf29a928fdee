"""Published results and reference pages: the docs site's generated pages.

* :mod:`~dmlbench.suites.publish.published`: what is published (one table);
* :mod:`~dmlbench.suites.publish.results_pages`: a stored run's page, and the index;
* :mod:`~dmlbench.suites.publish.reference_pages`: the command line, the suite-file keys
  and the record fields, from the parser, the spec and the record types;
* :mod:`~dmlbench.suites.publish.generate`: every generated page written, or checked
  against the docs (``dmlbench publish --check``), and runs older than the code they
  measure flagged.
"""
