"""The backend layer's error tree.

asyncssh, docker-py and OS exceptions never leave `corral.backends`: they are
translated into one of these (most of them by `translate.py`; the SSH modules
also catch the few asyncssh exceptions they act on), each with a short `title`
the console can show and a message that names the host. Nothing here imports
an I/O library, so the pure planner can raise these.
"""

from __future__ import annotations

from corral.catalog.errors import CorralError
from corral.catalog.excerpt import clip_message


class BackendError(CorralError):
    """Base of every error raised by `corral.backends`.

    Args:
        message: What went wrong, without the host name.
        host: The inventory name of the host concerned, if any.
    """

    title = "Backend error"
    #: Whether reconnecting later may help (a refused host key will not).
    retryable = True

    def __init__(self, message: str, *, host: str | None = None):
        super().__init__(message)
        self.host = host

    def __str__(self) -> str:
        return f"{self.host}: {self.message}" if self.host else self.message


class InventoryError(BackendError):
    """The inventory file is missing, malformed or inconsistent."""

    title = "Inventory error"
    retryable = False
    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        # Messages quote the file's text: one line, bounded.
        super().__init__(clip_message(message))
        self.file = file
        self.line = line

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class SameEngine(InventoryError):
    """Two inventory hosts reach one Docker engine (one `docker info` ID).

    Corral would count that engine's containers twice and "correct" the
    copies it imagines: while this stands, nothing is changed anywhere.

    Args:
        message: Which hosts, and what to do.
        hosts: The inventory names sharing the engine, the first one first.
    """

    title = "One engine, two hosts"

    def __init__(self, message: str, *, hosts: tuple[str, ...] = ()):
        super().__init__(message)
        self.hosts = hosts


class UnknownHost(BackendError):
    """A host name that the inventory does not list."""

    title = "Unknown host"
    retryable = False
    exit_code = 2


class HostUnreachable(BackendError):
    """No SSH connection could be made, or an established one dropped."""

    title = "Host unreachable"


class AuthFailed(BackendError):
    """The SSH server refused every credential offered."""

    title = "Authentication failed"
    retryable = False


class UnprotectedKey(AuthFailed):
    """A private key file others may read: refused, as OpenSSH refuses it."""

    title = "Unprotected private key"


class HostKeyUnknown(BackendError):
    """The host presented a key that known_hosts does not list.

    Attributes:
        fingerprint: SHA256 fingerprint of the presented key, for an explicit
            accept.
    """

    title = "Unknown host key"
    retryable = False

    def __init__(self, message: str, *, host: str | None = None, fingerprint: str = ""):
        super().__init__(message, host=host)
        self.fingerprint = fingerprint


class HostKeyChanged(HostKeyUnknown):
    """The host presented a key other than the one known_hosts lists."""

    title = "HOST KEY CHANGED"


class TunnelRefused(BackendError):
    """The SSH server refused to reach the Docker socket by any means."""

    title = "Tunnel refused"


class DockerUnavailable(BackendError):
    """The host is reachable but its Docker engine is not answering."""

    title = "Docker unavailable"


class HostOffline(BackendError):
    """The host's session is not online right now."""

    title = "Host offline"


class DockerApiError(BackendError):
    """The engine answered with an error.

    Attributes:
        status: The HTTP status code the engine returned, if any.
    """

    title = "Docker error"
    retryable = False

    def __init__(self, message: str, *, host: str | None = None, status: int | None = None):
        super().__init__(message, host=host)
        self.status = status


class RegistryUnreachable(BackendError):
    """The host's engine cannot reach the registry an image lives in.

    Raised fast (seconds), from the engine's own error (refused, no route, no
    such host) or because the registry did not answer in time (a firewall
    dropping packets), so that a caller can fall back to pushing the image.

    Attributes:
        registry: The registry's address (`docker.io`, `10.0.0.5:5000`).
    """

    title = "Registry unreachable"

    def __init__(self, message: str, *, host: str | None = None, registry: str = ""):
        super().__init__(clip_message(message), host=host)
        self.registry = registry


class RegistryDenied(BackendError):
    """A registry refused a pull for want of credentials, or refused the ones sent.

    Distinct from `RegistryUnreachable`: the registry answered, so pushing the
    image instead would hide a wrong password; the operator fixes the credentials.

    Attributes:
        registry: The registry's address.
        image: The image, as the message names it (without the registry).
        source: Where the refused credentials came from (`FILE:LINE` of a
            `registries:` entry, the Docker configuration file), or "" when none
            were sent.
    """

    title = "Registry login refused"
    retryable = False

    def __init__(self, message: str, *, host: str | None = None, registry: str = "",
                 image: str = "", source: str = ""):
        super().__init__(clip_message(message), host=host)
        self.registry = registry
        self.image = image
        self.source = source


