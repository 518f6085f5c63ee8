"""From a finished run or ensemble folder to a model applied outside training: ``almlit.predict``, ``almlit.export``."""
