"""almlit: Augmented Lagrangian training for critical, under-represented classes."""

__version__ = "0.1.0"
