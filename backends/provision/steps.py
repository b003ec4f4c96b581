"""What `corral hosts provision` does on a host, step by step, idempotently.

`survey` looks (read-only) and plans: each `Step` says what it saw, whether it
is needed and the exact commands it would run, so `--dry-run` prints them and
a second run finds nothing to do. `apply` runs one step, re-reading what it
depends on first (a step after an install sees the installed package).
`recheck` is the hook that runs after the steps: it re-checks what they
changed (the doctor, `corral hosts doctor`, re-runs its own checks there).
"""

from __future__ import annotations

import asyncio
import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path

from corral.backends.errors import ProvisionError
from corral.backends.images import member_chunks
from corral.backends.provision import daemon_json
from corral.backends.provision.distro import Distro, detect
from corral.backends.provision.packages import PackageBundle, check_distro, choose
from corral.backends.provision.remote import Remote

SOCKET = "/var/run/docker.sock"
PIDFILE = "/var/run/docker.pid"
GROUP = "docker"
#: Seconds a started engine has to answer.
ENGINE_START_TIMEOUT = 60.0
QUERY_INSTALLED = "dpkg-query -W -f='${Package}\\t${db:Status-Abbrev}\\t${Provides}\\n'"


@dataclass
class Step:
    """One provisioning step.

    Attributes:
        id: `package`, `daemon-json`, `engine`, `restart` or `group`.
        title: What it sees to.
        seen: What the host has now.
        needed: Whether it would change anything.
        commands: The commands it runs on the host, as they run (sudo shown).
        question: A question of its own (restart, group), asked before it runs.
        detail: Lines shown under it (the daemon.json it writes, running containers).
    """

    id: str
    title: str
    seen: str
    needed: bool
    commands: list[str] = field(default_factory=list)
    question: str | None = None
    detail: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"id": self.id, "title": self.title, "seen": self.seen,
                "needed": self.needed, "commands": self.commands}


@dataclass
class Survey:
    """What provisioning found on a host, and its plan."""

    host: str
    user: str
    distro: Distro
    systemd: bool
    steps: list[Step]
    daemon_text: str = ""

    @property
    def needed(self) -> list[Step]:
        return [step for step in self.steps if step.needed]

    def step(self, ident: str) -> Step:
        return next(step for step in self.steps if step.id == ident)


@dataclass(frozen=True)
class Check:
    """One re-check after provisioning."""

    name: str
    ok: bool
    seen: str

    def to_dict(self) -> dict:
        return {"name": self.name, "ok": self.ok, "seen": self.seen}


def shown(remote: Remote, command: str) -> str:
    """A command as the operator reads it: `sudo -n` in front for a non-root user."""
    return command if remote.user == "root" else f"sudo -n {command}"


async def survey(remote: Remote, registries: tuple[str, ...] = (),
                 bundle: PackageBundle | None = None) -> Survey:
    """Look at the host (changing nothing) and plan every step."""
    release = await remote.run("cat /etc/os-release", sudo=False)
    if not release.ok:
        raise ProvisionError("no /etc/os-release: cannot tell the distribution",
                             host=remote.name)
    distro = detect(release.out, remote.name)
    systemd = (await remote.run("test -d /run/systemd/system", sudo=False)).ok
    plan = Survey(remote.name, remote.user, distro, systemd, [])
    package = distro.family.packages[0]
    version = await _installed_version(remote, distro, package)
    plan.steps.append(await _package_step(remote, distro, version, bundle))

    current_text = (await remote.run(f"cat {daemon_json.PATH} 2>/dev/null")).out
    current = daemon_json.parse(current_text, remote.name)
    wanted = daemon_json.merged(current, registries)
    plan.daemon_text = daemon_json.render(wanted)
    write = wanted != current
    commands = [shown(remote, "mkdir -p /etc/docker")]
    stamp = time.strftime("%Y%m%dT%H%M%S")
    if current_text.strip():
        commands.append(shown(remote, f"cp -p {daemon_json.PATH} "
                                      f"{daemon_json.PATH}.corral-{stamp}"))
    commands.append(shown(remote, _write_command()) + "   (the JSON below on stdin)")
    seen = "as Corral needs (log rotation, live-restore)" if not write else (
        "missing" if not current_text.strip() else "lacks " + ", ".join(
            key for key in wanted if wanted[key] != current.get(key)))
    plan.steps.append(Step(
        "daemon-json", f"engine settings in {daemon_json.PATH}", seen, write,
        commands if write else [], detail=plan.daemon_text.splitlines() if write else []))

    running = await _engine_answers(remote)
    start = "systemctl enable --now docker.service" if systemd else "service docker start"
    plan.steps.append(Step(
        "engine", "the Docker engine running", "answers" if running else "not running",
        not running, [shown(remote, start)] if not running else []))

    restart = running and (write or await _restart_pending(remote))
    containers = await _running_containers(remote) if restart else []
    again = "systemctl restart docker.service" if systemd else "service docker restart"
    plan.steps.append(Step(
        "restart", "the engine runs with those settings",
        "restart needed to apply them" if restart else "yes", restart,
        [shown(remote, again)] if restart else [],
        question=(f"Restart the Docker engine on {remote.name} to apply {daemon_json.PATH}? "
                  + (f"Running containers ({len(containers)}): {', '.join(containers)}; "
                     "without live-restore active yet they stop and restart with their "
                     "restart policy." if containers else "No container is running."))
        if restart else None,
        detail=[f"running: {name}" for name in containers]))

    if remote.user == "root":
        plan.steps.append(Step("group", "the SSH user can use the engine's socket",
                               "root", False))
    else:
        groups = (await remote.run(f"id -nG {shlex.quote(remote.user)}", sudo=False)).out
        member = GROUP in groups.split()
        plan.steps.append(Step(
            "group", f"{remote.user} in the {GROUP} group (the engine's socket)",
            "member" if member else "not a member", not member,
            [] if member else [shown(remote, _group_command(remote.user))],
            question=None if member else (
                f"Add {remote.user} to the {GROUP} group on {remote.name}? Members can use "
                "the engine's socket: that is root-equivalent on the host.")))
    return plan


