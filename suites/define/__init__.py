"""What a suite can name and how it is read: suite files (TOML) expanded into cases, the
algorithms and datasets they name, the built-in suite files."""
