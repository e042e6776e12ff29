"""Base images for scenario platforms, bootstrapped locally with debootstrap.

No container registry is reachable, so every platform image is built on this machine from a
recipe: a Debian suite, a package list and a few changes to the root filesystem that let systemd
run as PID 1 in an unprivileged container. The image tag carries a hash of the recipe, so an image
is rebuilt only when its recipe changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors

from .errors import HarnessError

logger = logging.getLogger("tests.harness")

IMAGE_REPOSITORY_PREFIX = "gatewayz-obs"
HARNESS_LABEL = "gatewayz-obs.harness"
DEBIAN_SOURCES = Path("/etc/apt/sources.list.d/debian.sources")
DEFAULT_MIRROR = "http://deb.debian.org/debian"

BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "sudo",
    "ca-certificates",
    "iproute2",
    "procps",
    "python3",
    "python3-yaml",
    "python3-prometheus-client",
    "redis-server",
)

# Units that wait for a terminal or a kernel facility that an unprivileged container lacks; left
# alone they keep restarting or hold `is-system-running` in "starting".
MASKED_UNITS = (
    "console-getty.service",
    "getty@tty1.service",
    "getty.target",
    "systemd-udevd.service",
    "systemd-udev-trigger.service",
    "systemd-remount-fs.service",
    "systemd-firstboot.service",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "dev-hugepages.mount",
    "systemd-journald-audit.socket",
)

# Debian's redis-server unit sets PrivateUsers=true together with ProtectProc=invisible; that pair
# fails with 217/USER inside the container, each alone works.
REDIS_DROP_IN = """\
# written by the gatewayz-observability test harness; local edits are replaced
[Service]
PrivateUsers=false
ProtectProc=default
"""

# Host keys baked into the image would be shared by every container; each container makes its own.
SSH_HOST_KEYS_UNIT = """\
# written by the gatewayz-observability test harness; local edits are replaced
[Unit]
Description=Generate SSH host keys missing on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target ssh.service
"""

# `docker import` in Docker 20.10 accepts no STOPSIGNAL change; containers get it at run time.
IMAGE_CHANGES = (
    'CMD ["/lib/systemd/systemd"]',
    "ENV container=docker",
)


@dataclass(frozen=True)
class ImageRecipe:
    """What goes into one base image.

    + name: recipe name used by scenario files (`image:` of a platform)
    + suite: Debian suite given to debootstrap
    + packages: packages added to debootstrap's minbase variant
    """

    name: str
    suite: str
    packages: tuple[str, ...] = BASE_PACKAGES
    masked_units: tuple[str, ...] = MASKED_UNITS
    files: dict[str, str] = field(
        default_factory=lambda: {
            "etc/systemd/system/redis-server.service.d/container.conf": REDIS_DROP_IN,
            "etc/systemd/system/ssh-host-keys.service": SSH_HOST_KEYS_UNIT,
        }
    )
    changes: tuple[str, ...] = IMAGE_CHANGES

    def digest(self) -> str:
        """Twelve hex digits that change whenever anything in the recipe changes."""
        payload = json.dumps(
            {
                "suite": self.suite,
                "packages": sorted(self.packages),
                "masked_units": sorted(self.masked_units),
                "files": self.files,
                "changes": list(self.changes),
                "tweak_version": 1,
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"{IMAGE_REPOSITORY_PREFIX}/{self.name}:{self.digest()}"


RECIPES: dict[str, ImageRecipe] = {
    "debian-bookworm": ImageRecipe(name="debian-bookworm", suite="bookworm"),
    "debian-trixie": ImageRecipe(name="debian-trixie", suite="trixie"),
}


def debian_mirror(sources: Path = DEBIAN_SOURCES) -> str:
    """The first `URIs:` of the machine's deb822 sources that is not the security archive."""
    if not sources.exists():
        return DEFAULT_MIRROR
    for line in sources.read_text().splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "uris":
            for uri in value.split():
                if "security" not in uri:
                    return uri
    return DEFAULT_MIRROR


def ensure_image(client: docker.DockerClient, recipe_name: str) -> str:
    """Return the tag of the recipe's image, building it first when it is absent."""
    recipe = RECIPES.get(recipe_name)
    if recipe is None:
        raise HarnessError(f"unknown image recipe {recipe_name!r}; known: {sorted(RECIPES)}")

    try:
        client.images.get(recipe.tag)
        logger.debug("image %s present", recipe.tag)
        return recipe.tag
    except docker.errors.ImageNotFound:
        pass

    build_image(client, recipe)
    return recipe.tag


def build_image(client: docker.DockerClient, recipe: ImageRecipe) -> None:
    if shutil.which("debootstrap") is None:
        raise HarnessError("debootstrap is not installed; `apt-get install debootstrap`")

    mirror = debian_mirror()
    logger.info("building image %s with debootstrap from %s", recipe.tag, mirror)
    work = Path(tempfile.mkdtemp(prefix=f"harness-{recipe.name}-", dir="/var/tmp"))
    rootfs = work / "rootfs"
    try:
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(recipe.packages)}",
                recipe.suite,
                str(rootfs),
                mirror,
            ],
            what=f"debootstrap {recipe.suite}",
            log=work.parent / f"harness-{recipe.name}-debootstrap.log",
        )
        _tweak_rootfs(rootfs, recipe)

        archive = work / "rootfs.tar"
        _run(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-cf", str(archive), "."],
            what="tar rootfs",
        )
        repository, _, tag = recipe.tag.partition(":")
        client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=tag,
            changes=list(recipe.changes),
        )
        client.images.get(recipe.tag).tag(repository, "latest")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _tweak_rootfs(rootfs: Path, recipe: ImageRecipe) -> None:
    systemd_dir = rootfs / "etc/systemd/system"
    for unit in recipe.masked_units:
        target = systemd_dir / unit
        target.unlink(missing_ok=True)
        target.symlink_to("/dev/null")

    for relative, content in recipe.files.items():
        path = rootfs / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)

    wants = systemd_dir / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    for unit, source in (
        ("ssh.service", "/lib/systemd/system/ssh.service"),
        ("ssh-host-keys.service", "/etc/systemd/system/ssh-host-keys.service"),
        ("redis-server.service", "/lib/systemd/system/redis-server.service"),
    ):
        link = wants / unit
        if not link.is_symlink():
            link.symlink_to(source)

    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()

    # An empty machine-id makes systemd generate a fresh one per container at boot.
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)

    shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
    (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)


def _run(command: list[str], *, what: str, log: Path | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if log is not None:
        log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise HarnessError(f"{what} failed with exit {result.returncode}:\n{tail}")
