"""Rancher's load balancer services, read into a `LoadBalancer` Corral runs as HAProxy.

Two shapes exist in published catalogs:

- `rancher/lb-service-haproxy` (Rancher 1.2+): `lb_config:` in
  rancher-compose.yml with `port_rules` (source_port, target_port, service,
  hostname, path, protocol, priority), `stickiness_policy`, `certs`,
  `default_cert`.
- `rancher/load-balancer-service` (before 1.2): `ports:` say
  `source:target`, `links:` name the target services, and
  `io.rancher.loadbalancer.target.SERVICE` labels narrow a target to
  `hostname:source/path=target` entries; `load_balancer_config:` in
  rancher-compose.yml holds `lb_cookie_stickiness_policy`.

Certificates (`certs`, `default_cert`) are PEM files beside the compose file
(`NAME.pem`, see `cert_files()`). What Corral does not carry (selectors,
custom `config`, a certificate with no file, UDP) is a warning naming the
file and line. Targets are checked by `check_targets()` once every service
is built: an unknown one is an error naming the rule's line.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from corral.catalog.compose import values as cv
from corral.catalog.excerpt import quoted
from corral.catalog.problems import Report, Source
from corral.catalog.spec import LoadBalancer, Port, PortRule, Service, Stickiness

#: Image repository -> legacy flag.
LB_IMAGES = {"rancher/lb-service-haproxy": False, "rancher/load-balancer-service": True}
TARGET_LABEL = "io.rancher.loadbalancer.target."
#: Labels Rancher's LB image needed to talk to its server; Corral's HAProxy does not.
AGENT_LABELS = ("io.rancher.container.agent.role", "io.rancher.container.create_agent")
PROTOCOLS = ("http", "https", "tcp", "tls", "sni", "udp")
#: Protocols HAProxy terminates TLS for, with the LB's certificate files.
TLS_PROTOCOLS = ("https", "tls")
_RULE_KEYS = {"source_port", "target_port", "service", "hostname", "path", "protocol",
              "priority", "selector", "backend_name"}
_STICKY_KEYS = {"name", "cookie", "domain", "indirect", "nocache", "postonly", "mode"}
_TARGET = re.compile(r"(?:(?P<host>[^:/=]+)?(?::(?P<source>\d+))?)?(?P<path>/[^=]*)?"
                     r"(?:=(?P<target>\d+))?")


def lb_kind(image: str | None) -> bool | None:
    """None when `image` is not a Rancher LB image; else True for the legacy one."""
    if not image:
        return None
    repository = image.split("@")[0]
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return LB_IMAGES.get(repository)


def _line(mapping: object, key: object, source: Source, default: int | None) -> int | None:
    if hasattr(mapping, "line_of"):
        try:
            return source.line(mapping.line_of(key))  # type: ignore[attr-defined]
        except (KeyError, IndexError):
            return default
    return default


def _port(value: object, what: str) -> int:
    number = cv.integer(value, 1)
    if number > 65535:
        raise ValueError(f"{what} {number} is not a port")
    return number


def lb_config(name: str, raw: object, source: Source, line: int | None,
              report: Report) -> LoadBalancer:
    """Read `lb_config:` of service `name` (rancher-compose.yml).

    Problems go to `report`: a bad value is an error, what Corral does not
    carry a warning, each with the line it is on.
    """
    where = f"service {name}: lb_config"
    if not isinstance(raw, dict):
        report.error(f"{where}: expected a mapping", source.file, line)
        return LoadBalancer()
    rules: list[PortRule] = []
    stickiness = None
    certs: list[str] = []
    default: list[str] = []
    for key, value in raw.items():
        at = _line(raw, key, source, line)
        if key == "port_rules":
            if not isinstance(value, list):
                report.error(f"{where}: port_rules: expected a list", source.file, at)
                continue
            for index, item in enumerate(value):
                rule = _rule(name, item, source, _line(value, index, source, at), report)
                if rule is not None:
                    rules.append(rule)
        elif key == "stickiness_policy":
            stickiness = _stickiness(f"{where}: stickiness_policy", value, source, at, report)
        elif key in ("certs", "default_cert"):
            try:
                names = cv.string_list(value) if value not in (None, [], "") else ()
            except ValueError as exc:
                report.error(f"{where}: {key}: {exc}", source.file, at)
                continue
            (default if key == "default_cert" else certs).extend(names)
        elif key == "config":
            if value:
                report.warn(f"{where}: config (custom HAProxy text) is not carried; Corral"
                            " generates the configuration from the port rules", source.file, at)
        else:
            report.warn(f"{where}: unknown key {quoted(key)}", source.file, at)
    names = list(dict.fromkeys([*default, *certs]))
    files = cert_files(names, source, report, where,
                       _line(raw, "default_cert" if "default_cert" in raw else "certs",
                             source, line))
    kept = []
    for rule in rules:
        if rule.protocol in TLS_PROTOCOLS and not files:
            report.warn(f"service {name}: port rule {rule.source_port}: {rule.protocol} needs a"
                        " certificate file (certs / default_cert); rule dropped", source.file,
                        rule.line)
        else:
            kept.append(rule)
    rules = kept
    if not rules:
        report.warn(f"{where}: no port rule Corral can carry; the load balancer forwards"
                    " nothing", source.file, line)
    return LoadBalancer(tuple(rules), stickiness, tuple(names), tuple(files))


def cert_files(names: list[str], source: Source, report: Report, where: str,
               line: int | None) -> list[str]:
    """The PEM file of each certificate name, looked up beside the compose file.

    `NAME`, `NAME.pem`, `certs/NAME` or `certs/NAME.pem` in the folder of
    `source` (Rancher kept them in its certificate store; a catalog that ships
    them, or an operator who puts them there, gets them served). A name with
    no file is a warning.
    """
    folder = Path(str(source.file)).parent if source.file else None
    found = []
    for cert in names:
        candidates = [folder / sub / f"{cert}{ext}" for sub in ("", "certs")
                      for ext in ("", ".pem")] if folder and "/" not in cert \
            and cert not in ("", ".", "..") else []
        match = next((c for c in candidates if c.is_file()), None)
        if match is None:
            report.warn(f"{where}: certificate {quoted(cert)} is in Rancher's certificate store;"
                        f" put its PEM (certificate and key) in {cert}.pem beside the compose"
                        " file for Corral to serve it", source.file, line)
        else:
            found.append(str(match.resolve()))
    return found


def _rule(name: str, item: object, source: Source, line: int | None,
          report: Report) -> PortRule | None:
    where = f"service {name}: port rule"
    if not isinstance(item, dict):
        report.error(f"{where}: expected a mapping", source.file, line)
        return None
    for key in item:
        if key not in _RULE_KEYS:
            report.warn(f"{where}: unknown key {quoted(key)}", source.file, line)
    if item.get("selector"):
        report.warn(f"{where}: selector {quoted(item['selector'])} selects services through"
                    " Rancher's API; rule dropped", source.file, line)
        return None
    try:
        if item.get("source_port") is None:
            raise ValueError("source_port is required")
        source_port = _port(item["source_port"], "source_port")
        target_port = _port(item["target_port"], "target_port") \
            if item.get("target_port") not in (None, "") else source_port
        if not item.get("service"):
            raise ValueError("service is required")
        service = cv.text(item["service"])
        protocol = cv.text(item.get("protocol") or "http").lower()
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {quoted(protocol)} ({', '.join(PROTOCOLS)})")
        priority = cv.integer(item["priority"], 0) if item.get("priority") not in (None, "") \
            else None
        hostname = cv.text(item["hostname"]) if item.get("hostname") else ""
        path = cv.text(item["path"]) if item.get("path") else ""
    except ValueError as exc:
        report.error(f"{where}: {exc}", source.file, line)
        return None
    if path and not path.startswith("/"):
        report.error(f"{where}: path {quoted(path)} must start with /", source.file, line)
        return None
    if protocol == "sni":
        protocol = "https"  # certificates chosen by SNI: what HAProxy does with several
    if protocol == "udp":
        report.warn(f"{where} {source_port}: udp is not load-balanced by HAProxy; rule"
                    " dropped", source.file, line)
        return None
    if protocol in ("tcp", "tls") and (hostname or path):
        report.warn(f"{where} {source_port}: hostname and path do not apply to tcp; ignored",
                    source.file, line)
        hostname = path = ""
    return PortRule(source_port, target_port, service, hostname, path, protocol, priority, line)


def _stickiness(where: str, value: object, source: Source, line: int | None,
                report: Report) -> Stickiness | None:
    if not isinstance(value, dict):
        report.error(f"{where}: expected a mapping", source.file, line)
        return None
    for key in value:
        if key not in _STICKY_KEYS:
            report.warn(f"{where}: unknown key {quoted(key)}", source.file, line)
    try:
        mode = cv.text(value.get("mode") or "insert").lower()
        if mode not in ("insert", "prefix", "rewrite"):
            raise ValueError(f"unknown mode {quoted(mode)} (insert, prefix or rewrite)")
        return Stickiness(
            cookie=cv.text(value.get("cookie") or value.get("name") or "lb"),
            mode=mode,
            indirect=cv.boolean(value.get("indirect", False)),
            nocache=cv.boolean(value.get("nocache", False)),
            postonly=cv.boolean(value.get("postonly", False)),
            domain=cv.text(value["domain"]) if value.get("domain") else "",
        )
    except ValueError as exc:
        report.error(f"{where}: {exc}", source.file, line)
        return None


def legacy_config(name: str, raw: object, source: Source, line: int | None,
                  report: Report) -> Stickiness | None:
    """Read a legacy LB's `load_balancer_config:`: its cookie stickiness, if any."""
    where = f"service {name}: load_balancer_config"
    if not isinstance(raw, dict):
        report.error(f"{where}: expected a mapping", source.file, line)
        return None
    stickiness = None
    for key, value in raw.items():
        at = _line(raw, key, source, line)
        if key == "lb_cookie_stickiness_policy":
            stickiness = _stickiness(f"{where}: {key}", value, source, at, report)
        elif key in ("haproxy_config", "name", "description"):
            if key == "haproxy_config" and value:
                report.warn(f"{where}: haproxy_config is not carried; Corral generates the"
                            " configuration", source.file, at)
        else:
            report.warn(f"{where}: {key} is not carried", source.file, at)
    return stickiness


