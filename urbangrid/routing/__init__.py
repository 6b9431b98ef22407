"""Street graphs, arc routing (postman problems, CARP), patrol intervals and staffing."""

from urbangrid.routing.core.carp import (
    CarpInstance,
    CarpSolution,
    collector_routes,
    min_collectors,
    read_instance,
)
from urbangrid.routing.core.matching import TJoin, min_t_join
from urbangrid.routing.core.plan import Route, RoutePlan, check_plan, check_route
from urbangrid.routing.core.postman import chinese_postman, directed_postman, mixed_postman
from urbangrid.routing.core.rural import rural_postman, rural_postman_exact

__all__ = [
    "CarpInstance",
    "CarpSolution",
    "Route",
    "RoutePlan",
    "TJoin",
    "check_plan",
    "check_route",
    "chinese_postman",
    "collector_routes",
    "directed_postman",
    "min_collectors",
    "min_t_join",
    "mixed_postman",
    "read_instance",
    "rural_postman",
    "rural_postman_exact",
]
