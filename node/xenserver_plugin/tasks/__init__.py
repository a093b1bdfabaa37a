"""One module per Fuel task; each exposes main(argv) -> exit code."""
