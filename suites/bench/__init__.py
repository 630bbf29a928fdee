"""Side benchmarks: the protocol round (``overhead``), our kernels against scikit-learn's
(``kernels``) and this machine's limits (``limits``)."""
