"""Street graphs, arc routing (postman problems, CARP), patrol intervals and staffing."""
