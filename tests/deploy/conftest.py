"""The manifests rendered once per module: each kustomization, and the base with KEDA switched on."""

from __future__ import annotations

import os

import pytest
import yaml

from .manifests import K8S, render

KUSTOMIZATIONS = {"base": K8S, "migrate": K8S / "migrate", "postgres": K8S / "postgres"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, list[dict]]:
    out = {name: render(path) for name, path in KUSTOMIZATIONS.items()}
    # The base with the optional KEDA component switched on, as an operator would.
    overlay = tmp_path_factory.mktemp("keda-overlay")
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(K8S, overlay)],
        "components": [os.path.relpath(K8S / "components" / "keda", overlay)],
    }))
    out["base+keda"] = render(overlay)
    return out
