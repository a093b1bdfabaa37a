"""Generators that turn the plugin's own files, code and test results into reStructuredText."""
