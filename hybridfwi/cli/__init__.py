"""The ``hybridfwi`` command (the only importer of click): one module per command."""
