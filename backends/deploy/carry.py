"""What an upgrade carries over from the deployed stack: answers, passwords, scales.

Pure. The stack record holds the answers (passwords left out) and the spec
as it runs now, scales changed with `+`/`-` or `corral scale` included. An
upgrade form starts from those (`seed()`), and the stack it renders keeps
what the operator did not change (`render_upgrade()`):

- a password left empty stays the deployed one: it is rendered as the mask,
  and the deploy fills it from the running containers, as `corral scale`
  does (never from the record, which does not hold it);
- a service whose rendered scale is the one the deployed answers render
  keeps the scale it runs at now.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from corral.backends.deploy.record import Definition
from corral.catalog.answers import Answers, resolve_answers
from corral.catalog.errors import AnswerError
from corral.catalog.loader import Version
from corral.catalog.questions import Question
from corral.catalog.render import render
from corral.catalog.spec import MASK, Stack

#: A second stand-in for a kept password: rendering with both tells whether the
#: template uses the password as it is (only then can the deploy recover it).
_PROBE = "#corral-kept#"


@dataclass(frozen=True)
class UpgradeSeed:
    """Where an upgrade form starts: the deployed stack's answers and scales.

    Attributes:
        stack: The stack name.
        generation: The deployed record's generation.
        answers: Deployed answers to the version's questions (no password).
        kept_secrets: Password questions that keep the deployed value when left
            empty ("unchanged").
        scales: Per service (not global), the scale it runs at now.
        base_scales: Per service, the scale `answers` render: a rendered scale
            equal to it means the operator did not ask for another one.
        notes: What the form should say (scales kept, answers dropped).
        engine: `standalone`, or `swarm` for a stack the Swarm engine runs (its
            plan and apply then go through the swarm).
    """

    stack: str
    generation: int
    answers: dict[str, str] = field(default_factory=dict)
    kept_secrets: frozenset[str] = frozenset()
    scales: dict[str, int] = field(default_factory=dict)
    base_scales: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    engine: str = "standalone"


def seed(definition: Definition, version: Version) -> UpgradeSeed:
    """The form's starting point for upgrading `definition` with `version`.

    An int answer that sets a service's scale (`scale: ${X}`) starts at the
    scale the service runs at now, so the form shows it.

    Raises:
        CatalogError: The deployed answers do not render with `version`.
    """
    questions = {q.variable: q for q in version.info.questions}
    answers = {k: v for k, v in definition.answers.items() if k in questions}
    dropped = sorted(set(definition.answers) - set(questions))
    # A deploy that set no password at all has none to keep.
    kept = frozenset(k for k in definition.secret_names
                     if k in questions and questions[k].secret and definition.holds_secrets)
    scales = {s.name: s.scale for s in definition.stack.services
              if not s.scheduling.is_global}
    base = _scales(version, answers, definition.name)
    for variable, question in questions.items():
        if question.type != "int" or variable not in answers:
            continue
        for name, now in scales.items():
            # Only an answer equal to the rendered scale can be what sets it.
            if base.get(name) == now or str(base.get(name)) != answers[variable] \
                    or question.validate(str(now)) is not None:
                continue
            probe = {**answers, variable: str(now)}
            probed = _scales(version, probe, definition.name)
            moved = {n for n in probed if probed[n] != base.get(n)}
            # Adopted only if it moves that service, and any other, to what runs now.
            if name in moved and all(probed[n] == scales.get(n) for n in moved):
                answers, base = probe, probed
    notes = []
    for name, now in sorted(scales.items()):
        if base.get(name) not in (None, now):
            notes.append(f"{name} keeps its current scale {now} (the template says"
                         f" {base[name]})")
    if dropped:
        notes.append(f"answers this version does not ask are dropped: {', '.join(dropped)}")
    return UpgradeSeed(definition.name, definition.generation, answers, kept, scales, base,
                       tuple(notes))


def _scales(version: Version, values: dict[str, str], stack: str) -> dict[str, int]:
    # Scales never hang on a password: every password stands masked here.
    kept = frozenset(q.variable for q in version.info.questions if q.secret)
    questions = upgrade_questions(version.info.questions, kept)
    answers = resolve_answers(questions, form={k: v for k, v in values.items() if k not in kept})
    rendered = render(version, _with(answers, dict.fromkeys(kept, MASK)), stack_name=stack)
    return {s.name: s.scale for s in rendered.services if not s.scheduling.is_global}


#: What a kept password's field says.
UNCHANGED = "Leave empty to keep the deployed password (unchanged)."


def upgrade_questions(questions: tuple[Question, ...],
                      kept: frozenset[str]) -> tuple[Question, ...]:
    """The questions an upgrade form asks: a kept password may stay empty ("unchanged")."""
    return tuple(dataclasses.replace(q, required=False,
                                     description=" ".join(filter(None, (q.description,
                                                                        UNCHANGED))))
                 if q.variable in kept else q for q in questions)


def render_upgrade(version: Version, answers: Answers, upgrade: UpgradeSeed,
                   stack_name: str, *, without_rancher_features: bool = False
                   ) -> tuple[Answers, Stack]:
    """Render the upgraded stack, keeping what the operator left unchanged.

    Args:
        version: The version to render.
        answers: The form's validated answers; kept passwords left empty.
        upgrade: The form's seed.
        stack_name: The stack name (the seed's).
        without_rancher_features: Drop what only a Rancher server provides,
            as `corral upgrade --without-rancher-features` does.

    Returns:
        The answers to plan with (kept passwords as the mask, which `prepare`
        recognises) and the stack: kept passwords appear masked (the deploy
        fills them from the running containers), services keep their current
        scale unless the answers ask for another.

    Raises:
        CatalogError: The render failed, or the template transforms a kept
            password (it cannot be recovered: type it again).
    """
    kept = {k for k in upgrade.kept_secrets if not answers.values.get(k)}
    masked = _with(answers, dict.fromkeys(kept, MASK))
    stack = render(version, masked, stack_name=stack_name,
                   without_rancher_features=without_rancher_features)
    if kept:
        probe = render(version, _with(answers, dict.fromkeys(kept, _PROBE)),
                       stack_name=stack_name,
                       without_rancher_features=without_rancher_features)
        same = json.dumps(probe.to_dict(reveal_secrets=True)).replace(_PROBE, MASK)
        if same != json.dumps(stack.to_dict(reveal_secrets=True)):
            raise AnswerError(f"the template transforms {', '.join(sorted(kept))}: Corral"
                              " cannot keep the deployed value; type the password again")
    return masked, keep_scales(stack, upgrade)


def _with(answers: Answers, values: dict[str, str]) -> Answers:
    return dataclasses.replace(answers, values={**answers.values, **values})


def keep_scales(stack: Stack, upgrade: UpgradeSeed) -> Stack:
    """`stack` with each service at its current scale where the answers ask no other."""
    services = []
    for service in stack.services:
        now = upgrade.scales.get(service.name)
        if (now is not None and not service.scheduling.is_global
                and service.scale == upgrade.base_scales.get(service.name)):
            service = dataclasses.replace(service, scale=now)
        services.append(service)
    return dataclasses.replace(stack, services=tuple(services))


def kept_secrets(answers: Answers | None) -> frozenset[str]:
    """The password answers an upgrade keeps (rendered as the mask, see `render_upgrade`)."""
    if answers is None:
        return frozenset()
    return frozenset(k for k in answers.secret_names if answers.values.get(k) == MASK)

