"""Rendering a catalog version with answers into a Stack.

The order is Rancher's: run `.tpl` files as Go templates with `.Values` and
`.Stack`, parse the YAML, interpolate `${VAR}` with the answers, then build
each service, expanding `${stack_name}` / `${service_name}` for it. Problems
from every step are collected so one render reports all of them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterable
from pathlib import Path

from corral.catalog.answers import Answers
from corral.catalog.bounded import read_text
from corral.catalog.compose.resolve import read_dotenv, resolve_services
from corral.catalog.compose.stack import build_services
from corral.catalog.errors import CatalogError, YamlError
from corral.catalog.excerpt import quoted
from corral.catalog.gotemplate.execute import render_template
from corral.catalog.interpolate import interpolate_tree
from corral.catalog.loader import OTHER_KINDS, Version
from corral.catalog.problems import Report, Source
from corral.catalog.questions import Question
from corral.catalog.rancher_features import FLAG, rancher_features
from corral.catalog.spec import Stack
from corral.catalog.yamlsource import duplicate_warning, load_text

STACK_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,62}")


def render(version: Version, answers: Answers, *, stack_name: str,
           without_rancher_features: bool = False,
           profiles: Iterable[str] = ()) -> Stack:
    """Render `version` with validated `answers` as the stack `stack_name`.

    Args:
        version: The catalog version.
        answers: From `resolve_answers` over `version.info.questions`.
        stack_name: Letters, digits and `-`, as Rancher required.
        without_rancher_features: Drop what only a Rancher server provides
            (`rancher_features`), each item named in `Stack.dropped`.
        profiles: Compose profiles to enable (`--profile`); for a standalone
            file `COMPOSE_PROFILES` adds to them.

    Returns:
        The stack; its `warnings` hold warnings and unsupported features.

    Raises:
        RenderError: Every error found (template, YAML, compose, questions).
    """
    if version.kind != "stack":
        raise CatalogError(f"{version.entry_id} is a {OTHER_KINDS[version.kind]}: Corral"
                           " deploys Rancher Cattle stacks (docker-compose) only",
                           file=version.folder)
    report = Report()
    report.extend(version.problems)
    report.extend(answers.warnings)
    if not STACK_NAME.fullmatch(stack_name):
        report.error(f"invalid stack name {quoted(stack_name)}: use letters, digits and -")
    report.raise_errors()
    stack_data = {"Name": stack_name, "Version": version.version}
    env, enabled = _environment(version, answers, profiles, report)
    report.raise_errors()
    compose_doc, compose_src = _load(version.compose_file, answers, stack_data, report,
                                     version.root, env)
    rancher_doc, rancher_src = (None, None)
    if version.rancher_file is not None:
        rancher_doc, rancher_src = _load(version.rancher_file, answers, stack_data, report,
                                         version.root)
    report.raise_errors()
    if version.compose_file is not None:
        compose_doc = resolve_services(compose_doc, source=compose_src,
                                       base=version.compose_file.parent, root=version.root,
                                       env=env, profiles=enabled, report=report)
        report.raise_errors()
    rancher_only = rancher_features(compose_doc, rancher_doc, drop=without_rancher_features)
    for item in rancher_only if without_rancher_features else ():
        report.warn(f"dropped ({FLAG}): {item}")
    services, volumes, networks = build_services(
        compose_doc, rancher_doc, sources=(compose_src, rancher_src),  # type: ignore[arg-type]
        stack_name=stack_name, report=report,
        # Only a compose file given as FILE has files beside it on this machine to
        # ship or build from; a catalog entry's folder is a published template.
        base=version.compose_file.parent if version.standalone and version.compose_file
        else None,
        env=env,
    )
    refs = _check_environment_questions(version.info.questions, answers, stack_name,
                                        {s.name for s in services}, report)
    report.raise_errors()
    secrets = answers.secrets
    return Stack(
        name=stack_name,
        entry=version.entry_id,
        version=version.version,
        services=tuple(dataclasses.replace(s, secrets=secrets) for s in services),
        volumes=volumes,
        networks=networks,
        warnings=tuple(report.sorted()),
        rancher_only=() if without_rancher_features else tuple(rancher_only),
        dropped=tuple(rancher_only) if without_rancher_features else (),
        service_refs=tuple(refs),
        secrets=secrets,
    )


def _environment(version: Version, answers: Answers, profiles: Iterable[str],
                 report: Report) -> tuple[dict[str, str], frozenset[str]]:
    """The variables that interpolate the compose file, and the enabled profiles.

    A catalog version is interpolated with its answers only, as Rancher did. A
    standalone compose file as `docker compose` reads it: its `.env`, then the
    process environment over it, then `--set` answers over both.
    """
    enabled = {p for p in profiles if p}
    if not version.standalone or version.compose_file is None:
        return dict(answers.values), frozenset(enabled)
    try:
        dotenv = read_dotenv(version.compose_file.parent, version.root, os.environ)
    except CatalogError as exc:
        report.catch(exc)
        dotenv = {}
    env = {**dotenv, **os.environ, **answers.values}
    enabled |= {p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()}
    return env, frozenset(enabled)


def _load(path: Path | None, answers: Answers, stack: dict, report: Report,
          version_root: Path | None = None, env: dict[str, str] | None = None
          ) -> tuple[object, Source]:
    """Template, parse and interpolate one compose file; problems go to `report`."""
    source = Source(str(path))
    if path is None:
        return None, source
    try:
        text = read_text(path, root=version_root)
        if path.suffix == ".tpl":
            rendered = render_template(text, values=answers.values, stack=stack, name=str(path))
            source = Source(str(path), rendered.line_map)
            text = rendered.text
        duplicates: list = []
        try:
            document = load_text(text, source=str(path), duplicates=duplicates)
        except YamlError as exc:  # its line is one of the rendered text
            report.error(exc.message, exc.file, source.line(exc.line))
            return None, source
        for key, first, line in duplicates:
            report.warn(duplicate_warning(key, source.line(first), source.line(line)),
                        str(path), source.line(line))
        return interpolate_tree(document, answers.values if env is None else env, source,
                                report), source
    except (OSError, UnicodeDecodeError) as exc:
        report.error(f"cannot read: {exc}", str(path))
    except CatalogError as exc:
        report.catch(exc)
    return None, source


def _check_environment_questions(questions: tuple[Question, ...], answers: Answers,
                                 stack_name: str, services: set[str], report: Report
                                 ) -> list[tuple[str, str, str]]:
    """Certificate answers name Rancher's store; service answers this stack's or another's.

    Returns:
        (variable, stack, service) of each answer naming another stack's
        service, for the plan to resolve against the deployed stacks.
    """
    refs: list[tuple[str, str, str]] = []
    for question in questions:
        value = answers.values.get(question.variable)
        if not value or question.type not in ("service", "certificate"):
            continue
        if question.type == "certificate":
            report.unsupported(f"question {question.variable}: certificate {quoted(value)}"
                               " would come"
                               " from a Rancher environment's certificate store",
                               question.file, question.line)
            continue
        stack, _, service = value.rpartition("/")
        if stack not in ("", stack_name):
            refs.append((question.variable, stack, service))
        elif service not in services:
            report.error(f"question {question.variable}: service {quoted(value)} is not a"
                         " service of this stack (name another stack's as STACK/SERVICE)",
                         question.file, question.line)
    return refs
