"""Helpers shared by the test modules: files, run folders, reference computations and ways to run the commands.

Test modules import from here, never from another test module or a ``conftest.py`` (which hold fixtures only);
``tests/test_suite_layout.py`` checks it.
"""
