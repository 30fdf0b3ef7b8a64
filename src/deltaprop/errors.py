"""The exceptions deltaprop raises for bad files and data.

Every one is a ``ValueError`` (or ``OSError``) as well, so that ``except ValueError`` keeps working;
the command line turns each into one line on stderr and exit code 2.
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
