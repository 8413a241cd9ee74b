"""One exception root for everything limecli raises on purpose.

Each subclass carries the process exit code the CLI uses for it, so the
mapping from failure to exit status lives in one place (see docs/errors.md).
"""

from __future__ import annotations

from collections.abc import Sequence


class LimeCliError(Exception):
    """Root of every error limecli raises deliberately.

    ``parameters``: the library parameters the message names, each written in
    it as ``'name'`` (e.g. ``"The 'num_samples' parameter must be ..."``). The
    library speaks of parameters; the CLI rewrites those names into the flags
    a user typed (:func:`limecli.cli.cli_message`).
    """

    exit_code = 1

    def __init__(self, message: str = "", *, parameters: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.parameters = tuple(parameters)

    def __reduce__(self) -> tuple:  # keep ``parameters`` across processes (batch workers)
        return (_rebuild, (type(self), str(self), self.parameters))


class ParameterError(LimeCliError, ValueError):
    """An option or argument has an invalid value (checked before any work)."""

    exit_code = 2


class InputDataError(LimeCliError):
    """The data to explain cannot be read or does not fit the model."""

    exit_code = 3


class ModelLoadError(LimeCliError):
    """The model file or predict-script entrypoint cannot be loaded or used."""

    exit_code = 4


class PredictorError(LimeCliError):
    """Calling the model failed."""

    exit_code = 5


class PredictorCallError(PredictorError):
    """The model raised an exception when called."""


class PredictorOutputError(PredictorError):
    """The model returned something of the wrong type, shape or values."""


class OutputWriteError(LimeCliError):
    """An output cannot be written: a missing or read-only folder, no permission, a full
    disk, a name too long for the file system, a target that is not a file."""

    exit_code = 7


class MissingExtraError(LimeCliError, ImportError):
    """An optional dependency of a Python-only feature (``Explanation.plot``) is not installed;
    the message names the extra that installs it. (Missing model frameworks are
    :class:`ModelLoadError`, exit 4.)"""


class BatchInputsFailed(LimeCliError):
    """A batch ran to the end but some inputs failed; each has an error record in the output."""

    exit_code = 6


class ModelVersionWarning(UserWarning):
    """The model was pickled with a different library version than the one installed."""


class FlatOutputWarning(UserWarning):
    """The model's output for an explained label does not vary: there is nothing to explain."""


#: Exit codes, documented in docs/errors.md and docs/cli.md, and tested.
EXIT_CODES = {
    0: "success",
    1: "unexpected failure",
    2: "invalid option or argument (usage error)",
    3: "input data cannot be read or does not fit the model",
    4: "model cannot be loaded or has no usable predict method",
    5: "the model failed or returned unusable output when called",
    6: "a batch finished but some inputs failed (each has an error record in the output)",
    7: "an output cannot be written (folder missing or read-only, no permission, disk full)",
    130: "interrupted (Ctrl-C)",
    143: "terminated (SIGTERM, as schedulers send)",
    141: "stdout was closed early by its reader (e.g. `| head`); stopped quietly",
}

#: Exit code when the reader of stdout goes away (128 + SIGPIPE, as other tools).
EXIT_BROKEN_PIPE = 141


def _rebuild(cls: type[LimeCliError], message: str, parameters: tuple[str, ...]) -> LimeCliError:
    return cls(message, parameters=parameters)
