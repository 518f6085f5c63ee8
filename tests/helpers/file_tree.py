"""The state of every file in a folder, to show that a command left them alone."""

import hashlib


def file_states(folder):
    """Every file under ``folder``: its bytes' hash and its modification time."""
    return {
        path.relative_to(folder): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
