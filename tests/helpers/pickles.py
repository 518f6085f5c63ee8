"""A pickle that runs code when it is loaded: what a malicious data file or checkpoint holds."""

import os


class RunsCode:
    """Unpickling this runs ``command`` in a shell (``os.system``): what a malicious data file or checkpoint does."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple:
        return os.system, (self.command,)
