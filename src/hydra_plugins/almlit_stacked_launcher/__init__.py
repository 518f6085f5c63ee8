"""almlit's Hydra launcher plugin (``hydra/launcher=stacked``): Hydra instantiates launchers from the
``hydra_plugins`` namespace package only; the work is done by :mod:`almlit.stacking.launcher`."""
