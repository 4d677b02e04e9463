"""Compiled Cython modules, built by setup.py from the sources in the top-level _core/ folder."""
