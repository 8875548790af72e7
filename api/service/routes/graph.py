"""``GET /actions``, ``/actions/{id}``, ``/errors/{id}``: the graph's typed views as JSON for apps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from flexaqa.api.service.deps import GraphDep, LangDep
from flexaqa.api.service.errors import Responses
from flexaqa.api.service.schemas import ActionDetail, ActionSummary, ErrorTypeView, KeyStepView, Problem, RuleView
from flexaqa.kg import UnknownIdError, in_language

router = APIRouter(tags=["knowledge graph"])

LANG: Responses = {422: {"model": Problem, "description": "A language the graph has no coaching text in"}}
NOT_FOUND: Responses = {404: {"model": Problem, "description": "No such id in the graph in force"}, **LANG}


@router.get("/actions", response_model=list[ActionSummary], summary="Every action the graph knows",
            responses=LANG)
async def list_actions(kg: GraphDep, lang: LangDep) -> list[ActionSummary]:
    """Action ids with their label in `?lang` and equipment, in id order."""
    return [ActionSummary(id=a.id, label=in_language(a.label, lang), equipment=a.equipment)
            for _, a in sorted(kg.actions.items())]


@router.get("/actions/{action_id}", response_model=ActionDetail, summary="One action: key steps and rules",
            responses=NOT_FOUND)
async def get_action(kg: GraphDep, lang: LangDep,
                     action_id: Annotated[str, Path(description="FKG action id", examples=["A16"])]) -> ActionDetail:
    """The action's key steps in the order they are performed, and its penalty rules with the error each
    weighs, the coaching cue and the weight."""
    action = kg.action(action_id)
    steps = [KeyStepView(id=s.id, label=in_language(s.label, lang), phase=s.phase) for s in kg.key_steps_of(action_id)]
    rules = []
    for rule in kg.rules_of(action_id):
        error = kg.error_types[rule.error_type]
        rules.append(RuleView(id=rule.id, key_step=rule.key_step, error_type=rule.error_type,
                              error_label=in_language(error.label, lang), cue=in_language(error.feedback.cue, lang),
                              weight=rule.weight, source=str(rule.source), detector=rule.detector is not None))
    return ActionDetail(id=action.id, label=in_language(action.label, lang), equipment=action.equipment,
                        primary_muscles=list(action.primary_muscles), secondary_muscles=list(action.secondary_muscles),
                        w_max=kg.w_max(action_id), key_steps=steps, rules=rules, source=str(action.source))


@router.get("/errors/{error_id}", response_model=ErrorTypeView, summary="One error type and its coaching",
            responses=NOT_FOUND)
async def get_error(kg: GraphDep, lang: LangDep,
                    error_id: Annotated[str, Path(description="FKG error type id", examples=["ET053"])]
                    ) -> ErrorTypeView:
    """An error type: label, severity class and its weight range, and the cue and explanation in `?lang`."""
    error = kg.error_types.get(error_id)
    if error is None:
        raise UnknownIdError(f"unknown error type {error_id!r}; known: {min(kg.error_types)}-{max(kg.error_types)}")
    return ErrorTypeView(id=error.id, label=in_language(error.label, lang), severity_class=error.severity_class,
                         min_weight=error.min_weight, max_weight=error.max_weight,
                         cue=in_language(error.feedback.cue, lang),
                         explanation=in_language(error.feedback.explanation, lang),
                         source=str(error.source))
