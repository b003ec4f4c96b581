"""The inventory: which hosts Corral manages, read and edited in place.

What the layers above may import; everything else in this package is internal.
"""

from typing import TYPE_CHECKING

from corral.catalog.lazy import lazy_names

#: Each public name -> the module defining it. Names load on first use (PEP 562):
#: `corral --help` reads `default_inventory_path` without loading YAML code.
_HOMES = {
    "ENV_INVENTORY": "load",
    "HostEntry": "host_entry",
    "HostSpec": "load",
    "Inventory": "load",
    "RegistryAuth": "registries",
    "RegistryLogin": "registries",
    "add_host": "edit",
    "check_new_name": "edit",
    "default_inventory_path": "paths",
    "identity_path": "host_entry",
    "load_inventory": "load",
    "local_inventory": "load",
    "locate_inventory": "load",
    "logins": "registries",
    "parse_labels": "host_entry",
    "read_registries": "registries",
    "remove_host": "edit",
}

if TYPE_CHECKING:
    from corral.backends.inventory.edit import add_host, check_new_name, remove_host
    from corral.backends.inventory.host_entry import HostEntry, identity_path, parse_labels
    from corral.backends.inventory.load import (
        ENV_INVENTORY,
        HostSpec,
        Inventory,
        load_inventory,
        local_inventory,
        locate_inventory,
    )
    from corral.backends.inventory.paths import default_inventory_path
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


__getattr__ = lazy_names(__name__, _HOMES)
