"""The quiz questions a lesson file carries (the `[[questions]]` tables).

Quiz mode is built on this schema; lessons.py validates it as part of a lesson.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Text = Annotated[str, Field(min_length=1)]


class Question(BaseModel):
    """One quiz question: options, the index of the right one, and help for the learner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt: Text
    options: list[Text] = Field(min_length=2)
    answer: Annotated[int, Field(ge=0)]
    level: Literal["easy", "medium", "hard"] = "easy"
    hint: str = ""
    step: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _answer_in_range(self) -> Question:
        if self.answer >= len(self.options):
            raise ValueError(f"answer {self.answer} is not one of the {len(self.options)} options")
        return self