def _write_command() -> str:
    new = f"{daemon_json.PATH}.corral-new"
    return f"sh -c 'cat > {new} && chmod 644 {new} && mv {new} {daemon_json.PATH}'"


def _group_command(user: str) -> str:
    return (f"sh -c 'getent group {GROUP} >/dev/null || groupadd --system {GROUP}; "
            f"usermod -aG {GROUP} {shlex.quote(user)}'")


async def _installed_version(remote: Remote, distro: Distro, package: str) -> str | None:
    if distro.family.manager == "apt":
        result = await remote.run(
            f"dpkg-query -W -f='${{db:Status-Abbrev}} ${{Version}}' {package}", sudo=False)
        status, _, version = result.out.partition(" ")
        return version.strip() if result.ok and status.startswith("ii") else None
    result = await remote.run(f"rpm -q --qf '%{{VERSION}}' {package}", sudo=False)
    return result.out.strip() if result.ok else None


async def _package_step(remote: Remote, distro: Distro, version: str | None,
                        bundle: PackageBundle | None) -> Step:
    family = distro.family
    title = f"Docker Engine from {distro.pretty}'s packages ({' '.join(family.packages)})"
    if version is not None:
        return Step("package", title, f"{family.packages[0]} {version} installed", False)
    other = await remote.run("command -v dockerd")  # sudo's PATH has the sbin folders
    if other.ok and other.out.strip():
        # Docker CE or a hand-made install: another package would conflict with it.
        return Step("package", title, f"{other.out.strip()} present from another source: "
                    "left alone", False)
    if bundle is not None:
        if not family.bundles:
            raise ProvisionError(f"package bundles hold .debs; {distro.pretty} does not "
                                 "install them", host=remote.name)
        check_distro(bundle, distro.codename, remote.name)
        debs = choose(bundle, await _installed_names(remote), remote.name)
        size = sum(bundle.bundle.expected[deb.member][0] for deb in debs)
        folder = "/var/tmp/corral-packages.XXXXXX"
        files = " ".join(f"{folder}/{Path(deb.member).name}" for deb in debs)
        return Step("package", title + f", offline from {bundle.bundle.path.name}",
                    "not installed", True, [
                        f"mktemp -d {folder}",
                        f"copy {len(debs)} package(s), {size >> 20} MiB, into that folder: "
                        + " ".join(deb.package for deb in debs),
                        shown(remote, f"env DEBIAN_FRONTEND=noninteractive dpkg -i {files}"),
                        f"rm -rf {folder}"])
    if family.manager == "apt":
        commands = ["apt-get update -q",
                    "env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                    f"--no-install-recommends {' '.join(family.packages)}"]
    else:
        commands = [f"{family.manager} install -y {' '.join(family.packages)}"]
    return Step("package", title, "not installed", True, [shown(remote, c) for c in commands])


async def _installed_names(remote: Remote) -> set[str]:
    """Installed packages and the names they provide."""
    result = await remote.run(QUERY_INSTALLED, sudo=False)
    names: set[str] = set()
    for line in result.out.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[1].startswith("ii"):
            names.add(parts[0])
            if len(parts) > 2:
                names.update(p.strip().split(" ")[0] for p in parts[2].split(",") if p.strip())
    return names


async def _engine_answers(remote: Remote) -> bool:
    result = await remote.run("docker version --format '{{.Server.Version}}'", timeout=20)
    return result.ok and bool(result.out.strip())


async def _restart_pending(remote: Remote) -> bool:
    """daemon.json changed after the engine started (it writes its pidfile then)."""
    result = await remote.run(f"stat -c %Y {daemon_json.PATH} {PIDFILE}")
    times = result.out.split()
    return result.ok and len(times) == 2 and int(times[0]) > int(times[1])


async def _running_containers(remote: Remote) -> list[str]:
    result = await remote.run("docker ps --format '{{.Names}}'", timeout=20)
    return result.out.split() if result.ok else []


async def apply(remote: Remote, plan: Survey, step: Step,
                bundle: PackageBundle | None = None) -> None:
    """Run one planned step.

    Raises:
        ProvisionError: A command failed (named, with its last line of output).
    """
    if step.id == "package":
        await _install(remote, plan, bundle)
    elif step.id == "daemon-json":
        await remote.must("mkdir -p /etc/docker")
        if (await remote.run(f"test -s {daemon_json.PATH}")).ok:
            stamp = time.strftime("%Y%m%dT%H%M%S")
            await remote.must(f"cp -p {daemon_json.PATH} {daemon_json.PATH}.corral-{stamp}")
        await remote.must(_write_command(), input=plan.daemon_text)
    elif step.id in ("engine", "restart"):
        if step.id == "engine" and await _engine_answers(remote):
            return
        verb = ("enable --now" if step.id == "engine" else "restart")
        if plan.systemd:
            await remote.must(f"systemctl {verb} docker.service")
        else:
            await remote.must(f"service docker {'start' if step.id == 'engine' else 'restart'}")
        await _wait_engine(remote)
    elif step.id == "group":
        await remote.must(_group_command(remote.user))


async def _install(remote: Remote, plan: Survey, bundle: PackageBundle | None) -> None:
    family = plan.distro.family
    if bundle is None:
        if family.manager == "apt":
            await remote.must("apt-get update -q")
            await remote.must("env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "
                              f"--no-install-recommends {' '.join(family.packages)}")
        else:
            await remote.must(f"{family.manager} install -y {' '.join(family.packages)}")
        return
    debs = choose(bundle, await _installed_names(remote), remote.name)
    folder = (await remote.must("mktemp -d /var/tmp/corral-packages.XXXXXX",
                                sudo=False)).strip()
    try:
        await remote.copy_chunks(
            [(Path(deb.member).name, member_chunks(bundle.bundle, deb.member)) for deb in debs],
            folder)
        files = " ".join(shlex.quote(f"{folder}/{Path(deb.member).name}") for deb in debs)
        await remote.must(f"env DEBIAN_FRONTEND=noninteractive dpkg -i {files}")
    finally:
        await remote.run(f"rm -rf {shlex.quote(folder)}", sudo=False)


async def _wait_engine(remote: Remote) -> None:
    deadline = time.monotonic() + ENGINE_START_TIMEOUT
    while not await _engine_answers(remote):
        if time.monotonic() > deadline:
            raise ProvisionError(f"the engine did not answer {ENGINE_START_TIMEOUT:g}s after "
                                 "starting (see its log: journalctl -u docker, or "
                                 "/var/log/docker.log)", host=remote.name)
        await asyncio.sleep(0.5)


async def recheck(remote: Remote, registries: tuple[str, ...] = ()) -> list[Check]:
    """The hook after the steps: re-check what they changed, on a fresh look.

    `corral hosts provision` shows these, then hands over to the doctor.
    """
    checks = []
    version = await remote.run("docker version --format '{{.Server.Version}}'", timeout=20)
    checks.append(Check("engine answers", version.ok and bool(version.out.strip()),
                        version.out.strip() or version.reason()))
    text = (await remote.run(f"cat {daemon_json.PATH} 2>/dev/null")).out
    try:
        current = daemon_json.parse(text, remote.name)
    except ProvisionError as exc:
        current, text = {}, str(exc)
    opts = current.get("log-opts") or {}
    rotating = current.get("log-driver", "json-file") not in daemon_json.ROTATING_DRIVERS \
        or all(key in opts for key in daemon_json.LOG_OPTS)
    checks.append(Check("log rotation", rotating,
                        ", ".join(f"{k}={v}" for k, v in sorted(opts.items())) or "none"))
    live = await remote.run("docker info --format '{{.LiveRestoreEnabled}}'", timeout=20)
    checks.append(Check("live-restore", live.out.strip() == "true",
                        live.out.strip() or live.reason()))
    trusted = current.get("insecure-registries") or []
    for registry in registries:
        checks.append(Check(f"registry {registry}", registry in trusted,
                            "trusted" if registry in trusted else "not in insecure-registries"))
    if remote.user != "root":
        groups = (await remote.run(f"id -nG {shlex.quote(remote.user)}", sudo=False)).out
        checks.append(Check(f"{remote.user} in {GROUP}", GROUP in groups.split(),
                            groups.strip()))
    return checks
