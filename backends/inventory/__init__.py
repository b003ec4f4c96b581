"""The inventory: which hosts Corral manages, read and edited in place.

What the layers above may import; everything else in this package is internal.
"""

from corral.backends.inventory.edit import add_host, check_new_name, remove_host
from corral.backends.inventory.host_entry import HostEntry, identity_path, parse_labels
from corral.backends.inventory.load import (
    ENV_INVENTORY,
    HostSpec,
    Inventory,
    default_inventory_path,
    load_inventory,
    local_inventory,
    locate_inventory,
)
from corral.backends.inventory.registries import (
    RegistryAuth,
    RegistryLogin,
    logins,
    read_registries,
)

__all__ = [
    "add_host",
    "check_new_name",
    "default_inventory_path",
    "ENV_INVENTORY",
    "HostEntry",
    "HostSpec",
    "identity_path",
    "Inventory",
    "load_inventory",
    "local_inventory",
    "locate_inventory",
    "logins",
    "parse_labels",
    "read_registries",
    "RegistryAuth",
    "RegistryLogin",
    "remove_host",
]
