"""What the API server does to an object between the request and the store:
server-side preparation per kind (strategy), names, namespace rules and
deletion (graceful, finalizers, propagation)."""
