"""``make demo`` names the machine its numbers come from, and the README's Quick start names the one it shows."""

import os
import re
import shutil
import subprocess

import pytest
import torch

from almlit.demo import machine
from tests.helpers.commands import REPO_ROOT


@pytest.mark.skipif(shutil.which("lscpu") is None or torch.cuda.is_available(), reason="needs lscpu and no GPU")
def test_the_machine_line_names_the_cpu_as_lscpu_and_the_torch_version():
    environment = {**os.environ, "LC_ALL": "C"}
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, env=environment, check=True).stdout
    model = re.search(r"^Model name:\s*(.+)$", lscpu, re.MULTILINE).group(1).strip()
    assert machine() == f"{model}, torch {torch.__version__}, CPU kernels {torch.backends.cpu.get_cpu_capability()}"


def test_the_quick_start_names_its_machine_and_says_what_repeats():
    readme = (REPO_ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    line = re.search(r"^machine: (.+), torch (\d+\.\d+\.\d+\S*), CPU kernels (\w+) \(", quick_start, re.MULTILINE)
    assert line is not None
    model, version, _ = line.groups()
    text = " ".join(quick_start.split())
    assert f'`lscpu` model name "{model}"' in text and f"PyTorch {version}" in text
    assert "reproducible on one machine, not across CPU models" in text
