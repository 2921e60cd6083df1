"""The errors a user sees: invalid input and unreadable models.

Both are :class:`ValueError` subclasses whose message is meant for the user as is (one line); the
command line prints it and exits with code 2. Every layer of the package raises these two, so a
caller can catch them with ``isinstance`` whatever module raised them.
"""


class ConfigError(ValueError):
    """Invalid user input; the message is meant for the user as is."""


class ModelError(ValueError):
    """The model cannot be read as a ReLU MLP; the message (one line) names the layer."""