def legacy_rules(name: str, service: Service, compose: dict, source: Source,
                 report: Report) -> tuple[PortRule, ...]:
    """The rules of a legacy LB: each published port to each linked service.

    A `io.rancher.loadbalancer.target.SERVICE` label replaces that service's
    rules with its own `hostname:source/path=target` entries.
    """
    line = _line(compose, "links", source, _line(compose, "image", source, None))
    for link in service.external_links:
        report.warn(f"service {name}: external link {link.target} is another stack's service;"
                    " not load-balanced", source.file, _line(compose, "external_links", source,
                                                            line))
    ports = [(p.host_port or p.container_port, p.container_port) for p in service.ports]
    labels_line = _line(compose, "labels", source, line)
    rules: list[PortRule] = []
    for link in service.links:
        label = service.labels.get(TARGET_LABEL + link.target) \
            or service.labels.get(TARGET_LABEL + link.alias)
        if label:
            for entry in (part.strip() for part in label.split(",")):
                match = _TARGET.fullmatch(entry) if entry else None
                if not match:
                    report.error(f"service {name}: label {TARGET_LABEL}{link.target}: cannot"
                                 f" read {quoted(entry)} (hostname:port/path=target)",
                                 source.file, labels_line)
                    continue
                host, source_text = match["host"] or "", match["source"]
                if host.isdigit() and not source_text:  # `80=8080`: a port, not a host
                    host, source_text = "", host
                numbers = [int(n) for n in (source_text, match["target"]) if n]
                if any(not 0 < n <= 65535 for n in numbers):
                    report.error(f"service {name}: label {TARGET_LABEL}{link.target}:"
                                 f" {quoted(entry)} names a port out of range", source.file,
                                 labels_line)
                    continue
                sources = [int(source_text)] if source_text else [s for s, _ in ports]
                for source_port in sources:
                    target = int(match["target"]) if match["target"] else \
                        dict(ports).get(source_port, source_port)
                    rules.append(PortRule(source_port, target, link.target, host,
                                          match["path"] or "", "http", None, labels_line))
        else:
            rules.extend(PortRule(s, t, link.target, line=line) for s, t in ports)
    if not rules:
        report.warn(f"service {name}: a load balancer without ports or links forwards nothing",
                    source.file, line)
    return tuple(rules)


