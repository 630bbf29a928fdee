"""Running cases: the runner and what it uses to measure (repeats, resources, the monitor,
the run lock, interrupts, resident data, references, targets, the environment record)."""
