"""The ``cox`` subcommands, one module per command (or family of commands)."""
