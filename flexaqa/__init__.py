"""flexaqa: knowledge-graph feedback for weight-training form.

One installed namespace over the folders at the top of the repository, each mapped in ``pyproject.toml``:
``flexaqa.kg`` is ``kg/`` (load, validate, query the Fitness Knowledge Graph), ``flexaqa.ontology`` the
Turtle files, ``flexaqa.clips`` the clip readers, ``flexaqa.engine`` the rules and penalty formula,
``flexaqa.models`` the learned scorer, ``flexaqa.synth`` synthetic data, ``flexaqa.api`` the command line,
the service and the report page.
"""
