"""copier's questionnaire (--defaults) on a service's recorded answers: the render context."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath
from typing import Any

from copier._settings import SettingsModel
from copier._types import MISSING, JSONSerializable, LazyDict, Phase
from copier._user_data import AnswersMap, Question
from copier.errors import CopierError
from jinja2 import TemplateError

from .._errors import GateError
from ._render_env import Environment

__all__ = ["REFUSALS", "SETTINGS", "Answered", "Questionnaire", "RenderError"]

#: Only these `_`-keys of an answers file are answers; copier writes them first.
_RECORDED = ("_commit", "_src_path")
#: copier's defaults for its settings file (~/.config/copier/settings.yml): none is read.
SETTINGS = SettingsModel()
#: Failures of copier's questionnaire or of Jinja that mean "these answers do not render".
REFUSALS = (CopierError, TemplateError, ValueError, TypeError, LookupError, ArithmeticError)


class RenderError(ValueError, GateError):
    """The template refuses the answers: a validator's message, a bad type, a failed render."""

    def __init__(
        self, *, message: str, question: str | None = None, path: str | None = None
    ) -> None:
        self.question = question
        self.path = path
        where = question or path
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True, kw_only=True)
class Answered:
    """A questionnaire's outcome: the context files render in, and where the answers go."""

    context: dict[str, Any]  # copier's `_render_context()` in the render phase
    answers_path: str  # the answers file, relative to the service
    parts: dict[str, str] = field(default_factory=dict)  # path parts rendered, by source


def _strip_prefix(message: str, question: str) -> str:
    prefix = f"Validation error for question '{question}': "
    return message.removeprefix(prefix).strip()


class Questionnaire:
    """copier's `Worker._ask()` for a copy with --defaults, the recorded answers as its data.

    Its own `Question` casts, computes defaults, checks choices and runs validators. Keys
    naming no question and `_`-keys other than `_commit` and `_src_path` are left out; a
    computed (`when: false`) question is always computed, as `copier update` does.
    """

    def __init__(
        self,
        *,
        config: Mapping[str, Any],
        questions: Mapping[str, dict[str, Any]],
        env: Environment,
        conf: Mapping[str, Any],
    ) -> None:
        secret = set(config.get("secret_questions", ()))
        self._questions = {
            key: {**details, "secret": True} if key in secret else details
            for key, details in questions.items()
        }
        self._secret = {key for key, details in self._questions.items() if details.get("secret")}
        self._env = env
        self._conf = conf
        self._answers_file = str(config.get("answers_file", ".copier-answers.yml"))
        self._external = tuple(config.get("external_data", {}))
        self._last: tuple[str, Answered] | None = None

    def _context(
        self, answers: AnswersMap, given: Mapping[str, Any], phase: Phase, answers_path: str
    ) -> dict[str, Any]:
        """Copier's `Worker._render_context()`; `answers.init` is the data copier was given."""
        combined = answers.combined
        return dict(
            **combined,
            _copier_answers=self._remembered(combined, answers.hidden, given),
            _copier_conf={
                **self._conf,
                "answers_file": PurePath(answers_path),
                "data": answers.init,
            },
            _copier_python=sys.executable,
            _copier_phase=phase,
        )

    def _remembered(
        self, combined: Mapping[str, Any], hidden: set[str], given: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Copier's `Worker._answers_to_remember()`, with the recorded `_commit` and source."""
        remembered = {key: given[key] for key in _RECORDED if given.get(key) is not None}
        remembered.update(
            (key, value)
            for key, value in combined.items()
            if not key.startswith("_")
            and key not in hidden
            and key not in self._secret
            and key in self._questions
            and isinstance(value, JSONSerializable)
        )
        return remembered

    def _ask(self, answers: AnswersMap, given: Mapping[str, Any], name: str) -> None:
        """One question of copier's `Worker._ask()`."""
        question = Question(
            answers=answers,
            context=self._context(answers, given, Phase.PROMPT, self._answers_file),
            jinja_env=self._env,
            settings=SETTINGS,
            var_name=name,
            **self._questions[name],
        )
        ask = question.get_ask()
        if not question.get_when():
            answers.hide(name)
            answers.init.pop(name, None)  # computed: an answers file never decides it
            default = question.get_default()
            if default is not MISSING:
                answers.user[name] = default
            return
        if name in answers.init:
            answer = question.parse_answer(answers.init[name])
            question.validate_answer(answer)
            answers.user[name] = answer
            return
        default = question.get_default()
        if default is MISSING and ask:
            raise RenderError(question=name, message="no answer and no default")
        if default is not MISSING:
            answers.user[name] = default

    def answer(self, given: Mapping[str, Any]) -> Answered:
        """The questionnaire for `given`; the last one is kept (a render, then its strings).

        Raises:
            RenderError: an answer is refused, with the validator's message.
        """
        key = json.dumps(dict(given), sort_keys=True, default=repr)
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        answers = AnswersMap(
            init={name: value for name, value in given.items() if name in self._questions},
            metadata={key: given[key] for key in ("_src_path", "_commit") if key in given},
            external=LazyDict(dict.fromkeys(self._external, dict)),  # a fresh copy has none
        )
        for name in self._questions:
            try:
                self._ask(answers, given, name)
            except RenderError:
                raise
            except REFUSALS as error:
                raise RenderError(question=name, message=_strip_prefix(str(error), name)) from error
        context = self._context(answers, given, Phase.RENDER, "")
        try:
            rendered = self._env.from_string(self._answers_file).render(context)
        except REFUSALS as error:
            raise RenderError(message=f"_answers_file: {error}") from error
        answers_path = str(PurePosixPath(rendered))
        context["_copier_conf"]["answers_file"] = PurePath(answers_path)
        result = Answered(context=context, answers_path=answers_path)
        self._last = (key, result)
        return result
