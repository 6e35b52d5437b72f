"""Pure: how big a GraphQL query /v0/gql takes, checked while it is parsed and validated.

One query of 2,000 aliases (149 KB) held the engine's event loop for 5.8 s: parsing,
validating (the overlapping-fields rule compares fields pairwise) and resolving every
alias. So a query is refused (422, like any query that does not validate) when it has
more than MAX_CHARS characters or MAX_TOKENS tokens (graphql-core stops lexing there),
more than MAX_FIELDS fields once fragments are expanded (aliases included: each is one
more field to resolve), or fields nested deeper than MAX_DEPTH. gql.py runs
`prepare_query` in a worker thread, so even a refused query never holds the loop.
The test helpers' and the notebooks' queries use a few dozen fields at most.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    validate,
)

MAX_CHARS = 32_768
MAX_TOKENS = 2_000
MAX_FIELDS = 250
MAX_DEPTH = 16


@dataclass
class Prepared:
    """A parsed, validated query within the bounds; or why not (`errors`, with their `code`)."""

    document: DocumentNode | None = None
    errors: list[GraphQLError] = field(default_factory=list)
    code: str = ""


def prepare_query(schema: GraphQLSchema, source: str) -> Prepared:
    """Parse, bound and validate `source` (no IO: safe to run in a worker thread)."""
    if len(source) > MAX_CHARS:
        message = f"the query is {len(source)} characters long; the limit is {MAX_CHARS}"
        return Prepared(errors=[GraphQLError(message)], code="GRAPHQL_PARSE_FAILED")
    try:
        document = parse(source, max_tokens=MAX_TOKENS)
    except GraphQLError as exc:
        return Prepared(errors=[exc], code="GRAPHQL_PARSE_FAILED")
    except RecursionError:  # the parser recurses per nesting level
        return _too_complex(f"the query nests too deep; the limit is {MAX_DEPTH}")
    # Before validation, whose rules recurse and compare fields pairwise.
    literal, literal_depth = _count_fields(document)
    if literal > MAX_FIELDS:
        return _too_complex(f"the query has {literal} fields; the limit is {MAX_FIELDS}")
    if literal_depth > MAX_DEPTH:
        return _too_complex(f"the query nests fields {literal_depth} deep; the limit is {MAX_DEPTH}")
    if invalid := validate(schema, document):
        return Prepared(errors=list(invalid), code="GRAPHQL_VALIDATION_FAILED")
    try:
        fields, depth = _expanded_size(document)  # fragments are known acyclic once validated
    except RecursionError:
        return _too_complex(f"the query nests fields too deep with its fragments; the limit is {MAX_DEPTH}")
    if fields > MAX_FIELDS:
        return _too_complex(
            f"the query selects {fields} fields with its fragments; the limit is {MAX_FIELDS}"
        )
    if depth > MAX_DEPTH:
        return _too_complex(f"the query nests fields {depth} deep; the limit is {MAX_DEPTH}")
    return Prepared(document=document)


def _too_complex(message: str) -> Prepared:
    return Prepared(errors=[GraphQLError(message)], code="COMPLEXITY_LIMIT_EXCEEDED")


def _count_fields(document: DocumentNode) -> tuple[int, int]:
    """(field nodes written in the document, each alias one; their deepest nesting), without recursion."""
    count, deepest = 0, 0
    stack: list[tuple[Any, int]] = [(definition, 0) for definition in document.definitions]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, FieldNode):
            count += 1
            depth += 1
            deepest = max(deepest, depth)
        selection_set = getattr(node, "selection_set", None)
        if isinstance(selection_set, SelectionSetNode):
            stack.extend((selection, depth) for selection in selection_set.selections)
    return count, deepest


def _expanded_size(document: DocumentNode) -> tuple[int, int]:
    """(fields resolved, deepest field) of the operations, each fragment spread expanded."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    memo: dict[str, tuple[int, int]] = {}

    def size(selection_set: SelectionSetNode | None) -> tuple[int, int]:
        fields, depth = 0, 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                below_fields, below_depth = size(selection.selection_set)
                fields, depth = fields + 1 + below_fields, max(depth, 1 + below_depth)
            elif isinstance(selection, InlineFragmentNode):
                inner_fields, inner_depth = size(selection.selection_set)
                fields, depth = fields + inner_fields, max(depth, inner_depth)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in memo and name in fragments:
                    memo[name] = size(fragments[name].selection_set)
                inner_fields, inner_depth = memo.get(name, (0, 0))
                fields, depth = fields + inner_fields, max(depth, inner_depth)
        return fields, depth

    total, deepest = 0, 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            fields, depth = size(definition.selection_set)
            total, deepest = total + fields, max(deepest, depth)
    return total, deepest