class RegistryCredentialsError(InventoryError):
    """A `registries:` entry is wrong, or its password cannot be read (a password
    file others may read, an unset environment variable); names file and line.
    Also: the operator's Docker credential helper failed."""

    title = "Registry credentials"


class ActionRefused(BackendError):
    """Corral itself refuses a change (read-only mode, a volume in use…)."""

    title = "Refused"
    retryable = False


class BadArchive(BackendError):
    """A tar file Corral will not put into a volume (unreadable, or a member escapes).

    Attributes:
        file: The file, named first in the message.
    """

    title = "Bad archive"
    retryable = False
    exit_code = 2

    def __init__(self, message: str, *, file: str):
        super().__init__(message)
        self.file = file

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


class NotFound(DockerApiError):
    """The engine does not know the object asked for."""

    title = "Not found"


class PlanError(BackendError):
    """No placement satisfies a stack's hard rules; nothing was changed.

    Attributes:
        reasons: For each replica that found no host (`service #index` or
            `service (global)`), each host and the rule that excluded it.
    """

    title = "Cannot place"
    retryable = False

    def __init__(self, message: str, reasons: dict[str, dict[str, str]] | None = None):
        super().__init__(message)
        self.reasons = reasons or {}

    def __str__(self) -> str:
        lines = [self.message]
        for replica, hosts in self.reasons.items():
            lines.append(f"  {replica}:")
            lines.extend(f"    {host}: {why}" for host, why in hosts.items())
        return "\n".join(lines)


class PreflightError(BackendError):
    """A host lacks what a deploy needs (images, free ports, volumes); nothing was changed.

    Attributes:
        problems: Per host, what is missing.
    """

    title = "Preflight failed"
    retryable = False

    def __init__(self, message: str, problems: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.problems = problems or {}

    def __str__(self) -> str:
        lines = [self.message]
        for host, items in self.problems.items():
            lines.extend(f"  {host}: {item}" for item in items)
        return "\n".join(lines)


class UnknownStack(BackendError):
    """No online host knows a stack (or service) of that name; or a scale makes no sense."""

    title = "Unknown stack"
    retryable = False
    exit_code = 2


class DeployError(BackendError):
    """A deploy step failed on a host after changes began; re-running converges."""

    title = "Deploy failed"
    retryable = False


class UpgradePending(DeployError):
    """The stack's last upgrade awaits confirm or rollback; nothing was changed.

    A new deploy or upgrade must wait: settling that upgrade comes first.
    """


class StackBusy(BackendError):
    """Another Corral process (or thread) holds the stack's lease; nothing was changed.

    The message names the holder, its operation, the host the lease was found
    on and since when (see `backends/deploy/lease.py`).
    """

    title = "Stack busy"
    retryable = False



class ImagePushError(BackendError):
    """An image could not be pushed onto a host; no half-loaded image is left tagged there."""

    title = "Image push failed"
    retryable = False


class PushSourceMissing(ImagePushError):
    """The source (engine or file) has no image of that name."""

    title = "Image not at the source"


class PushSourceFailed(ImagePushError):
    """Reading the image archive from the source failed mid-way; nothing was loaded."""

    title = "Image source failed"
    retryable = True


class ImageArchiveError(PushSourceFailed):
    """The source's image archive is not a tar Corral can read (or is truncated)."""

    title = "Bad image archive"
    retryable = False


class PushLinkLost(ImagePushError):
    """The connection to the target dropped during the push; nothing was loaded,
    and a re-run sends only what the target still lacks."""

    title = "Push interrupted"
    retryable = True


class PushRejected(ImagePushError):
    """The target's engine refused the image archive, the full one included."""

    title = "Image load refused"


class PushIdMismatch(ImagePushError):
    """The image loaded on the target has another ID than the source's; it was removed."""

    title = "Image ID mismatch"


class BundleError(ImageArchiveError):
    """A bundle file is unreadable, truncated, corrupted or unsafe; the message names
    the file and, when one is at fault, the member."""

    title = "Bad bundle"
    retryable = False
    exit_code = 1


class SwarmError(BackendError):
    """A swarm verb cannot go ahead (quorum, the last manager, a host in another swarm)."""

    title = "Swarm"
    retryable = False
    exit_code = 1


class ProvisionError(BackendError):
    """A host cannot be provisioned: an unsupported distribution, sudo that wants a
    password, a package manager or engine that failed (one line naming the host)."""

    title = "Provision"
    retryable = False
    exit_code = 1
