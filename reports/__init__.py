"""Reports built from stored results files only: never an engine, never a run."""
