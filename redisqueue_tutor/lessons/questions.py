"""The quiz questions a lesson file carries (the `[[questions]]` tables).

Quiz mode (quiz.py) is built on this schema; lessons.py validates it as part of a lesson. A question
may say where its answer comes from in the run (`answer_from`), so `tutor check` can prove the key
against what Redis really did:

    [[questions]]
    id = "pop-at-step-3"
    level = "easy"
    step = 3                                 # show the run so far (steps 1-2) beside the question
    prompt = "Step 3 runs RPOP queue. What does task hold afterwards?"
    options = [
      { text = "'task1'" },
      { text = "'task2'", misconception = "Confuses RPOP with LPOP: RPOP takes the oldest task" },
    ]
    answer = "A"
    hint = "RPOP takes from the tail (right end) of the list."
    solution = ["Before step 3 the queue is ['task2', 'task1'].", "RPOP removes 'task1'."]
    answer_from = { step = 3, field = "variable", variable = "task" }
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Text = Annotated[str, Field(min_length=1)]
Level = Literal["easy", "medium", "hard"]
LEVELS: tuple[Level, ...] = ("easy", "medium", "hard")
QuestionId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]
MAX_OPTIONS = 6  # A-F: more is a reading test, and 'h' (hint) and 'q' (quit) stay free
LETTERS = string.ascii_uppercase[:MAX_OPTIONS]
CommandWord = Annotated[str, Field(pattern=r"^[A-Z]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    """One answer a learner can pick. A wrong one names the misconception it reveals."""

    text: Text
    misconception: str = ""


class AnswerFrom(_Strict):
    """Where the right answer lives in the run, so the checker can prove the key.

    field = "output" | "state": that cell of the execution table at `step`.
    field = "reply": what Redis answered the step's own command (not messages other clients got).
    field = "variable": the Python value of `variable` after `step` (as the program sees it).
    field = "step": the number of the first step whose Queue State reads `state`.
    what_if: run a variant of the lesson with these command words swapped ({ LPUSH = "RPUSH" }).
    template: how the value is written in the key option; "Step {}" turns 5 into "Step 5".
    """

    field: Literal["output", "state", "reply", "variable", "step"]
    step: Annotated[int, Field(ge=1)] | None = None
    variable: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")] | None = None
    state: str | None = None
    what_if: dict[CommandWord, CommandWord] = {}
    template: str = "{}"

    @field_validator("template")
    @classmethod
    def _one_slot(cls, template: str) -> str:
        if template.count("{}") != 1 or template.replace("{}", "").count("{"):
            raise ValueError('must contain "{}" exactly once, where the value goes')
        return template

    @model_validator(mode="after")
    def _needs(self) -> AnswerFrom:
        if self.field == "step":
            if self.state is None:
                raise ValueError('field "step" needs state: the Queue State text to look for')
        elif self.step is None:
            raise ValueError(f'field "{self.field}" needs step: the step whose value is the key')
        if self.field == "variable" and not self.variable:
            raise ValueError('field "variable" needs variable: the name to read')
        return self

    def render(self, value: str) -> str:
        return self.template.replace("{}", value)


class Question(_Strict):
    """One quiz question: options, the right one, a hint, a worked solution, and where it points."""

    id: QuestionId
    level: Level
    prompt: Text
    options: list[Option] = Field(min_length=2, max_length=MAX_OPTIONS)
    answer: Annotated[str, Field(pattern=rf"^[{LETTERS}]$")]
    hint: Text
    solution: list[Text] = Field(min_length=1)
    step: Annotated[int, Field(ge=1)] | None = None
    answer_from: AnswerFrom | None = None

    @model_validator(mode="after")
    def _options_make_sense(self) -> Question:
        if self.answer_index >= len(self.options):
            raise ValueError(
                f"answer {self.answer} is not one of the {len(self.options)} options "
                f"(A-{LETTERS[len(self.options) - 1]})"
            )
        texts = [o.text for o in self.options]
        if len(set(texts)) != len(texts):
            raise ValueError("two options have the same text")
        for index, option in enumerate(self.options):
            if index != self.answer_index and not option.misconception.strip():
                raise ValueError(
                    f"option {LETTERS[index]} is wrong, so it needs the misconception it reveals"
                )
        return self

    @property
    def answer_index(self) -> int:
        return LETTERS.index(self.answer)

    @property
    def key(self) -> Option:
        return self.options[self.answer_index]
