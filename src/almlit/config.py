"""Where the Hydra configuration lives (kept free of heavy imports, so light entry points stay fast)."""

from pathlib import Path

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "conf")
