"""The exceptions deltaprop raises for bad files and data, and its one warning.

Every exception is a ``ValueError`` (or ``OSError``) as well, so that ``except ValueError`` keeps
working; the command line turns each into one line on stderr and exit code 2.
``UnscaledInputWarning`` is the warning ``deltaprop.fit`` gives once per call for inputs far beyond
[0, 1]; silence it with ``fit(..., warn_unscaled=False)`` or
``warnings.simplefilter("ignore", UnscaledInputWarning)``.
"""


class DeltapropError(Exception):
    """Base class of deltaprop's own exceptions."""


class DataFormatError(DeltapropError, ValueError):
    """A data file (IDX, .npz, .csv) is malformed: truncated, wrong magic, lying header, bad cells."""


class ModelFormatError(DeltapropError, ValueError):
    """A model or checkpoint file is malformed, truncated, of a newer format, or lies about shapes."""


class DownloadError(DeltapropError, OSError):
    """A dataset could not be downloaded or failed its checksum; the message says where to put it."""


class TrainingDivergedError(DeltapropError, FloatingPointError):
    """The cost or the parameters became NaN or infinite during training."""


class TrainingInterrupted(DeltapropError):
    """Training stopped on request (Ctrl-C, SIGTERM) after a mini-batch; a checkpoint was saved.

    Attributes:
        checkpoint_dir: the directory holding the checkpoint to resume from.
    """

    def __init__(self, message: str, checkpoint_dir: str) -> None:
        super().__init__(message)
        self.checkpoint_dir = checkpoint_dir


class UnscaledInputWarning(UserWarning):
    """The training inputs reach far beyond [0, 1] (largest |x| above 10 and mean |x| above 1, as
    raw pixels 0..255 or the digits' 0..16): sigmoid units saturate and training is slow and poor.
    The message names the range found; scale the inputs (e.g. X / X.max()) or standardize them."""
