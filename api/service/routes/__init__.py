"""Routes grouped by resource: assess, sparql, graph (actions and errors), health."""
