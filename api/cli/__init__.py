"""The `citewise` command line: `main` builds the root command from one module per command group."""
