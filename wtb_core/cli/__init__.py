"""The ``wtb`` command line (typer + rich); the console script is ``wtb_core.cli.app:main``."""
