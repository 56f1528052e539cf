#!/usr/bin/env bash
# Builds the Python base image from Debian packages, for machines that cannot pull from a
# container registry: Debian bookworm (minbase) + its python3.11, imported into podman as
#   localhost/fixline-python:3.11-bookworm
# Then: podman build --build-arg PYTHON_BASE=localhost/fixline-python:3.11-bookworm -f deploy/Dockerfile .
# Needs root, debootstrap and podman (apt-get install debootstrap podman). Reuses the image if present.
set -euo pipefail
IMAGE="${IMAGE:-localhost/fixline-python:3.11-bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if podman image exists "$IMAGE" && [ -z "${REBUILD:-}" ]; then
  echo "base image $IMAGE present"; exit 0
fi
rootfs="$(mktemp -d /var/tmp/fixline-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap bookworm (minbase + python3) into $rootfs ..."
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
  bookworm "$rootfs" "$MIRROR" >/dev/null
chroot "$rootfs" ln -sf python3 /usr/bin/python
chroot "$rootfs" apt-get clean
# Like the python:slim images: no docs, no manuals, no message translations (33 MB).
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
       "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
tar -C "$rootfs" -c . | podman import --change 'CMD ["python3"]' - "$IMAGE" >/dev/null
echo "built $IMAGE ($(podman image inspect "$IMAGE" --format '{{.Size}}') bytes)"
