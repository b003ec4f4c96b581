"""Registry credentials: `registries:` in the inventory or the configuration file.

Keyed by the registry's address as image names spell it (`HOST` or `HOST:PORT`;
`docker.io` for Docker Hub)::

    registries:
      10.0.0.5:5000:
        username: deploy
        password_file: ~/.config/corral/registry.pw   # chmod 600; relative to this file
      registry.example.com:
        username: ci
        password_env: CORRAL_REGISTRY_PASSWORD

A password is never written in the file itself: `password_file` (a file only its
owner may read, refused otherwise, as OpenSSH refuses a private key) or
`password_env` (an environment variable). The files hold only where the secret
is; it is read when a pull needs it (`RegistryAuth.login()`), and what holds it
(`RegistryLogin`) never shows it in its repr. `insecure` is not Corral's to set:
plain-HTTP registries are the engine's `insecure-registries` (daemon.json).

A registry with no entry gets the operator's own Docker configuration, as
docker-py reads it (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`,
`credsStore`/`credHelpers`).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corral.backends.errors import RegistryCredentialsError
from corral.catalog.excerpt import quoted
from corral.catalog.yamlsource import Mapping

#: Docker Hub's other spellings; image names resolve them all to `docker.io`.
DOCKER_HUB_ALIASES = frozenset({"index.docker.io", "registry-1.docker.io",
                                "registry.hub.docker.com"})
_ADDRESS = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
                      r"(?::\d{1,5})?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_KEYS = ("username", "password_file", "password_env")
_WHY_NOT = {
    "password": "a password is not written in the file: use 'password_file' (a file "
                "only you may read: chmod 600) or 'password_env' (an environment variable)",
    "insecure": "plain-HTTP registries are the engine's setting ('insecure-registries' in "
                "each host's daemon.json), not Corral's",
}


def registry_address(text: str) -> str:
    """The address image names use for a registry (`docker.io` for Docker Hub's aliases)."""
    text = text.strip()
    return "docker.io" if text.lower() in DOCKER_HUB_ALIASES else text


@dataclass(frozen=True)
class RegistryLogin:
    """Credentials for one registry, read and ready to send (it holds the secret).

    Attributes:
        registry: The registry's address.
        username: The user name.
        password: The secret; never in the repr, a message or the audit trail.
        source: Where it came from (`FILE:LINE`), for messages.
    """

    registry: str
    username: str
    password: str = field(repr=False)
    source: str = ""

    def auth_config(self) -> dict[str, str]:
        """docker-py's `auth_config` (the engine's `X-Registry-Auth` fields)."""
        return {"username": self.username, "password": self.password,
                "serveraddress": self.registry}


@dataclass(frozen=True)
class RegistryAuth:
    """One `registries:` entry: who to log in as, and where the password is.

    Attributes:
        registry: The registry's address (`HOST[:PORT]`, `docker.io`).
        username: The user name.
        password_file: The file holding the password (absolute), or None.
        password_env: The environment variable holding it, or None.
        file: The file this entry is in.
        line: Its line there.
    """

    registry: str
    username: str
    password_file: str | None = None
    password_env: str | None = None
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        """`FILE:LINE` of this entry."""
        return f"{self.file}:{self.line}"

    def login(self) -> RegistryLogin:
        """Read the password now.

        Raises:
            RegistryCredentialsError: The password file is missing, unreadable,
                empty or readable by others, or the variable is unset or empty;
                naming this entry's file and line.
        """
        if self.password_file is not None:
            password = self._read_file(self.password_file)
        else:
            password = os.environ.get(self.password_env or "", "")
            if not password:
                raise self._fail(f"environment variable {self.password_env} is not set "
                                 "(it holds the password)")
        return RegistryLogin(self.registry, self.username, password, self.where)

    def _read_file(self, path: str) -> str:
        problem = password_file_problem(path)
        if problem:
            raise self._fail(problem)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read(64 * 1024)
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise self._fail(f"cannot read password file {path}: {reason}") from None
        password = text.rstrip("\r\n")  # `echo secret > file` adds one
        if not password:
            raise self._fail(f"password file {path} is empty")
        return password

    def _fail(self, message: str) -> RegistryCredentialsError:
        return RegistryCredentialsError(f"registry {self.registry}: {message}",
                                        file=self.file, line=self.line)


def password_file_problem(path: str | os.PathLike[str]) -> str | None:
    """Why a password file is refused, or None: missing, not a file, or others may
    read or write it (like OpenSSH's check of a private key)."""
    try:
        info = os.stat(path)
    except OSError:
        return f"password file {path} not found"
    if not stat.S_ISREG(info.st_mode):
        return f"password file {path} is not a file"
    if info.st_mode & 0o077:
        return (f"password file {path} has permissions {stat.S_IMODE(info.st_mode):04o}: "
                f"others may read it; run chmod 600 {path}")
    return None


def read_registries(node: Any, file: str | os.PathLike[str], line: int) -> dict[str, RegistryAuth]:
    """Check a `registries:` mapping from a YAML file and turn it into entries.

    Structure and the password file (present, mode 0600) are checked here; the
    secret itself is read only by `RegistryAuth.login()`.

    Args:
        node: The value of `registries:` (a `yamlsource.Mapping`, or anything
            else, which is an error).
        file: The file it is in; relative password files are read from its folder.
        line: The line of the `registries:` key.

    Returns:
        Registry address -> entry.

    Raises:
        RegistryCredentialsError: Naming file and line, for the first problem.
    """
    file = str(file)

    def fail(message: str, at: int) -> RegistryCredentialsError:
        return RegistryCredentialsError(message, file=file, line=at)

    if node is None:
        return {}
    if not isinstance(node, Mapping):
        raise fail("'registries' must map registry addresses (HOST[:PORT]) to "
                   "'username' and 'password_file' or 'password_env'", line)
    entries: dict[str, RegistryAuth] = {}
    for key, value in node.items():
        at = node.line_of(key)
        if not isinstance(key, str) or not _ADDRESS.match(key.strip()):
            raise fail(f"registry {quoted(key)}: not a registry address as image names "
                       "spell it (HOST or HOST:PORT, no scheme or path)", at)
        address = registry_address(key)
        if address in entries:
            raise fail(f"registry {address} is listed twice (first at line "
                       f"{entries[address].line})", at)
        entries[address] = _entry(address, value, file, at, fail)
    return entries


def _entry(address: str, value: Any, file: str, at: int, fail) -> RegistryAuth:
    what = f"registry {address}"
    if not isinstance(value, Mapping):
        raise fail(f"{what}: needs 'username' and 'password_file' or 'password_env'", at)
    for key in value:
        if key in _WHY_NOT:
            raise fail(f"{what}: {quoted(key)} is not accepted: {_WHY_NOT[key]}",
                       value.line_of(key))
        if key not in _KEYS:
            raise fail(f"{what}: unknown key {quoted(key)} (expected: {', '.join(_KEYS)})",
                       value.line_of(key))
    username = value.get("username")
    if not isinstance(username, str) or not username.strip():
        raise fail(f"{what}: 'username' must be a non-empty text",
                   value.line_of("username") if "username" in value else at)
    given = [key for key in ("password_file", "password_env") if key in value]
    if len(given) != 1:
        raise fail(f"{what}: give exactly one of 'password_file' and 'password_env'",
                   max(value.line_of(key) for key in given) if given else at)
    (key,) = given
    text = value[key]
    if not isinstance(text, str) or not text.strip():
        raise fail(f"{what}: {quoted(key)} must be a non-empty text", value.line_of(key))
    if key == "password_env":
        if not _ENV_NAME.match(text):
            raise fail(f"{what}: 'password_env' must name an environment variable "
                       "(letters, digits, '_')", value.line_of(key))
        return RegistryAuth(address, username.strip(), password_env=text, file=file, line=at)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = Path(file).parent / path
    problem = password_file_problem(path)
    if problem:
        raise fail(f"{what}: {problem}", value.line_of(key))
    return RegistryAuth(address, username.strip(), password_file=str(path), file=file, line=at)


def logins(entries: dict[str, RegistryAuth] | None,
           registries: Iterable[str]) -> dict[str, RegistryLogin]:
    """Read the passwords of the entries for `registries` (others are left unread).

    Args:
        entries: Registry address -> entry (the inventory's and the config's merged).
        registries: The registries about to be pulled from.

    Returns:
        Registry address -> login, for those that have an entry.

    Raises:
        RegistryCredentialsError: A password cannot be read (file and line named).
    """
    entries = entries or {}
    return {address: entries[address].login()
            for address in dict.fromkeys(registries) if address in entries}
