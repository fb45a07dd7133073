"""Errors a user can act on. The CLI prints them as one line, without a traceback."""


class BertKerasError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class HandleError(BertKerasError):
    """An encoder handle (preset name, directory or URL) cannot be used."""


class ConversionError(BertKerasError):
    """A checkpoint cannot be converted to a TF-Hub encoder."""


class DataError(BertKerasError):
    """Bad input data. The message names the file, the line and the reason."""


class ClusterError(BertKerasError):
    """A multi-worker or TPU setup cannot be used: bad TF_CONFIG, no TPU, unshared storage."""
