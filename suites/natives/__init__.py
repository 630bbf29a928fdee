"""Native comparators: what each engine ships for the same job, one module per library
(``scikit_learn``, ``dask_ml``, ``mllib``) behind the interface and table of ``comparator``."""
