"""A small evaluator of Kubernetes NetworkPolicy semantics, enough to ask "may A reach B on port P?"
of the rendered manifests (pod/namespace selectors, ipBlock with except, named ports, policy types)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    """A pod (namespace + labels + named ports) or an outside address (ip only)."""

    name: str
    namespace: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    ip: str = ""

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace}


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {"In": key in labels and labels[key] in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def _peer_matches(peer: Doc, policy_ns: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        if not other.ip:
            return False
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        return (address in ipaddress.ip_network(block["cidr"])
                and not any(address in ipaddress.ip_network(e) for e in block.get("except", [])))
    if other.ip and not other.namespace:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_ns:
        return False
    return selects(peer.get("podSelector", {}), other.labels)


def _port_matches(rule_ports: list[Doc] | None, target: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None or wanted == port or (isinstance(wanted, str) and target.ports.get(wanted) == port):
            return True
    return False


def _side_allows(policies: list[Doc], subject: Endpoint, other: Endpoint, target: Endpoint,
                 port: int, protocol: str, direction: str) -> bool:
    """Egress of ``subject`` towards ``other`` (direction Egress) or ingress into ``subject``."""
    if not subject.namespace:
        return True  # outside the cluster: no policy applies there
    relevant = [p for p in policies if p["metadata"].get("namespace", subject.namespace) == subject.namespace
                and direction in p["spec"].get("policyTypes", ["Ingress"])
                and selects(p["spec"]["podSelector"], subject.labels)]
    if not relevant:
        return True
    key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    for policy in relevant:
        ns = policy["metadata"].get("namespace", subject.namespace)
        for rule in policy["spec"].get(key, []) or []:
            peers = rule.get(peers_key)
            if (not peers or any(_peer_matches(p, ns, other) for p in peers)) and \
                    _port_matches(rule.get("ports"), target, port, protocol):
                return True
    return False


def allowed(policies: list[Doc], source: Endpoint, dest: Endpoint, port: int, protocol: str = "TCP") -> bool:
    return (_side_allows(policies, source, dest, dest, port, protocol, "Egress")
            and _side_allows(policies, dest, source, dest, port, protocol, "Ingress"))


def pod_of(workload: Doc) -> Endpoint:
    template = workload["spec"]["template"]
    ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
             if "name" in p}
    return Endpoint(workload["metadata"]["name"], workload["metadata"]["namespace"],
                    dict(template["metadata"]["labels"]), ports)
