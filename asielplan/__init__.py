"""asielplan: optimisation for the Dutch asylum chain.

Public API::

    from asielplan import read_instance, load_default_instance, compute_scheme
"""

from asielplan.errors import AsielplanWarning, ConfigError, InputError, Issue

__version__ = "0.1.0"

from asielplan.config import RunConfig, load_config
from asielplan.data.instance import (
    Instance,
    load_default_instance,
    read_instance,
    write_instance,
)
from asielplan.model.schemes import compute_scheme

__all__ = [
    "AsielplanWarning",
    "ConfigError",
    "InputError",
    "Instance",
    "Issue",
    "RunConfig",
    "__version__",
    "compute_scheme",
    "load_config",
    "load_default_instance",
    "read_instance",
    "write_instance",
]
