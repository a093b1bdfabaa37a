"""The plugin's documents: User Guide, Test Plan and Test Report (Sphinx), and their generators."""
