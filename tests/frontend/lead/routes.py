"""The lead area's routes, read from the URLconf, for the permission and query-count tests.

Lead pages are every route of the `lead` namespace; lead endpoints are every project-scoped
route of the `labeling` API except the few that annotators use (MEMBER_ENDPOINTS). A new lead
route is therefore covered by those tests without editing them.
"""
import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Project-scoped API routes for annotators (and every member): not lead endpoints.
MEMBER_ENDPOINTS = {
    "labeling:project-detail", "labeling:trace-labels", "labeling:step-label",
    "labeling:queue-next", "labeling:assignment-submit", "labeling:assignment-skip",
    "labeling:assignment-heartbeat",
}
METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name
    kwargs: tuple[str, ...]  # the URL's keyword arguments
    methods: tuple[str, ...]
    is_api: bool


def walk(patterns=None, prefix: str = "", namespace: str = "") -> Iterator[
    tuple[str, str, URLPattern]
]:
    """Yield (full route, namespace, pattern) for every pattern of the URLconf."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), namespace, pattern


def lead_routes() -> list[Route]:
    routes = []
    for route, namespace, pattern in walk():
        name = f"{namespace}:{pattern.name}"
        kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route))
        view_class = getattr(pattern.callback, "view_class", None)
        if namespace == "lead":
            # Function views: the role check runs before any method check, so try two.
            routes.append(Route(name, kwargs, ("get", "post"), is_api=False))
        elif namespace == "labeling" and "slug" in kwargs and name not in MEMBER_ENDPOINTS:
            methods = tuple(m for m in METHODS if hasattr(view_class, m))
            routes.append(Route(name, kwargs, methods, is_api=True))
    return routes
