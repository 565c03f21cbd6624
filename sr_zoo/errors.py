"""The errors the command-line tools turn into one line and an exit code (see :mod:`sr_zoo.cli`).

Defined here, at the bottom of the package, so that a library module can raise them and
:mod:`sr_zoo.cli` can catch them without either importing the other's layer:

* :class:`UsageError` (and :class:`FlagError`): the user asked for something that cannot work, exit 2;
* :class:`Failure`: the work itself failed, exit 1;
* :class:`ToolFailure`: mixed into an error a library module defines where it arises
  (``sr_zoo.training.TrainingError``, ``sr_zoo.pretrained.IntegrityError``) to make the tools
  report it as a failure (exit 1), its ``prefix`` before the message, whatever its builtin base.
"""


class UsageError(ValueError):
    """The user asked for something that cannot work (flag, argument, input path): exit 2."""


class FlagError(UsageError):
    """A flag's value is wrong; the message names the flag."""


class Failure(RuntimeError):
    """The work itself failed (a conversion, a corrupt shipped file): exit 1."""


class ToolFailure:
    """Mixin: a library error that the command-line tools report as a failure while running (exit 1).

    ``prefix`` goes before the message (``"training stopped: "``).
    """

    prefix = ""


__all__ = ["UsageError", "FlagError", "Failure", "ToolFailure"]