def listening(service: Service) -> Service:
    """The LB service with its ports made the rules' source ports.

    A new-style LB's `ports:` publish `host:source`; a legacy one's say
    `source:target`, so its container listens on the source port too.
    Source ports nobody published are published on the same host port.
    """
    lb = service.load_balancer
    assert lb is not None
    published = {} if lb.legacy else {p.container_port: p for p in service.ports
                                      if p.protocol == "tcp"}
    if lb.legacy:
        published = {p.host_port or p.container_port: dataclasses.replace(
            p, container_port=p.host_port or p.container_port) for p in service.ports}
    ports = []
    for source_port in sorted({r.source_port for r in lb.rules}):
        ports.append(published.get(source_port)
                     or Port(source_port, "tcp", source_port, None, True))
    return dataclasses.replace(service, ports=tuple(ports))


def check_targets(services: dict[str, Service], stack_name: str,
                  sources: tuple[Source, Source | None], report: Report) -> None:
    """Resolve and check each LB rule's target service; fix up the LB services in place.

    `STACK/SERVICE` naming this stack becomes `SERVICE`; another stack's
    service is a warning (dropped); an unknown service is an error naming
    the rule's line; a rule to the LB itself too.
    """
    compose_src, rancher_src = sources
    for name, service in sorted(services.items()):
        lb = service.load_balancer
        if lb is None:
            continue
        file = (compose_src if lb.legacy else rancher_src or compose_src).file
        rules = []
        for rule in lb.rules:
            target = rule.service
            if "/" in target:
                stack, _, target = target.partition("/")
                if stack != stack_name:
                    report.warn(f"service {name}: port rule {rule.source_port}: {rule.service}"
                                " is another stack's service; Corral cannot reach it; rule"
                                " dropped", file, rule.line)
                    continue
            if target not in services or target == name:
                why = "is the load balancer itself" if target == name else \
                    "is not a service of this stack"
                report.error(f"service {name}: port rule {rule.source_port}: target"
                             f" {rule.service} {why}", file, rule.line)
                continue
            rules.append(dataclasses.replace(rule, service=target))
            if not any(p.published and p.container_port == rule.target_port
                       for p in services[target].ports):
                report.warn(f"service {name}: port rule {rule.source_port}: {target} does not"
                            f" publish port {rule.target_port}: only its containers on the"
                            " load balancer's host are reached (publish it, e.g."
                            f" '0.0.0.0::{rule.target_port}', to reach the others)", file,
                            rule.line)
        services[name] = listening(dataclasses.replace(
            service, load_balancer=dataclasses.replace(lb, rules=tuple(rules))))
