"""Package data: the JSON Schemas the program reads at run time, shipped in the wheel."""
