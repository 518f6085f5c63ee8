"""almlit: Augmented Lagrangian training for critical, under-represented classes."""

import warnings

__version__ = "0.1.0"

# Lightning 2.6 calls a torch function that torch >= 2.10 deprecates, once per fit, validation and test: every command
# would print this line about code that is neither the user's nor almlit's (lightning/pytorch/utilities/_pytree.py).
warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=Warning)
